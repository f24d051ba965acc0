#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"

namespace flowpic::nn::cuda {
namespace {

// One thread per row: the class count is small (tens), the batch is the parallelism.
__global__ void softmax_xent_kernel(int rows, int classes, const float* __restrict__ logits,
                                    const int32_t* __restrict__ labels, float* __restrict__ probs,
                                    float* __restrict__ dlogits, float* __restrict__ losses) {
  int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* z = logits + size_t(r) * classes;
  float* p = probs + size_t(r) * classes;
  float m = z[0];
  for (int k = 1; k < classes; ++k) m = fmaxf(m, z[k]);
  float s = 0;
  for (int k = 0; k < classes; ++k) s += expf(z[k] - m);
  float log_s = logf(s);
  for (int k = 0; k < classes; ++k) p[k] = expf(z[k] - m - log_s);
  if (!labels) return;
  int y = labels[r];
  losses[r] = log_s + m - z[y];
  if (dlogits) {
    float* d = dlogits + size_t(r) * classes;
    for (int k = 0; k < classes; ++k) d[k] = (p[k] - (k == y ? 1.0f : 0.0f)) / float(rows);
  }
}

}  // namespace

void softmax_xent(int rows, int classes, const float* logits, const int32_t* labels, float* probs, float* dlogits,
                  float* losses, cudaStream_t s) {
  FLOWPIC_ASSERT(rows > 0 && classes > 0);
  FLOWPIC_ASSERT(!labels || losses);
  const int threads = 128;
  softmax_xent_kernel<<<(rows + threads - 1) / threads, threads, 0, s>>>(rows, classes, logits, labels, probs, dlogits,
                                                                         losses);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic::nn::cuda
