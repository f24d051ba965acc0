// Payload-size image kernel, then its host launcher. Grey levels come from kernels/bin_math.hpp,
// shared with the CPU builder.
#include "kernels/payload_image_gpu.hpp"

#include <algorithm>

#include "common/cuda_check.hpp"

namespace flowpic {

namespace {

constexpr int kThreads = 128;  // four warps, four images per block

// ---------------------------------------------------------------------------------------------
// Kernel: one warp per image.
__global__ void __launch_bounds__(kThreads)
    payload_image_kernel(PacketColumns pk, const ImageWindow* windows, uint32_t count, PayloadSpec spec, float* out) {
  const int lane = threadIdx.x & 31;
  const uint64_t image = (blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x) >> 5;
  if (image >= count) return;  // the whole warp leaves together
  const ImageWindow w = windows[image];
  const int len = spec.length();
  float* img = out + image * spec.image_floats();
  int pos = 0;  // the same in every lane
  for (uint64_t base = w.begin; base < w.end && pos < len; base += 32) {
    const uint64_t p = base + lane;
    bool take = false;
    uint32_t size = 0;
    uint8_t d = 0;
    if (p < w.end) {
      size = pk.payload_length[p];
      d = pk.direction[p] & 1u;
      take = payload_counts(size) && (w.directions & (1u << d));
    }
    const unsigned ballot = __ballot_sync(0xffffffffu, take);
    const int q = pos + __popc(ballot & ((1u << lane) - 1u));
    if (take && q < len) {
      switch (spec.variant) {
        case PayloadVariant::kGrey: img[q] = payload_grey(size, spec.max_size); break;
        case PayloadVariant::kSigned: img[q] = payload_grey_signed(size, d, spec.max_size); break;
        case PayloadVariant::kTwoChannel:
          img[d * len + q] = payload_grey(size, spec.max_size);
          img[(1 - d) * len + q] = 0.0f;
          break;
      }
    }
    pos += __popc(ballot);
  }
  pos = min(pos, len);
  const float pad = spec.padding();
  for (int c = 0; c < spec.channels(); ++c)
    for (int q = pos + lane; q < len; q += 32) img[c * len + q] = pad;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Host launcher

PayloadImageBuilderGpu::PayloadImageBuilderGpu(const PayloadSpec& spec) : spec_(spec) {
  FLOWPIC_ASSERT(spec.side >= 1 && spec.max_size >= 1);
}

void PayloadImageBuilderGpu::build(const PacketColumns& pk, const ImageWindow* host_windows, size_t count, float* out,
                                   cudaStream_t stream) {
  if (count == 0) return;
  FLOWPIC_ASSERT(out != nullptr && count < (size_t{1} << 31));
  const WindowStaging::Batch b = staging_.upload(host_windows, count, pk.count, stream);
  const uint64_t threads = static_cast<uint64_t>(count) * 32;
  const unsigned blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  payload_image_kernel<<<blocks, kThreads, 0, stream>>>(pk, b.windows, static_cast<uint32_t>(count), spec_, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
