#pragma once
// HDF5 in one place: a move-only owner for every hid_t, H5_CHECK, and typed helpers for the
// datasets and attributes the project writes (packet store, images, results, weights).
// Every error names the file or object it concerns, in one line.
#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace flowpic::h5 {

// The innermost message of HDF5's error stack ("unable to open file", ...), or "".
std::string last_error();

// Silences HDF5's own stack printing once per process; flowpic reports errors itself.
void quiet_errors();

}  // namespace flowpic::h5

// H5_CHECK(call, what): throws flowpic::Error "<what>: <call> failed: <hdf5 message> (file:line)"
// when the call returns a negative value; yields the call's value otherwise.
#define H5_CHECK(call, what)                                                                                      \
  ([&]() {                                                                                                        \
    auto flowpic_r_ = (call);                                                                                     \
    if (flowpic_r_ < 0)                                                                                           \
      ::flowpic::fail(what, ": ", #call, " failed: ", ::flowpic::h5::last_error(), " (", __FILE__, ":", __LINE__, \
                      ")");                                                                                       \
    return flowpic_r_;                                                                                            \
  }())

namespace flowpic::h5 {

// Owns one HDF5 identifier of any kind (file, group, dataset, dataspace, type, property list,
// attribute) and closes it with the matching H5*close.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  ~Id() { reset(); }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

template <typename T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, int8_t>)
    return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, int16_t>)
    return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return H5T_NATIVE_UINT64;
  else
    static_assert(sizeof(T) == 0, "no HDF5 type for this element type");
}

// Files. open_file checks that the path exists and is HDF5 before asking the library, so the
// message says "not an HDF5 file" rather than a stack dump.
Id create_file(const std::string& path);  // truncates
Id open_file(const std::string& path, bool writable = false);
std::string file_name(hid_t loc);  // the path a location belongs to, for messages

// Groups and links. `path` may contain '/', intermediate groups are created.
Id create_group(hid_t loc, const std::string& path);
Id open_group(hid_t loc, const std::string& path);
bool exists(hid_t loc, const std::string& path);
Id open_dataset(hid_t loc, const std::string& path);
std::vector<hsize_t> dataset_shape(hid_t loc, const std::string& path);

// Attributes (scalar string, integer, floating point).
void set_attr(hid_t loc, const std::string& name, const std::string& value);
void set_attr(hid_t loc, const std::string& name, const char* value);
void set_attr(hid_t loc, const std::string& name, int64_t value);
void set_attr(hid_t loc, const std::string& name, double value);
bool has_attr(hid_t loc, const std::string& name);
std::string get_attr_string(hid_t loc, const std::string& name);
int64_t get_attr_int(hid_t loc, const std::string& name);
double get_attr_double(hid_t loc, const std::string& name);

// Whole datasets of numbers. `shape` empty means 1-D of data size; the product must match.
// Chunked and deflate-compressed (level `deflate`, 0 = uncompressed) when larger than one chunk.
void write_raw(hid_t loc, const std::string& path, hid_t mem_type, const void* data, const std::vector<hsize_t>& shape,
               int deflate = 4);
template <typename T>
void write(hid_t loc, const std::string& path, const std::vector<T>& data, std::vector<hsize_t> shape = {},
           int deflate = 4) {
  if (shape.empty()) shape = {static_cast<hsize_t>(data.size())};
  write_raw(loc, path, native_type<T>(), data.data(), shape, deflate);
}

// Reads a whole dataset, converting to T; `shape_out` receives the dimensions when given.
void read_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size, std::vector<unsigned char>& bytes,
              std::vector<hsize_t>* shape_out);
template <typename T>
std::vector<T> read(hid_t loc, const std::string& path, std::vector<hsize_t>* shape_out = nullptr) {
  std::vector<unsigned char> bytes;
  read_raw(loc, path, native_type<T>(), sizeof(T), bytes, shape_out);
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// Rows [first, first+count) of a dataset whose first dimension is the row index.
void read_rows_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t row_bytes, hsize_t first, hsize_t count,
                   void* out);
// Throws naming the dataset when rows [first, first+count) are not in it or it cannot hold them
// (a damaged file declaring more rows than it stores); called before the buffer is allocated.
void check_rows(hid_t loc, const std::string& path, size_t row_bytes, hsize_t first, hsize_t count);
template <typename T>
std::vector<T> read_rows(hid_t loc, const std::string& path, hsize_t first, hsize_t count, size_t row_elems = 1) {
  check_rows(loc, path, row_elems * sizeof(T), first, count);
  std::vector<T> out(count * row_elems);
  read_rows_raw(loc, path, native_type<T>(), row_elems * sizeof(T), first, count, out.data());
  return out;
}

// String lists, stored as fixed-length NUL-padded UTF-8 (never variable-length: see h5.cpp).
void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& values);
std::vector<std::string> read_strings(hid_t loc, const std::string& path);

// A growing dataset of rows: rows are buffered and appended in chunks, so memory stays bounded
// however many rows arrive. Shape is [rows, row_elems...]; call finish() before closing the file.
class Appender {
 public:
  Appender() = default;
  Appender(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size, std::vector<hsize_t> row_shape = {},
           hsize_t chunk_rows = 65536, int deflate = 4);
  template <typename T>
  static Appender of(hid_t loc, const std::string& path, std::vector<hsize_t> row_shape = {},
                     hsize_t chunk_rows = 65536, int deflate = 4) {
    return Appender(loc, path, native_type<T>(), sizeof(T), std::move(row_shape), chunk_rows, deflate);
  }
  Appender(Appender&&) noexcept = default;
  Appender& operator=(Appender&&) noexcept = default;

  void append(const void* rows, size_t count);
  template <typename T>
  void push(const T& value) {
    append(&value, 1);
  }
  hsize_t rows() const { return written_ + buffered_rows(); }
  void flush();
  void finish() { flush(); }

 private:
  size_t buffered_rows() const { return row_bytes_ ? buffer_.size() / row_bytes_ : 0; }
  Id dataset_;
  hid_t mem_type_ = H5I_INVALID_HID;
  size_t row_bytes_ = 0;
  std::vector<hsize_t> row_shape_;
  hsize_t chunk_rows_ = 0;
  hsize_t written_ = 0;
  std::vector<unsigned char> buffer_;
  std::string what_;
};

}  // namespace flowpic::h5
