// The cpu backend: thin adapters from tensors to the kernels of cpu_kernels.hpp.
#include "common/device.hpp"
#include "common/error.hpp"
#include "nn/backend.hpp"
#include "nn/cpu_kernels.hpp"
#include "nn/update_math.hpp"

namespace flowpic::nn {
namespace {

void need_cpu(const Tensor& t, const char* what) { check_device(t, DeviceKind::cpu, what); }

class CpuConv final : public ConvOp {
 public:
  explicit CpuConv(const ConvGeom& g) : g_(g) {}
  void forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) override {
    need_cpu(x, "conv2d input");
    const int n = x.shape().n;
    check_shape(x, {n, g_.in_c, g_.in_h, g_.in_w}, "conv2d input");
    y.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cpu);
    cpu::conv2d_forward(g_, n, x.data(), w.data(), b.empty() ? nullptr : b.data(), y.data(), 0,
                        act == Activation::relu);
  }
  void backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor* db,
                Activation act) override {
    const int n = x.shape().n;
    check_shape(dy, {n, g_.out_c, g_.out_h(), g_.out_w()}, "conv2d output gradient");
    if (dx) dx->ensure(x.shape(), DeviceKind::cpu);
    cpu::conv2d_backward(g_, n, x.data(), w.data(), dy.data(), dx ? dx->data() : nullptr, dw.data(),
                         db ? db->data() : nullptr, 0, act == Activation::relu ? y.data() : nullptr);
  }

 private:
  ConvGeom g_;
};

// Validates the batch (one pass over the entries, small next to the output it writes): the
// kernels index the output by the cells' positions.
class CpuSparseConv final : public SparseConvOp {
 public:
  explicit CpuSparseConv(const ConvGeom& g) : g_(g) {}
  void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) override {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cpu, "conv2d sparse input");
    validate_sparse(x, "conv2d sparse input");
    const int n = x.shape.n;
    y.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cpu);
    cpu::sparse_conv2d_forward(g_, n, x.offsets, x.index, x.value, w.data(), b.empty() ? nullptr : b.data(), y.data(),
                               act == Activation::relu);
  }
  void backward(const SparseBatch& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor& dw, Tensor* db,
                Activation act) override {
    (void)w;
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cpu, "conv2d sparse input");
    const int n = x.shape.n;
    check_shape(dy, {n, g_.out_c, g_.out_h(), g_.out_w()}, "conv2d output gradient");
    cpu::sparse_conv2d_backward(g_, n, x.offsets, x.index, x.value, dy.data(), dw.data(), db ? db->data() : nullptr,
                                act == Activation::relu ? y.data() : nullptr);
  }

 private:
  ConvGeom g_;
};

// The winners (channel-last, cpu_kernels.hpp) and the output's listed positions live in the op,
// from forward to backward.
class CpuSparseConvPool final : public SparseConvPoolOp {
 public:
  CpuSparseConvPool(const ConvGeom& g, const PoolGeom& p) : g_(g), p_(p) {}
  void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act, bool training,
               bool dense_y) override {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cpu, "conv2d sparse input");
    validate_sparse(x, "conv2d sparse input");
    const int n = x.shape.n;
    y.ensure({n, g_.out_c, p_.out_h(), p_.out_w()}, DeviceKind::cpu);
    if (training) winners_.resize(y.count());
    batch_ = 0;  // no backward until this forward completes with training
    cpu::sparse_conv_pool_forward(g_, p_, n, x.offsets, x.index, x.value, w.data(), b.empty() ? nullptr : b.data(),
                                  y.data(), training ? winners_.data() : nullptr, listed_, act == Activation::relu, 0,
                                  cpu::PoolRoute::automatic, dense_y);
    batch_ = training ? n : 0;
    act_ = act;
  }
  const BackgroundDelta<float>* output_delta() const override { return &listed_; }
  void backward(const SparseBatch& x, const Tensor& w, const Tensor& dy, Tensor& dw, Tensor* db,
                Activation act) override {
    const int n = check_backward(x, act);
    check_shape(dy, {n, g_.out_c, p_.out_h(), p_.out_w()}, "conv2d + max_pool2d output gradient");
    cpu::background_delta_grad_from_dense(listed_, g_.out_c, size_t(p_.out_h()) * p_.out_w(), dy.data(), dense_dy_);
    backward(x, w, dense_dy_, dw, db, act);
  }
  void backward(const SparseBatch& x, const Tensor&, const BackgroundDeltaGrad<float>& dy, Tensor& dw, Tensor* db,
                Activation act) override {
    check_backward(x, act);
    if (dy.touched.size() != size_t(listed_.listed()) * g_.out_c || dy.background.size() != size_t(g_.out_c))
      fail("conv2d + max_pool2d sparse backward: the gradient has ", dy.touched.size(), " listed values and ",
           dy.background.size(), " background ones, the output lists ", listed_.listed(), " positions of ", g_.out_c,
           " channels");
    cpu::sparse_conv_pool_backward(g_, p_, x.shape.n, x.offsets, x.index, x.value, listed_, dy, winners_.data(),
                                   act == Activation::relu, dw.data(), db ? db->data() : nullptr);
  }

 private:
  int check_backward(const SparseBatch& x, Activation act) const {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cpu, "conv2d sparse input");
    const int n = x.shape.n;
    if (batch_ != n || act_ != act)
      fail("conv2d + max_pool2d sparse backward: no forward pass of this batch (", n, " samples, training) before it");
    return n;
  }
  ConvGeom g_;
  PoolGeom p_;
  std::vector<uint16_t> winners_;
  BackgroundDelta<float> listed_;
  BackgroundDeltaGrad<float> dense_dy_;  // a dense dy in the form the kernel takes
  int batch_ = 0;
  Activation act_ = Activation::none;
};

