// Models from JSON (shapes, errors), training on a toy problem, determinism, weights I/O,
// optimizers and backend selection.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/error.hpp"
#include "common/h5.hpp"
#include "nn/optimizer.hpp"
#include "nn/weights.hpp"
#include "nn_fixtures.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "support/tolerance.hpp"

using namespace flowpic;
using namespace flowpic::nn;
using flowpic::nn::testing::tiny_net_json;
using flowpic::nn::testing::toy_batch;

namespace {

std::string model_path(const std::string& name) { return std::string(FLOWPIC_SOURCE_DIR) + "/configs/models/" + name; }

using flowpic::testing::error_of;

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

}  // namespace

TEST(ModelJson, ShippedModelsHaveThePapersShapes) {
  auto cpu = make_cpu_backend();
  {
    Model m = Model::from_file(model_path("flowpic_paper.json"), {{1, 1, 1500, 1500}, 5, 1}, *cpu);
    EXPECT_EQ(m.output_shape(0), (Shape{1, 10, 300, 300}));
    EXPECT_EQ(m.output_shape(2), (Shape{1, 10, 150, 150}));
    EXPECT_EQ(m.output_shape(3), (Shape{1, 20, 30, 30}));
    EXPECT_EQ(m.output_shape(6), (Shape{1, 20, 15, 15}));
    EXPECT_EQ(m.output_shape(7), (Shape{1, 4500, 1, 1}));
    EXPECT_EQ(m.output_shape(11), (Shape{1, 5, 1, 1}));
    // 10*100+10 + 20*10*100+20 + 4500*64+64 + 64*5+5
    EXPECT_EQ(m.parameter_count(), 1010u + 20020u + 288064u + 325u);
  }
  {
    Model m = Model::from_file(model_path("lenet5.json"), {{1, 1, 32, 32}, 3, 1}, *cpu);
    EXPECT_EQ(m.output_shape(7), (Shape{1, 400, 1, 1}));
    Model m64 = Model::from_file(model_path("lenet5.json"), {{1, 1, 64, 64}, 3, 1}, *cpu);
    EXPECT_EQ(m64.output_shape(7), (Shape{1, 2704, 1, 1}));
  }
  {
    Model m = Model::from_file(model_path("payload_cnn.json"), {{1, 1, 28, 28}, 12, 1}, *cpu);
    EXPECT_EQ(m.output_shape(5), (Shape{1, 64, 7, 7}));
    EXPECT_EQ(m.output_shape(10), (Shape{1, 12, 1, 1}));
  }
}

TEST(ModelJson, ErrorsNameTheLayerAndKey) {
  auto cpu = make_cpu_backend();
  ModelOptions opt{{1, 1, 8, 8}, 2, 1};
  auto build = [&](const std::string& text) {
    return error_of([&] { Model::from_json(json::parse(text), "m.json", opt, *cpu); });
  };
  std::string e = build(R"({"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}, {"type": "softmax"}]})");
  EXPECT_CONTAINS(e, "m.json: layers[1].type");
  EXPECT_CONTAINS(e, "unknown layer type 'softmax'");
  EXPECT_CONTAINS(e, "conv2d, dense, dropout");

  e = build(R"({"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3, "stride": 2}]})");
  EXPECT_CONTAINS(e, "layers[0].stride: unknown key");
  EXPECT_CONTAINS(e, "strides");

  e = build(R"({"layers": [{"type": "conv2d", "kernel_size": 3}]})");
  EXPECT_CONTAINS(e, "layers[0].filters: required key is missing");

  e = build(R"({"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "full"}]})");
  EXPECT_CONTAINS(e, "layers[0].padding");

  e = build(R"({"layers": [{"type": "dense", "units": "many"}]})");
  EXPECT_CONTAINS(e, "layers[0].units");

  e = build(R"({"layers": [{"type": "dropout", "rate": 1.5}, {"type": "dense", "units": "classes"}]})");
  EXPECT_CONTAINS(e, "layers[0].rate: must be in [0, 1)");

  // Shape inference: a 9x9 kernel does not fit the 4x4 output of the pool.
  e = build(R"({"layers": [{"type": "max_pool2d"}, {"type": "conv2d", "filters": 2, "kernel_size": 9},
                           {"type": "dense", "units": "classes"}]})");
  EXPECT_CONTAINS(e, "layers[1] (conv2d)");
  EXPECT_CONTAINS(e, "does not fit the input 1x4x4");

  e = build(R"({"layers": [{"type": "flatten"}, {"type": "dense", "units": 3}]})");
  EXPECT_CONTAINS(e, "one logit per class");

  e = build(R"({"layers": [], "extra": 1})");
  EXPECT_CONTAINS(e, "m.json: extra: unknown key");

  e = error_of([&] { Model::from_file("/nonexistent/model.json", opt, *cpu); });
  EXPECT_CONTAINS(e, "/nonexistent/model.json");
}

