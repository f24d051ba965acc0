// The only file that includes cudnn.h. cuDNN 9 marks the legacy convolution/pooling descriptor
// API deprecated but keeps it working; the warning is silenced here, for this file alone.
#include <cudnn.h>

#include "nn/cuda/cudnn_ops.hpp"

#include <map>
#include <utility>
#include <vector>

#include "common/cuda_check.hpp"
#include "common/device_memory.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace flowpic::nn::cudnn {

std::string version() {
  size_t v = cudnnGetVersion();  // major * 10000 + minor * 100 + patch since cuDNN 9
  return "cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

namespace {

// Move-only owner of one cuDNN descriptor.
template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Desc {
 public:
  Desc() { CUDNN_CHECK(Create(&d_)); }
  ~Desc() {
    if (d_) CUDNN_CHECK_WARN(Destroy(d_));
  }
  Desc(Desc&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Desc& operator=(Desc&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  T get() const { return d_; }

 private:
  T d_ = nullptr;
};

using TensorDesc = Desc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Desc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Desc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Desc<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using ActDesc = Desc<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;

TensorDesc tensor4d(int n, int c, int h, int w) {
  TensorDesc d;
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  return d;
}

// Element-wise operations see `count` floats as 1 x 1 x 1 x count (cuDNN wants int dimensions).
TensorDesc flat(size_t count) {
  FLOWPIC_ASSERT(count < (size_t(1) << 31));
  return tensor4d(1, 1, 1, int(count));
}

const float kOne = 1.0f, kZero = 0.0f;

// Workspaces larger than this are not worth their memory for these small networks.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

}  // namespace

struct Context::Impl {
  cudnnHandle_t handle = nullptr;
  DeviceBuffer<unsigned char> workspace;
  void* workspace_of(size_t bytes) {
    if (workspace.size() < bytes) workspace.resize(bytes);
    return bytes ? workspace.data() : nullptr;
  }
};

Context::Context() : impl_(std::make_unique<Impl>()) { CUDNN_CHECK(cudnnCreate(&impl_->handle)); }
Context::~Context() {
  if (impl_ && impl_->handle) CUDNN_CHECK_WARN(cudnnDestroy(impl_->handle));
}

// ---- Convolution ---------------------------------------------------------------------------

namespace {
struct ConvPlan {
  TensorDesc x, y;
  ConvDesc fwd_desc, bwd_data_desc, bwd_filter_desc;  // each with the math type of its algorithm
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
};

// The fastest successful algorithm within the workspace limit (cudnnFind* sorts by time).
template <typename Perf>
const Perf& pick(const std::vector<Perf>& perfs, int count, const char* what) {
  for (int i = 0; i < count; ++i)
    if (perfs[i].status == CUDNN_STATUS_SUCCESS && perfs[i].memory <= kMaxWorkspace) return perfs[i];
  fail("cuDNN found no usable ", what, " algorithm for this convolution");
}

// The math type to run an algorithm with: what cudnnFind measured it with. Without TF32 the
// search itself ran on a CUDNN_FMA_MATH descriptor (plain FP32, no tensor cores), and the
// algorithm runs on one too, so results match the CPU to float rounding.
template <typename Perf>
cudnnMathType_t math_of(const Perf& p, bool allow_tf32) {
  return allow_tf32 ? p.mathType : CUDNN_FMA_MATH;
}
}  // namespace

struct Convolution::Impl {
  Context::Impl& ctx;
  ConvGeom g;
  bool allow_tf32;
  FilterDesc filter;
  TensorDesc bias;
  std::map<int, ConvPlan> plans;  // by batch size

  ConvDesc conv_desc(cudnnMathType_t math) const {
    ConvDesc d;
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.get(), g.pad_top, g.pad_left, g.sh, g.sw, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d.get(), math));
    return d;
  }

  ConvPlan& plan(int n) {
    auto it = plans.find(n);
    if (it != plans.end()) return it->second;
    ConvPlan p;
    p.x = tensor4d(n, g.in_c, g.in_h, g.in_w);
    p.y = tensor4d(n, g.out_c, g.out_h(), g.out_w());
    const cudnnMathType_t math = allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    ConvDesc probe = conv_desc(math);
    int oh = 0, ow = 0, on = 0, oc = 0;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(probe.get(), p.x.get(), filter.get(), &on, &oc, &oh, &ow));
    if (oh != g.out_h() || ow != g.out_w())
      fail("cuDNN convolution output ", oh, "x", ow, " != expected ", g.out_h(), "x", g.out_w());
    const int kMax = 16;
    int found = 0;
    {
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(kMax);
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(ctx.handle, p.x.get(), filter.get(), probe.get(), p.y.get(),
                                                       kMax, &found, perf.data()));
      const auto& best = pick(perf, found, "forward");
      p.fwd = best.algo;
      p.fwd_ws = best.memory;
      p.fwd_desc = conv_desc(math_of(best, allow_tf32));
    }
    {
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(kMax);
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(ctx.handle, filter.get(), p.y.get(), probe.get(), p.x.get(),
                                                            kMax, &found, perf.data()));
      const auto& best = pick(perf, found, "backward-data");
      p.bwd_data = best.algo;
      p.bwd_data_ws = best.memory;
      p.bwd_data_desc = conv_desc(math_of(best, allow_tf32));
    }
    {
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(kMax);
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(ctx.handle, p.x.get(), p.y.get(), probe.get(),
                                                              filter.get(), kMax, &found, perf.data()));
      const auto& best = pick(perf, found, "backward-filter");
      p.bwd_filter = best.algo;
      p.bwd_filter_ws = best.memory;
      p.bwd_filter_desc = conv_desc(math_of(best, allow_tf32));
    }
    return plans.emplace(n, std::move(p)).first->second;
  }
};

