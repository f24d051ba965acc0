#pragma once
// The layers: small classes that own their parameters, gradients and outputs, and call their
// backend for the math. Built from JSON through the explicit registry in model.cpp.
//
// Protocol: setup() once (per-sample input shape -> per-sample output shape, allocates
// parameters, draws initial weights), then forward(x) keeps a pointer to x for backward(dy);
// x must stay alive and unchanged until backward. Gradients are overwritten (not accumulated)
// by each backward().
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/backend.hpp"
#include "nn/init.hpp"
#include "nn/tensor.hpp"

namespace flowpic::nn {

// A trainable tensor with its gradient, or a saved buffer (batch-norm running statistics).
struct Param {
  std::string name;  // "kernel", "bias", "gamma", "beta", "running_mean", "running_var"
  Tensor value;
  Tensor grad;  // empty for buffers
  bool trainable = true;
};

// Limits on what a model JSON may ask for, checked before anything is allocated: a layer's
// parameters and its output per sample are each at most this many floats (1 GiB). The paper's
// largest layer is well under 1% of it; a typo ("units": 10000000) gets a one-line error
// instead of an allocation failure or an integer overflow.
inline constexpr int64_t kMaxLayerValues = int64_t{1} << 28;

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string type() const = 0;
  // `in` is per sample (n = 1); returns the per-sample output shape. Throws flowpic::Error with
  // a message that the model prefixes with the layer's index and type.
  virtual Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) = 0;
  virtual const Tensor& forward(const Tensor& x, bool training) = 0;
  // Returns dx (an empty tensor when need_dx is false).
  virtual const Tensor& backward(const Tensor& dy, bool need_dx) = 0;
  virtual std::vector<Param*> params() { return {}; }

 protected:
  Backend* backend_ = nullptr;
  const Tensor* x_ = nullptr;  // input of the last forward pass
  Tensor y_, dx_;
  Tensor none_;  // what backward() returns when no input gradient was asked for
};

struct Conv2dConfig {
  int filters = 0, kh = 0, kw = 0, sh = 1, sw = 1;
  enum class Padding { valid, same, explicit_ } padding = Padding::valid;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // explicit_
  bool use_bias = true;
  Init init = Init::glorot_uniform;
};
// Geometry of a convolution on a per-sample input; throws when it does not fit.
ConvGeom conv_geometry(const Conv2dConfig& cfg, const Shape& in);