TEST(ModelJson, ForwardChecksTheBatch) {
  auto cpu = make_cpu_backend();
  Model m = Model::from_json(tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, 1}, *cpu);
  Tensor wrong({2, 1, 8, 9}, DeviceKind::cpu);
  EXPECT_CONTAINS(error_of([&] { m.forward(wrong, true); }), "expected N x 1 x 8 x 8, got 2x1x8x9");
  Tensor ok({2, 1, 8, 8}, DeviceKind::cpu);
  m.forward(ok, true);
  EXPECT_CONTAINS(error_of([&] { m.loss_and_grad({0, 2}); }), "label 2 of sample 1 is outside [0, 2)");
  EXPECT_CONTAINS(error_of([&] { m.loss_and_grad({0}); }), "1 labels for a batch of 2");
}

TEST(Backends, SelectionIsExplicit) {
  EXPECT_EQ(make_backend("cpu")->device(), DeviceKind::cpu);
  EXPECT_CONTAINS(error_of([] { make_backend("tpu"); }), "unknown backend 'tpu'; allowed: cpu, cuda, auto");
  if (!cuda_device_available()) {
    EXPECT_CONTAINS(error_of([] { make_backend("cuda"); }), "the cuda backend was requested but");
    EXPECT_EQ(make_backend("auto")->device(), DeviceKind::cpu);
  } else {
    EXPECT_EQ(make_backend("auto")->device(), DeviceKind::cuda);
  }
}

TEST(Tensor, ViewsShareMemoryAndShapesAreChecked) {
  std::vector<float> host(24, 1.0f);
  Tensor v = Tensor::view(host.data(), {2, 3, 2, 2}, DeviceKind::cpu);
  EXPECT_FALSE(v.owns());
  v.data()[5] = 7;
  EXPECT_EQ(host[5], 7);
  EXPECT_THROW(v.ensure({2, 3, 2, 3}, DeviceKind::cpu), Error);
  EXPECT_THROW(v.reshape({1, 1, 1, 5}), Error);
  v.reshape({1, 24, 1, 1});
  EXPECT_EQ(v.shape().c, 24);
  Tensor t({1, 2, 3, 4}, DeviceKind::cpu);
  EXPECT_EQ(t.to_host(), std::vector<float>(24, 0.0f));
  EXPECT_THROW(check_shape(t, {1, 2, 3, 5}, "x"), Error);
}

namespace {

struct TrainResult {
  std::vector<double> losses;
  double accuracy = 0;
  std::vector<std::vector<float>> weights;
};

TrainResult train_toy(Backend& backend, uint64_t seed, int steps, const std::string& save_to = "") {
  Model m = Model::from_json(tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, seed}, backend);
  AdamConfig cfg;
  cfg.lr = 0.01;
  Adam opt(m, cfg);
  TrainResult r;
  for (int s = 0; s < steps; ++s) {
    auto b = toy_batch(16, 1000 + s);
    Tensor x = Tensor::from_host(b.images, {16, 1, 8, 8}, backend.device());
    m.forward(x, true);
    r.losses.push_back(m.loss_and_grad(b.labels));
    m.backward();
    opt.step();
  }
  auto test = toy_batch(200, 7);
  Tensor x = Tensor::from_host(test.images, {200, 1, 8, 8}, backend.device());
  std::vector<float> p = m.predict(x);
  int correct = 0;
  for (int i = 0; i < 200; ++i) correct += (p[2 * i + 1] > p[2 * i]) == (test.labels[i] == 1);
  r.accuracy = correct / 200.0;
  for (auto& np : m.named_params()) r.weights.push_back(np.param->value.to_host());
  if (!save_to.empty()) save_weights(m, save_to);
  return r;
}

}  // namespace

class Training : public ::testing::TestWithParam<std::string> {};

TEST_P(Training, TinyNetworkLearnsASeparableToyProblem) {
  NN_BACKEND_OR_SKIP(backend, GetParam());
  TrainResult r = train_toy(*backend, 11, 150);
  double first = (r.losses[0] + r.losses[1] + r.losses[2]) / 3;
  double last = (r.losses[147] + r.losses[148] + r.losses[149]) / 3;
  std::printf("  loss %.3f -> %.3f, accuracy %.3f\n", first, last, r.accuracy);
  EXPECT_LT(last, 0.5 * first);
  EXPECT_GE(r.accuracy, 0.95);
}

TEST_P(Training, SameSeedGivesIdenticalTraining) {
  NN_BACKEND_OR_SKIP(backend, GetParam());
  if (GetParam() == "cuda")
    GTEST_SKIP() << "cuDNN may pick non-deterministic algorithms; bit-identity is a CPU promise";
  TrainResult a = train_toy(*backend, 5, 20), b = train_toy(*backend, 5, 20), c = train_toy(*backend, 6, 20);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_NE(a.weights, c.weights);
}

