#pragma once
// A sparse input batch: the non-zero cells of an N x C x H x W batch in coordinate (COO) form,
// sample by sample. The engine's sparse-input convolution (Backend::make_sparse_conv) reads it
// directly, so a first layer over almost-empty images (FlowPics) costs per non-zero cell instead
// of per pixel. SparseBatch is a view, like Tensor::view: the caller owns the three arrays, on
// the host or on the CUDA device, and keeps them alive and unchanged from forward to backward.
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/tensor.hpp"

namespace flowpic::nn {

struct SparseBatch {
  Shape shape;                          // N x C x H x W of the dense batch it stands for
  DeviceKind device = DeviceKind::cpu;  // where the three arrays live
  int64_t nnz = 0;                      // entries in all (= offsets[N]; offsets[0] = 0)
  // N + 1 entries: sample n's entries are [offsets[n], offsets[n + 1]).
  const int64_t* offsets = nullptr;
  // The pixel within its sample, (c * H + row) * W + col; a sample's entries are strictly
  // increasing (sorted, no duplicates).
  const uint32_t* index = nullptr;
  const float* value = nullptr;
};

// Throws flowpic::Error (one line, naming `what`, the sample and the entry) unless the batch is
// well formed: a positive shape whose samples fit 32-bit indices, N + 1 offsets from 0 to nnz
// that never decrease, and every sample's indices below C * H * W and strictly increasing. Runs
// on the host; a batch on the device is copied to the host first (for tests and debugging: the
// cuda kernels only guard against out-of-range writes).
void validate_sparse(const SparseBatch& x, const char* what = "sparse batch");

// Throws unless x is on `device` and its samples are c x h x w (N >= 1): what every consumer
// checks before reading the arrays. Cheap (no pass over the entries).
void check_sparse_input(const SparseBatch& x, int c, int h, int w, DeviceKind device, const char* what);

// The dense batch it stands for, on `device` (for tests and as the reference). Validates first.
Tensor densify(const SparseBatch& x, DeviceKind device);

// A sparse batch that owns its arrays (tests, benchmarks, callers without buffers of their own).
class OwnedSparseBatch {
 public:
  OwnedSparseBatch();
  // Copies the host arrays to `device`; offsets.size() must be shape.n + 1.
  OwnedSparseBatch(Shape shape, const std::vector<int64_t>& offsets, const std::vector<uint32_t>& index,
                   const std::vector<float>& value, DeviceKind device);
  ~OwnedSparseBatch();
  OwnedSparseBatch(OwnedSparseBatch&&) noexcept;
  OwnedSparseBatch& operator=(OwnedSparseBatch&&) noexcept;

  const SparseBatch& view() const { return view_; }
  // The same entries on another device.
  OwnedSparseBatch to(DeviceKind device) const;

  // The host copies (kept whatever the device).
  const std::vector<int64_t>& host_offsets() const { return offsets_; }
  const std::vector<uint32_t>& host_index() const { return index_; }
  const std::vector<float>& host_value() const { return value_; }

 private:
  struct Device;
  std::vector<int64_t> offsets_;
  std::vector<uint32_t> index_;
  std::vector<float> value_;
  std::unique_ptr<Device> device_;  // the cuda copies, when on the device
  SparseBatch view_;
};

// The non-zero cells of a dense host batch (N x C x H x W row-major floats), on `device`.
OwnedSparseBatch sparse_from_dense(const std::vector<float>& dense, Shape shape, DeviceKind device);

}  // namespace flowpic::nn
