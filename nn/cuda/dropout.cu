#include <algorithm>

#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"
#include "nn/random.hpp"

namespace flowpic::nn::cuda {
namespace {

__global__ void dropout_kernel(size_t n, const float* __restrict__ x, float* __restrict__ y, float rate, float scale,
                               uint64_t key, uint64_t first_index) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = dropout_keep(key, first_index + i, rate) ? x[i] * scale : 0.0f;
}

}  // namespace

void dropout_apply(size_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t step, uint64_t first_index,
                   cudaStream_t s) {
  FLOWPIC_ASSERT(rate >= 0 && rate < 1);
  if (n == 0) return;
  const int threads = 256;
  const unsigned blocks = unsigned(std::min<size_t>((n + threads - 1) / threads, 65535));
  dropout_kernel<<<blocks, threads, 0, s>>>(n, x, y, rate, 1.0f / (1.0f - rate), dropout_key(seed, step), first_index);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic::nn::cuda
