#pragma once
// CPU builders: the CPU twin of the CUDA kernels (kernels/flowpic_gpu.cu, payload_image_gpu.cu),
// multi-threaded with OpenMP, writing straight into an NCHW float batch. They call the same
// per-element math (kernels/bin_math.hpp), so both backends give identical bits.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/image_spec.hpp"

namespace flowpic {

// Image i of the batch goes to out + i * spec.image_floats(); every float of it is written.
// threads <= 0: OpenMP's default.
void build_flowpic_cpu(const PacketColumns& packets, const FlowPicSpec& spec, const ImageWindow* windows, size_t count,
                       float* out, int threads = 0);
void build_payload_image_cpu(const PacketColumns& packets, const PayloadSpec& spec, const ImageWindow* windows,
                             size_t count, float* out, int threads = 0);

// FlowPics as their non-zero pixels (COO), the sparse twin of build_flowpic_cpu: image i's cells
// are [offsets[i], offsets[i + 1]), each a pixel index (c * R + row) * R + column, sorted and
// unique, and the pixel's value exactly as the dense image has it (the transform applied to the
// count; "max" divides by the image's largest count). Vectors are reused across calls.
struct SparseImagesHost {
  std::vector<int64_t> offsets;  // count + 1
  std::vector<uint32_t> index;
  std::vector<float> value;
  std::vector<std::vector<uint32_t>> scratch;  // per image: its packets' pixels, sorted (reused)
};
void build_flowpic_sparse_cpu(const PacketColumns& packets, const FlowPicSpec& spec, const ImageWindow* windows,
                              size_t count, SparseImagesHost& out, int threads = 0);

}  // namespace flowpic
