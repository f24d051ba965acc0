#include <algorithm>

#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"
#include "nn/update_math.hpp"

namespace flowpic::nn::cuda {
namespace {

__global__ void adam_kernel(size_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, float alpha, float b1, float b2, float eps, float wd) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    nn::adam_update(p[i], g[i], m[i], v[i], alpha, b1, b2, eps, wd);
  }
}

__global__ void sgd_kernel(size_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ vel,
                           float lr, float mu, float wd, bool nesterov) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    nn::sgd_update(p[i], g[i], vel[i], lr, mu, wd, nesterov);
  }
}

unsigned blocks_for(size_t n, int threads) { return unsigned(std::min<size_t>((n + threads - 1) / threads, 65535)); }

}  // namespace

void adam_update(size_t n, float* p, const float* g, float* m, float* v, float alpha, float beta1, float beta2,
                 float eps, float weight_decay, cudaStream_t s) {
  if (n == 0) return;
  adam_kernel<<<blocks_for(n, 256), 256, 0, s>>>(n, p, g, m, v, alpha, beta1, beta2, eps, weight_decay);
  CUDA_CHECK_LAUNCH();
}

void sgd_update(size_t n, float* p, const float* g, float* vel, float lr, float momentum, float weight_decay,
                bool nesterov, cudaStream_t s) {
  if (n == 0) return;
  sgd_kernel<<<blocks_for(n, 256), 256, 0, s>>>(n, p, g, vel, lr, momentum, weight_decay, nesterov);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic::nn::cuda
