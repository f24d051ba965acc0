#pragma once
// FlowPic images on the GPU (CUDA build only): the CUDA twin of build_flowpic_cpu, bit-identical.
// One build() queues a whole batch, straight into an NCHW float tensor, on the caller's stream.
//  - Small images (C*R*R*4 bytes <= 48 KiB, e.g. R = 32, 64): one thread block per window counts
//    in shared memory and writes every pixel once (zeroing fused).
//  - Large images (R = 1500): the batch is zeroed with cudaMemsetAsync (the 9 MB/image floor),
//    then raw counts are scattered with global float atomics (exact for integers < 2^24); other
//    transforms sort the packets' (window, pixel) keys with CUB, run-length encode them, and write
//    each hit pixel once, so no count scratch image is needed.
#include <cuda_runtime.h>

#include "common/device_memory.hpp"
#include "kernels/device_packets.hpp"
#include "kernels/image_spec.hpp"

namespace flowpic {

class FlowPicBuilderGpu {
 public:
  explicit FlowPicBuilderGpu(const FlowPicSpec& spec);
  const FlowPicSpec& spec() const { return spec_; }
  bool uses_shared_memory() const;

  // Queues `count` images built from `device_packets` (DevicePackets::columns()) into `out`, a
  // device pointer to count * spec().image_floats() floats. Returns once the work is queued; the
  // host windows may be reused at once. Workspace is stream-ordered: one builder per stream.
  // Growing the workspace (first calls, larger batches) frees and allocates device memory, which
  // synchronises the device; a steady batch size never does.
  void build(const PacketColumns& device_packets, const ImageWindow* host_windows, size_t count, float* out,
             cudaStream_t stream);
  // The same images as their non-zero cells (the sorted path at any resolution: keys sorted with
  // CUB and run-length encoded; each run is one cell, and the runs of image w start at the first
  // run whose key has window w). Device pointers into the builder's buffers, valid until the next
  // call; waits on `stream` for the cell count only.
  SparseImages build_sparse(const PacketColumns& device_packets, const ImageWindow* host_windows, size_t count,
                            cudaStream_t stream);

 private:
  // Sort keys of every packet slot, sorted and run-length encoded into unique_ / run_counts_ /
  // num_runs_; for the "max" transform also each window's largest count (returned, else null).
  const uint32_t* encode_runs(const PacketColumns& pk, const WindowStaging::Batch& b, uint32_t n_windows,
                              cudaStream_t stream);
  template <typename T>
  static void grow(DeviceBuffer<T>& b, size_t n) {
    if (b.size() < n) b.resize(n + n / 2);
  }
  FlowPicSpec spec_;
  WindowStaging staging_;
  DeviceBuffer<unsigned long long> keys_, sorted_, unique_;
  DeviceBuffer<uint32_t> run_counts_, num_runs_, window_max_;
  DeviceBuffer<unsigned char> temp_;
  DeviceBuffer<int64_t> cell_offsets_;
  DeviceBuffer<uint32_t> cell_index_;
  DeviceBuffer<float> cell_value_;
  PinnedBuffer<int64_t> cell_count_;
};

}  // namespace flowpic
