// Image augmentation kernels, then their host launcher. The per-pixel rules are
// kernels/image_augment_math.hpp, shared with augment_images_cpu (kernels/image_augment.cpp).
#include "kernels/image_augment_gpu.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/cuda_check.hpp"

namespace flowpic {

namespace {

constexpr int kThreads = 256;  // a multiple of 32: every warp is full for the shuffles
constexpr unsigned kMaxGridY = 65535;
constexpr unsigned kMaxBlocksPerImage = 1024;

static_assert(std::is_trivially_copyable_v<ImageAugmentParams>, "params are copied as bytes");

// Every kernel runs on a grid of (blocks over one image's floats) x (images): blockIdx.y strides
// over the images, blockIdx.x * blockDim.x + threadIdx.x over the n floats of one image. The
// per-image index fits 32 bits (check_image_augment_batch: n <= 2^23).

__device__ inline bool geometric(const ImageAugmentParams& p) {
  return (p.kind == ImageAugmentKind::kHorizontalFlip && p.flip) || p.kind == ImageAugmentKind::kRotate;
}

// Flips and rotations out of place: `src` is a copy of the batch, every pixel of a flipped or
// rotated image is written into `images` (other images are not touched).
__global__ void __launch_bounds__(kThreads)
    geometric_kernel(const ImageAugmentParams* params, uint32_t count, int channels, int height, int width,
                     const float* src, float* images) {
  const uint32_t plane = static_cast<uint32_t>(height) * static_cast<uint32_t>(width);
  const uint32_t n = plane * static_cast<uint32_t>(channels);
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t b = blockIdx.y; b < count; b += gridDim.y) {
    const ImageAugmentParams p = params[b];
    if (!geometric(p)) continue;
    const float* in = src + static_cast<size_t>(b) * n;
    float* out = images + static_cast<size_t>(b) * n;
    const bool flip = p.kind == ImageAugmentKind::kHorizontalFlip;
    for (uint32_t k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) {
      const uint32_t c = k / plane, r = k - c * plane;
      const int i = static_cast<int>(r / static_cast<uint32_t>(width));
      const int j = static_cast<int>(r - static_cast<uint32_t>(i) * static_cast<uint32_t>(width));
      float v;
      if (flip) {
        v = in[c * plane + static_cast<uint32_t>(i * width + flip_source_column(j, width))];
      } else {
        const int64_t s = rotate_source_pixel(i, j, height, width, p.cos_a, p.sin_a);
        v = s < 0 ? 0.0f : in[static_cast<size_t>(c) * plane + static_cast<size_t>(s)];
      }
      out[k] = v;
    }
  }
}

// The fixed-point sums of every colour-jittered image whose op at `stage` is contrast, into
// sums[b] (zeroed before): each warp adds its threads' sums with shuffles, then one atomicAdd.
// Integer sums modulo 2^64 do not depend on the order.
__global__ void __launch_bounds__(kThreads)
    contrast_sum_kernel(const ImageAugmentParams* params, uint32_t count, uint32_t n, int stage, const float* images,
                        unsigned long long* sums) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t b = blockIdx.y; b < count; b += gridDim.y) {
    const ImageAugmentParams p = params[b];  // the same for the whole block: no divergence below
    if (p.kind != ImageAugmentKind::kColourJitter || jitter_op_at(p, stage) != JitterOp::kContrast) continue;
    const float* img = images + static_cast<size_t>(b) * n;
    unsigned long long local = 0;
    for (uint32_t k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) local += contrast_fixed(img[k]);
    for (int o = 16; o > 0; o >>= 1) local += __shfl_down_sync(0xffffffffu, local, o);
    if ((threadIdx.x & 31) == 0 && local != 0) atomicAdd(sums + b, local);
  }
}

// Each colour-jittered image's op at `stage`, elementwise (contrast with the mean of sums[b]).
__global__ void __launch_bounds__(kThreads)
    jitter_stage_kernel(const ImageAugmentParams* params, uint32_t count, uint32_t n, int stage,
                        const unsigned long long* sums, float* images) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t b = blockIdx.y; b < count; b += gridDim.y) {
    const ImageAugmentParams p = params[b];
    if (p.kind != ImageAugmentKind::kColourJitter) continue;
    float* img = images + static_cast<size_t>(b) * n;
    const uint32_t first = blockIdx.x * blockDim.x + threadIdx.x;
    switch (jitter_op_at(p, stage)) {
      case JitterOp::kBrightness:
        for (uint32_t k = first; k < n; k += stride) img[k] = jitter_brightness(img[k], p.brightness);
        break;
      case JitterOp::kContrast: {
        const float offset = contrast_offset(p.contrast, contrast_mean_of_sum(sums[b], n));
        for (uint32_t k = first; k < n; k += stride) img[k] = jitter_contrast(img[k], p.contrast, offset);
        break;
      }
      case JitterOp::kSaturation:  // the identity on one- and two-channel images
      case JitterOp::kHue: break;
    }
  }
}

