// Sparse input (nn/sparse.hpp): the batch view's validator and densify, the sparse-input
// convolution against the dense one on the densified batch (CPU, fp32: sums in another order),
// whole models (the paper network at 1500x1500, LeNet-5 at 32x32) sparse vs dense, CPU vs GPU
// (skipped without a device), and the errors. The double-precision gradient checks of the
// kernels are in test_gradcheck.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "nn/cpu_kernels.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "nn/sparse.hpp"
#include "nn_fixtures.hpp"
#include "support/error_of.hpp"
#include "support/gpu.hpp"
#include "support/tolerance.hpp"

using namespace flowpic;
using namespace flowpic::nn;

namespace {

// `cells` random non-zero cells per sample of `shape` (small integer counts, like a FlowPic),
// as a dense host batch; sample 1 of three or more is empty.
std::vector<float> random_sparse_dense(Shape shape, int cells, uint64_t seed) {
  Rng rng(seed, 31);
  std::vector<float> dense(shape.count(), 0.0f);
  const size_t per = shape.sample_count();
  for (int n = 0; n < shape.n; ++n) {
    if (shape.n >= 3 && n == 1) continue;
    for (int k = 0; k < cells; ++k) dense[n * per + rng.next_u64() % per] += float(1 + rng.next_u64() % 4);
  }
  return dense;
}

std::vector<float> random_values(size_t n, uint64_t seed) {
  Rng rng(seed, 9);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.uniform(-1, 1));
  return v;
}

std::string model_path(const char* name) { return std::string(FLOWPIC_SOURCE_DIR) + "/configs/models/" + name; }

ConvGeom same_geom(int c, int h, int w, int oc, int k, int s) {
  Conv2dConfig cfg;
  cfg.filters = oc;
  cfg.kh = cfg.kw = k;
  cfg.sh = cfg.sw = s;
  cfg.padding = Conv2dConfig::Padding::same;
  return conv_geometry(cfg, {1, c, h, w});
}

struct OpRun {
  std::vector<float> y, dw, db;
};

// The sparse op on `x` and the dense op on its densified twin, same weights, bias and dy.
OpRun run_sparse_op(Backend& be, const ConvGeom& g, const SparseBatch& x, Activation act) {
  auto op = be.make_sparse_conv(g);
  const DeviceKind d = be.device();
  Tensor w = Tensor::from_host(random_values(size_t(g.out_c) * g.k_size(), 1), {g.out_c, g.in_c, g.kh, g.kw}, d);
  Tensor b = Tensor::from_host(random_values(g.out_c, 2), {1, g.out_c, 1, 1}, d);
  Tensor y, dw({g.out_c, g.in_c, g.kh, g.kw}, d), db({1, g.out_c, 1, 1}, d);
  op->forward(x, w, b, y, act);
  Shape ys = y.shape();
  Tensor dy = Tensor::from_host(random_values(ys.count(), 3), ys, d);
  op->backward(x, w, y, dy, dw, &db, act);
  return {y.to_host(), dw.to_host(), db.to_host()};
}

OpRun run_dense_op(Backend& be, const ConvGeom& g, const Tensor& x, Activation act) {
  auto op = be.make_conv(g);
  const DeviceKind d = be.device();
  Tensor w = Tensor::from_host(random_values(size_t(g.out_c) * g.k_size(), 1), {g.out_c, g.in_c, g.kh, g.kw}, d);
  Tensor b = Tensor::from_host(random_values(g.out_c, 2), {1, g.out_c, 1, 1}, d);
  Tensor y, dw({g.out_c, g.in_c, g.kh, g.kw}, d), db({1, g.out_c, 1, 1}, d);
  op->forward(x, w, b, y, act);
  Shape ys = y.shape();
  Tensor dy = Tensor::from_host(random_values(ys.count(), 3), ys, d);
  op->backward(x, w, y, dy, nullptr, dw, &db, act);
  return {y.to_host(), dw.to_host(), db.to_host()};
}

struct OpCase {
  std::string name;
  ConvGeom g;
  int batch, cells;
};

std::vector<OpCase> op_cases() {
  return {{"paper_first_layer_1500", same_geom(1, 1500, 1500, 10, 10, 5), 2, 3000},
          {"paper_like_two_channels", same_geom(2, 123, 117, 4, 10, 5), 3, 400},
          {"stride1_3x3_same", same_geom(2, 31, 29, 5, 3, 1), 3, 200},
          {"lenet_5x5_valid",
           conv_geometry(
               [] {
                 Conv2dConfig c;
                 c.filters = 6;
                 c.kh = c.kw = 5;
                 return c;
               }(),
               {1, 1, 32, 32}),
           4, 100}};
}

// Model runs: logits and every parameter gradient after one training step's backward.
struct ModelRun {
  std::vector<float> logits;
  std::vector<std::vector<float>> grads;
  std::vector<std::string> names;
};

ModelRun run_model(Model& m, const Tensor* dense, const SparseBatch* sparse, const std::vector<int32_t>& labels) {
  ModelRun r;
  r.logits = (sparse ? m.forward(*sparse, true) : m.forward(*dense, true)).to_host();
  m.loss_and_grad(labels);
  m.backward();
  for (auto& np : m.named_params())
    if (!np.param->grad.empty()) {
      r.grads.push_back(np.param->grad.to_host());
      r.names.push_back(np.name);
    }
  return r;
}

void expect_same_run(const ModelRun& got, const ModelRun& ref, double tol) {
  EXPECT_ALL_CLOSE(got.logits, ref.logits, tol, tol);
  ASSERT_EQ(got.grads.size(), ref.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    SCOPED_TRACE(ref.names[i]);
    EXPECT_ALL_CLOSE(got.grads[i], ref.grads[i], tol, tol);
  }
}

