#include "common/h5.hpp"

#include <sys/stat.h>

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

Id create_file(const std::string& path) {
  quiet_errors();
  Id fapl(H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), path));
  // 1.8-compatible format so older h5py builds read our files too.
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), path);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (f < 0) fail("cannot create HDF5 file ", path, ": ", last_error());
  return Id(f);
}

Id open_file(const std::string& path, bool writable) {
  quiet_errors();
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) fail("cannot open ", path, ": no such file");
  if (!S_ISREG(st.st_mode)) fail("cannot open ", path, ": not a regular file");
  if (H5Fis_hdf5(path.c_str()) <= 0) fail("cannot open ", path, ": not an HDF5 file (damaged or another format)");
  hid_t f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) fail("cannot open ", path, ": ", last_error());
  return Id(f);
}

Id create_group(hid_t loc, const std::string& path) {
  if (exists(loc, path)) return open_group(loc, path);
  Id lcpl = make_parent_groups(loc, path);
  return Id(H5_CHECK(H5Gcreate2(loc, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), "creating group " + where(loc, path)));
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
  if (!exists(loc, path)) fail(where(loc, path), ": dataset is missing (not a file written by this version of flowpic?)");
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
  return Id(H5_CHECK(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "creating attribute " + name + " in " + file_name(loc)));
}
Id string_type() {
  Id t(H5_CHECK(H5Tcopy(H5T_C_S1), "string type"));
  H5_CHECK(H5Tset_size(t, H5T_VARIABLE), "string type");
  H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8), "string type");
  return t;
}
Id open_attr(hid_t loc, const std::string& name) {
  if (H5Aexists(loc, name.c_str()) <= 0) fail(file_name(loc), ": attribute '", name, "' is missing");
  return Id(H5_CHECK(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "opening attribute " + name));
}
}  // namespace

void set_attr(hid_t loc, const std::string& name, const std::string& value) {
  Id t = string_type();
  Id a = scalar_attr(loc, name, t);
  const char* p = value.c_str();
  H5_CHECK(H5Awrite(a, t, &p), "writing attribute " + name);
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
  Id ftype(H5_CHECK(H5Aget_type(a), "attribute " + name));
  if (H5Tget_class(ftype) != H5T_STRING) fail(file_name(loc), ": attribute '", name, "' is not a string");
  if (H5Tis_variable_str(ftype) > 0) {
    Id t = string_type();
    char* p = nullptr;
    H5_CHECK(H5Aread(a, t, &p), "reading attribute " + name);
    std::string s = p ? p : "";
    Id space(H5Aget_space(a));
    H5free_memory(p);
    return s;
  }
  size_t n = H5Tget_size(ftype);
  std::string s(n, '\0');
  Id t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t, n);
  H5_CHECK(H5Aread(a, t, s.data()), "reading attribute " + name);
  s.resize(std::strlen(s.c_str()));
  return s;
}
int64_t get_attr_int(hid_t loc, const std::string& name) {
  Id a = open_attr(loc, name);
  int64_t v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, &v), "reading attribute " + name);
  return v;
}
double get_attr_double(hid_t loc, const std::string& name) {
  Id a = open_attr(loc, name);
  double v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v), "reading attribute " + name);
  return v;
}

void write_raw(hid_t loc, const std::string& path, hid_t mem_type, const void* data,
               const std::vector<hsize_t>& shape, int deflate) {
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

void read_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size,
              std::vector<unsigned char>& bytes, std::vector<hsize_t>* shape_out) {
  const std::string w = "reading " + where(loc, path);
  Id ds = open_dataset(loc, path);
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

void read_rows_raw(hid_t loc, const std::string& path, hid_t mem_type, size_t row_bytes,
                   hsize_t first, hsize_t count, void* out) {
  const std::string w = "reading " + where(loc, path);
  if (count == 0) return;
  Id ds = open_dataset(loc, path);
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
  Id t = string_type();
  hsize_t n = values.size();
  Id space(H5_CHECK(H5Screate_simple(1, &n, nullptr), w));
  Id lcpl = make_parent_groups(loc, path);
  if (exists(loc, path)) H5_CHECK(H5Ldelete(loc, path.c_str(), H5P_DEFAULT), w);
  Id ds(H5_CHECK(H5Dcreate2(loc, path.c_str(), t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), w));
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n) H5_CHECK(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), w);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& path) {
  const std::string w = "reading " + where(loc, path);
  Id ds = open_dataset(loc, path);
  Id ftype(H5_CHECK(H5Dget_type(ds), w));
  if (H5Tget_class(ftype) != H5T_STRING) fail(w, ": not a string dataset");
  Id space(H5_CHECK(H5Dget_space(ds), w));
  hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space), w);
  check_plausible_size(ds, static_cast<uint64_t>(n), H5Tis_variable_str(ftype) > 0 ? sizeof(char*) : H5Tget_size(ftype), w);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  if (H5Tis_variable_str(ftype) > 0) {
    Id t = string_type();
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    if (n) H5_CHECK(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), w);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n) H5Dvlen_reclaim(t, space, H5P_DEFAULT, ptrs.data());
  } else {
    size_t len = H5Tget_size(ftype);
    std::vector<char> buf(static_cast<size_t>(n) * len);
    Id t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, len);
    if (n) H5_CHECK(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), w);
    for (hssize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + static_cast<size_t>(i) * len;
      out.emplace_back(p, strnlen(p, len));
    }
  }
  return out;
}

Appender::Appender(hid_t loc, const std::string& path, hid_t mem_type, size_t elem_size,
                   std::vector<hsize_t> row_shape, hsize_t chunk_rows, int deflate)
    : mem_type_(mem_type), row_shape_(std::move(row_shape)), chunk_rows_(chunk_rows),
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