// Checks that d describes x (its offsets and, cheaply, that its positions lie in the plane and are
// increasing): the kernels index x and the outputs by them.
class CpuDeltaConv final : public DeltaConvOp {
 public:
  explicit CpuDeltaConv(const ConvGeom& g) : g_(g), taps_(cpu::position_taps(g)) {}
  void forward(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& b, Tensor& y, Activation act) override {
    const int n = check(d);
    y.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cpu);
    cpu::delta_conv2d_forward(g_, n, d, w.data(), b.empty() ? nullptr : b.data(), y.data(), act == Activation::relu,
                              cpu::DeltaRoute::automatic, &taps_);
  }
  void forward_pooled(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& b, const PoolGeom& pool,
                      Tensor& y, Activation act) override {
    const int n = check(d);
    if (pool.c != g_.out_c || pool.in_h != g_.out_h() || pool.in_w != g_.out_w() || pool.out_h() < 1 ||
        pool.out_w() < 1)
      fail("conv2d delta input: a ", pool.kh, "x", pool.kw, " pooling over ", pool.c, "x", pool.in_h, "x", pool.in_w,
           " is not a pooling of this convolution's ", g_.out_c, "x", g_.out_h(), "x", g_.out_w(), " output");
    y.ensure({n, g_.out_c, pool.out_h(), pool.out_w()}, DeviceKind::cpu);
    cpu::delta_conv2d_forward(g_, n, d, w.data(), b.empty() ? nullptr : b.data(), y.data(), act == Activation::relu,
                              cpu::DeltaRoute::automatic, &taps_, &pool);
  }
  void backward(const BackgroundDelta<float>& d, const Tensor& w, const Tensor& y, const Tensor& dy,
                BackgroundDeltaGrad<float>* dx, Tensor& dw, Tensor* db, Activation act) override {
    const int n = check(d);
    check_shape(dy, {n, g_.out_c, g_.out_h(), g_.out_w()}, "conv2d output gradient");
    cpu::delta_conv2d_backward(g_, n, d, w.data(), dy.data(), dx, dw.data(), db ? db->data() : nullptr,
                               act == Activation::relu ? y.data() : nullptr);
  }

 private:
  int check(const BackgroundDelta<float>& d) const {
    const int n = d.batch();
    if (n < 1 || d.background.size() != size_t(g_.in_c) || d.offsets[0] != 0 || size_t(d.listed()) != d.index.size())
      fail("conv2d delta input: ", n, " samples, ", d.background.size(), " background values and ", d.index.size(),
           " positions do not describe a batch of ", g_.in_c, "x", g_.in_h, "x", g_.in_w, " inputs");
    if (d.values.size() != d.index.size() * size_t(g_.in_c))
      fail("conv2d delta input: ", d.values.size(), " listed values for ", d.index.size(), " positions of ", g_.in_c,
           " channels");
    const uint32_t plane = uint32_t(g_.in_h) * uint32_t(g_.in_w);
    for (int s = 0; s < n; ++s) {
      if (d.offsets[s + 1] < d.offsets[s] || d.offsets[s + 1] > d.listed())
        fail("conv2d delta input: the offsets of sample ", s, " (", d.offsets[s], " to ", d.offsets[s + 1],
             ") decrease or pass the ", d.listed(), " positions");
      for (int64_t e = d.offsets[s]; e < d.offsets[s + 1]; ++e)
        if (d.index[e] >= plane || (e > d.offsets[s] && d.index[e] <= d.index[e - 1]))
          fail("conv2d delta input: sample ", s, " lists position ", d.index[e], " out of order or outside its ",
               g_.in_h, "x", g_.in_w, " plane");
    }
    return n;
  }
  ConvGeom g_;
  cpu::PositionTaps taps_;  // each input position's (output, tap) pairs
};

