#pragma once
// A compute backend: the operations layers and optimizers need, on tensors of one device.
// Two implementations: CpuBackend (cpu_backend.cpp: OpenMP + OpenBLAS kernels of cpu_kernels.hpp)
// and CudaBackend (cuda/: cuDNN behind one wrapper, cuBLAS, a few kernels). Chosen at run time
// by make_backend("cpu" | "cuda" | "auto").
//
// Operations with per-shape state (convolution algorithms, pooling descriptors, batch-norm
// statistics) are objects made once per layer by the backend (make_conv, ...), which cache what
// they choose for each batch size.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/background_delta.hpp"
#include "nn/geometry.hpp"
#include "nn/sparse.hpp"
#include "nn/tensor.hpp"

namespace flowpic::nn {

// An activation fused into a convolution: y = relu(conv(x)) in one pass over the output while it
// is in cache, and the backward pass masks dy by y > 0 as it reads it. (On the CPU the separate
// ReLU passes over the 10x300x300 activations of the paper network were a quarter of a step.)
enum class Activation { none, relu };

class ConvOp {
 public:
  virtual ~ConvOp() = default;
  // x: N x in_c x in_h x in_w, w: OIHW, b: out_c values (or empty) -> y: N x out_c x out_h x out_w.
  virtual void forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) = 0;
  // Overwrites dw, db (when b is used) and dx (when non-null). y is forward's output (read for the
  // activation's mask), dy the gradient with respect to y.
  virtual void backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor* dx, Tensor& dw,
                        Tensor* db, Activation act) = 0;
};

// A convolution whose input is a SparseBatch (nn/sparse.hpp), for a first layer over
// almost-empty images: its cost follows the non-zero cells, not the pixels. The same semantics as
// ConvOp (cross-correlation, OIHW weights, the geometry's strides and padding, the fused
// activation), without an input gradient.
class SparseConvOp {
 public:
  virtual ~SparseConvOp() = default;
  // x: N x in_c x in_h x in_w on the backend's device -> y: N x out_c x out_h x out_w.
  virtual void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) = 0;
  // Overwrites dw and db (when non-null); x, w and y as in the forward pass, dy the gradient
  // with respect to y.
  virtual void backward(const SparseBatch& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor& dw,
                        Tensor* db, Activation act) = 0;
};

// The sparse-input convolution, its activation and the max pooling after it, as one op (the
// paper network's conv2d -> relu -> max_pool2d over a sparse first layer): the convolution's
// output is never written, only the pooled one. The pooling is max_pool2d's (PoolGeom: no
// padding, windows that do not fit are dropped) over the convolution's output, and the results
// are conv -> act -> max pool's, the winner of a tie included: the first maximum in the window's
// row-major scan order (the dense max-pool's rule; a region no cell reaches is all ties, every
// position act(bias)). Forward keeps each pooled output's winner (a small integer, with the
// ReLU mask) in the op for backward.
class SparseConvPoolOp {
 public:
  virtual ~SparseConvPoolOp() = default;
  // x: N x in_c x in_h x in_w -> y: N x out_c x pool.out_h() x pool.out_w(). Without `training`
  // the op keeps nothing for a backward pass (CPU; the CUDA op keeps its winners either way).
  // Without `dense_y`, y may hold the right values only at the positions output_delta() lists
  // (where a DeltaConvOp follows, which reads output_delta() alone; the CUDA op writes all of y).
  virtual void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act, bool training,
                       bool dense_y) = 0;
  // The last forward's y as a background + sparse delta (background_delta.hpp: the background
  // act(bias), the pooled positions of the windows some cell reaches), for a DeltaConvOp after
  // it; null on a backend without DeltaConvOp (cuda). Valid until the next forward.
  virtual const BackgroundDelta<float>* output_delta() const = 0;
  // Overwrites dw and db (when non-null) from dy, the gradient with respect to y: each pooled
  // gradient goes to its window's winner (dropped where a fused ReLU zeroed it), then dw from
  // the cells and db as its sum. x, w and act as in the last forward pass (with training), which
  // it needs.
  virtual void backward(const SparseBatch& x, const Tensor& w, const Tensor& dy, Tensor& dw, Tensor* db,
                        Activation act) = 0;
  // The same from a DeltaConvOp's input gradient over output_delta(): where that is not null.
  virtual void backward(const SparseBatch& x, const Tensor& w, const BackgroundDeltaGrad<float>& dy, Tensor& dw,
                        Tensor* db, Activation act) = 0;
};

