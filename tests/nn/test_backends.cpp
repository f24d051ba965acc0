// CPU vs GPU for every layer, forward and backward (ggml's test-backend-ops): the same layer
// built from the same JSON and seed on both backends gets the same initial weights, the same
// input and the same output gradient; outputs, input gradients and parameter gradients must agree.
// The GPU runs in full FP32 (TF32 off). Tolerances (atol, rtol): 1e-5 for element-wise layers
// and the softmax, 1e-4 for dense and batch norm, 5e-4 for convolutions (cuDNN may pick FFT or
// Winograd algorithms whose rounding differs from a direct sum). Skipped without a CUDA device.
#include <gtest/gtest.h>

#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn_fixtures.hpp"
#include "support/tolerance.hpp"
#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#endif

using namespace flowpic;
using namespace flowpic::nn;

namespace {

std::vector<float> random_values(size_t n, uint64_t seed) {
  Rng rng(seed, 9);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.uniform(-1, 1));
  return v;
}

struct LayerCase {
  std::string name;
  std::string json;
  Shape input;  // with batch size
  double tol;
  bool fuse_relu = false;  // conv2d with the following ReLU fused in
};

void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

struct LayerRun {
  std::vector<float> y, dx;
  std::vector<std::vector<float>> grads, values;
};

LayerRun run_layer(Backend& backend, const LayerCase& c, bool training) {
  auto layer = LayerRegistry::standard().build(json::parse(c.json), {c.name, ""}, {3});
  Rng rng(7, 1);
  Shape per_sample{1, c.input.c, c.input.h, c.input.w};
  Shape out = layer->setup(backend, per_sample, rng, 1234);
  if (auto* d = dynamic_cast<Dropout*>(layer.get())) d->set_step(3, false);
  if (c.fuse_relu) dynamic_cast<Conv2d&>(*layer).fuse_activation(Activation::relu);
  Tensor x = Tensor::from_host(random_values(c.input.count(), 1), c.input, backend.device());
  LayerRun r;
  r.y = layer->forward(x, training).to_host();
  Tensor dy =
      Tensor::from_host(random_values(out.with_n(c.input.n).count(), 2), out.with_n(c.input.n), backend.device());
  r.dx = layer->backward(dy, true).to_host();
  for (Param* p : layer->params()) {
    r.values.push_back(p->value.to_host());
    if (!p->grad.empty()) r.grads.push_back(p->grad.to_host());
  }
  return r;
}

std::vector<LayerCase> layer_cases() {
  return {
      {"conv2d_valid", R"({"type": "conv2d", "filters": 4, "kernel_size": 3})", {3, 2, 9, 8}, 5e-4},
      {"conv2d_same_stride2",
       R"({"type": "conv2d", "filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"})",
       {2, 3, 7, 9},
       5e-4},
      {"conv2d_paper_like",
       R"({"type": "conv2d", "filters": 5, "kernel_size": 10, "strides": 5, "padding": "same"})",
       {2, 1, 46, 41},
       5e-4},
      {"conv2d_explicit_no_bias",
       R"({"type": "conv2d", "filters": 2, "kernel_size": [2, 3], "padding": [2, 0, 1, 3], "use_bias": false})",
       {2, 2, 5, 6},
       5e-4},
      {"conv2d_fused_relu",
       R"({"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"})",
       {3, 2, 9, 8},
       5e-4,
       true},
      {"max_pool2d", R"({"type": "max_pool2d", "pool_size": 2})", {2, 3, 9, 8}, 1e-5},
      {"max_pool2d_tiling", R"({"type": "max_pool2d", "pool_size": 2})", {2, 3, 8, 6}, 1e-5},
      {"max_pool2d_overlap", R"({"type": "max_pool2d", "pool_size": 3, "strides": 2})", {2, 2, 9, 9}, 1e-5},
      {"relu", R"({"type": "relu"})", {2, 3, 5, 5}, 1e-5},
      {"dropout", R"({"type": "dropout", "rate": 0.4})", {2, 3, 5, 5}, 1e-5},
      {"flatten", R"({"type": "flatten"})", {2, 3, 4, 5}, 1e-5},
      {"dense", R"({"type": "dense", "units": 7})", {5, 3, 4, 5}, 1e-4},
      {"dense_classes_no_bias", R"({"type": "dense", "units": "classes", "use_bias": false})", {4, 10, 1, 1}, 1e-4},
      {"batch_norm2d", R"({"type": "batch_norm2d", "momentum": 0.9})", {4, 3, 5, 6}, 1e-4},
  };
}

}  // namespace

class CpuVsGpu : public ::testing::TestWithParam<LayerCase> {};

