#include "nn/sparse.hpp"

#include <algorithm>
#include <limits>

#include "common/error.hpp"
#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#endif

namespace flowpic::nn {
namespace {

// The three arrays on the host: the batch's own pointers, or copies of the device's.
struct HostArrays {
  std::vector<int64_t> offsets_copy;
  std::vector<uint32_t> index_copy;
  std::vector<float> value_copy;
  const int64_t* offsets = nullptr;
  const uint32_t* index = nullptr;
  const float* value = nullptr;
};

template <typename T>
void download(std::vector<T>& dst, const T* src, size_t n) {
  dst.resize(n);
  if (n == 0) return;
#ifdef FLOWPIC_HAVE_CUDA
  CUDA_CHECK(cudaMemcpy(dst.data(), src, n * sizeof(T), cudaMemcpyDeviceToHost));
#else
  (void)src;
  fail("a sparse batch on the cuda device in a CPU-only build");
#endif
}

// Offsets first (they say how many entries there are), then the entries.
HostArrays host_arrays(const SparseBatch& x, bool values) {
  HostArrays h;
  const size_t n1 = size_t(x.shape.n) + 1;
  if (x.device == DeviceKind::cpu) {
    h.offsets = x.offsets;
    h.index = x.index;
    h.value = x.value;
    return h;
  }
  download(h.offsets_copy, x.offsets, n1);
  h.offsets = h.offsets_copy.data();
  const size_t nnz = size_t(std::max<int64_t>(0, x.nnz));
  download(h.index_copy, x.index, nnz);
  h.index = h.index_copy.data();
  if (values) {
    download(h.value_copy, x.value, nnz);
    h.value = h.value_copy.data();
  }
  return h;
}

void validate_host(const SparseBatch& x, const HostArrays& h, const char* what) {
  const Shape& s = x.shape;
  if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1) fail(what, ": shape ", s.str(), " must be positive");
  const uint64_t pixels = uint64_t(s.c) * uint64_t(s.h) * uint64_t(s.w);
  if (pixels > std::numeric_limits<uint32_t>::max())
    fail(what, ": a sample of ", s.c, "x", s.h, "x", s.w, " has more pixels than 32-bit indices address");
  if (x.nnz < 0) fail(what, ": nnz ", x.nnz, " is negative");
  if (!h.offsets) fail(what, ": offsets is a null pointer");
  if (x.nnz > 0 && (!h.index || !h.value)) fail(what, ": ", x.nnz, " entries but a null index or value pointer");
  if (h.offsets[0] != 0) fail(what, ": offsets[0] is ", h.offsets[0], ", must be 0");
  if (h.offsets[s.n] != x.nnz) fail(what, ": offsets[", s.n, "] is ", h.offsets[s.n], " but nnz is ", x.nnz);
  for (int n = 0; n < s.n; ++n) {
    const int64_t lo = h.offsets[n], hi = h.offsets[n + 1];
    if (hi < lo)
      fail(what, ": offsets[", n + 1, "] = ", hi, " after offsets[", n, "] = ", lo, "; offsets must not decrease");
    if (hi > x.nnz) fail(what, ": offsets[", n + 1, "] = ", hi, " is past nnz ", x.nnz);
    for (int64_t e = lo; e < hi; ++e) {
      if (h.index[e] >= pixels)
        fail(what, ": sample ", n, " entry ", e, " has index ", h.index[e], ", outside [0, ", pixels, ") for ", s.c,
             "x", s.h, "x", s.w);
      if (e > lo && h.index[e] <= h.index[e - 1])
        fail(what, ": sample ", n, " entry ", e, " has index ", h.index[e], " after ", h.index[e - 1],
             "; a sample's indices must be strictly increasing (sorted, no duplicates)");
    }
  }
}

}  // namespace

void validate_sparse(const SparseBatch& x, const char* what) {
  if (x.shape.n < 1) fail(what, ": shape ", x.shape.str(), " must be positive");
  if (x.device == DeviceKind::cuda && x.nnz < 0) fail(what, ": nnz ", x.nnz, " is negative");
  if (x.device == DeviceKind::cuda && !x.offsets) fail(what, ": offsets is a null pointer");
  validate_host(x, host_arrays(x, false), what);
}