TEST_P(Training, SaveAndLoadGiveIdenticalOutputs) {
  NN_BACKEND_OR_SKIP(backend, GetParam());
  flowpic::testing::TempDir dir;
  std::string path = dir.file("tiny.h5");
  train_toy(*backend, 3, 10, path);
  // The same model rebuilt from the file's architecture, predicting twice from the same weights.
  Model a = load_model(path, *backend);
  Model b = Model::from_json(tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, 999}, *backend);
  load_weights(b, path);
  auto test = toy_batch(20, 8);
  Tensor x = Tensor::from_host(test.images, {20, 1, 8, 8}, backend->device());
  if (backend->device() == DeviceKind::cpu) {
    EXPECT_EQ(a.predict(x), b.predict(x));
  } else {  // each model times its own cuDNN algorithms, which may round differently
    EXPECT_ALL_CLOSE(a.predict(x), b.predict(x), 1e-6, 1e-5);
  }
  {
    h5::Id f = h5::open_file(path);
    EXPECT_EQ(h5::dataset_shape(f, "/weights/00_conv2d/kernel"), (std::vector<hsize_t>{4, 1, 3, 3}));
    EXPECT_EQ(h5::dataset_shape(f, "/weights/05_dense/kernel"), (std::vector<hsize_t>{8, 64}));
    EXPECT_EQ(h5::dataset_shape(f, "/weights/05_dense/bias"), (std::vector<hsize_t>{8}));
    EXPECT_CONTAINS(h5::get_attr_string(f, "architecture"), "\"conv2d\"");
  }
  // A different architecture is refused, naming the dataset.
  auto other = json::parse(R"({"layers": [{"type": "conv2d", "filters": 5, "kernel_size": 3, "padding": "same"},
      {"type": "relu"}, {"type": "max_pool2d"}, {"type": "dropout", "rate": 0.1}, {"type": "flatten"},
      {"type": "dense", "units": 8}, {"type": "relu"}, {"type": "dense", "units": "classes"}]})");
  Model c = Model::from_json(other, "other", {{1, 1, 8, 8}, 2, 1}, *backend);
  EXPECT_CONTAINS(error_of([&] { load_weights(c, path); }), "/weights/00_conv2d/kernel has shape [4, 1, 3, 3]");
}

INSTANTIATE_TEST_SUITE_P(Backends, Training, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

TEST(Model, FusedConvReluMatchesSeparateLayers) {
  auto cpu = make_cpu_backend();
  std::vector<float> out[2];
  std::vector<std::vector<float>> grads[2];
  double loss[2];
  for (int fuse = 0; fuse < 2; ++fuse) {
    ModelOptions o{{1, 1, 8, 8}, 2, 4};
    o.fuse = fuse == 1;
    Model m = Model::from_json(tiny_net_json(), "tiny", o, *cpu);
    EXPECT_EQ(static_cast<ReLU&>(m.layer(1)).fused(), fuse == 1);
    auto b = toy_batch(6, 9);
    Tensor x = Tensor::from_host(b.images, {6, 1, 8, 8}, DeviceKind::cpu);
    out[fuse] = m.forward(x, true).to_host();
    loss[fuse] = m.loss_and_grad(b.labels);
    m.backward();
    for (Param* p : m.trainable_params()) grads[fuse].push_back(p->grad.to_host());
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(loss[0], loss[1]);
  for (size_t i = 0; i < grads[0].size(); ++i) EXPECT_ALL_CLOSE(grads[1][i], grads[0][i], 1e-6, 1e-5);
}

TEST(Model, BatchNormTrainsAndItsStatisticsAreSaved) {
  auto cpu = make_cpu_backend();
  flowpic::testing::TempDir dir;
  auto arch = json::parse(R"({"layers": [
      {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "use_bias": false, "init": "kaiming_uniform"},
      {"type": "batch_norm2d"}, {"type": "relu"}, {"type": "max_pool2d"}, {"type": "flatten"},
      {"type": "dense", "units": "classes", "init": "kaiming_normal"}]})");
  Model m = Model::from_json(arch, "bn", {{1, 1, 8, 8}, 2, 3}, *cpu);
  Adam opt(m, AdamConfig{});
  double first = 0, last = 0;
  for (int s = 0; s < 60; ++s) {
    auto b = toy_batch(16, 300 + s);
    Tensor x = Tensor::from_host(b.images, {16, 1, 8, 8}, DeviceKind::cpu);
    m.forward(x, true);
    double loss = m.loss_and_grad(b.labels);
    (s == 0 ? first : last) = loss;
    m.backward();
    opt.step();
  }
  EXPECT_LT(last, first);
  std::string path = dir.file("bn.h5");
  save_weights(m, path);
  Model again = load_model(path, *cpu);
  auto test = toy_batch(10, 4);
  Tensor x = Tensor::from_host(test.images, {10, 1, 8, 8}, DeviceKind::cpu);
  EXPECT_EQ(m.predict(x), again.predict(x));  // inference uses the saved running statistics
  h5::Id f = h5::open_file(path);
  std::vector<float> rv = h5::read<float>(f, "/weights/01_batch_norm2d/running_var");
  ASSERT_EQ(rv.size(), 4u);
  EXPECT_NE(rv[0], 1.0f);  // moved away from its initial value
}