// A model from `path` at `input` (per sample) on the cpu backend: the sparse batch and its dense
// twin through two models of the same seed (dropout masks included) agree.
void check_model_sparse_vs_dense(const std::string& path, Shape input, int batch, int cells, bool fuse, double tol) {
  auto be = make_cpu_backend();
  ModelOptions opt{input, 5, 17};
  opt.fuse = fuse;
  Model ms = Model::from_file(path, opt, *be), md = Model::from_file(path, opt, *be);
  ASSERT_TRUE(ms.accepts_sparse_input());
  Shape bs = input.with_n(batch);
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, cells, 5), bs, DeviceKind::cpu);
  Tensor xd = densify(x.view(), DeviceKind::cpu);
  std::vector<int32_t> labels;
  for (int i = 0; i < batch; ++i) labels.push_back(i % 5);
  ModelRun rs = run_model(ms, nullptr, &x.view(), labels), rd = run_model(md, &xd, nullptr, labels);
  expect_same_run(rs, rd, tol);
  // Inference too.
  EXPECT_ALL_CLOSE(ms.predict(x.view()), md.predict(xd), tol, tol);
}

}  // namespace

// ---- the batch view ------------------------------------------------------------------------

TEST(SparseBatch, FromDenseAndBackAgain) {
  Shape s{3, 2, 5, 4};
  std::vector<float> dense = random_sparse_dense(s, 6, 1);
  OwnedSparseBatch x = sparse_from_dense(dense, s, DeviceKind::cpu);
  EXPECT_EQ(x.view().shape, s);
  EXPECT_EQ(x.view().device, DeviceKind::cpu);
  EXPECT_EQ(x.host_offsets().size(), 4u);
  EXPECT_EQ(x.host_offsets()[1], x.host_offsets()[2]);  // sample 1 is empty
  EXPECT_GT(x.view().nnz, 0);
  EXPECT_NO_THROW(validate_sparse(x.view()));
  EXPECT_EQ(densify(x.view(), DeviceKind::cpu).to_host(), dense);
}

TEST(SparseBatch, ValidatorNamesWhatIsWrong) {
  Shape s{2, 1, 3, 4};  // 12 pixels per sample
  auto error_for = [&](std::vector<int64_t> offsets, std::vector<uint32_t> index) {
    std::vector<float> value(index.size(), 1.0f);
    SparseBatch x{s.with_n(int(offsets.size()) - 1),
                  DeviceKind::cpu,
                  int64_t(index.size()),
                  offsets.data(),
                  index.data(),
                  value.data()};
    return flowpic::testing::error_of([&] { validate_sparse(x); });
  };
  EXPECT_EQ(error_for({0, 2, 3}, {1, 5, 11}), "(no error)");
  EXPECT_NE(error_for({0, 2, 3}, {5, 1, 11}).find("sample 0 entry 1 has index 1 after 5"), std::string::npos)
      << error_for({0, 2, 3}, {5, 1, 11});
  EXPECT_NE(error_for({0, 2, 3}, {1, 1, 11}).find("strictly increasing"), std::string::npos);
  EXPECT_NE(error_for({0, 2, 3}, {1, 5, 12}).find("sample 1 entry 2 has index 12, outside [0, 12)"), std::string::npos)
      << error_for({0, 2, 3}, {1, 5, 12});
  EXPECT_NE(error_for({0, 3, 2}, {1, 5, 11}).find("offsets[2] is 2 but nnz is 3"), std::string::npos);
  EXPECT_NE(error_for({0, 4, 3}, {1, 5, 11}).find("offsets[1] = 4 is past nnz 3"), std::string::npos)
      << error_for({0, 4, 3}, {1, 5, 11});
  EXPECT_NE(error_for({0, 2, 1, 3}, {1, 5, 11}).find("offsets[2] = 1 after offsets[1] = 2; offsets must not decrease"),
            std::string::npos)
      << error_for({0, 2, 1, 3}, {1, 5, 11});
  EXPECT_NE(error_for({1, 2, 3}, {1, 5, 11}).find("offsets[0] is 1"), std::string::npos);
  // A sample's indices restart: the second sample may hold a smaller index than the first's last.
  EXPECT_EQ(error_for({0, 2, 4}, {3, 9, 0, 2}), "(no error)");
  for (const auto& e : {error_for({0, 2, 3}, {5, 1, 11}), error_for({0, 2, 3}, {1, 5, 12})})
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
  EXPECT_THROW(OwnedSparseBatch(s, {0, 1}, {1}, {1.0f}, DeviceKind::cpu), Error);  // N + 1 offsets
}

// ---- the op, CPU: sparse vs dense in fp32 --------------------------------------------------

class SparseConvOpCases : public ::testing::TestWithParam<OpCase> {};

TEST_P(SparseConvOpCases, CpuEqualsDenseConvOnTheDensifiedBatch) {
  const OpCase& c = GetParam();
  auto be = make_cpu_backend();
  Shape bs{c.batch, c.g.in_c, c.g.in_h, c.g.in_w};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, c.cells, 2), bs, DeviceKind::cpu);
  Tensor xd = densify(x.view(), DeviceKind::cpu);
  for (Activation act : {Activation::none, Activation::relu}) {
    OpRun s = run_sparse_op(*be, c.g, x.view(), act), d = run_dense_op(*be, c.g, xd, act);
    EXPECT_ALL_CLOSE(s.y, d.y, 1e-5, 1e-5);
    EXPECT_ALL_CLOSE(s.dw, d.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(s.db, d.db, 1e-4, 1e-4);
  }
}

TEST_P(SparseConvOpCases, GpuEqualsCpu) {
  FLOWPIC_REQUIRE_GPU();
  const OpCase& c = GetParam();
  auto cpu = make_cpu_backend();
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  Shape bs{c.batch, c.g.in_c, c.g.in_h, c.g.in_w};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, c.cells, 2), bs, DeviceKind::cpu);
  OwnedSparseBatch xg = x.to(DeviceKind::cuda);
  for (Activation act : {Activation::none, Activation::relu}) {
    OpRun a = run_sparse_op(*cpu, c.g, x.view(), act), b = run_sparse_op(*gpu, c.g, xg.view(), act);
    EXPECT_ALL_CLOSE(b.y, a.y, 1e-5, 1e-5);
    EXPECT_ALL_CLOSE(b.dw, a.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(b.db, a.db, 1e-4, 1e-4);
  }
  // The device batch densified on either device is the host one.
  EXPECT_EQ(densify(xg.view(), DeviceKind::cpu).to_host(), densify(x.view(), DeviceKind::cpu).to_host());
  EXPECT_EQ(densify(xg.view(), DeviceKind::cuda).to_host(), densify(x.view(), DeviceKind::cpu).to_host());
}

