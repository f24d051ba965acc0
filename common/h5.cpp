#include "common/h5.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <mutex>
#include <numeric>

namespace flowpic::h5 {

namespace {

herr_t innermost(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (n == 0 && err->desc) *out = err->desc;  // walk is H5E_WALK_UPWARD: 0 is the innermost
  return 0;
}

std::string where(hid_t loc, const std::string& path) {
  std::string f = file_name(loc);
  return (f.empty() ? std::string("<hdf5>") : f) + ":" + path;
}

Id make_parent_groups(hid_t loc, const std::string& path) {
  // Link creation property list that creates missing intermediate groups.
  Id lcpl(H5_CHECK(H5Pcreate(H5P_LINK_CREATE), where(loc, path)));
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), where(loc, path));
  return lcpl;
}

}  // namespace

std::string last_error() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &msg);
  return msg.empty() ? "unknown HDF5 error" : msg;
}

void quiet_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

void Id::reset() noexcept {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

std::string file_name(hid_t loc) {
  ssize_t n = H5Fget_name(loc, nullptr, 0);
  if (n <= 0) return "";
  std::string s(static_cast<size_t>(n) + 1, '\0');
  H5Fget_name(loc, s.data(), s.size());
  s.resize(static_cast<size_t>(n));
  return s;
}

namespace {
// flowpic reads only files it wrote: the HDF5 signature at offset 0 (no user block) and a
// superblock of version 2 or later, whose metadata is checksummed. Versions 0 and 1 lead libhdf5
// into unchecksummed symbol tables and B-trees, which a damaged file can make it loop on.
void check_superblock(const std::string& path) {
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[9] = {};
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) fail("cannot open ", path, ": ", std::strerror(errno));
  size_t got = std::fread(head, 1, sizeof head, fp);
  std::fclose(fp);
  if (got < sizeof head || std::memcmp(head, kSignature, 8) != 0)
    fail("cannot open ", path, ": not an HDF5 file written by flowpic (no HDF5 signature at its start)");
  if (head[8] < 2)
    fail("cannot open ", path, ": HDF5 superblock version ", int{head[8]},
         " (flowpic writes version 3, with checksummed metadata; was it written by another program?)");
}
}  // namespace

Id create_file(const std::string& path) {
  quiet_errors();
  Id fapl(H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), path));
  // The 1.10 file format: every piece of metadata a reader walks (superblock v3, object headers
  // v2, link and attribute heaps, and the fixed/extensible-array chunk indexes) carries a
  // checksum, so a damaged file fails a checksum instead of sending libhdf5 into a loop. The 1.8
  // format still indexed chunks with unchecksummed v1 B-trees. h5py built on HDF5 1.10 or later
  // (Debian's, PyPI's) reads it.
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST), path);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (f < 0) fail("cannot create HDF5 file ", path, ": ", last_error());
  return Id(f);
}

Id open_file(const std::string& path, bool writable) {
  quiet_errors();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail("cannot open ", path, ": no such file");
  if (!S_ISREG(st.st_mode)) fail("cannot open ", path, ": not a regular file");
  check_superblock(path);
  if (H5Fis_hdf5(path.c_str()) <= 0) fail("cannot open ", path, ": not an HDF5 file (damaged or another format)");
  hid_t f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) fail("cannot open ", path, ": ", last_error());
  return Id(f);
}

Id create_group(hid_t loc, const std::string& path) {
  if (exists(loc, path)) return open_group(loc, path);
  Id lcpl = make_parent_groups(loc, path);
  return Id(
      H5_CHECK(H5Gcreate2(loc, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), "creating group " + where(loc, path)));
}

Id open_group(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) fail(where(loc, path), ": group is missing (not a file written by this version of flowpic?)");
  return Id(H5_CHECK(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), "opening group " + where(loc, path)));
}

bool exists(hid_t loc, const std::string& path) {
  // Check each prefix: H5Lexists fails (rather than returning false) on a missing intermediate.
  if (path.empty() || path == "/") return true;
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos + 1);
    std::string prefix = path.substr(0, next);
    if (!prefix.empty() && prefix != "/") {
      htri_t r = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
      if (r <= 0) return false;
    }
    if (next == std::string::npos) return true;
    pos = next;
  }
}

Id open_dataset(hid_t loc, const std::string& path) {
  if (!exists(loc, path))
    fail(where(loc, path), ": dataset is missing (not a file written by this version of flowpic?)");
  return Id(H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "opening " + where(loc, path)));
}

std::vector<hsize_t> dataset_shape(hid_t loc, const std::string& path) {
  Id ds = open_dataset(loc, path);
  Id space(H5_CHECK(H5Dget_space(ds), where(loc, path)));
  int rank = H5_CHECK(H5Sget_simple_extent_ndims(space), where(loc, path));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), where(loc, path));
  return dims;
}