// About 4 floats a thread for small images, at most kMaxBlocksPerImage blocks an image.
dim3 grid_for(uint32_t n, size_t count) {
  const uint32_t per_block = kThreads * 4;
  const uint32_t x = std::min<uint32_t>((n + per_block - 1) / per_block, kMaxBlocksPerImage);
  const uint32_t y = static_cast<uint32_t>(std::min<size_t>(count, kMaxGridY));
  return dim3(std::max<uint32_t>(x, 1), y);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Host launcher

void ImageAugmenterGpu::apply(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
                              int width, cudaStream_t stream) {
  if (count == 0) return;
  FLOWPIC_ASSERT(images != nullptr && params != nullptr && channels > 0 && height > 0 && width > 0);
  const uint64_t n64 = static_cast<uint64_t>(channels) * static_cast<uint64_t>(height) * static_cast<uint64_t>(width);
  FLOWPIC_ASSERT(n64 <= (uint64_t{1} << 23) && count < (size_t{1} << 32));
  const uint32_t n = static_cast<uint32_t>(n64);
  const uint32_t n_images = static_cast<uint32_t>(count);

  // What the batch needs, from the host parameters.
  bool any_geometric = false, any_jitter = false;
  bool stage_changes[4] = {false, false, false, false}, stage_contrast[4] = {false, false, false, false};
  for (size_t i = 0; i < count; ++i) {
    const ImageAugmentParams& p = params[i];
    if ((p.kind == ImageAugmentKind::kHorizontalFlip && p.flip) || p.kind == ImageAugmentKind::kRotate)
      any_geometric = true;
    if (p.kind != ImageAugmentKind::kColourJitter) continue;
    for (int s = 0; s < 4; ++s) {
      const JitterOp op = jitter_op_at(p, s);
      if (op == JitterOp::kBrightness || op == JitterOp::kContrast) stage_changes[s] = any_jitter = true;
      if (op == JitterOp::kContrast) stage_contrast[s] = true;
    }
  }
  if (!any_geometric && !any_jitter) return;  // no pixel changes

  // 1. The parameters, through pinned memory: wait for the previous upload's copy out of it (only
  //    that copy, not the kernels) before overwriting it.
  if (pending_) CUDA_CHECK(cudaEventSynchronize(params_copied_.get()));
  host_params_.reserve(count);
  std::memcpy(host_params_.data(), params, count * sizeof(ImageAugmentParams));
  grow(params_, count);
  CUDA_CHECK(cudaMemcpyAsync(params_.data(), host_params_.data(), count * sizeof(ImageAugmentParams),
                             cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaEventRecord(params_copied_.get(), stream));
  pending_ = true;

  const dim3 grid = grid_for(n, count);
  // 2. Flips and rotations, out of place from a copy of the batch.
  if (any_geometric) {
    const size_t total = count * static_cast<size_t>(n);
    grow(scratch_, total);
    CUDA_CHECK(cudaMemcpyAsync(scratch_.data(), images, total * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    geometric_kernel<<<grid, kThreads, 0, stream>>>(params_.data(), n_images, channels, height, width, scratch_.data(),
                                                    images);
    CUDA_CHECK_LAUNCH();
  }
  // 3. Colour jitter, stage by stage (an image's mean is of its pixels after its previous op).
  if (!any_jitter) return;
  const bool any_contrast = stage_contrast[0] || stage_contrast[1] || stage_contrast[2] || stage_contrast[3];
  if (any_contrast) {
    grow(sums_, 4 * count);
    CUDA_CHECK(cudaMemsetAsync(sums_.data(), 0, 4 * count * sizeof(unsigned long long), stream));
  }
  for (int s = 0; s < 4; ++s) {
    if (!stage_changes[s]) continue;
    unsigned long long* sums = any_contrast ? sums_.data() + static_cast<size_t>(s) * count : nullptr;
    if (stage_contrast[s]) {
      contrast_sum_kernel<<<grid, kThreads, 0, stream>>>(params_.data(), n_images, n, s, images, sums);
      CUDA_CHECK_LAUNCH();
    }
    jitter_stage_kernel<<<grid, kThreads, 0, stream>>>(params_.data(), n_images, n, s, sums, images);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace flowpic