INSTANTIATE_TEST_SUITE_P(Geometries, SparseConvOpCases, ::testing::ValuesIn(op_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(SparseConvOp, CpuBackwardIsBitIdenticalRunToRun) {
  auto be = make_cpu_backend();
  ConvGeom g = same_geom(1, 300, 300, 10, 10, 5);
  Shape bs{5, 1, 300, 300};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, 2000, 3), bs, DeviceKind::cpu);
  OpRun a = run_sparse_op(*be, g, x.view(), Activation::relu), b = run_sparse_op(*be, g, x.view(), Activation::relu);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.dw, b.dw);
  EXPECT_EQ(a.db, b.db);
}

TEST(SparseConvOp, WithoutBiasAndWithAnEmptyBatch) {
  auto be = make_cpu_backend();
  ConvGeom g = same_geom(1, 20, 20, 3, 10, 5);
  Shape bs{2, 1, 20, 20};
  OwnedSparseBatch x = sparse_from_dense(std::vector<float>(bs.count(), 0.0f), bs, DeviceKind::cpu);
  ASSERT_EQ(x.view().nnz, 0);
  auto op = be->make_sparse_conv(g);
  Tensor w = Tensor::from_host(random_values(size_t(g.out_c) * g.k_size(), 1), {3, 1, 10, 10}, DeviceKind::cpu);
  Tensor y, dw({3, 1, 10, 10}, DeviceKind::cpu);
  op->forward(x.view(), w, Tensor(), y, Activation::none);
  EXPECT_EQ(y.to_host(), std::vector<float>(y.count(), 0.0f));
  Tensor dy = Tensor::from_host(random_values(y.count(), 4), y.shape(), DeviceKind::cpu);
  op->backward(x.view(), w, y, dy, dw, nullptr, Activation::none);
  EXPECT_EQ(dw.to_host(), std::vector<float>(dw.count(), 0.0f));
}

// ---- whole models --------------------------------------------------------------------------

TEST(SparseModel, PaperNetworkAt1500EqualsTheDensePath) {
  check_model_sparse_vs_dense(model_path("flowpic_paper.json"), {1, 1, 1500, 1500}, 2, 3000, true, 1e-4);
}

TEST(SparseModel, LeNet5At32EqualsTheDensePathFusedOrNot) {
  for (bool fuse : {true, false}) {
    SCOPED_TRACE(fuse ? "fused" : "not fused");
    check_model_sparse_vs_dense(model_path("lenet5.json"), {1, 1, 32, 32}, 4, 100, fuse, 1e-4);
  }
}

TEST(SparseModel, TrainingStepsOnTheGpuEqualTheCpu) {
  FLOWPIC_REQUIRE_GPU();
  auto cpu = make_cpu_backend();
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  for (const char* name : {"flowpic_paper.json", "lenet5.json"}) {
    SCOPED_TRACE(name);
    const bool paper = std::string(name) == "flowpic_paper.json";
    Shape input = paper ? Shape{1, 1, 1500, 1500} : Shape{1, 1, 32, 32};
    const int batch = paper ? 2 : 4;
    Shape bs = input.with_n(batch);
    OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, paper ? 3000 : 100, 6), bs, DeviceKind::cpu);
    OwnedSparseBatch xg = x.to(DeviceKind::cuda);
    Model mc = Model::from_file(model_path(name), {input, 5, 23}, *cpu);
    Model mg = Model::from_file(model_path(name), {input, 5, 23}, *gpu);
    EXPECT_TRUE(mc.sparse_delta_conv());
    EXPECT_FALSE(mg.sparse_delta_conv());  // cuDNN's convolution after the fused op on the GPU
    std::vector<int32_t> labels;
    for (int i = 0; i < batch; ++i) labels.push_back((i * 3) % 5);
    ModelRun a = run_model(mc, nullptr, &x.view(), labels), b = run_model(mg, nullptr, &xg.view(), labels);
    expect_same_run(b, a, 5e-4);
    EXPECT_ALL_CLOSE(mg.predict(xg.view()), mc.predict(x.view()), 5e-4, 5e-4);
  }
}

// ---- errors --------------------------------------------------------------------------------

TEST(SparseModel, RefusesAWrongShapeAMalformedBatchAndANonConvFirstLayer) {
  auto be = make_cpu_backend();
  Model m = Model::from_file(model_path("lenet5.json"), {{1, 1, 32, 32}, 5, 1}, *be);
  Shape wrong{2, 1, 32, 31};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(wrong, 10, 1), wrong, DeviceKind::cpu);
  std::string e = flowpic::testing::error_of([&] { m.forward(x.view(), true); });
  EXPECT_NE(e.find("model input: expected N x 1 x 32 x 32, got a sparse batch of 2x1x32x31"), std::string::npos) << e;

  // Unsorted and out-of-range cells are refused before anything is written.
  Shape good{1, 1, 32, 32};
  std::vector<int64_t> offsets{0, 2};
  std::vector<uint32_t> unsorted{40, 7}, out_of_range{7, 1024};
  std::vector<float> values{1.0f, 2.0f};
  SparseBatch bad{good, DeviceKind::cpu, 2, offsets.data(), unsorted.data(), values.data()};
  e = flowpic::testing::error_of([&] { m.forward(bad, true); });
  EXPECT_NE(e.find("conv2d sparse input: sample 0 entry 1 has index 7 after 40"), std::string::npos) << e;
  bad.index = out_of_range.data();
  e = flowpic::testing::error_of([&] { m.forward(bad, true); });
  EXPECT_NE(e.find("has index 1024, outside [0, 1024)"), std::string::npos) << e;

  // A model that does not start with a convolution cannot take sparse input.
  json arch = json::parse(R"({"layers": [{"type": "flatten"}, {"type": "dense", "units": "classes"}]})");
  Model dense_first = Model::from_json(arch, "flat.json", {{1, 1, 32, 32}, 5, 1}, *be);
  EXPECT_FALSE(dense_first.accepts_sparse_input());
  OwnedSparseBatch ok = sparse_from_dense(random_sparse_dense(good, 10, 1), good, DeviceKind::cpu);
  e = flowpic::testing::error_of([&] { dense_first.forward(ok.view(), true); });
  EXPECT_NE(e.find("a sparse batch needs a conv2d first layer, but layers[0] is flatten"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_TRUE(m.accepts_sparse_input());
}

TEST(SparseModel, ConvLayerRefusesAnInputGradientForSparseInput) {
  auto be = make_cpu_backend();
  Conv2dConfig cfg;
  cfg.filters = 2;
  cfg.kh = cfg.kw = 3;
  Conv2d conv(cfg);
  Rng rng(1, 1);
  Shape out = conv.setup(*be, {1, 1, 6, 6}, rng, 1);
  Shape bs{1, 1, 6, 6};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, 5, 1), bs, DeviceKind::cpu);
  conv.forward_sparse(x.view(), true);
  Tensor dy = Tensor::from_host(random_values(out.count(), 1), out, DeviceKind::cpu);
  EXPECT_NO_THROW(conv.backward(dy, false));
  EXPECT_THROW(conv.backward(dy, true), Error);
}

