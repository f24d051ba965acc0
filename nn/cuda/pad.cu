#include <algorithm>

#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"

namespace flowpic::nn::cuda {
namespace {

// One thread per element of the padded tensor: copy from x or write zero.
__global__ void pad2d_kernel(size_t total, int h, int w, int top, int left, int hp, int wp, const float* __restrict__ x,
                             float* __restrict__ xp) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    int col = int(i % wp), row = int((i / wp) % hp);
    size_t plane = i / (size_t(wp) * hp);
    int iy = row - top, ix = col - left;
    xp[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(plane * h + iy) * w + ix] : 0.0f;
  }
}

// One thread per element of the cropped tensor.
__global__ void crop2d_kernel(size_t total, int h, int w, int top, int left, int hp, int wp,
                              const float* __restrict__ xp, float* __restrict__ x) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    int ix = int(i % w), iy = int((i / w) % h);
    size_t plane = i / (size_t(w) * h);
    x[i] = xp[(plane * hp + iy + top) * wp + ix + left];
  }
}

unsigned blocks_for(size_t n) { return unsigned(std::min<size_t>((n + 255) / 256, 65535 * 8)); }

}  // namespace

void pad2d(int planes, int h, int w, int top, int bottom, int left, int right, const float* x, float* xp,
           cudaStream_t s) {
  FLOWPIC_ASSERT(planes > 0 && h > 0 && w > 0 && top >= 0 && bottom >= 0 && left >= 0 && right >= 0);
  const int hp = h + top + bottom, wp = w + left + right;
  const size_t total = size_t(planes) * hp * wp;
  pad2d_kernel<<<blocks_for(total), 256, 0, s>>>(total, h, w, top, left, hp, wp, x, xp);
  CUDA_CHECK_LAUNCH();
}

void crop2d(int planes, int h, int w, int top, int bottom, int left, int right, const float* xp, float* x,
            cudaStream_t s) {
  FLOWPIC_ASSERT(planes > 0 && h > 0 && w > 0 && top >= 0 && bottom >= 0 && left >= 0 && right >= 0);
  const int hp = h + top + bottom, wp = w + left + right;
  const size_t total = size_t(planes) * h * w;
  crop2d_kernel<<<blocks_for(total), 256, 0, s>>>(total, h, w, top, left, hp, wp, xp, x);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic::nn::cuda
