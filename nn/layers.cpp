#include "nn/layers.hpp"

#include "common/error.hpp"

namespace flowpic::nn {
namespace {

Tensor filled(const std::vector<float>& host, Shape shape, DeviceKind d) { return Tensor::from_host(host, shape, d); }

void need_input(const Tensor* x, const char* layer) {
  if (!x) fail(layer, ": backward() called before forward()");
}

// Refuses a tensor over kMaxLayerValues before it is allocated (see layers.hpp).
void check_size(int64_t values, const char* what, const std::string& shape) {
  if (values > kMaxLayerValues)
    fail(what, " ", shape, " would hold ", values, " values, over the limit of ", kMaxLayerValues,
         " (1 GiB of floats); use fewer filters or units, or a smaller input");
}

}  // namespace

// ---- Conv2d --------------------------------------------------------------------------------

ConvGeom conv_geometry(const Conv2dConfig& cfg, const Shape& in) {
  ConvGeom g;
  g.in_c = in.c;
  g.in_h = in.h;
  g.in_w = in.w;
  g.out_c = cfg.filters;
  g.kh = cfg.kh;
  g.kw = cfg.kw;
  g.sh = cfg.sh;
  g.sw = cfg.sw;
  if (cfg.padding == Conv2dConfig::Padding::same) {
    SamePadding v = same_padding(in.h, cfg.kh, cfg.sh), h = same_padding(in.w, cfg.kw, cfg.sw);
    g.pad_top = v.before;
    g.pad_bottom = v.after;
    g.pad_left = h.before;
    g.pad_right = h.after;
  } else if (cfg.padding == Conv2dConfig::Padding::explicit_) {
    g.pad_top = cfg.pad_top;
    g.pad_bottom = cfg.pad_bottom;
    g.pad_left = cfg.pad_left;
    g.pad_right = cfg.pad_right;
  }
  if (!g.valid())
    fail("a ", cfg.kh, "x", cfg.kw, " kernel with padding (top ", g.pad_top, ", bottom ", g.pad_bottom, ", left ",
         g.pad_left, ", right ", g.pad_right, ") does not fit the input ", in.c, "x", in.h, "x", in.w);
  // In 64 bits: the int products in ConvGeom must not overflow.
  const int64_t k = int64_t{g.in_c} * g.kh * g.kw;
  check_size(
      k * g.out_c, "the kernel",
      std::to_string(g.out_c) + "x" + std::to_string(g.in_c) + "x" + std::to_string(g.kh) + "x" + std::to_string(g.kw));
  check_size(int64_t{g.out_c} * g.out_h() * g.out_w(), "the output",
             std::to_string(g.out_c) + "x" + std::to_string(g.out_h()) + "x" + std::to_string(g.out_w()));
  return g;
}

Shape Conv2d::setup(Backend& backend, const Shape& in, Rng& rng, uint64_t) {
  backend_ = &backend;
  geom_ = conv_geometry(cfg_, in);
  const int fan_in = geom_.k_size(), fan_out = cfg_.filters * cfg_.kh * cfg_.kw;
  Shape ks{cfg_.filters, in.c, cfg_.kh, cfg_.kw};
  kernel_.value = filled(init_values(cfg_.init, ks.count(), fan_in, fan_out, rng), ks, backend.device());
  kernel_.grad = Tensor(ks, backend.device());
  if (cfg_.use_bias) {
    bias_.value = Tensor({1, cfg_.filters, 1, 1}, backend.device());
    bias_.grad = Tensor({1, cfg_.filters, 1, 1}, backend.device());
  }
  op_ = backend.make_conv(geom_);
  delta_op_ = backend.make_delta_conv(geom_);
  return {1, cfg_.filters, geom_.out_h(), geom_.out_w()};
}

const Tensor& Conv2d::forward(const Tensor& x, bool) {
  x_ = &x;
  delta_x_ = nullptr;
  sparse_ = pooled_ = inference_only_ = false;
  op_->forward(x, kernel_.value, bias_.value, y_, act_);
  return y_;
}

const Tensor& Conv2d::forward_delta(const BackgroundDelta<float>& d, bool) {
  if (!delta_op_) fail("conv2d: the ", device_name(backend_->device()), " backend has no convolution over delta input");
  x_ = nullptr;
  delta_x_ = nullptr;
  sparse_ = pooled_ = inference_only_ = false;
  delta_op_->forward(d, kernel_.value, bias_.value, y_, act_);
  delta_x_ = &d;
  return y_;
}

const Tensor& Conv2d::forward_delta_pooled(const BackgroundDelta<float>& d, const PoolGeom& pool) {
  if (!delta_op_) fail("conv2d: the ", device_name(backend_->device()), " backend has no convolution over delta input");
  x_ = nullptr;
  delta_x_ = nullptr;
  sparse_ = pooled_ = false;
  inference_only_ = true;
  delta_op_->forward_pooled(d, kernel_.value, bias_.value, pool, pooled_y_, act_);
  return pooled_y_;
}

const Tensor& Conv2d::forward_sparse(const SparseBatch& x, bool) {
  if (!sparse_op_) sparse_op_ = backend_->make_sparse_conv(geom_);
  x_ = nullptr;
  delta_x_ = nullptr;
  sparse_ = pooled_ = inference_only_ = false;
  sparse_op_->forward(x, kernel_.value, bias_.value, y_, act_);
  sparse_x_ = x;
  sparse_ = true;
  return y_;
}

const Tensor& Conv2d::forward_sparse_pooled(const SparseBatch& x, const PoolGeom& pool, bool training,
                                            bool dense_output) {
  const bool same = sparse_pool_op_ && pool.c == pool_.c && pool.in_h == pool_.in_h && pool.in_w == pool_.in_w &&
                    pool.kh == pool_.kh && pool.kw == pool_.kw && pool.sh == pool_.sh && pool.sw == pool_.sw;
  if (!same) {
    sparse_pool_op_ = backend_->make_sparse_conv_pool(geom_, pool);
    pool_ = pool;
  }
  x_ = nullptr;
  delta_x_ = nullptr;
  sparse_ = pooled_ = inference_only_ = false;
  sparse_pool_op_->forward(x, kernel_.value, bias_.value, pooled_y_, act_, training, dense_output);
  sparse_x_ = x;
  sparse_ = pooled_ = true;
  return pooled_y_;
}

const BackgroundDelta<float>* Conv2d::pooled_output_delta() const {
  return pooled_ ? sparse_pool_op_->output_delta() : nullptr;
}

void Conv2d::backward_pooled(const BackgroundDeltaGrad<float>& dy) {
  if (!pooled_) fail("conv2d: backward_pooled() without a pooled sparse forward pass");
  sparse_pool_op_->backward(sparse_x_, kernel_.value, dy, kernel_.grad, cfg_.use_bias ? &bias_.grad : nullptr, act_);
}

const Tensor& Conv2d::backward(const Tensor& dy, bool need_dx) {
  if (inference_only_) fail("conv2d: backward() after an inference-only forward pass (forward_delta_pooled)");
  if (sparse_) {
    if (need_dx) fail("conv2d: no input gradient for a sparse input (a sparse batch feeds the first layer only)");
    if (pooled_) {
      sparse_pool_op_->backward(sparse_x_, kernel_.value, dy, kernel_.grad, cfg_.use_bias ? &bias_.grad : nullptr,
                                act_);
      return none_;
    }
    sparse_op_->backward(sparse_x_, kernel_.value, y_, dy, kernel_.grad, cfg_.use_bias ? &bias_.grad : nullptr, act_);
    return none_;
  }
  if (delta_x_) {
    delta_op_->backward(*delta_x_, kernel_.value, y_, dy, need_dx ? &delta_dx_ : nullptr, kernel_.grad,
                        cfg_.use_bias ? &bias_.grad : nullptr, act_);
    return none_;
  }
  need_input(x_, "conv2d");
  op_->backward(*x_, kernel_.value, y_, dy, need_dx ? &dx_ : nullptr, kernel_.grad,
                cfg_.use_bias ? &bias_.grad : nullptr, act_);
  return need_dx ? dx_ : none_;
}

std::vector<Param*> Conv2d::params() {
  if (cfg_.use_bias) return {&kernel_, &bias_};
  return {&kernel_};
}

// ---- MaxPool2d -----------------------------------------------------------------------------

Shape MaxPool2d::setup(Backend& backend, const Shape& in, Rng&, uint64_t) {
  backend_ = &backend;
  PoolGeom g{in.c, in.h, in.w, kh_, kw_, sh_, sw_};
  if (g.out_h() <= 0 || g.out_w() <= 0)
    fail("a ", kh_, "x", kw_, " pooling window does not fit the input ", in.c, "x", in.h, "x", in.w);
  geom_ = g;
  op_ = backend.make_pool(g);
  return {1, in.c, g.out_h(), g.out_w()};
}

const Tensor& MaxPool2d::forward(const Tensor& x, bool) {
  x_ = &x;
  op_->forward(x, y_);
  return y_;
}

const Tensor& MaxPool2d::backward(const Tensor& dy, bool) {
  need_input(x_, "max_pool2d");
  op_->backward(*x_, y_, dy, dx_);
  return dx_;
}

// ---- ReLU ----------------------------------------------------------------------------------

Shape ReLU::setup(Backend& backend, const Shape& in, Rng&, uint64_t) {
  backend_ = &backend;
  return in;
}

const Tensor& ReLU::forward(const Tensor& x, bool) {
  x_ = &x;
  if (fused_) return x;
  backend_->relu_forward(x, y_);
  return y_;
}

const Tensor& ReLU::backward(const Tensor& dy, bool) {
  need_input(x_, "relu");
  if (fused_) return dy;
  backend_->relu_backward(y_, dy, dx_);
  return dx_;
}

// ---- Dropout -------------------------------------------------------------------------------

Shape Dropout::setup(Backend& backend, const Shape& in, Rng&, uint64_t seed) {
  backend_ = &backend;
  seed_ = seed;
  return in;
}

const Tensor& Dropout::forward(const Tensor& x, bool training) {
  x_ = &x;
  last_training_ = training && rate_ > 0;
  if (!last_training_) return x;  // inference: the identity, no copy
  if (advance_) ++step_;
  backend_->dropout(x, rate_, seed_, step_, y_, first_sample_ * x.shape().sample_count());
  return y_;
}

const Tensor& Dropout::backward(const Tensor& dy, bool) {
  need_input(x_, "dropout");
  if (!last_training_) return dy;
  backend_->dropout(dy, rate_, seed_, step_, dx_, first_sample_ * dy.shape().sample_count());
  return dx_;
}

// ---- Flatten -------------------------------------------------------------------------------

Shape Flatten::setup(Backend& backend, const Shape& in, Rng&, uint64_t) {
  backend_ = &backend;
  in_ = in;
  return {1, int(in.sample_count()), 1, 1};
}

// A view: flattening NCHW in C, H, W order moves no data.
const Tensor& Flatten::forward(const Tensor& x, bool) {
  x_ = &x;
  y_ = Tensor::view(const_cast<float*>(x.data()), {x.shape().n, int(x.shape().sample_count()), 1, 1}, x.device());
  return y_;
}

const Tensor& Flatten::backward(const Tensor& dy, bool) {
  need_input(x_, "flatten");
  dx_ = Tensor::view(const_cast<float*>(dy.data()), x_->shape(), dy.device());
  return dx_;
}

// ---- Dense ---------------------------------------------------------------------------------

Shape Dense::setup(Backend& backend, const Shape& in, Rng& rng, uint64_t) {
  backend_ = &backend;
  check_size(int64_t{units_} * static_cast<int64_t>(in.sample_count()), "the kernel",
             std::to_string(units_) + "x" + std::to_string(in.sample_count()));
  const int fan_in = int(in.sample_count());
  Shape ks{units_, fan_in, 1, 1};
  kernel_.value = filled(init_values(init_, ks.count(), fan_in, units_, rng), ks, backend.device());
  kernel_.grad = Tensor(ks, backend.device());
  if (use_bias_) {
    bias_.value = Tensor({1, units_, 1, 1}, backend.device());
    bias_.grad = Tensor({1, units_, 1, 1}, backend.device());
  }
  return {1, units_, 1, 1};
}

const Tensor& Dense::forward(const Tensor& x, bool) {
  x_ = &x;
  backend_->linear_forward(x, kernel_.value, bias_.value, y_);
  return y_;
}

const Tensor& Dense::backward(const Tensor& dy, bool need_dx) {
  need_input(x_, "dense");
  backend_->linear_backward(*x_, kernel_.value, dy, need_dx ? &dx_ : nullptr, kernel_.grad,
                            use_bias_ ? &bias_.grad : nullptr);
  return need_dx ? dx_ : none_;
}

std::vector<Param*> Dense::params() {
  if (use_bias_) return {&kernel_, &bias_};
  return {&kernel_};
}

// ---- BatchNorm2d ---------------------------------------------------------------------------

Shape BatchNorm2d::setup(Backend& backend, const Shape& in, Rng&, uint64_t) {
  backend_ = &backend;
  Shape s{1, in.c, 1, 1};
  const DeviceKind d = backend.device();
  gamma_.value = filled(std::vector<float>(in.c, 1.0f), s, d);
  gamma_.grad = Tensor(s, d);
  beta_.value = Tensor(s, d);
  beta_.grad = Tensor(s, d);
  running_mean_.value = Tensor(s, d);
  running_var_.value = filled(std::vector<float>(in.c, 1.0f), s, d);
  op_ = backend.make_batchnorm(in.c, eps_, 1.0 - momentum_);
  return in;
}

const Tensor& BatchNorm2d::forward(const Tensor& x, bool training) {
  x_ = &x;
  if (training)
    op_->forward_train(x, gamma_.value, beta_.value, running_mean_.value, running_var_.value, y_);
  else
    op_->forward_infer(x, gamma_.value, beta_.value, running_mean_.value, running_var_.value, y_);
  return y_;
}

const Tensor& BatchNorm2d::backward(const Tensor& dy, bool) {
  need_input(x_, "batch_norm2d");
  op_->backward(*x_, dy, gamma_.value, dx_, gamma_.grad, beta_.grad);
  return dx_;
}

std::vector<Param*> BatchNorm2d::params() { return {&gamma_, &beta_, &running_mean_, &running_var_}; }

}  // namespace flowpic::nn