TEST(SparseModel, RefusesABatchOnTheOtherDevice) {
  FLOWPIC_REQUIRE_GPU();
  auto be = make_cpu_backend();
  Model m = Model::from_file(model_path("lenet5.json"), {{1, 1, 32, 32}, 5, 1}, *be);
  Shape bs{1, 1, 32, 32};
  OwnedSparseBatch xg = sparse_from_dense(random_sparse_dense(bs, 10, 1), bs, DeviceKind::cuda);
  std::string e = flowpic::testing::error_of([&] { m.forward(xg.view(), true); });
  EXPECT_NE(e.find("the sparse batch is on cuda but the backend is cpu"), std::string::npos) << e;
  // The validator reads a device batch through a host copy.
  EXPECT_NO_THROW(validate_sparse(xg.view()));
}

// ---- conv2d + relu + max_pool2d fused over sparse input ------------------------------------

namespace {

struct PoolOpCase {
  std::string name;
  ConvGeom g;
  int pkh, pkw, psh, psw;
  int batch, cells;
  PoolGeom pool() const { return PoolGeom{g.out_c, g.out_h(), g.out_w(), pkh, pkw, psh, psw}; }
};

std::vector<PoolOpCase> pool_op_cases() {
  return {{"paper_first_layer_1500", same_geom(1, 1500, 1500, 10, 10, 5), 2, 2, 2, 2, 3, 2000},
          {"odd_sizes_two_channels", same_geom(2, 123, 117, 4, 10, 5), 2, 2, 2, 2, 3, 400},
          {"overlapping_3x3_stride2", same_geom(1, 61, 59, 5, 3, 1), 3, 3, 2, 2, 3, 150},
          {"window_2x3_strides_3x2", same_geom(2, 40, 37, 3, 5, 2), 2, 3, 3, 2, 4, 100}};
}

// Weights in [-1, 1]; biases of both signs (ReLU masks and all-zero ties where negative,
// constant positive ties where positive).
Tensor pool_case_bias(int m, DeviceKind d) {
  std::vector<float> b(m);
  for (int f = 0; f < m; ++f) b[f] = f % 2 ? 0.25f * float(1 + f % 3) : -0.2f * float(1 + f % 3);
  return Tensor::from_host(b, {1, m, 1, 1}, d);
}

// The fused op; or, with `unfused`, the sparse conv (or, with `dense`, the dense conv on the
// densified batch) followed by the backend's max pool.
enum class PoolPath { fused, sparse_then_pool, dense_then_pool };
OpRun run_conv_pool(Backend& be, const PoolOpCase& c, const SparseBatch& x, Activation act, PoolPath path) {
  const ConvGeom& g = c.g;
  const DeviceKind d = be.device();
  Tensor w = Tensor::from_host(random_values(size_t(g.out_c) * g.k_size(), 1), {g.out_c, g.in_c, g.kh, g.kw}, d);
  Tensor b = pool_case_bias(g.out_c, d);
  Tensor y, dw({g.out_c, g.in_c, g.kh, g.kw}, d), db({1, g.out_c, 1, 1}, d);
  const PoolGeom p = c.pool();
  const Shape ys{x.shape.n, g.out_c, p.out_h(), p.out_w()};
  Tensor dy = Tensor::from_host(random_values(ys.count(), 3), ys, d);
  if (path == PoolPath::fused) {
    auto op = be.make_sparse_conv_pool(g, p);
    op->forward(x, w, b, y, act, true, true);
    op->backward(x, w, dy, dw, &db, act);
    return {y.to_host(), dw.to_host(), db.to_host()};
  }
  auto pool = be.make_pool(p);
  Tensor z, dz;
  Tensor xd = path == PoolPath::dense_then_pool ? densify(x, d) : Tensor();
  std::unique_ptr<SparseConvOp> sop;
  std::unique_ptr<ConvOp> dop;
  if (path == PoolPath::sparse_then_pool) {
    sop = be.make_sparse_conv(g);
    sop->forward(x, w, b, z, act);
  } else {
    dop = be.make_conv(g);
    dop->forward(xd, w, b, z, act);
  }
  pool->forward(z, y);
  pool->backward(z, y, dy, dz);
  if (sop)
    sop->backward(x, w, z, dz, dw, &db, act);
  else
    dop->backward(xd, w, z, dz, nullptr, dw, &db, act);
  return {y.to_host(), dw.to_host(), db.to_host()};
}

}  // namespace

class SparseConvPoolOpCases : public ::testing::TestWithParam<PoolOpCase> {};

