#pragma once
// Payload-size images on the GPU (CUDA build only): the CUDA twin of build_payload_image_cpu.
// One warp per image compacts the window's known non-zero payload sizes in arrival order
// (ballot + popcount), writes each position once, then the padding: no separate zeroing pass.
#include <cuda_runtime.h>

#include "kernels/device_packets.hpp"
#include "kernels/image_spec.hpp"

namespace flowpic {

class PayloadImageBuilderGpu {
 public:
  explicit PayloadImageBuilderGpu(const PayloadSpec& spec);
  const PayloadSpec& spec() const { return spec_; }
  // As FlowPicBuilderGpu::build: queues count images into out (count * spec().image_floats()
  // device floats) on `stream`; one builder per stream.
  void build(const PacketColumns& device_packets, const ImageWindow* host_windows, size_t count, float* out,
             cudaStream_t stream);

 private:
  PayloadSpec spec_;
  WindowStaging staging_;
};

}  // namespace flowpic
