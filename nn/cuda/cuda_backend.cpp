// The cuda backend: cuDNN (through cudnn_ops.hpp only) for convolution, pooling, ReLU and batch
// norm; cuBLAS for fully connected layers; the engine's kernels (kernels.hpp) for dropout,
// softmax cross-entropy, optimizer updates and explicit padding. Everything runs on the default
// stream, in order.
#include <cublas_v2.h>

#include <algorithm>
#include <cmath>

#include "common/cuda_check.hpp"
#include "common/device.hpp"
#include "common/device_memory.hpp"
#include "nn/backend.hpp"
#include "nn/cuda/cudnn_ops.hpp"
#include "nn/cuda/kernels.hpp"
#include "nn/update_math.hpp"

namespace flowpic::nn {
namespace {

void need_cuda(const Tensor& t, const char* what) { check_device(t, DeviceKind::cuda, what); }

// Move-only owner of a cuBLAS handle.
class CublasHandle {
 public:
  CublasHandle() { CUBLAS_CHECK(cublasCreate(&h_)); }
  ~CublasHandle() {
    if (h_) CUBLAS_CHECK_WARN(cublasDestroy(h_));
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// cuDNN's legacy convolution pads symmetrically. Keras "same" may pad one more pixel after than
// before, so the smaller side is cuDNN's padding and the difference is added explicitly (a
// padded copy of the input, and a crop of the input gradient).
class CudaConv final : public ConvOp {
 public:
  CudaConv(cudnn::Context& ctx, cudnn::Relu& relu, const ConvGeom& g, bool allow_tf32)
      : g_(g), conv_(ctx, symmetric(g), allow_tf32), relu_(relu) {}

  // A fused ReLU runs as cuDNN's activation over the output in place (and, backward, into a
  // masked copy of dy): one kernel less per layer would need the graph API, not worth it here.
  void forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) override {
    need_cuda(x, "conv2d input");
    const int n = x.shape().n;
    check_shape(x, {n, g_.in_c, g_.in_h, g_.in_w}, "conv2d input");
    y.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cuda);
    conv_.forward(n, padded_input(x, true), w.data(), b.empty() ? nullptr : b.data(), y.data());
    if (act == Activation::relu) relu_.forward(y.count(), y.data(), y.data());
  }

  void backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy_in, Tensor* dx, Tensor& dw,
                Tensor* db, Activation act) override {
    const int n = x.shape().n;
    check_shape(dy_in, {n, g_.out_c, g_.out_h(), g_.out_w()}, "conv2d output gradient");
    const Tensor* dyp = &dy_in;
    if (act == Activation::relu) {
      masked_dy_.ensure(dy_in.shape(), DeviceKind::cuda);
      relu_.backward(y.count(), y.data(), dy_in.data(), masked_dy_.data());
      dyp = &masked_dy_;
    }
    const Tensor& dy = *dyp;
    conv_.backward_filter(n, padded_input(x, false), dy.data(), dw.data());
    if (db) conv_.backward_bias(n, dy.data(), db->data());
    if (!dx) return;
    dx->ensure(x.shape(), DeviceKind::cuda);
    if (!needs_pad()) {
      conv_.backward_data(n, w.data(), dy.data(), dx->data());
      return;
    }
    dxp_.ensure(xp_.shape(), DeviceKind::cuda);
    conv_.backward_data(n, w.data(), dy.data(), dxp_.data());
    cuda::crop2d(n * g_.in_c, g_.in_h, g_.in_w, top_extra(), bottom_extra(), left_extra(), right_extra(), dxp_.data(),
                 dx->data(), nullptr);
  }

 private:
  static ConvGeom symmetric(const ConvGeom& g) {
    ConvGeom s = g;
    s.pad_top = s.pad_bottom = std::min(g.pad_top, g.pad_bottom);
    s.pad_left = s.pad_right = std::min(g.pad_left, g.pad_right);
    s.in_h = g.in_h + (g.pad_top - s.pad_top) + (g.pad_bottom - s.pad_bottom);
    s.in_w = g.in_w + (g.pad_left - s.pad_left) + (g.pad_right - s.pad_right);
    return s;
  }
  int top_extra() const { return g_.pad_top - std::min(g_.pad_top, g_.pad_bottom); }
  int bottom_extra() const { return g_.pad_bottom - std::min(g_.pad_top, g_.pad_bottom); }
  int left_extra() const { return g_.pad_left - std::min(g_.pad_left, g_.pad_right); }
  int right_extra() const { return g_.pad_right - std::min(g_.pad_left, g_.pad_right); }
  bool needs_pad() const { return top_extra() || bottom_extra() || left_extra() || right_extra(); }