TEST_P(SparseConvPoolOpCases, CpuEqualsSparseConvThenPoolAndTheDensePath) {
  const PoolOpCase& c = GetParam();
  auto be = make_cpu_backend();
  Shape bs{c.batch, c.g.in_c, c.g.in_h, c.g.in_w};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, c.cells, 7), bs, DeviceKind::cpu);
  for (Activation act : {Activation::relu, Activation::none}) {
    SCOPED_TRACE(act == Activation::relu ? "relu" : "no activation");
    OpRun f = run_conv_pool(*be, c, x.view(), act, PoolPath::fused);
    OpRun s = run_conv_pool(*be, c, x.view(), act, PoolPath::sparse_then_pool);
    OpRun d = run_conv_pool(*be, c, x.view(), act, PoolPath::dense_then_pool);
    // The same sums in the same order and the same tie rule: the pooled output bit for bit.
    // The gradients are summed in another order (db over a 300x300 plane: the references' fp32
    // sums are off by a few 1e-5; the fused op sums each plane in double).
    EXPECT_EQ(f.y, s.y);
    EXPECT_ALL_CLOSE(f.dw, s.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(f.db, s.db, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(f.y, d.y, 1e-5, 1e-5);
    EXPECT_ALL_CLOSE(f.dw, d.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(f.db, d.db, 1e-4, 1e-4);
  }
}

TEST_P(SparseConvPoolOpCases, GpuEqualsCpu) {
  FLOWPIC_REQUIRE_GPU();
  const PoolOpCase& c = GetParam();
  auto cpu = make_cpu_backend();
  NN_BACKEND_OR_SKIP(gpu, "cuda");
  Shape bs{c.batch, c.g.in_c, c.g.in_h, c.g.in_w};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, c.cells, 7), bs, DeviceKind::cpu);
  OwnedSparseBatch xg = x.to(DeviceKind::cuda);
  for (Activation act : {Activation::relu, Activation::none}) {
    OpRun a = run_conv_pool(*cpu, c, x.view(), act, PoolPath::fused);
    OpRun b = run_conv_pool(*gpu, c, xg.view(), act, PoolPath::fused);
    EXPECT_ALL_CLOSE(b.y, a.y, 1e-5, 1e-5);
    EXPECT_ALL_CLOSE(b.dw, a.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(b.db, a.db, 1e-4, 1e-4);
    // And the GPU's own unfused path (cuDNN's max pool).
    OpRun u = run_conv_pool(*gpu, c, xg.view(), act, PoolPath::sparse_then_pool);
    EXPECT_ALL_CLOSE(b.y, u.y, 1e-5, 1e-5);
    EXPECT_ALL_CLOSE(b.dw, u.dw, 1e-4, 1e-4);
    EXPECT_ALL_CLOSE(b.db, u.db, 1e-4, 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, SparseConvPoolOpCases, ::testing::ValuesIn(pool_op_cases()),
                         [](const auto& info) { return info.param.name; });

// The fused kernel in float on samples of 1-10 cells (and an empty one), cells in a few rows:
// the cell route (computing only the windows the cells reach) and the band route (every window)
// give the sparse conv then the max pool's output bit for bit, the same winners, and the cell
// route lists exactly the windows that hold an output a cell reaches, in order.
TEST(SparseConvPoolKernel, FewCellsBitForBitOnBothRoutesAt32And1500) {
  struct Case {
    ConvGeom g;
    int rows;
  };
  ConvGeom lenet;  // 6@5x5 valid
  lenet.in_c = 1, lenet.in_h = lenet.in_w = 32, lenet.out_c = 6, lenet.kh = lenet.kw = 5;
  const std::vector<Case> cases = {{lenet, 2}, {lenet, 32}, {same_geom(1, 1500, 1500, 10, 10, 5), 3}};
  for (const Case& c : cases) {
    const ConvGeom& g = c.g;
    SCOPED_TRACE(std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + ", cells in " + std::to_string(c.rows) +
                 " rows");
    const PoolGeom p{g.out_c, g.out_h(), g.out_w(), 2, 2, 2, 2};
    const int N = 11;  // sample n has n cells
    const size_t per = size_t(g.in_h) * g.in_w, PP = size_t(p.out_h()) * p.out_w();
    Rng rng(5, 41);
    std::vector<float> dense(per * N, 0.0f);
    for (int n = 0; n < N; ++n) {
      const size_t first = size_t(rng.next_u64() % uint64_t(g.in_h - c.rows + 1)) * g.in_w;
      for (int placed = 0; placed < n;) {
        float& v = dense[n * per + first + rng.next_u64() % (size_t(c.rows) * g.in_w)];
        if (v != 0.0f) continue;
        v = float(1 + rng.next_u64() % 4);
        ++placed;
      }
    }
    OwnedSparseBatch x = sparse_from_dense(dense, {N, 1, g.in_h, g.in_w}, DeviceKind::cpu);
    const SparseBatch v = x.view();
    const std::vector<float> w = random_values(size_t(g.out_c) * g.k_size(), 1), ones(w.size(), 1.0f);
    const std::vector<float> b = pool_case_bias(g.out_c, DeviceKind::cpu).to_host();
    const size_t zcount = size_t(N) * g.out_c * g.out_h() * g.out_w(), ycount = size_t(N) * g.out_c * PP;
    // Which pooled windows hold an output some cell reaches (all-ones weights, positive values).
    std::vector<float> reach(zcount), reach_pooled(ycount), zero_b(g.out_c, 0.0f);
    cpu::sparse_conv2d_forward(g, N, v.offsets, v.index, v.value, ones.data(), zero_b.data(), reach.data());
    cpu::maxpool_forward(p, N, reach.data(), reach_pooled.data());
    for (bool relu : {true, false}) {
      SCOPED_TRACE(relu ? "relu" : "no relu");
      std::vector<float> z(zcount), ref(ycount);
      cpu::sparse_conv2d_forward(g, N, v.offsets, v.index, v.value, w.data(), b.data(), z.data(), relu);
      cpu::maxpool_forward(p, N, z.data(), ref.data());
      std::vector<float> y_cells(ycount, 7.0f), y_bands(ycount, 8.0f), y_infer(ycount, 9.0f);
      std::vector<uint16_t> win_cells(ycount, 1234), win_bands(ycount, 4321);
      BackgroundDelta<float> l_cells, l_bands, l_infer;
      cpu::sparse_conv_pool_forward(g, p, N, v.offsets, v.index, v.value, w.data(), b.data(), y_cells.data(),
                                    win_cells.data(), l_cells, relu, 0, cpu::PoolRoute::cells);
      cpu::sparse_conv_pool_forward(g, p, N, v.offsets, v.index, v.value, w.data(), b.data(), y_bands.data(),
                                    win_bands.data(), l_bands, relu, 0, cpu::PoolRoute::bands);
      cpu::sparse_conv_pool_forward(g, p, N, v.offsets, v.index, v.value, w.data(), b.data(), y_infer.data(), nullptr,
                                    l_infer, relu);  // inference, automatic: the cell route here
      EXPECT_EQ(y_cells, ref);
      EXPECT_EQ(y_bands, ref);
      EXPECT_EQ(y_infer, ref);
      EXPECT_EQ(win_cells, win_bands);
      EXPECT_EQ(l_infer.index, l_cells.index);
      EXPECT_EQ(l_infer.offsets, l_cells.offsets);
      ASSERT_EQ(l_bands.listed(), int64_t(N * PP));
      std::vector<int64_t> offsets{0};
      std::vector<uint32_t> index;
      for (int n = 0; n < N; ++n) {
        for (size_t q = 0; q < PP; ++q)
          if (reach_pooled[n * g.out_c * PP + q] > 0.0f) index.push_back(uint32_t(q));  // channel 0: all alike
        offsets.push_back(int64_t(index.size()));
      }
      EXPECT_EQ(l_cells.offsets, offsets);
      EXPECT_EQ(l_cells.index, index);
    }
  }
}

TEST(SparseConvPoolOp, BitIdenticalRunToRunAndRefusals) {
  auto be = make_cpu_backend();
  PoolOpCase c{"paper300", same_geom(1, 300, 300, 10, 10, 5), 2, 2, 2, 2, 5, 2000};
  Shape bs{c.batch, 1, 300, 300};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, c.cells, 3), bs, DeviceKind::cpu);
  OpRun a = run_conv_pool(*be, c, x.view(), Activation::relu, PoolPath::fused);
  OpRun b = run_conv_pool(*be, c, x.view(), Activation::relu, PoolPath::fused);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.dw, b.dw);
  EXPECT_EQ(a.db, b.db);

  // A pooling that is not over the convolution's output, and backward without a forward pass.
  PoolGeom wrong = c.pool();
  wrong.in_h += 1;
  std::string e = flowpic::testing::error_of([&] { be->make_sparse_conv_pool(c.g, wrong); });
  EXPECT_NE(e.find("is not the convolution's output 10x60x60"), std::string::npos) << e;
  auto op = be->make_sparse_conv_pool(c.g, c.pool());
  Tensor w({10, 1, 10, 10}, DeviceKind::cpu), dw({10, 1, 10, 10}, DeviceKind::cpu);
  Tensor dy({c.batch, 10, 30, 30}, DeviceKind::cpu);
  e = flowpic::testing::error_of([&] { op->backward(x.view(), w, dy, dw, nullptr, Activation::relu); });
  EXPECT_NE(e.find("no forward pass"), std::string::npos) << e;
  // An inference forward keeps nothing for backward (no winners), but still lists its output.
  Tensor bias({1, 10, 1, 1}, DeviceKind::cpu), y;
  op->forward(x.view(), w, bias, y, Activation::relu, false, true);
  ASSERT_NE(op->output_delta(), nullptr);
  EXPECT_EQ(op->output_delta()->batch(), c.batch);
  e = flowpic::testing::error_of([&] { op->backward(x.view(), w, dy, dw, nullptr, Activation::relu); });
  EXPECT_NE(e.find("no forward pass of this batch (5 samples, training)"), std::string::npos) << e;
}