TEST_P(CpuVsGpu, ForwardAndBackwardAgree) {
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  auto cpu = make_cpu_backend();
  const LayerCase& c = GetParam();
  LayerRun a = run_layer(*cpu, c, true), b = run_layer(*gpu, c, true);
  EXPECT_ALL_CLOSE(b.y, a.y, c.tol, c.tol);
  EXPECT_ALL_CLOSE(b.dx, a.dx, c.tol, c.tol);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_ALL_CLOSE(b.grads[i], a.grads[i], c.tol, c.tol);
  ASSERT_EQ(a.values.size(), b.values.size());  // batch-norm running statistics were updated alike
  for (size_t i = 0; i < a.values.size(); ++i) EXPECT_ALL_CLOSE(b.values[i], a.values[i], c.tol, c.tol);
  if (c.name == "batch_norm2d") {  // inference mode uses the running statistics
    LayerRun ai = run_layer(*cpu, c, false), bi = run_layer(*gpu, c, false);
    EXPECT_ALL_CLOSE(bi.y, ai.y, c.tol, c.tol);
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, CpuVsGpu, ::testing::ValuesIn(layer_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(CpuVsGpuOps, SoftmaxCrossEntropyAndOptimizers) {
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  auto cpu = make_cpu_backend();
  const int n = 6, k = 4;
  std::vector<float> z = random_values(n * k, 3);
  z[0] = 80.0f;  // large logits stay finite
  std::vector<int32_t> labels = {0, 1, 2, 3, 3, 1};
  Tensor zc = Tensor::from_host(z, {n, k, 1, 1}, DeviceKind::cpu), zg = zc.clone(DeviceKind::cuda);
  Tensor pc, dc, pg, dg;
  double lc = cpu->softmax_xent(zc, labels, pc, dc), lg = gpu->softmax_xent(zg, labels, pg, dg);
  EXPECT_NEAR(lg, lc, 1e-5 * std::max(1.0, std::fabs(lc)));
  EXPECT_ALL_CLOSE(pg.to_host(), pc.to_host(), 1e-6, 1e-5);
  EXPECT_ALL_CLOSE(dg.to_host(), dc.to_host(), 1e-6, 1e-5);

  std::vector<float> p0 = random_values(50, 4), g0 = random_values(50, 5);
  for (int opt = 0; opt < 2; ++opt) {
    Tensor pc2 = Tensor::from_host(p0, {1, 50, 1, 1}, DeviceKind::cpu), pg2 = pc2.clone(DeviceKind::cuda);
    Tensor gc = Tensor::from_host(g0, {1, 50, 1, 1}, DeviceKind::cpu), gg = gc.clone(DeviceKind::cuda);
    Tensor mc({1, 50, 1, 1}, DeviceKind::cpu), vc({1, 50, 1, 1}, DeviceKind::cpu);
    Tensor mg({1, 50, 1, 1}, DeviceKind::cuda), vg({1, 50, 1, 1}, DeviceKind::cuda);
    for (int t = 1; t <= 3; ++t) {
      if (opt == 0) {
        AdamUpdate u;
        u.step = t;
        u.weight_decay = 0.01f;
        cpu->adam_update(pc2, gc, mc, vc, u);
        gpu->adam_update(pg2, gg, mg, vg, u);
      } else {
        SgdUpdate u;
        u.momentum = 0.9f;
        u.nesterov = t == 2;
        cpu->sgd_update(pc2, gc, mc, u);
        gpu->sgd_update(pg2, gg, mg, u);
      }
    }
    EXPECT_ALL_CLOSE(pg2.to_host(), pc2.to_host(), 1e-6, 1e-5);
  }
}

// A whole training step of the tiny network: same loss, same updated weights.
TEST(CpuVsGpuOps, ModelTrainingStepsAgree) {
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  auto cpu = make_cpu_backend();
  std::vector<std::vector<float>> weights[2];
  std::vector<double> losses[2];
  Backend* backends[2] = {cpu.get(), gpu.get()};
  for (int b = 0; b < 2; ++b) {
    Model m = Model::from_json(flowpic::nn::testing::tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, 21}, *backends[b]);
    // SGD, not Adam: Adam's m / sqrt(v) turns a gradient that is zero up to rounding into a
    // full +-lr step whose sign is the rounding's, which no tolerance on weights could absorb.
    SgdConfig sc;
    sc.lr = 0.1;
    sc.momentum = 0.9;
    Sgd opt(m, sc);
    for (int s = 0; s < 3; ++s) {
      auto batch = flowpic::nn::testing::toy_batch(8, 50 + s);
      Tensor x = Tensor::from_host(batch.images, {8, 1, 8, 8}, backends[b]->device());
      m.forward(x, true);
      losses[b].push_back(m.loss_and_grad(batch.labels));
      m.backward();
      opt.step();
    }
    for (auto& np : m.named_params()) weights[b].push_back(np.param->value.to_host());
  }
  for (int s = 0; s < 3; ++s) EXPECT_NEAR(losses[1][s], losses[0][s], 1e-4);
  for (size_t i = 0; i < weights[0].size(); ++i) EXPECT_ALL_CLOSE(weights[1][i], weights[0][i], 1e-4, 1e-3);
}

// The runner hands the model a batch that a CUDA image builder wrote into its own device buffer.
TEST(CpuVsGpuOps, ModelAcceptsAViewOverDeviceMemory) {
  NN_BACKEND_OR_SKIP(gpu, "cuda");
#ifdef FLOWPIC_HAVE_CUDA
  auto batch = flowpic::nn::testing::toy_batch(4, 77);
  DeviceBuffer<float> images;
  images.upload(batch.images.data(), batch.images.size());
  Tensor view = Tensor::view(images.data(), {4, 1, 8, 8}, DeviceKind::cuda);
  Model m = Model::from_json(flowpic::nn::testing::tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, 1}, *gpu);
  std::vector<float> p = m.predict(view);
  ASSERT_EQ(p.size(), 8u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(p[2 * i] + p[2 * i + 1], 1.0f, 1e-5);
  Tensor host_copy = Tensor::from_host(batch.images, {4, 1, 8, 8}, DeviceKind::cpu);
  EXPECT_THROW(m.forward(host_copy, false), Error);  // a host batch on the cuda backend is refused
#endif
}