void check_sparse_input(const SparseBatch& x, int c, int h, int w, DeviceKind device, const char* what) {
  const Shape& s = x.shape;
  if (s.n < 1 || s.c != c || s.h != h || s.w != w)
    fail(what, ": expected N x ", c, " x ", h, " x ", w, ", got a sparse batch of ", s.str());
  if (x.device != device)
    fail(what, ": the sparse batch is on ", device_name(x.device), " but the backend is ", device_name(device),
         "; build it on the backend's device or copy it (OwnedSparseBatch::to)");
}

Tensor densify(const SparseBatch& x, DeviceKind device) {
  HostArrays h = host_arrays(x, true);
  validate_host(x, h, "densify");
  std::vector<float> dense(x.shape.count(), 0.0f);
  const size_t per = x.shape.sample_count();
  for (int n = 0; n < x.shape.n; ++n)
    for (int64_t e = h.offsets[n]; e < h.offsets[n + 1]; ++e) dense[size_t(n) * per + h.index[e]] = h.value[e];
  return Tensor::from_host(dense, x.shape, device);
}

// ---- OwnedSparseBatch ----------------------------------------------------------------------

#ifdef FLOWPIC_HAVE_CUDA
struct OwnedSparseBatch::Device {
  DeviceBuffer<int64_t> offsets;
  DeviceBuffer<uint32_t> index;
  DeviceBuffer<float> value;
};
#else
struct OwnedSparseBatch::Device {};
#endif

OwnedSparseBatch::OwnedSparseBatch() = default;
OwnedSparseBatch::~OwnedSparseBatch() = default;
OwnedSparseBatch::OwnedSparseBatch(OwnedSparseBatch&&) noexcept = default;
OwnedSparseBatch& OwnedSparseBatch::operator=(OwnedSparseBatch&&) noexcept = default;

OwnedSparseBatch::OwnedSparseBatch(Shape shape, const std::vector<int64_t>& offsets, const std::vector<uint32_t>& index,
                                   const std::vector<float>& value, DeviceKind device)
    : offsets_(offsets), index_(index), value_(value) {
  if (shape.n < 1 || offsets.size() != size_t(shape.n) + 1)
    fail("sparse batch ", shape.str(), ": needs N + 1 = ", int64_t{shape.n} + 1, " offsets, got ", offsets.size());
  if (index.size() != value.size())
    fail("sparse batch ", shape.str(), ": ", index.size(), " indices but ", value.size(), " values");
  view_.shape = shape;
  view_.device = device;
  view_.nnz = int64_t(index.size());
  if (device == DeviceKind::cpu) {
    view_.offsets = offsets_.data();
    view_.index = index_.data();
    view_.value = value_.data();
    return;
  }
#ifdef FLOWPIC_HAVE_CUDA
  device_ = std::make_unique<Device>();
  device_->offsets.upload(offsets_.data(), offsets_.size());
  device_->index.upload(index_.data(), index_.size());
  device_->value.upload(value_.data(), value_.size());
  CUDA_CHECK(cudaStreamSynchronize(nullptr));  // the host vectors may be resized later
  view_.offsets = device_->offsets.data();
  view_.index = device_->index.data();
  view_.value = device_->value.data();
#else
  fail("cannot put a sparse batch on the cuda device: this is a CPU-only build (FLOWPIC_CUDA=OFF)");
#endif
}

OwnedSparseBatch OwnedSparseBatch::to(DeviceKind device) const {
  return OwnedSparseBatch(view_.shape, offsets_, index_, value_, device);
}

OwnedSparseBatch sparse_from_dense(const std::vector<float>& dense, Shape shape, DeviceKind device) {
  if (dense.size() != shape.count()) fail("sparse_from_dense: ", dense.size(), " values for a batch of ", shape.str());
  if (shape.sample_count() > std::numeric_limits<uint32_t>::max())
    fail("sparse_from_dense: a sample of ", shape.c, "x", shape.h, "x", shape.w,
         " has more pixels than 32-bit indices address");
  std::vector<int64_t> offsets{0};
  std::vector<uint32_t> index;
  std::vector<float> value;
  const size_t per = shape.sample_count();
  for (int n = 0; n < shape.n; ++n) {
    const float* s = dense.data() + size_t(n) * per;
    for (size_t i = 0; i < per; ++i)
      if (s[i] != 0.0f) {
        index.push_back(uint32_t(i));
        value.push_back(s[i]);
      }
    offsets.push_back(int64_t(index.size()));
  }
  return OwnedSparseBatch(shape, offsets, index, value, device);
}

}  // namespace flowpic::nn