TEST(DeltaConvOp, RefusesADeltaThatDoesNotDescribeItsInput) {
  auto be = make_cpu_backend();
  ConvGeom g = same_geom(2, 6, 5, 3, 3, 1);
  auto op = be->make_delta_conv(g);
  ASSERT_NE(op, nullptr);
  Tensor w({3, 2, 3, 3}, DeviceKind::cpu), b({1, 3, 1, 1}, DeviceKind::cpu), y;
  BackgroundDelta<float> d{{0.5f, 0.0f}, {0, 1, 3}, {4, 2, 29}, {1, 2, 3, 4, 5, 6}};
  EXPECT_NO_THROW(op->forward(d, w, b, y, Activation::relu));
  EXPECT_EQ(y.shape(), (Shape{2, 3, 6, 5}));
  auto error = [&](BackgroundDelta<float> bad) {
    return flowpic::testing::error_of([&] { op->forward(bad, w, b, y, Activation::relu); });
  };
  BackgroundDelta<float> bad = d;
  bad.background.pop_back();
  std::string e = error(bad);
  EXPECT_NE(e.find("conv2d delta input: 2 samples, 1 background values and 3 positions do not describe a batch of "
                   "2x6x5 inputs"),
            std::string::npos)
      << e;
  bad = d;
  bad.offsets.clear();
  e = error(bad);
  EXPECT_NE(e.find("conv2d delta input: 0 samples"), std::string::npos) << e;
  bad = d;
  bad.index = {4, 29, 2};
  e = error(bad);
  EXPECT_NE(e.find("sample 1 lists position 2 out of order or outside its 6x5 plane"), std::string::npos) << e;
  bad = d;
  bad.index = {4, 2, 30};
  e = error(bad);
  EXPECT_NE(e.find("sample 1 lists position 30 out of order or outside its 6x5 plane"), std::string::npos) << e;
  bad = d;
  bad.offsets = {0, 4, 3};
  e = error(bad);
  EXPECT_NE(e.find("the offsets of sample 0 (0 to 4) decrease or pass the 3 positions"), std::string::npos) << e;
  bad = d;
  bad.values.pop_back();
  e = error(bad);
  EXPECT_NE(e.find("conv2d delta input: 5 listed values for 3 positions of 2 channels"), std::string::npos) << e;
}