Convolution::Convolution(Context& ctx, const ConvGeom& g, bool allow_tf32)
    : impl_(new Impl{ctx.impl(), g, allow_tf32, {}, {}, {}}) {
  FLOWPIC_ASSERT(g.pad_top == g.pad_bottom && g.pad_left == g.pad_right);
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(impl_->filter.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.out_c, g.in_c,
                                         g.kh, g.kw));
  impl_->bias = tensor4d(1, g.out_c, 1, 1);
}
Convolution::~Convolution() = default;

void Convolution::forward(int n, const float* x, const float* w, const float* b, float* y) {
  ConvPlan& p = impl_->plan(n);
  auto& ctx = impl_->ctx;
  CUDNN_CHECK(cudnnConvolutionForward(ctx.handle, &kOne, p.x.get(), x, impl_->filter.get(), w, p.fwd_desc.get(), p.fwd,
                                      ctx.workspace_of(p.fwd_ws), p.fwd_ws, &kZero, p.y.get(), y));
  if (b) CUDNN_CHECK(cudnnAddTensor(ctx.handle, &kOne, impl_->bias.get(), b, &kOne, p.y.get(), y));
}

void Convolution::backward_data(int n, const float* w, const float* dy, float* dx) {
  ConvPlan& p = impl_->plan(n);
  auto& ctx = impl_->ctx;
  CUDNN_CHECK(cudnnConvolutionBackwardData(ctx.handle, &kOne, impl_->filter.get(), w, p.y.get(), dy,
                                           p.bwd_data_desc.get(), p.bwd_data, ctx.workspace_of(p.bwd_data_ws),
                                           p.bwd_data_ws, &kZero, p.x.get(), dx));
}

void Convolution::backward_filter(int n, const float* x, const float* dy, float* dw) {
  ConvPlan& p = impl_->plan(n);
  auto& ctx = impl_->ctx;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx.handle, &kOne, p.x.get(), x, p.y.get(), dy, p.bwd_filter_desc.get(),
                                             p.bwd_filter, ctx.workspace_of(p.bwd_filter_ws), p.bwd_filter_ws, &kZero,
                                             impl_->filter.get(), dw));
}

void Convolution::backward_bias(int n, const float* dy, float* db) {
  ConvPlan& p = impl_->plan(n);
  CUDNN_CHECK(cudnnConvolutionBackwardBias(impl_->ctx.handle, &kOne, p.y.get(), dy, &kZero, impl_->bias.get(), db));
}

// ---- MaxPooling ----------------------------------------------------------------------------

struct MaxPooling::Impl {
  Context::Impl& ctx;
  PoolGeom g;
  PoolDesc pool;
  std::map<int, std::pair<TensorDesc, TensorDesc>> descs;  // by batch size: x, y
  std::pair<TensorDesc, TensorDesc>& at(int n) {
    auto it = descs.find(n);
    if (it == descs.end())
      it = descs.emplace(n, std::make_pair(tensor4d(n, g.c, g.in_h, g.in_w), tensor4d(n, g.c, g.out_h(), g.out_w())))
               .first;
    return it->second;
  }
};

MaxPooling::MaxPooling(Context& ctx, const PoolGeom& g) : impl_(new Impl{ctx.impl(), g, {}, {}}) {
  // Deterministic max pooling; windows that do not fit are dropped (no padding), like the CPU.
  CUDNN_CHECK(cudnnSetPooling2dDescriptor(impl_->pool.get(), CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_NOT_PROPAGATE_NAN,
                                          g.kh, g.kw, 0, 0, g.sh, g.sw));
}
MaxPooling::~MaxPooling() = default;