class Conv2d final : public Layer {
 public:
  explicit Conv2d(Conv2dConfig cfg) : cfg_(cfg) {}
  std::string type() const override { return "conv2d"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  // A sparse input batch (nn/sparse.hpp) through the backend's SparseConvOp: the same output as
  // forward() on the densified batch. x must stay alive and unchanged until backward(), which
  // then fills the parameter gradients and refuses need_dx (no input gradient for sparse input).
  const Tensor& forward_sparse(const SparseBatch& x, bool training);
  // forward_sparse followed by the fused activation and the max pooling `pool` (the next layers'
  // work, which the model then skips), through the backend's SparseConvPoolOp: returns the pooled
  // output; backward() then takes the gradient with respect to it. Without `dense_output`, the
  // output holds the right values only where pooled_output_delta() lists a position (all a
  // forward_delta after it reads).
  const Tensor& forward_sparse_pooled(const SparseBatch& x, const PoolGeom& pool, bool training,
                                      bool dense_output = true);
  // The last forward_sparse_pooled's output as a background + sparse delta
  // (SparseConvPoolOp::output_delta); null where the backend has no DeltaConvOp.
  const BackgroundDelta<float>* pooled_output_delta() const;
  // After a training forward_sparse_pooled: backward() from the gradient with respect to the
  // pooled output in delta form (the next conv2d's delta_grad()) instead of a dense one.
  void backward_pooled(const BackgroundDeltaGrad<float>& dy);
  // Whether forward_delta can run (the backend has a DeltaConvOp).
  bool accepts_delta_input() const { return delta_op_ != nullptr; }
  // The input d describes (the fused sparse head's pooled_output_delta()), through the backend's
  // DeltaConvOp: the same output as forward() on that input made dense. backward() then fills the
  // parameter gradients and, with need_dx, delta_grad() (returning an empty tensor). d must stay
  // alive and unchanged until backward().
  const Tensor& forward_delta(const BackgroundDelta<float>& d, bool training);
  const BackgroundDeltaGrad<float>& delta_grad() const { return delta_dx_; }
  // Inference: forward_delta followed by the fused activation and the max pooling `pool` (the
  // next layers' work, which the model then skips), without writing the convolution's output:
  // returns the pooled output. No backward() may follow.
  const Tensor& forward_delta_pooled(const BackgroundDelta<float>& d, const PoolGeom& pool);
  std::vector<Param*> params() override;
  const ConvGeom& geometry() const { return geom_; }
  // The model fuses a following ReLU into the convolution (see Activation in backend.hpp).
  void fuse_activation(Activation act) { act_ = act; }

 private:
  Conv2dConfig cfg_;
  ConvGeom geom_;
  Activation act_ = Activation::none;
  std::unique_ptr<ConvOp> op_;
  std::unique_ptr<SparseConvOp> sparse_op_;           // made on the first sparse forward pass
  std::unique_ptr<SparseConvPoolOp> sparse_pool_op_;  // made on the first pooled one
  std::unique_ptr<DeltaConvOp> delta_op_;             // null where the backend has none
  PoolGeom pool_;                                     // sparse_pool_op_'s pooling
  SparseBatch sparse_x_;                              // input of the last forward pass when it was sparse
  const BackgroundDelta<float>* delta_x_ = nullptr;   // the last forward's delta input, when it had one
  bool sparse_ = false, pooled_ = false;              // what the last forward pass was
  bool inference_only_ = false;                       // ... forward_delta_pooled: no backward
  Tensor pooled_y_;                                   // forward_sparse_pooled's or forward_delta_pooled's output
  BackgroundDeltaGrad<float> delta_dx_;
  Param kernel_{"kernel", {}, {}, true}, bias_{"bias", {}, {}, true};
};

class MaxPool2d final : public Layer {
 public:
  MaxPool2d(int kh, int kw, int sh, int sw) : kh_(kh), kw_(kw), sh_(sh), sw_(sw) {}
  std::string type() const override { return "max_pool2d"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  const PoolGeom& geometry() const { return geom_; }

 private:
  int kh_, kw_, sh_, sw_;
  PoolGeom geom_;
  std::unique_ptr<PoolOp> op_;
};

// When fused into the convolution before it, a pass-through: forward returns its input and
// backward its output gradient.
class ReLU final : public Layer {
 public:
  std::string type() const override { return "relu"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  void set_fused(bool fused) { fused_ = fused; }
  bool fused() const { return fused_; }

 private:
  bool fused_ = false;
};

// Inverted dropout. Each training forward pass draws a new mask from (seed, step); tests can pin
// the step with set_step() to hold the mask fixed.
class Dropout final : public Layer {
 public:
  explicit Dropout(float rate) : rate_(rate) {}
  std::string type() const override { return "dropout"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  void set_step(uint64_t step, bool advance) {
    step_ = step;
    advance_ = advance;
  }
  // The batch's first sample's position in a larger (global) batch: its masks are the ones those
  // samples draw there (data-parallel training, Model::set_batch_offset).
  void set_batch_offset(uint64_t first_sample) { first_sample_ = first_sample; }

 private:
  float rate_;
  uint64_t seed_ = 0, step_ = 0, first_sample_ = 0;
  bool advance_ = true, last_training_ = false;
};

// N x C x H x W -> N x (C*H*W) x 1 x 1, in C, H, W order (PyTorch's flatten).
class Flatten final : public Layer {
 public:
  std::string type() const override { return "flatten"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  Shape in_;
};

// Fully connected ("dense"): kernel [units x in] (PyTorch layout), bias [units]. Flattens its
// input implicitly.
class Dense final : public Layer {
 public:
  Dense(int units, bool use_bias, Init init) : units_(units), use_bias_(use_bias), init_(init) {}
  std::string type() const override { return "dense"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  std::vector<Param*> params() override;

 private:
  int units_;
  bool use_bias_;
  Init init_;
  Param kernel_{"kernel", {}, {}, true}, bias_{"bias", {}, {}, true};
};

class BatchNorm2d final : public Layer {
 public:
  BatchNorm2d(double momentum, double eps) : momentum_(momentum), eps_(eps) {}
  std::string type() const override { return "batch_norm2d"; }
  Shape setup(Backend& backend, const Shape& in, Rng& rng, uint64_t seed) override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  std::vector<Param*> params() override;

 private:
  double momentum_, eps_;
  std::unique_ptr<BatchNormOp> op_;
  Param gamma_{"gamma", {}, {}, true}, beta_{"beta", {}, {}, true};
  Param running_mean_{"running_mean", {}, {}, false}, running_var_{"running_var", {}, {}, false};
};

}  // namespace flowpic::nn