namespace {
Id scalar_attr(hid_t loc, const std::string& name, hid_t type) {
  if (H5Aexists(loc, name.c_str()) > 0) H5_CHECK(H5Adelete(loc, name.c_str()), "replacing attribute " + name);
  Id space(H5_CHECK(H5Screate(H5S_SCALAR), "attribute " + name));
  return Id(H5_CHECK(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                     "creating attribute " + name + " in " + file_name(loc)));
}
// Strings are written fixed-length (NUL-padded UTF-8, `size` bytes, at least 1), never
// variable-length: variable-length strings live in HDF5's global heap, which has no checksum,
// and libhdf5 1.10 loops forever or reads out of bounds on a damaged one.
Id string_type(size_t size) {
  Id t(H5_CHECK(H5Tcopy(H5T_C_S1), "string type"));
  H5_CHECK(H5Tset_size(t, std::max<size_t>(size, 1)), "string type");
  H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD), "string type");
  H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8), "string type");
  return t;
}
// The largest string flowpic reads from one attribute or dataset element (a config or model
// JSON is a few KiB); a larger declared size is damage, refused before allocating.
constexpr size_t kMaxStringBytes = size_t{16} << 20;
// Refuses a string type flowpic did not write: variable-length (global heap, see above) or absurd.
size_t fixed_string_size(hid_t ftype, const std::string& what) {
  if (H5Tget_class(ftype) != H5T_STRING) fail(what, ": not a string");
  if (H5Tis_variable_str(ftype) != 0)
    fail(what,
         ": a variable-length string, which flowpic does not read (its unchecksummed heap can hang libhdf5); "
         "the file was written by another program or by flowpic before store/result/weights format 2: re-create it");
  size_t n = H5Tget_size(ftype);
  if (n == 0 || n > kMaxStringBytes) fail(what, ": a string of ", n, " bytes; the file is damaged");
  return n;
}
// Numbers are read only from integer or floating-point datasets and attributes, so no
// conversion ever walks a variable-length or reference type from the file.
void check_numeric(hid_t ftype, const std::string& what) {
  H5T_class_t c = H5Tget_class(ftype);
  if (c != H5T_INTEGER && c != H5T_FLOAT)
    fail(what, ": holds ", c == H5T_STRING ? "strings" : "non-numeric values", ", not numbers");
}
Id open_attr(hid_t loc, const std::string& name) {
  if (H5Aexists(loc, name.c_str()) <= 0) fail(file_name(loc), ": attribute '", name, "' is missing");
  return Id(H5_CHECK(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "opening attribute " + name));
}
// flowpic's attributes are scalars: one value is read into one value's buffer.
void check_scalar(hid_t attr, const std::string& what) {
  Id space(H5_CHECK(H5Aget_space(attr), what));
  if (H5Sget_simple_extent_npoints(space) != 1) fail(what, ": not a single value; the file is damaged");
}
void check_attr_numeric(hid_t attr, hid_t loc, const std::string& name) {
  const std::string what = file_name(loc) + ": attribute '" + name + "'";
  Id ftype(H5_CHECK(H5Aget_type(attr), what));
  check_numeric(ftype, what);
  check_scalar(attr, what);
}
}  // namespace

void set_attr(hid_t loc, const std::string& name, const std::string& value) {
  Id t = string_type(value.size());
  Id a = scalar_attr(loc, name, t);
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  H5_CHECK(H5Awrite(a, t, padded.data()), "writing attribute " + name);
}
void set_attr(hid_t loc, const std::string& name, const char* value) { set_attr(loc, name, std::string(value)); }
void set_attr(hid_t loc, const std::string& name, int64_t value) {
  Id a = scalar_attr(loc, name, H5T_STD_I64LE);
  H5_CHECK(H5Awrite(a, H5T_NATIVE_INT64, &value), "writing attribute " + name);
}
void set_attr(hid_t loc, const std::string& name, double value) {
  Id a = scalar_attr(loc, name, H5T_IEEE_F64LE);
  H5_CHECK(H5Awrite(a, H5T_NATIVE_DOUBLE, &value), "writing attribute " + name);
}
bool has_attr(hid_t loc, const std::string& name) { return H5Aexists(loc, name.c_str()) > 0; }

std::string get_attr_string(hid_t loc, const std::string& name) {
  Id a = open_attr(loc, name);
  const std::string what = file_name(loc) + ": attribute '" + name + "'";
  Id ftype(H5_CHECK(H5Aget_type(a), what));
  check_scalar(a, what);
  size_t n = fixed_string_size(ftype, what);
  std::string s(n, '\0');
  Id t = string_type(n);
  H5_CHECK(H5Aread(a, t, s.data()), "reading " + what);
  s.resize(strnlen(s.c_str(), n));
  return s;
}
int64_t get_attr_int(hid_t loc, const std::string& name) {
  Id a = open_attr(loc, name);
  check_attr_numeric(a, loc, name);
  int64_t v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, &v), "reading attribute " + name);
  return v;
}
double get_attr_double(hid_t loc, const std::string& name) {
  Id a = open_attr(loc, name);
  check_attr_numeric(a, loc, name);
  double v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v), "reading attribute " + name);
  return v;
}

