#pragma once
// Host launchers of the engine's own CUDA kernels (the rest is cuDNN and cuBLAS). Each asserts
// its preconditions, takes a stream and checks the launch. The per-element math that the CPU
// also runs comes from shared FLOWPIC_HD functions: the dropout mask from random.hpp, the
// optimizer updates and the softmax cross-entropy rows from update_math.hpp.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "nn/geometry.hpp"

namespace flowpic::nn::cuda {

// y = x * keep(seed, step, i) / (1 - rate)   (dropout.cu)
void dropout_apply(size_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t step, uint64_t first_index,
                   cudaStream_t s);

// Row-wise stable softmax; with labels, per-row loss (log-sum-exp - z[label]) into `losses` and
// dlogits = (p - onehot) / rows (dlogits may be null).   (softmax_xent.cu)
void softmax_xent(int rows, int classes, const float* logits, const int32_t* labels, float* probs, float* dlogits,
                  float* losses, cudaStream_t s);

// Keras Adam with alpha = lr sqrt(1 - b2^t) / (1 - b1^t) precomputed; SGD with momentum.   (optimizers.cu)
void adam_update(size_t n, float* p, const float* g, float* m, float* v, float alpha, float beta1, float beta2,
                 float eps, float weight_decay, cudaStream_t s);
void sgd_update(size_t n, float* p, const float* g, float* vel, float lr, float momentum, float weight_decay,
                bool nesterov, cudaStream_t s);

// planes x h x w -> planes x (h + top + bottom) x (w + left + right) with zeros around, and the
// adjoint crop.   (pad.cu)
void pad2d(int planes, int h, int w, int top, int bottom, int left, int right, const float* x, float* xp,
           cudaStream_t s);
void crop2d(int planes, int h, int w, int top, int bottom, int left, int right, const float* xp, float* x,
            cudaStream_t s);

// The sparse-input convolution (sparse_conv.cu) over a SparseBatch's device arrays (nn/sparse.hpp):
// y = act(conv(x) + b) (b may be null), N x out_c x out_h x out_w. Backward overwrites dw and,
// when db is non-null, db (db_partial: batch * out_c floats of scratch); relu_y (forward's output
// with a fused ReLU, or null) masks dy. Float atomics: not bit-identical from run to run.
void sparse_conv_forward(const ConvGeom& g, int batch, int64_t nnz, const int64_t* offsets, const uint32_t* index,
                         const float* value, const float* w, const float* b, float* y, bool relu, cudaStream_t s);
void sparse_conv_backward(const ConvGeom& g, int batch, int64_t nnz, const int64_t* offsets, const uint32_t* index,
                          const float* value, const float* relu_y, const float* dy, float* dw, float* db,
                          float* db_partial, cudaStream_t s);

// The sparse-input convolution, its activation and the max pooling p over its output, fused
// (sparse_conv.cu; the CPU twin is sparse_conv_pool_forward/backward in cpu_kernels.hpp): y =
// maxpool(act(conv(x) + b)), N x out_c x p.out_h() x p.out_w(), with z (N x out_c x out_h x
// out_w floats) as scratch, and each pooled output's winner (its offset ky * p.kw + kx in the
// window, the first maximum in row-major order; kPoolMasked where the ReLU zeroes its gradient)
// in winners, NCHW like y (kPoolMasked: geometry.hpp). Backward overwrites dw and, when db is non-null, db (db_partial:
// batch * out_c floats of scratch) from dy and those winners.
void sparse_conv_pool_forward(const ConvGeom& g, const PoolGeom& p, int batch, int64_t nnz, const int64_t* offsets,
                              const uint32_t* index, const float* value, const float* w, const float* b, float* z,
                              float* y, uint16_t* winners, bool relu, cudaStream_t s);
void sparse_conv_pool_backward(const ConvGeom& g, const PoolGeom& p, int batch, int64_t nnz, const int64_t* offsets,
                               const uint32_t* index, const float* value, const uint16_t* winners, const float* dy,
                               float* dw, float* db, float* db_partial, cudaStream_t s);

}  // namespace flowpic::nn::cuda