TEST(Optimizers, AdamMatchesKerasFormula) {
  auto cpu = make_cpu_backend();
  Tensor p = Tensor::from_host({1.0f, -2.0f}, {1, 2, 1, 1}, DeviceKind::cpu);
  Tensor g = Tensor::from_host({0.5f, 0.1f}, {1, 2, 1, 1}, DeviceKind::cpu);
  Tensor m({1, 2, 1, 1}, DeviceKind::cpu), v({1, 2, 1, 1}, DeviceKind::cpu);
  AdamUpdate u;
  double pp[2] = {1.0, -2.0}, mm[2] = {0, 0}, vv[2] = {0, 0}, gg[2] = {0.5, 0.1};
  for (int t = 1; t <= 3; ++t) {
    u.step = t;
    cpu->adam_update(p, g, m, v, u);
    double alpha = 1e-3 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (int i = 0; i < 2; ++i) {
      mm[i] = 0.9 * mm[i] + 0.1 * gg[i];
      vv[i] = 0.999 * vv[i] + 0.001 * gg[i] * gg[i];
      pp[i] -= alpha * mm[i] / (std::sqrt(vv[i]) + 1e-7);
    }
  }
  EXPECT_ALL_CLOSE(p.to_host(), std::vector<double>(pp, pp + 2), 1e-6, 1e-6);
}

TEST(Optimizers, SgdMomentumAndSchedules) {
  auto cpu = make_cpu_backend();
  Tensor p = Tensor::from_host({1.0f}, {1, 1, 1, 1}, DeviceKind::cpu);
  Tensor g = Tensor::from_host({1.0f}, {1, 1, 1, 1}, DeviceKind::cpu);
  Tensor vel({1, 1, 1, 1}, DeviceKind::cpu);
  SgdUpdate u;
  u.lr = 0.1f;
  u.momentum = 0.9f;
  cpu->sgd_update(p, g, vel, u);  // v = 1, p = 0.9
  cpu->sgd_update(p, g, vel, u);  // v = 1.9, p = 0.71
  EXPECT_NEAR(p.to_host()[0], 0.71f, 1e-6);

  JsonWhere w{"opt.json", "optimizer"};
  LrSchedule step = LrSchedule::from_json(json::parse(R"({"type": "step", "step_size": 10, "gamma": 0.5})"), w);
  EXPECT_DOUBLE_EQ(step.at(1.0, 9), 1.0);
  EXPECT_DOUBLE_EQ(step.at(1.0, 10), 0.5);
  EXPECT_DOUBLE_EQ(step.at(1.0, 25), 0.25);
  LrSchedule cos = LrSchedule::from_json(json::parse(R"({"type": "cosine", "total_steps": 100, "min_lr": 0.1})"), w);
  EXPECT_DOUBLE_EQ(cos.at(1.0, 0), 1.0);
  EXPECT_NEAR(cos.at(1.0, 50), 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(cos.at(1.0, 100), 0.1);
  EXPECT_DOUBLE_EQ(cos.at(1.0, 500), 0.1);
  EXPECT_CONTAINS(error_of([&] { LrSchedule::from_json(json::parse(R"({"type": "linear"})"), w); }),
                  "opt.json: optimizer.type: unknown schedule 'linear'");

  Model m = Model::from_json(tiny_net_json(), "tiny", {{1, 1, 8, 8}, 2, 1}, *cpu);
  EXPECT_CONTAINS(error_of([&] { make_optimizer(json::parse(R"({"type": "adam", "learning_rate": 1})"), w, m); }),
                  "optimizer.learning_rate: unknown key");
  EXPECT_CONTAINS(error_of([&] { make_optimizer(json::parse(R"({"type": "rmsprop"})"), w, m); }), "allowed: adam, sgd");
  auto opt = make_optimizer(json::parse(R"({"type": "sgd", "lr": 0.1, "momentum": 0.9,
                                             "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}})"),
                            w, m);
  EXPECT_DOUBLE_EQ(opt->current_lr(), 0.1);
}