void write_raw(hid_t loc, const std::string& path, hid_t mem_type, const void* data, const std::vector<hsize_t>& shape,
               int deflate) {
  const std::string w = "writing " + where(loc, path);
  Id space(H5_CHECK(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), w));
  Id dcpl(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), w));
  hsize_t total = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
  size_t elem = H5Tget_size(mem_type);
  if (total > 0 && deflate > 0 && total * elem > (1u << 16)) {
    // Chunks of about 1 MiB along the first dimension, whole along the others.
    std::vector<hsize_t> chunk = shape;
    hsize_t row = total / std::max<hsize_t>(shape[0], 1);
    chunk[0] = std::clamp<hsize_t>((1u << 20) / std::max<hsize_t>(row * elem, 1), 1, shape[0]);
    H5_CHECK(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), w);
    H5_CHECK(H5Pset_shuffle(dcpl), w);
    H5_CHECK(H5Pset_deflate(dcpl, static_cast<unsigned>(deflate)), w);
  }
  Id lcpl = make_parent_groups(loc, path);
  if (exists(loc, path)) H5_CHECK(H5Ldelete(loc, path.c_str(), H5P_DEFAULT), w);
  Id ds(H5_CHECK(H5Dcreate2(loc, path.c_str(), mem_type, space, lcpl, dcpl, H5P_DEFAULT), w));
  if (total > 0) H5_CHECK(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w);
}

namespace {
// A damaged or crafted file can declare a dataset of 10^12 values that it does not hold (HDF5
// fills unwritten chunks with zeros). Before allocating, refuse a read of over 64 MiB that is
// over 1100 times the bytes the dataset occupies in the file (deflate cannot compress better
// than about 1030:1, and flowpic writes every value it declares).
void check_plausible_size(hid_t ds, uint64_t values, size_t elem_size, const std::string& what) {
  const double want = static_cast<double>(values) * static_cast<double>(elem_size);
  if (want <= 64.0 * (1 << 20)) return;
  const double stored = static_cast<double>(H5Dget_storage_size(ds));
  if (want > 1100.0 * stored)
    fail(what, ": the dataset declares ", values, " values (", static_cast<uint64_t>(want / (1 << 20)),
         " MiB) but holds only ", static_cast<uint64_t>(stored), " bytes; the file is damaged");
}
}  // namespace

void read_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size, std::vector<unsigned char>& bytes,
              std::vector<hsize_t>* shape_out) {
  const std::string w = "reading " + where(loc, path);
  Id ds = open_dataset(loc, path);
  Id ftype(H5_CHECK(H5Dget_type(ds), w));
  check_numeric(ftype, w);
  Id space(H5_CHECK(H5Dget_space(ds), w));
  hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space), w);
  if (shape_out) {
    int rank = H5_CHECK(H5Sget_simple_extent_ndims(space), w);
    shape_out->assign(static_cast<size_t>(rank), 0);
    if (rank > 0) H5_CHECK(H5Sget_simple_extent_dims(space, shape_out->data(), nullptr), w);
  }
  check_plausible_size(ds, static_cast<uint64_t>(n), elem_size, w);
  bytes.assign(static_cast<size_t>(n) * elem_size, 0);
  if (n > 0) H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), w);
}

void check_rows(hid_t loc, const std::string& path, size_t row_bytes, hsize_t first, hsize_t count) {
  const std::string w = "reading " + where(loc, path);
  if (count == 0) return;
  Id ds = open_dataset(loc, path);
  Id space(H5_CHECK(H5Dget_space(ds), w));
  int rank = H5_CHECK(H5Sget_simple_extent_ndims(space), w);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), w);
  if (rank < 1 || first > dims[0] || count > dims[0] - first)
    fail(w, ": rows ", first, "..", first + count, " are outside the dataset's ", rank < 1 ? 0 : dims[0], " rows");
  check_plausible_size(ds, count, row_bytes, w);
}