void MaxPooling::forward(int n, const float* x, float* y) {
  auto& d = impl_->at(n);
  CUDNN_CHECK(
      cudnnPoolingForward(impl_->ctx.handle, impl_->pool.get(), &kOne, d.first.get(), x, &kZero, d.second.get(), y));
}

void MaxPooling::backward(int n, const float* x, const float* y, const float* dy, float* dx) {
  auto& d = impl_->at(n);
  CUDNN_CHECK(cudnnPoolingBackward(impl_->ctx.handle, impl_->pool.get(), &kOne, d.second.get(), y, d.second.get(), dy,
                                   d.first.get(), x, &kZero, d.first.get(), dx));
}

// ---- Relu ----------------------------------------------------------------------------------

struct Relu::Impl {
  Context::Impl& ctx;
  ActDesc act;
};

Relu::Relu(Context& ctx) : impl_(new Impl{ctx.impl(), {}}) {
  CUDNN_CHECK(cudnnSetActivationDescriptor(impl_->act.get(), CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
}
Relu::~Relu() = default;

void Relu::forward(size_t count, const float* x, float* y) {
  TensorDesc d = flat(count);
  CUDNN_CHECK(cudnnActivationForward(impl_->ctx.handle, impl_->act.get(), &kOne, d.get(), x, &kZero, d.get(), y));
}

// ReLU's derivative is the same whether read from x or from y (y > 0 exactly when x > 0), so the
// output stands in for the input.
void Relu::backward(size_t count, const float* y, const float* dy, float* dx) {
  TensorDesc d = flat(count);
  CUDNN_CHECK(cudnnActivationBackward(impl_->ctx.handle, impl_->act.get(), &kOne, d.get(), y, d.get(), dy, d.get(), y,
                                      &kZero, d.get(), dx));
}

// ---- BatchNorm -----------------------------------------------------------------------------

struct BatchNorm::Impl {
  Context::Impl& ctx;
  int c;
  double eps, factor;
  TensorDesc param;
  DeviceBuffer<float> save_mean, save_invvar;
};

BatchNorm::BatchNorm(Context& ctx, int channels, double eps, double factor)
    : impl_(new Impl{ctx.impl(), channels, eps, factor, tensor4d(1, channels, 1, 1), DeviceBuffer<float>(channels),
                     DeviceBuffer<float>(channels)}) {
  if (eps < CUDNN_BN_MIN_EPSILON)
    fail("batch_norm2d: epsilon ", eps, " is below cuDNN's minimum ", CUDNN_BN_MIN_EPSILON);
  // Defined statistics even if backward runs before any training forward pass.
  CUDA_CHECK(cudaMemset(impl_->save_mean.data(), 0, channels * sizeof(float)));
  CUDA_CHECK(cudaMemset(impl_->save_invvar.data(), 0, channels * sizeof(float)));
}
BatchNorm::~BatchNorm() = default;

void BatchNorm::forward_train(int n, int h, int w, const float* x, const float* gamma, const float* beta,
                              float* running_mean, float* running_var, float* y) {
  TensorDesc d = tensor4d(n, impl_->c, h, w);
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      impl_->ctx.handle, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, d.get(), x, d.get(), y, impl_->param.get(), gamma,
      beta, impl_->factor, running_mean, running_var, impl_->eps, impl_->save_mean.data(), impl_->save_invvar.data()));
}

void BatchNorm::forward_infer(int n, int h, int w, const float* x, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, float* y) {
  TensorDesc d = tensor4d(n, impl_->c, h, w);
  CUDNN_CHECK(cudnnBatchNormalizationForwardInference(impl_->ctx.handle, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero,
                                                      d.get(), x, d.get(), y, impl_->param.get(), gamma, beta,
                                                      running_mean, running_var, impl_->eps));
}

void BatchNorm::backward(int n, int h, int w, const float* x, const float* dy, const float* gamma, float* dx,
                         float* dgamma, float* dbeta) {
  TensorDesc d = tensor4d(n, impl_->c, h, w);
  CUDNN_CHECK(cudnnBatchNormalizationBackward(impl_->ctx.handle, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero,
                                              d.get(), x, d.get(), dy, d.get(), dx, impl_->param.get(), gamma, dgamma,
                                              dbeta, impl_->eps, impl_->save_mean.data(), impl_->save_invvar.data()));
}

}  // namespace flowpic::nn::cudnn
