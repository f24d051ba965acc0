#pragma once
// CPU builders: the CPU twin of the CUDA kernels (kernels/flowpic_gpu.cu, payload_image_gpu.cu),
// multi-threaded with OpenMP, writing straight into an NCHW float batch. They call the same
// per-element math (kernels/bin_math.hpp), so both backends give identical bits.
#include <cstddef>

#include "kernels/image_spec.hpp"

namespace flowpic {

// Image i of the batch goes to out + i * spec.image_floats(); every float of it is written.
// threads <= 0: OpenMP's default.
void build_flowpic_cpu(const PacketColumns& packets, const FlowPicSpec& spec, const ImageWindow* windows, size_t count,
                       float* out, int threads = 0);
void build_payload_image_cpu(const PacketColumns& packets, const PayloadSpec& spec, const ImageWindow* windows,
                             size_t count, float* out, int threads = 0);

}  // namespace flowpic