void read_rows_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t row_bytes, hsize_t first, hsize_t count,
                   void* out) {
  const std::string w = "reading " + where(loc, path);
  if (count == 0) return;
  Id ds = open_dataset(loc, path);
  Id ftype(H5_CHECK(H5Dget_type(ds), w));
  check_numeric(ftype, w);
  Id space(H5_CHECK(H5Dget_space(ds), w));
  int rank = H5_CHECK(H5Sget_simple_extent_ndims(space), w);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), w);
  if (rank < 1 || first > dims[0] || count > dims[0] - first)
    fail(w, ": rows ", first, "..", first + count, " are outside the dataset's ", rank < 1 ? 0 : dims[0], " rows");
  std::vector<hsize_t> start(dims.size(), 0), cnt = dims;
  start[0] = first;
  cnt[0] = count;
  hsize_t row_elems = 1;
  for (size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
  if (row_elems * H5Tget_size(mem_type) != row_bytes)
    fail(w, ": a row holds ", row_elems, " values, the caller expected ", row_bytes / H5Tget_size(mem_type));
  H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr), w);
  Id mspace(H5_CHECK(H5Screate_simple(rank, cnt.data(), nullptr), w));
  H5_CHECK(H5Dread(ds, mem_type, mspace, space, H5P_DEFAULT, out), w);
}

void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& values) {
  const std::string w = "writing " + where(loc, path);
  size_t len = 1;
  for (const auto& v : values) len = std::max(len, v.size());
  Id t = string_type(len);
  hsize_t n = values.size();
  Id space(H5_CHECK(H5Screate_simple(1, &n, nullptr), w));
  Id lcpl = make_parent_groups(loc, path);
  if (exists(loc, path)) H5_CHECK(H5Ldelete(loc, path.c_str(), H5P_DEFAULT), w);
  Id ds(H5_CHECK(H5Dcreate2(loc, path.c_str(), t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), w));
  std::vector<char> buf(values.size() * len, '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * len, values[i].data(), values[i].size());
  if (n) H5_CHECK(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), w);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& path) {
  const std::string w = "reading " + where(loc, path);
  Id ds = open_dataset(loc, path);
  Id ftype(H5_CHECK(H5Dget_type(ds), w));
  const size_t len = fixed_string_size(ftype, w);
  Id space(H5_CHECK(H5Dget_space(ds), w));
  hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space), w);
  check_plausible_size(ds, static_cast<uint64_t>(n), len, w);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  std::vector<char> buf(static_cast<size_t>(n) * len);
  Id t = string_type(len);
  if (n) H5_CHECK(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), w);
  for (hssize_t i = 0; i < n; ++i) {
    const char* p = buf.data() + static_cast<size_t>(i) * len;
    out.emplace_back(p, strnlen(p, len));
  }
  return out;
}

Appender::Appender(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size, std::vector<hsize_t> row_shape,
                   hsize_t chunk_rows, int deflate)
    : mem_type_(mem_type),
      row_shape_(std::move(row_shape)),
      chunk_rows_(chunk_rows),
      what_("appending to " + where(loc, path)) {
  row_bytes_ = elem_size;
  for (hsize_t d : row_shape_) row_bytes_ *= d;
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{chunk_rows_};
  for (hsize_t d : row_shape_) {
    dims.push_back(d);
    maxdims.push_back(d);
    chunk.push_back(d);
  }
  Id space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), what_));
  Id dcpl(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), what_));
  H5_CHECK(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), what_);
  if (deflate > 0) {
    H5_CHECK(H5Pset_shuffle(dcpl), what_);
    H5_CHECK(H5Pset_deflate(dcpl, static_cast<unsigned>(deflate)), what_);
  }
  Id lcpl = make_parent_groups(loc, path);
  dataset_ = Id(H5_CHECK(H5Dcreate2(loc, path.c_str(), mem_type, space, lcpl, dcpl, H5P_DEFAULT), what_));
  buffer_.reserve(static_cast<size_t>(chunk_rows_) * row_bytes_);
}

void Appender::append(const void* rows, size_t count) {
  const auto* p = static_cast<const unsigned char*>(rows);
  size_t cap = static_cast<size_t>(chunk_rows_) * row_bytes_;
  size_t bytes = count * row_bytes_;
  while (bytes > 0) {
    size_t take = std::min(bytes, cap - buffer_.size());
    buffer_.insert(buffer_.end(), p, p + take);
    p += take;
    bytes -= take;
    if (buffer_.size() == cap) flush();
  }
}

void Appender::flush() {
  hsize_t n = buffered_rows();
  if (n == 0 || !dataset_.valid()) return;
  std::vector<hsize_t> dims{written_ + n}, start{written_}, cnt{n};
  for (hsize_t d : row_shape_) {
    dims.push_back(d);
    start.push_back(0);
    cnt.push_back(d);
  }
  H5_CHECK(H5Dset_extent(dataset_, dims.data()), what_);
  Id fspace(H5_CHECK(H5Dget_space(dataset_), what_));
  H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr), what_);
  Id mspace(H5_CHECK(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), what_));
  H5_CHECK(H5Dwrite(dataset_, mem_type_, mspace, fspace, H5P_DEFAULT, buffer_.data()), what_);
  written_ += n;
  buffer_.clear();
}

}  // namespace flowpic::h5