class CpuPool final : public PoolOp {
 public:
  explicit CpuPool(const PoolGeom& g) : g_(g) {}
  void forward(const Tensor& x, Tensor& y) override {
    need_cpu(x, "max_pool2d input");
    const int n = x.shape().n;
    check_shape(x, {n, g_.c, g_.in_h, g_.in_w}, "max_pool2d input");
    y.ensure({n, g_.c, g_.out_h(), g_.out_w()}, DeviceKind::cpu);
    cpu::maxpool_forward(g_, n, x.data(), y.data());
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    dx.ensure(x.shape(), DeviceKind::cpu);
    cpu::maxpool_backward(g_, x.shape().n, x.data(), dy.data(), dx.data());
  }

 private:
  PoolGeom g_;
};

class CpuBatchNorm final : public BatchNormOp {
 public:
  CpuBatchNorm(int c, double eps, double factor) : c_(c), eps_(eps), factor_(factor), mean_(c), invstd_(c) {}
  void forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& rm, Tensor& rv,
                     Tensor& y) override {
    need_cpu(x, "batch_norm2d input");
    y.ensure(x.shape(), DeviceKind::cpu);
    const Shape& s = x.shape();
    cpu::batchnorm_forward_train(s.n, c_, s.h * s.w, x.data(), gamma.data(), beta.data(), y.data(), rm.data(),
                                 rv.data(), factor_, eps_, mean_.data(), invstd_.data());
  }
  void forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm, const Tensor& rv,
                     Tensor& y) override {
    need_cpu(x, "batch_norm2d input");
    y.ensure(x.shape(), DeviceKind::cpu);
    const Shape& s = x.shape();
    cpu::batchnorm_forward_infer(s.n, c_, s.h * s.w, x.data(), gamma.data(), beta.data(), y.data(), rm.data(),
                                 rv.data(), eps_);
  }
  void backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, Tensor& dx, Tensor& dgamma,
                Tensor& dbeta) override {
    dx.ensure(x.shape(), DeviceKind::cpu);
    const Shape& s = x.shape();
    cpu::batchnorm_backward(s.n, c_, s.h * s.w, x.data(), dy.data(), gamma.data(), mean_.data(), invstd_.data(),
                            dx.data(), dgamma.data(), dbeta.data());
  }

 private:
  int c_;
  double eps_, factor_;
  std::vector<float> mean_, invstd_;
};

