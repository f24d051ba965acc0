#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"
#include "nn/update_math.hpp"

namespace flowpic::nn::cuda {
namespace {

// One thread per row: the class count is small (tens), the batch is the parallelism.
__global__ void softmax_xent_kernel(int rows, int classes, const float* __restrict__ logits,
                                    const int32_t* __restrict__ labels, float* __restrict__ probs,
                                    float* __restrict__ dlogits, float* __restrict__ losses) {
  int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const size_t row = size_t(r) * classes;
  const float loss = softmax_xent_row(classes, logits + row, labels ? int(labels[r]) : -1, rows, probs + row,
                                      dlogits ? dlogits + row : nullptr);
  if (labels) losses[r] = loss;
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