  // The input as cuDNN sees it. Every forward pads afresh (a caller may refill the same buffer
  // with the next batch); backward reuses that copy, since the layer protocol keeps x unchanged
  // between forward and backward.
  const float* padded_input(const Tensor& x, bool fresh) {
    if (!needs_pad()) return x.data();
    const int n = x.shape().n;
    Shape ps{n, g_.in_c, g_.in_h + top_extra() + bottom_extra(), g_.in_w + left_extra() + right_extra()};
    if (fresh || padded_from_ != x.data() || xp_.shape() != ps) {
      xp_.ensure(ps, DeviceKind::cuda);
      cuda::pad2d(n * g_.in_c, g_.in_h, g_.in_w, top_extra(), bottom_extra(), left_extra(), right_extra(), x.data(),
                  xp_.data(), nullptr);
      padded_from_ = x.data();
    }
    return xp_.data();
  }

  ConvGeom g_;
  cudnn::Convolution conv_;
  cudnn::Relu& relu_;
  Tensor xp_, dxp_, masked_dy_;
  const float* padded_from_ = nullptr;
};

// The sparse-input convolution: own kernels (sparse_conv.cu), on the default stream like the
// rest. The batch is not validated here (that would copy it to the host every step); the
// kernels skip cells outside the input, and validate_sparse reports a malformed batch.
class CudaSparseConv final : public SparseConvOp {
 public:
  explicit CudaSparseConv(const ConvGeom& g) : g_(g) {}
  void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act) override {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cuda, "conv2d sparse input");
    const int n = x.shape.n;
    y.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cuda);
    cuda::sparse_conv_forward(g_, n, x.nnz, x.offsets, x.index, x.value, w.data(), b.empty() ? nullptr : b.data(),
                              y.data(), act == Activation::relu, nullptr);
  }
  void backward(const SparseBatch& x, const Tensor&, const Tensor& y, const Tensor& dy, Tensor& dw, Tensor* db,
                Activation act) override {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cuda, "conv2d sparse input");
    const int n = x.shape.n;
    check_shape(dy, {n, g_.out_c, g_.out_h(), g_.out_w()}, "conv2d output gradient");
    need_cuda(dy, "conv2d output gradient");
    if (db) db_partial_.resize(std::max(db_partial_.size(), size_t(n) * g_.out_c));
    cuda::sparse_conv_backward(g_, n, x.nnz, x.offsets, x.index, x.value, act == Activation::relu ? y.data() : nullptr,
                               dy.data(), dw.data(), db ? db->data() : nullptr, db ? db_partial_.data() : nullptr,
                               nullptr);
  }

 private:
  ConvGeom g_;
  DeviceBuffer<float> db_partial_;
};

// The fused sparse conv + act + max pool (sparse_conv.cu); the scratch conv output, the winners
// and the db partial sums live in the op, from forward to backward.
class CudaSparseConvPool final : public SparseConvPoolOp {
 public:
  CudaSparseConvPool(const ConvGeom& g, const PoolGeom& p) : g_(g), p_(p) {}
  void forward(const SparseBatch& x, const Tensor& w, const Tensor& b, Tensor& y, Activation act, bool,
               bool) override {  // y whole either way
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cuda, "conv2d sparse input");
    const int n = x.shape.n;
    z_.ensure({n, g_.out_c, g_.out_h(), g_.out_w()}, DeviceKind::cuda);
    y.ensure({n, g_.out_c, p_.out_h(), p_.out_w()}, DeviceKind::cuda);
    winners_.resize(std::max(winners_.size(), y.count()));
    cuda::sparse_conv_pool_forward(g_, p_, n, x.nnz, x.offsets, x.index, x.value, w.data(),
                                   b.empty() ? nullptr : b.data(), z_.data(), y.data(), winners_.data(),
                                   act == Activation::relu, nullptr);
    batch_ = n;
    act_ = act;
  }
  void backward(const SparseBatch& x, const Tensor&, const Tensor& dy, Tensor& dw, Tensor* db,
                Activation act) override {
    check_sparse_input(x, g_.in_c, g_.in_h, g_.in_w, DeviceKind::cuda, "conv2d sparse input");
    const int n = x.shape.n;
    if (batch_ != n || act_ != act)
      fail("conv2d + max_pool2d sparse backward: no forward pass of this batch (", n, " samples) before it");
    check_shape(dy, {n, g_.out_c, p_.out_h(), p_.out_w()}, "conv2d + max_pool2d output gradient");
    need_cuda(dy, "conv2d + max_pool2d output gradient");
    if (db) db_partial_.resize(std::max(db_partial_.size(), size_t(n) * g_.out_c));
    cuda::sparse_conv_pool_backward(g_, p_, n, x.nnz, x.offsets, x.index, x.value, winners_.data(), dy.data(),
                                    dw.data(), db ? db->data() : nullptr, db ? db_partial_.data() : nullptr, nullptr);
  }
  // No DeltaConvOp on this backend: the convolution after the head stays cuDNN's.
  const BackgroundDelta<float>* output_delta() const override { return nullptr; }
  void backward(const SparseBatch&, const Tensor&, const BackgroundDeltaGrad<float>&, Tensor&, Tensor*,
                Activation) override {
    fail("conv2d + max_pool2d sparse backward: the cuda backend takes a dense output gradient only");
  }

 private:
  ConvGeom g_;
  PoolGeom p_;
  Tensor z_;
  DeviceBuffer<uint16_t> winners_;
  DeviceBuffer<float> db_partial_;
  int batch_ = 0;
  Activation act_ = Activation::none;
};