TEST(SparseModel, DeltaConvOnlyAfterTheFusedOpAndProfiledAsSuch) {
  auto be = make_cpu_backend();
  auto build = [&](const char* after, bool delta) {
    json arch = json::parse(std::string(R"({"layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 5, "strides": 2, "padding": "same"}, {"type": "relu"},
        {"type": "max_pool2d", "pool_size": 2}, )") +
                            after + R"(, {"type": "flatten"},
        {"type": "dense", "units": "classes"}]})");
    ModelOptions opt{{1, 1, 40, 40}, 3, 5};
    opt.sparse_delta_conv = delta;
    return Model::from_json(arch, "m.json", opt, *be);
  };
  const char* conv = R"({"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same"}, {"type": "relu"})";
  const char* pool = R"({"type": "max_pool2d"})";
  EXPECT_TRUE(build(conv, true).sparse_delta_conv());
  EXPECT_FALSE(build(conv, false).sparse_delta_conv());
  EXPECT_FALSE(build(pool, true).sparse_delta_conv());

  Shape bs{3, 1, 40, 40};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, 12, 8), bs, DeviceKind::cpu);
  const std::vector<int32_t> labels{0, 1, 2};
  Model on = build(conv, true), off = build(conv, false);
  expect_same_run(run_model(on, nullptr, &x.view(), labels), run_model(off, nullptr, &x.view(), labels), 1e-5);
  on.set_profiling(true);
  run_model(on, nullptr, &x.view(), labels);
  EXPECT_NE(on.profile_report().find("03 conv2d       forward"), std::string::npos) << on.profile_report();
  EXPECT_NE(on.profile_report().find("(over 00's background + delta)"), std::string::npos) << on.profile_report();
  off.set_profiling(true);
  run_model(off, nullptr, &x.view(), labels);
  EXPECT_EQ(off.profile_report().find("background + delta"), std::string::npos) << off.profile_report();
  // Inference through the delta conv, then a dense batch: the layers run apart again.
  Tensor xd = densify(x.view(), DeviceKind::cpu);
  EXPECT_ALL_CLOSE(on.predict(x.view()), off.predict(xd), 1e-5, 1e-5);
  EXPECT_NO_THROW(run_model(on, &xd, nullptr, labels));
}

TEST(SparseModel, InferencePoolsStraightFromTheDeltaConvBitForBit) {
  auto be = make_cpu_backend();
  // LeNet-5's shape of network, with a dropout of rate 0 between the second relu and its pooling
  // (so that a training forward pass, which runs the layers apart, gives the same logits) or no
  // dropout, and an overlapping 3x3 stride 2 pooling.
  auto build = [&](const char* between, const char* pool) {
    json arch = json::parse(std::string(R"({"layers": [
        {"type": "conv2d", "filters": 6, "kernel_size": 5}, {"type": "relu"}, {"type": "max_pool2d"},
        {"type": "conv2d", "filters": 16, "kernel_size": 5}, {"type": "relu"}, )") +
                            between + pool + R"(, {"type": "flatten"}, {"type": "dense", "units": "classes"}]})");
    return Model::from_json(arch, "m.json", ModelOptions{{1, 1, 32, 32}, 5, 3}, *be);
  };
  const char* two = R"({"type": "max_pool2d"})";
  const char* three = R"({"type": "max_pool2d", "pool_size": 3, "strides": 2})";
  Shape bs{6, 1, 32, 32};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, 5, 21), bs, DeviceKind::cpu);
  for (const char* between : {R"({"type": "dropout", "rate": 0.0}, )", ""})
    for (const char* pool : {two, three}) {
      SCOPED_TRACE(std::string(between) + pool);
      Model m = build(between, pool);
      ASSERT_EQ(m.sparse_delta_pool_layer(), *between ? 6u : 5u);
      const std::vector<float> trained = m.forward(x.view(), true).to_host();
      m.set_profiling(true);
      const std::vector<float> inferred = m.forward(x.view(), false).to_host();
      EXPECT_EQ(inferred, trained);  // the same values, not merely close
      const std::string report = m.profile_report();
      EXPECT_NE(report.find("(over 00's background + delta, pooled)"), std::string::npos) << report;
      EXPECT_NE(report.find("04 relu         forward      0.00 ms  backward      0.00 ms  (in 03)"), std::string::npos)
          << report;
      // Nothing was kept for a backward pass.
      m.loss_and_grad({0, 1, 2, 3, 4, 0});
      const std::string e = flowpic::testing::error_of([&] { m.backward(); });
      EXPECT_NE(e.find("backward() after an inference forward pass over a sparse batch"), std::string::npos) << e;
      // A training pass afterwards runs the layers apart again, and trains.
      EXPECT_EQ(m.forward(x.view(), true).to_host(), trained);
      m.loss_and_grad({0, 1, 2, 3, 4, 0});
      EXPECT_NO_THROW(m.backward());
    }
  // Only a fused relu or a dropout may stand between the delta conv and the pooling.
  EXPECT_EQ(build(R"({"type": "batch_norm2d"}, )", two).sparse_delta_pool_layer(), 0u);
  EXPECT_EQ(build("", R"({"type": "dropout", "rate": 0.5})").sparse_delta_pool_layer(), 0u);  // no pooling
  ModelOptions no_delta{{1, 1, 32, 32}, 5, 3};
  no_delta.sparse_delta_conv = false;
  EXPECT_EQ(Model::from_file(model_path("lenet5.json"), no_delta, *be).sparse_delta_pool_layer(), 0u);
  EXPECT_EQ(
      Model::from_file(model_path("lenet5.json"), ModelOptions{{1, 1, 32, 32}, 5, 3}, *be).sparse_delta_pool_layer(),
      6u);
}