class CpuBackend final : public Backend {
 public:
  DeviceKind device() const override { return DeviceKind::cpu; }
  std::string description() const override {
    return detail::concat("cpu (OpenMP ", cpu::max_threads(), " threads, OpenBLAS)");
  }
  std::unique_ptr<ConvOp> make_conv(const ConvGeom& g) override { return std::make_unique<CpuConv>(g); }
  std::unique_ptr<SparseConvOp> make_sparse_conv(const ConvGeom& g) override {
    return std::make_unique<CpuSparseConv>(g);
  }
  std::unique_ptr<SparseConvPoolOp> make_sparse_conv_pool(const ConvGeom& g, const PoolGeom& p) override {
    const std::string why = sparse_conv_pool_unsupported(g, p);
    if (!why.empty()) fail("conv2d + max_pool2d over sparse input: ", why);
    return std::make_unique<CpuSparseConvPool>(g, p);
  }
  std::unique_ptr<DeltaConvOp> make_delta_conv(const ConvGeom& g) override { return std::make_unique<CpuDeltaConv>(g); }
  std::unique_ptr<PoolOp> make_pool(const PoolGeom& g) override { return std::make_unique<CpuPool>(g); }
  std::unique_ptr<BatchNormOp> make_batchnorm(int c, double eps, double factor) override {
    return std::make_unique<CpuBatchNorm>(c, eps, factor);
  }
  void relu_forward(const Tensor& x, Tensor& y) override {
    need_cpu(x, "relu input");
    y.ensure(x.shape(), DeviceKind::cpu);
    cpu::relu_forward(x.count(), x.data(), y.data());
  }
  void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override {
    dx.ensure(y.shape(), DeviceKind::cpu);
    cpu::relu_backward(y.count(), y.data(), dy.data(), dx.data());
  }
  void dropout(const Tensor& x, float rate, uint64_t seed, uint64_t step, Tensor& y, uint64_t first_index) override {
    need_cpu(x, "dropout input");
    y.ensure(x.shape(), DeviceKind::cpu);
    cpu::dropout_apply(x.count(), x.data(), y.data(), rate, seed, step, first_index);
  }
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) override {
    need_cpu(x, "dense input");
    const int n = x.shape().n, in = int(x.shape().sample_count()), out = w.shape().n;
    if (size_t(in) != w.shape().sample_count())
      fail("dense: input has ", in, " features per sample, weights expect ", w.shape().sample_count());
    y.ensure({n, out, 1, 1}, DeviceKind::cpu);
    cpu::linear_forward(n, in, out, x.data(), w.data(), b.empty() ? nullptr : b.data(), y.data());
  }
  void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw,
                       Tensor* db) override {
    const int n = x.shape().n, in = int(x.shape().sample_count()), out = w.shape().n;
    if (dx) dx->ensure(x.shape(), DeviceKind::cpu);
    cpu::linear_backward(n, in, out, x.data(), w.data(), dy.data(), dx ? dx->data() : nullptr, dw.data(),
                         db ? db->data() : nullptr);
  }
  double softmax_xent(const Tensor& logits, const std::vector<int32_t>& labels, Tensor& probs,
                      Tensor& dlogits) override {
    need_cpu(logits, "softmax cross-entropy logits");
    const int n = logits.shape().n, k = int(logits.shape().sample_count());
    check_labels(labels, n, k);
    probs.ensure({n, k, 1, 1}, DeviceKind::cpu);
    dlogits.ensure({n, k, 1, 1}, DeviceKind::cpu);
    return cpu::softmax_xent(n, k, logits.data(), labels.data(), probs.data(), dlogits.data());
  }
  void softmax(const Tensor& logits, Tensor& probs) override {
    const int n = logits.shape().n, k = int(logits.shape().sample_count());
    probs.ensure({n, k, 1, 1}, DeviceKind::cpu);
    cpu::softmax_xent<float>(n, k, logits.data(), nullptr, probs.data(), nullptr);
  }
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamUpdate& u) override {
    float* pp = p.data();
    const float* gp = g.data();
    float *mp = m.data(), *vp = v.data();
    const float a = adam_alpha(u.lr, u.beta1, u.beta2, u.step), b1 = u.beta1, b2 = u.beta2, eps = u.eps,
                wd = u.weight_decay;
    const long n = long(p.count());
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
    for (long i = 0; i < n; ++i) nn::adam_update(pp[i], gp[i], mp[i], vp[i], a, b1, b2, eps, wd);
  }
  void sgd_update(Tensor& p, const Tensor& g, Tensor& vel, const SgdUpdate& u) override {
    float* pp = p.data();
    const float* gp = g.data();
    float* vp = vel.data();
    const long n = long(p.count());
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
    for (long i = 0; i < n; ++i) nn::sgd_update(pp[i], gp[i], vp[i], u.lr, u.momentum, u.weight_decay, u.nesterov);
  }
};

}  // namespace

void check_labels(const std::vector<int32_t>& labels, int n, int k) {
  if (labels.size() != size_t(n)) fail("softmax cross-entropy: ", labels.size(), " labels for a batch of ", n);
  for (int i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= k)
      fail("softmax cross-entropy: label ", labels[i], " of sample ", i, " is outside [0, ", k, ")");
}

std::string sparse_conv_pool_unsupported(const ConvGeom& g, const PoolGeom& p) {
  if (!g.valid()) return "the convolution's geometry is not valid";
  if (p.c != g.out_c || p.in_h != g.out_h() || p.in_w != g.out_w())
    return detail::concat("the pooling's input ", p.c, "x", p.in_h, "x", p.in_w, " is not the convolution's output ",
                          g.out_c, "x", g.out_h(), "x", g.out_w());
  if (p.kh <= 0 || p.kw <= 0 || p.sh <= 0 || p.sw <= 0 || p.out_h() <= 0 || p.out_w() <= 0)
    return detail::concat("a ", p.kh, "x", p.kw, " pooling window (strides ", p.sh, "x", p.sw, ") gives no output on ",
                          p.in_h, "x", p.in_w);
  if (!pool_window_fits_winners(p))
    return detail::concat("a ", p.kh, "x", p.kw, " pooling window has more than 65534 positions");
  return {};
}

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

#ifndef FLOWPIC_HAVE_CUDA
std::unique_ptr<Backend> make_cuda_backend(const CudaOptions&) {
  fail(
      "the cuda backend was requested but this is a CPU-only build (FLOWPIC_CUDA=OFF); rebuild with CUDA or use "
      "--device cpu");
}
#endif

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") {
    if (!cuda_device_available())
      fail("the cuda backend was requested but ", cuda_device_description(), "; use cpu or auto");
    return make_cuda_backend();
  }
  if (name == "auto") return cuda_device_available() ? make_cuda_backend() : make_cpu_backend();
  fail("unknown backend '", name, "'; allowed: cpu, cuda, auto");
}

}  // namespace flowpic::nn