class CudaPool final : public PoolOp {
 public:
  CudaPool(cudnn::Context& ctx, const PoolGeom& g) : g_(g), pool_(ctx, g) {}
  void forward(const Tensor& x, Tensor& y) override {
    need_cuda(x, "max_pool2d input");
    const int n = x.shape().n;
    check_shape(x, {n, g_.c, g_.in_h, g_.in_w}, "max_pool2d input");
    y.ensure({n, g_.c, g_.out_h(), g_.out_w()}, DeviceKind::cuda);
    pool_.forward(n, x.data(), y.data());
  }
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) override {
    dx.ensure(x.shape(), DeviceKind::cuda);
    pool_.backward(x.shape().n, x.data(), y.data(), dy.data(), dx.data());
  }

 private:
  PoolGeom g_;
  cudnn::MaxPooling pool_;
};

class CudaBatchNorm final : public BatchNormOp {
 public:
  CudaBatchNorm(cudnn::Context& ctx, int c, double eps, double factor) : bn_(ctx, c, eps, factor) {}
  void forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& rm, Tensor& rv,
                     Tensor& y) override {
    need_cuda(x, "batch_norm2d input");
    y.ensure(x.shape(), DeviceKind::cuda);
    const Shape& s = x.shape();
    bn_.forward_train(s.n, s.h, s.w, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data());
  }
  void forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm, const Tensor& rv,
                     Tensor& y) override {
    need_cuda(x, "batch_norm2d input");
    y.ensure(x.shape(), DeviceKind::cuda);
    const Shape& s = x.shape();
    bn_.forward_infer(s.n, s.h, s.w, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data());
  }
  void backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, Tensor& dx, Tensor& dgamma,
                Tensor& dbeta) override {
    dx.ensure(x.shape(), DeviceKind::cuda);
    const Shape& s = x.shape();
    bn_.backward(s.n, s.h, s.w, x.data(), dy.data(), gamma.data(), dx.data(), dgamma.data(), dbeta.data());
  }

 private:
  cudnn::BatchNorm bn_;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaOptions& opt) : opt_(opt), relu_(dnn_) {}

  DeviceKind device() const override { return DeviceKind::cuda; }
  std::string description() const override {
    return "cuda (" + cuda_device_description() + ", " + cuda_versions() + ", " + cudnn::version() +
           (opt_.allow_tf32 ? ", TF32 convolutions)" : ", FP32)");
  }
  std::unique_ptr<ConvOp> make_conv(const ConvGeom& g) override {
    return std::make_unique<CudaConv>(dnn_, relu_, g, opt_.allow_tf32);
  }
  std::unique_ptr<SparseConvOp> make_sparse_conv(const ConvGeom& g) override {
    return std::make_unique<CudaSparseConv>(g);
  }
  std::unique_ptr<SparseConvPoolOp> make_sparse_conv_pool(const ConvGeom& g, const PoolGeom& p) override {
    const std::string why = sparse_conv_pool_unsupported(g, p);
    if (!why.empty()) fail("conv2d + max_pool2d over sparse input: ", why);
    return std::make_unique<CudaSparseConvPool>(g, p);
  }
  std::unique_ptr<DeltaConvOp> make_delta_conv(const ConvGeom&) override { return nullptr; }
  std::unique_ptr<PoolOp> make_pool(const PoolGeom& g) override { return std::make_unique<CudaPool>(dnn_, g); }
  std::unique_ptr<BatchNormOp> make_batchnorm(int c, double eps, double factor) override {
    return std::make_unique<CudaBatchNorm>(dnn_, c, eps, factor);
  }

  void relu_forward(const Tensor& x, Tensor& y) override {
    need_cuda(x, "relu input");
    y.ensure(x.shape(), DeviceKind::cuda);
    relu_.forward(x.count(), x.data(), y.data());
  }
  void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override {
    dx.ensure(y.shape(), DeviceKind::cuda);
    relu_.backward(y.count(), y.data(), dy.data(), dx.data());
  }
  void dropout(const Tensor& x, float rate, uint64_t seed, uint64_t step, Tensor& y, uint64_t first_index) override {
    need_cuda(x, "dropout input");
    y.ensure(x.shape(), DeviceKind::cuda);
    cuda::dropout_apply(x.count(), x.data(), y.data(), rate, seed, step, first_index, nullptr);
  }

  // Row-major y[N x O] = x[N x I] W^T is column-major y^T[O x N] = W[O x I] x^T: W (column-major
  // I x O) transposed times x (column-major I x N).
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) override {
    need_cuda(x, "dense input");
    const int n = x.shape().n, in = int(x.shape().sample_count()), out = w.shape().n;
    if (size_t(in) != w.shape().sample_count())
      fail("dense: input has ", in, " features per sample, weights expect ", w.shape().sample_count());
    y.ensure({n, out, 1, 1}, DeviceKind::cuda);
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_CHECK(cublasSgemm(blas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w.data(), in, x.data(), in, &zero,
                             y.data(), out));
    if (!b.empty())  // y^T += b ones^T
      CUBLAS_CHECK(cublasSgemm(blas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, out, n, 1, &one, b.data(), out, ones(n), 1, &one,
                               y.data(), out));
  }
  void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw,
                       Tensor* db) override {
    const int n = x.shape().n, in = int(x.shape().sample_count()), out = w.shape().n;
    const float one = 1.0f, zero = 0.0f;
    // dW (column-major I x O) = x (I x N) dy^T (N x O)
    CUBLAS_CHECK(cublasSgemm(blas_.get(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x.data(), in, dy.data(), out,
                             &zero, dw.data(), in));
    if (db)  // db = dy^T (O x N) ones
      CUBLAS_CHECK(
          cublasSgemv(blas_.get(), CUBLAS_OP_N, out, n, &one, dy.data(), out, ones(n), 1, &zero, db->data(), 1));
    if (dx) {  // dx^T (I x N) = W (I x O, column-major) dy^T (O x N)
      dx->ensure(x.shape(), DeviceKind::cuda);
      CUBLAS_CHECK(cublasSgemm(blas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w.data(), in, dy.data(), out,
                               &zero, dx->data(), in));
    }
  }

  double softmax_xent(const Tensor& logits, const std::vector<int32_t>& labels, Tensor& probs,
                      Tensor& dlogits) override {
    need_cuda(logits, "softmax cross-entropy logits");
    const int n = logits.shape().n, k = int(logits.shape().sample_count());
    check_labels(labels, n, k);
    probs.ensure({n, k, 1, 1}, DeviceKind::cuda);
    dlogits.ensure({n, k, 1, 1}, DeviceKind::cuda);
    labels_.upload(labels.data(), labels.size());
    losses_.resize(std::max<size_t>(losses_.size(), n));
    cuda::softmax_xent(n, k, logits.data(), labels_.data(), probs.data(), dlogits.data(), losses_.data(), nullptr);
    std::vector<float> host(n);
    losses_.download(host.data(), n);
    CUDA_CHECK(cudaStreamSynchronize(nullptr));
    double total = 0;
    for (float l : host) total += l;  // in order on the host: deterministic
    return total / n;
  }
  void softmax(const Tensor& logits, Tensor& probs) override {
    need_cuda(logits, "softmax logits");
    const int n = logits.shape().n, k = int(logits.shape().sample_count());
    probs.ensure({n, k, 1, 1}, DeviceKind::cuda);
    cuda::softmax_xent(n, k, logits.data(), nullptr, probs.data(), nullptr, nullptr, nullptr);
  }

  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamUpdate& u) override {
    cuda::adam_update(p.count(), p.data(), g.data(), m.data(), v.data(), adam_alpha(u.lr, u.beta1, u.beta2, u.step),
                      u.beta1, u.beta2, u.eps, u.weight_decay, nullptr);
  }
  void sgd_update(Tensor& p, const Tensor& g, Tensor& vel, const SgdUpdate& u) override {
    cuda::sgd_update(p.count(), p.data(), g.data(), vel.data(), u.lr, u.momentum, u.weight_decay, u.nesterov, nullptr);
  }

  void synchronize() override { CUDA_CHECK(cudaDeviceSynchronize()); }

 private:
  // A device vector of at least n ones (bias broadcast and bias gradients).
  const float* ones(int n) {
    if (ones_.size() < size_t(n)) {
      std::vector<float> h(size_t(n), 1.0f);
      ones_.upload(h.data(), h.size());
    }
    return ones_.data();
  }

  CudaOptions opt_;
  cudnn::Context dnn_;
  CublasHandle blas_;
  cudnn::Relu relu_;
  DeviceBuffer<float> ones_, losses_;
  DeviceBuffer<int32_t> labels_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const CudaOptions& opt) {
  if (!cuda_device_available()) fail("the cuda backend was requested but ", cuda_device_description());
  return std::make_unique<CudaBackend>(opt);
}

}  // namespace flowpic::nn