namespace {

// The paper network (or another model file) with layer 0's biases of both signs, in four models
// of one seed: fused sparse with the delta conv after it, fused without it, unfused sparse, dense.
void check_model_fused_unfused_dense(const std::string& path, Shape input, int batch, int cells, double tol) {
  auto be = make_cpu_backend();
  ModelOptions opt{input, 5, 29};
  ModelOptions no_delta = opt, unfused = opt;
  no_delta.sparse_delta_conv = false;
  unfused.fuse_sparse_pool = false;
  Model mdelta = Model::from_file(path, opt, *be), mf = Model::from_file(path, no_delta, *be),
        mu = Model::from_file(path, unfused, *be), md = Model::from_file(path, opt, *be);
  ASSERT_TRUE(mdelta.sparse_delta_conv());
  ASSERT_TRUE(mf.sparse_pool_fused());
  ASSERT_FALSE(mf.sparse_delta_conv());
  ASSERT_FALSE(mu.sparse_pool_fused());
  ASSERT_FALSE(mu.sparse_delta_conv());
  for (Model* m : {&mdelta, &mf, &mu, &md}) {
    Param* bias = m->named_params()[1].param;
    ASSERT_EQ(m->named_params()[1].name, "00_conv2d/bias");
    std::vector<float> b(bias->value.count());
    for (size_t f = 0; f < b.size(); ++f) b[f] = f % 2 ? 0.02f * float(1 + f % 3) : -0.03f * float(1 + f % 3);
    bias->value.copy_from_host(b);
  }
  Shape bs = input.with_n(batch);
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, cells, 11), bs, DeviceKind::cpu);
  ASSERT_EQ(x.host_offsets()[1], x.host_offsets()[2]) << "sample 1 is empty";
  Tensor xd = densify(x.view(), DeviceKind::cpu);
  std::vector<int32_t> labels;
  for (int i = 0; i < batch; ++i) labels.push_back((i * 2 + 1) % 5);
  ModelRun rdelta = run_model(mdelta, nullptr, &x.view(), labels), rf = run_model(mf, nullptr, &x.view(), labels),
           ru = run_model(mu, nullptr, &x.view(), labels), rd = run_model(md, &xd, nullptr, labels);
  {
    SCOPED_TRACE("fused vs unfused sparse");
    EXPECT_EQ(rf.logits, ru.logits);  // the pooled output is bit-identical, and so all that follows
    expect_same_run(rf, ru, tol);
  }
  {
    SCOPED_TRACE("delta conv vs the dense conv after the fused op");
    expect_same_run(rdelta, rf, tol);
  }
  {
    SCOPED_TRACE("fused vs dense");
    expect_same_run(rf, rd, tol);
    expect_same_run(rdelta, rd, tol);
  }
  EXPECT_ALL_CLOSE(mdelta.predict(x.view()), md.predict(xd), tol, tol);
  EXPECT_ALL_CLOSE(mf.predict(x.view()), md.predict(xd), tol, tol);
}

}  // namespace

TEST(SparseModel, PaperNetworkFusedConvPoolEqualsUnfusedAndDense) {
  check_model_fused_unfused_dense(model_path("flowpic_paper.json"), {1, 1, 1500, 1500}, 3, 1500, 1e-4);
}

TEST(SparseModel, LeNet5FusedConvPoolEqualsUnfusedAndDense) {
  check_model_fused_unfused_dense(model_path("lenet5.json"), {1, 1, 32, 32}, 4, 60, 1e-4);
}

TEST(SparseModel, FusesOnlyConvReluPoolAndProfilesTheFusedOpUnderLayer0) {
  auto be = make_cpu_backend();
  auto build = [&](const char* layers, bool fuse) {
    json arch = json::parse(std::string(R"({"layers": [)") + layers + R"(, {"type": "flatten"},
        {"type": "dense", "units": "classes"}]})");
    ModelOptions opt{{1, 1, 40, 40}, 3, 5};
    opt.fuse = fuse;
    return Model::from_json(arch, "m.json", opt, *be);
  };
  const char* conv = R"({"type": "conv2d", "filters": 3, "kernel_size": 5, "strides": 2, "padding": "same"})";
  const std::string relu_pool = std::string(conv) + R"(, {"type": "relu"}, {"type": "max_pool2d", "pool_size": 3})";
  const std::string pool_only = std::string(conv) + R"(, {"type": "max_pool2d"})";
  const std::string relu_only = std::string(conv) + R"(, {"type": "relu"}, {"type": "flatten"})";
  EXPECT_TRUE(build(relu_pool.c_str(), true).sparse_pool_fused());
  EXPECT_FALSE(build(relu_pool.c_str(), false).sparse_pool_fused());  // the relu is not fused into the conv
  EXPECT_FALSE(build(pool_only.c_str(), true).sparse_pool_fused());
  EXPECT_FALSE(build(relu_only.c_str(), true).sparse_pool_fused());

  // Each still runs on sparse input and agrees with the dense path.
  Shape bs{3, 1, 40, 40};
  OwnedSparseBatch x = sparse_from_dense(random_sparse_dense(bs, 30, 4), bs, DeviceKind::cpu);
  Tensor xd = densify(x.view(), DeviceKind::cpu);
  const std::vector<int32_t> labels{0, 1, 2};
  for (const std::string& layers : {relu_pool, pool_only, relu_only})
    for (bool fuse : {true, false}) {
      SCOPED_TRACE(layers + (fuse ? " fused" : " not fused"));
      Model ms = build(layers.c_str(), fuse), md = build(layers.c_str(), fuse);
      expect_same_run(run_model(ms, nullptr, &x.view(), labels), run_model(md, &xd, nullptr, labels), 1e-4);
    }

  // Profiling: the fused op under layer 0, nothing under layers 1 and 2.
  Model m = build(relu_pool.c_str(), true);
  m.set_profiling(true);
  run_model(m, nullptr, &x.view(), labels);
  const std::string report = m.profile_report();
  EXPECT_NE(report.find("00 conv2d"), std::string::npos) << report;
  EXPECT_NE(report.find("(conv2d + relu + max_pool2d, sparse)"), std::string::npos) << report;
  EXPECT_NE(report.find("01 relu         forward      0.00 ms  backward      0.00 ms  (in 00)"), std::string::npos)
      << report;
  EXPECT_NE(report.find("02 max_pool2d   forward      0.00 ms  backward      0.00 ms  (in 00)"), std::string::npos)
      << report;
  // A dense forward afterwards runs the layers apart again.
  Tensor xd2 = densify(x.view(), DeviceKind::cpu);
  EXPECT_NO_THROW(run_model(m, &xd2, nullptr, labels));
}