// A convolution whose input is a background + sparse delta (background_delta.hpp), for the
// conv2d after the fused sparse head (SparseConvPoolOp): ConvOp's semantics and fused activation,
// at the cost of the listed positions. conv(background image) is computed once per batch (it
// differs between outputs only through the zero padding), and each listed position adds its
// difference from the background to the outputs that read it.
class DeltaConvOp {
 public:
  virtual ~DeltaConvOp() = default;
  // d describes the input, N x in_c x in_h x in_w: d.background[c] wherever it lists no
  // position, d.values at the listed ones -> y: N x out_c x out_h x out_w.
  virtual void forward(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& b, Tensor& y,
                       Activation act) = 0;
  // Inference: forward followed by the max pooling `pool` over its output (pool.c, in_h, in_w =
  // out_c, out_h, out_w), without the convolution's output -> y: N x out_c x pool.out_h() x
  // pool.out_w(), the very values of forward then PoolOp::forward. No backward follows.
  virtual void forward_pooled(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& b, const PoolGeom& pool,
                              Tensor& y, Activation act) = 0;
  // Overwrites dw, db (when non-null) and dx (when non-null: the input gradient, exact at d's
  // listed positions and one sum per channel over all the others). d, w, y as in forward.
  virtual void backward(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& y, const Tensor& dy,
                        BackgroundDeltaGrad<float>* dx, Tensor& dw, Tensor* db, Activation act) = 0;
};

// Empty when make_sparse_conv_pool takes (conv, pool), otherwise why not: the pooling must be
// over the convolution's output (pool.c, in_h, in_w = conv out_c, out_h(), out_w()), give at least
// one output, and its window must have fewer than 65535 elements (the winner is 16 bits).
std::string sparse_conv_pool_unsupported(const ConvGeom& conv, const PoolGeom& pool);

class PoolOp {
 public:
  virtual ~PoolOp() = default;
  virtual void forward(const Tensor& x, Tensor& y) = 0;
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) = 0;
};

class BatchNormOp {
 public:
  virtual ~BatchNormOp() = default;
  // Training: batch statistics, updates the running ones, saves what backward needs.
  virtual void forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                             Tensor& running_var, Tensor& y) = 0;
  virtual void forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, Tensor& y) = 0;
  virtual void backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, Tensor& dx, Tensor& dgamma,
                        Tensor& dbeta) = 0;
};

// One optimizer update, element-wise over a parameter.
struct AdamUpdate {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f, weight_decay = 0.0f;
  int64_t step = 1;  // 1-based, for bias correction
};
struct SgdUpdate {
  float lr = 1e-2f, momentum = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceKind device() const = 0;
  virtual std::string description() const = 0;  // for logs and results

  virtual std::unique_ptr<ConvOp> make_conv(const ConvGeom& g) = 0;
  virtual std::unique_ptr<SparseConvOp> make_sparse_conv(const ConvGeom& g) = 0;
  // Throws unless sparse_conv_pool_unsupported(conv, pool) is empty.
  virtual std::unique_ptr<SparseConvPoolOp> make_sparse_conv_pool(const ConvGeom& conv, const PoolGeom& pool) = 0;
  // Null on a backend that has none (cuda: the model keeps the dense ConvOp after the head).
  virtual std::unique_ptr<DeltaConvOp> make_delta_conv(const ConvGeom& g) = 0;
  virtual std::unique_ptr<PoolOp> make_pool(const PoolGeom& g) = 0;
  // eps as in Keras (1e-3); factor = 1 - Keras momentum.
  virtual std::unique_ptr<BatchNormOp> make_batchnorm(int channels, double eps, double factor) = 0;

  virtual void relu_forward(const Tensor& x, Tensor& y) = 0;
  virtual void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) = 0;
  // Inverted dropout with the counter-based mask of random.hpp; backward is the same call on dy.
  // Element i of x draws mask element first_index + i (data-parallel ranks pass their slice's
  // offset in the global batch, so every sample keeps the mask it has in one process).
  virtual void dropout(const Tensor& x, float rate, uint64_t seed, uint64_t step, Tensor& y, uint64_t first_index) = 0;
  // x: N x in (any C,H,W with C*H*W = in), w: out x in, b: out or empty -> y: N x out x 1 x 1.
  virtual void linear_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) = 0;
  virtual void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw,
                               Tensor* db) = 0;
  // Mean cross-entropy of softmax(logits) against labels (host array of N class indices);
  // probs = softmax, dlogits = (probs - onehot) / N (both N x classes).
  virtual double softmax_xent(const Tensor& logits, const std::vector<int32_t>& labels, Tensor& probs,
                              Tensor& dlogits) = 0;
  virtual void softmax(const Tensor& logits, Tensor& probs) = 0;

  virtual void adam_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamUpdate& u) = 0;
  virtual void sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, const SgdUpdate& u) = 0;

  // Waits for queued work (no-op on the CPU); used by benchmarks.
  virtual void synchronize() {}
};

// Throws unless there are n labels, each in [0, classes).
void check_labels(const std::vector<int32_t>& labels, int n, int classes);

// "cpu", "cuda" or "auto" (cuda when a device is present). Asking for cuda without a usable
// device, or in a CPU-only build, is an error that says so; there is no silent fallback.
std::unique_ptr<Backend> make_backend(const std::string& name);

struct CudaOptions {
  bool allow_tf32 = true;  // tensor-core TF32 convolutions (PyTorch's default); tests turn it off
};
std::unique_ptr<Backend> make_cpu_backend();
std::unique_ptr<Backend> make_cuda_backend(const CudaOptions& opt = {});

}  // namespace flowpic::nn
