// Numerical gradient checks in double for every layer (Caffe's GradientChecker): the CPU kernels
// are templates, and here they run in double (dgemm), so the checked code is the training code.
// Central differences with step h; the scalar checked is L = sum(y * r) for a fixed random r, so
// dL/dy = r. Error is |analytic - numeric| against 1e-6 * max(|numeric|, 1) via the one
// tolerance helper. ReLU kinks (|x| < 10 h) are skipped; max-pool inputs are distinct values
// spaced far wider than h, so no perturbation changes a window's maximum (no ties, no flips).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "nn/cpu_kernels.hpp"
#include "nn/random.hpp"
#include "support/tolerance.hpp"

using namespace flowpic::nn;
using Vec = std::vector<double>;

namespace {

Vec random_vec(size_t n, uint64_t seed, double lo = -1, double hi = 1) {
  Rng rng(seed, 77);
  Vec v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// Distinct values spaced by 0.01 in a random order: no ties anywhere in a max-pool window.
Vec spaced_vec(size_t n, uint64_t seed) {
  Vec v(n);
  std::iota(v.begin(), v.end(), 0.0);
  Rng rng(seed, 5);
  for (size_t i = n; i > 1; --i) std::swap(v[i - 1], v[rng.next_u64() % i]);
  for (auto& x : v) x = x * 0.01 - 0.005 * n;
  return v;
}

struct GradCase {
  std::vector<Vec*> inputs;                                 // what gets perturbed
  std::function<Vec()> forward;                             // output from the current inputs
  std::function<std::vector<Vec>(const Vec& dy)> backward;  // gradient of each input, in order
  std::function<bool(size_t input, size_t index)> skip = [](size_t, size_t) { return false; };
  std::vector<std::string> names;
};

void check_gradients(GradCase& c, double h = 1e-5, double tol = 1e-6) {
  Vec y = c.forward();
  Vec r = random_vec(y.size(), 4242);
  std::vector<Vec> analytic = c.backward(r);
  ASSERT_EQ(analytic.size(), c.inputs.size());
  auto loss = [&] {
    Vec yy = c.forward();
    double s = 0;
    for (size_t i = 0; i < yy.size(); ++i) s += yy[i] * r[i];
    return s;
  };
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    Vec& x = *c.inputs[k];
    ASSERT_EQ(analytic[k].size(), x.size());
    Vec numeric(x.size()), got(x.size());
    size_t checked = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (c.skip(k, i)) {
        numeric[i] = got[i] = 0;
        continue;
      }
      double keep = x[i];
      x[i] = keep + h;
      double lp = loss();
      x[i] = keep - h;
      double lm = loss();
      x[i] = keep;
      numeric[i] = (lp - lm) / (2 * h);
      got[i] = analytic[k][i];
      ++checked;
    }
    EXPECT_GT(checked, x.size() / 2) << "too many skipped elements";
    std::string name = k < c.names.size() ? c.names[k] : "input " + std::to_string(k);
    auto res = flowpic::testing::all_close(got, numeric, tol, tol, name);
    EXPECT_TRUE(res);
    if (res) std::printf("  [tolerance] %s\n", res.message());
  }
}

struct ConvCase {
  ConvGeom g;
  int batch;
  int band;  // 0 = automatic, > 0 forced rows per GEMM, < 0 forced images per GEMM
};

void check_conv(const ConvCase& cc) {
  const ConvGeom& g = cc.g;
  ASSERT_TRUE(g.valid());
  const int N = cc.batch;
  Vec x = random_vec(size_t(N) * g.in_c * g.in_h * g.in_w, 1);
  Vec w = random_vec(size_t(g.out_c) * g.k_size(), 2);
  Vec b = random_vec(g.out_c, 3);
  const size_t ycount = size_t(N) * g.out_c * g.out_h() * g.out_w();
  GradCase c;
  c.inputs = {&x, &w, &b};
  c.names = {"conv dx", "conv dw", "conv db"};
  c.forward = [&] {
    Vec y(ycount);
    cpu::conv2d_forward(g, N, x.data(), w.data(), b.data(), y.data(), cc.band);
    return y;
  };
  c.backward = [&](const Vec& dy) {
    Vec dx(x.size(), 7.0), dw(w.size(), 7.0), db(b.size(), 7.0);  // garbage: must be overwritten
    cpu::conv2d_backward(g, N, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), cc.band);
    return std::vector<Vec>{dx, dw, db};
  };
  check_gradients(c);
}

ConvGeom geom(int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int pt, int pb, int pl, int pr) {
  ConvGeom g;
  g.in_c = c, g.in_h = h, g.in_w = w, g.out_c = oc, g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw;
  g.pad_top = pt, g.pad_bottom = pb, g.pad_left = pl, g.pad_right = pr;
  return g;
}

ConvGeom same_geom(int c, int h, int w, int oc, int k, int s) {
  SamePadding v = same_padding(h, k, s), hz = same_padding(w, k, s);
  return geom(c, h, w, oc, k, k, s, s, v.before, v.after, hz.before, hz.after);
}

}  // namespace

TEST(SamePadding, MatchesKeras) {
  // The paper's first layer: 1500 -> 300 with 10x10 stride 5 needs 5 pixels: 2 before, 3 after.
  SamePadding p = same_padding(1500, 10, 5);
  EXPECT_EQ(p.before, 2);
  EXPECT_EQ(p.after, 3);
  EXPECT_EQ(same_padding(28, 5, 1).before, 2);
  EXPECT_EQ(same_padding(28, 5, 1).after, 2);
  EXPECT_EQ(same_padding(7, 4, 2).before, 1);  // total 3: asymmetric
  EXPECT_EQ(same_padding(7, 4, 2).after, 2);
  EXPECT_EQ(same_padding(10, 1, 3).before, 0);  // never negative
  ConvGeom g = same_geom(1, 1500, 1500, 10, 10, 5);
  EXPECT_EQ(g.out_h(), 300);
  EXPECT_EQ(g.out_w(), 300);
}

TEST(GradCheck, Conv2dStride1Valid) { check_conv({geom(2, 6, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0), 2, 0}); }
TEST(GradCheck, Conv2dStride2SameAsymmetric) { check_conv({same_geom(2, 7, 7, 3, 4, 2), 2, 0}); }
TEST(GradCheck, Conv2dStride5SameLikePaper) { check_conv({same_geom(1, 23, 21, 2, 10, 5), 2, 0}); }
TEST(GradCheck, Conv2dRectangularKernelExplicitPadding) {
  check_conv({geom(3, 6, 7, 2, 2, 3, 2, 1, 1, 0, 2, 1), 2, 0});
}
TEST(GradCheck, Conv2dBandsOfOneAndTwoRows) {
  check_conv({same_geom(2, 9, 8, 3, 3, 2), 3, 1});
  check_conv({same_geom(2, 9, 8, 3, 3, 1), 2, 2});
}

TEST(GradCheck, Conv2dImagesSideBySideInOneGemm) {
  check_conv({same_geom(2, 6, 5, 3, 3, 1), 3, -2});  // a group of two images and a group of one
  check_conv({geom(1, 8, 8, 2, 5, 5, 1, 1, 0, 0, 0, 0), 4, -4});
}

// conv2d with a fused ReLU is exactly the composition of the two checked layers (in double):
// relu(conv(x)) forward, and conv's backward of relu's backward.
TEST(GradCheck, Conv2dFusedReluIsTheComposition) {
  for (int band : {0, 1, -2}) {
    ConvGeom g = same_geom(2, 7, 6, 3, 3, 2);
    const int N = 3;
    Vec x = random_vec(size_t(N) * g.in_c * g.in_h * g.in_w, 31), w = random_vec(size_t(g.out_c) * g.k_size(), 32);
    Vec b = random_vec(g.out_c, 33);
    const size_t yc = size_t(N) * g.out_c * g.out_h() * g.out_w();
    Vec y_fused(yc), y_plain(yc), y_relu(yc), dy = random_vec(yc, 34), dy_masked(yc);
    cpu::conv2d_forward(g, N, x.data(), w.data(), b.data(), y_fused.data(), band, true);
    cpu::conv2d_forward(g, N, x.data(), w.data(), b.data(), y_plain.data(), band, false);
    cpu::relu_forward(yc, y_plain.data(), y_relu.data());
    EXPECT_EQ(y_fused, y_relu);
    cpu::relu_backward(yc, y_relu.data(), dy.data(), dy_masked.data());
    Vec dx1(x.size()), dw1(w.size()), db1(b.size()), dx2(x.size()), dw2(w.size()), db2(b.size());
    cpu::conv2d_backward(g, N, x.data(), w.data(), dy.data(), dx1.data(), dw1.data(), db1.data(), band, y_fused.data());
    cpu::conv2d_backward(g, N, x.data(), w.data(), dy_masked.data(), dx2.data(), dw2.data(), db2.data(), band);
    EXPECT_ALL_CLOSE(dx1, dx2, 1e-12, 1e-12);
    EXPECT_ALL_CLOSE(dw1, dw2, 1e-12, 1e-12);
    EXPECT_ALL_CLOSE(db1, db2, 1e-12, 1e-12);
  }
}

TEST(GradCheck, MaxPool) {
  // Tiling windows (every pixel in one window: the direct-write path), dropped edges, overlaps.
  for (PoolGeom g : {PoolGeom{2, 6, 8, 2, 2, 2, 2}, PoolGeom{2, 6, 7, 2, 2, 2, 2}, PoolGeom{1, 7, 7, 3, 3, 2, 2},
                     PoolGeom{2, 5, 6, 2, 3, 1, 2}}) {
    const int N = 2;
    Vec x = spaced_vec(size_t(N) * g.c * g.in_h * g.in_w, 11);
    GradCase c;
    c.inputs = {&x};
    c.names = {"maxpool dx"};
    c.forward = [&] {
      Vec y(size_t(N) * g.c * g.out_h() * g.out_w());
      cpu::maxpool_forward(g, N, x.data(), y.data());
      return y;
    };
    c.backward = [&](const Vec& dy) {
      Vec dx(x.size(), 7.0);
      cpu::maxpool_backward(g, N, x.data(), dy.data(), dx.data());
      return std::vector<Vec>{dx};
    };
    check_gradients(c);
  }
}

TEST(GradCheck, ReLUSkippingKinks) {
  const double h = 1e-5;
  Vec x = random_vec(60, 12);
  x[3] = 0.0;  // a kink: skipped
  GradCase c;
  c.inputs = {&x};
  c.names = {"relu dx"};
  c.forward = [&] {
    Vec y(x.size());
    cpu::relu_forward(x.size(), x.data(), y.data());
    return y;
  };
  c.backward = [&](const Vec& dy) {
    Vec y = c.forward(), dx(x.size());
    cpu::relu_backward(x.size(), y.data(), dy.data(), dx.data());
    return std::vector<Vec>{dx};
  };
  c.skip = [&](size_t, size_t i) { return std::fabs(x[i]) < 10 * h; };
  check_gradients(c, h);
}

TEST(GradCheck, DropoutWithFixedMask) {
  Vec x = random_vec(200, 13);
  const float rate = 0.3f;
  GradCase c;
  c.inputs = {&x};
  c.names = {"dropout dx"};
  c.forward = [&] {
    Vec y(x.size());
    cpu::dropout_apply(x.size(), x.data(), y.data(), rate, 99, 5);  // seed 99, step 5: a fixed mask
    return y;
  };
  c.backward = [&](const Vec& dy) {
    Vec dx(x.size());
    cpu::dropout_apply(dy.size(), dy.data(), dx.data(), rate, 99, 5);
    return std::vector<Vec>{dx};
  };
  check_gradients(c);
  // The mask drops about `rate` of the elements and scales the others.
  Vec y = c.forward();
  size_t dropped = std::count(y.begin(), y.end(), 0.0);
  EXPECT_GT(dropped, 30u);
  EXPECT_LT(dropped, 90u);
}

TEST(GradCheck, Linear) {
  const int N = 3, in = 7, out = 4;
  Vec x = random_vec(N * in, 14), w = random_vec(out * in, 15), b = random_vec(out, 16);
  GradCase c;
  c.inputs = {&x, &w, &b};
  c.names = {"dense dx", "dense dw", "dense db"};
  c.forward = [&] {
    Vec y(N * out);
    cpu::linear_forward(N, in, out, x.data(), w.data(), b.data(), y.data());
    return y;
  };
  c.backward = [&](const Vec& dy) {
    Vec dx(x.size()), dw(w.size()), db(b.size());
    cpu::linear_backward(N, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    return std::vector<Vec>{dx, dw, db};
  };
  check_gradients(c);
}

TEST(GradCheck, SoftmaxCrossEntropy) {
  const int N = 4, K = 5;
  Vec z = random_vec(N * K, 17, -3, 3);
  std::vector<int32_t> labels = {0, 4, 2, 2};
  GradCase c;
  c.inputs = {&z};
  c.names = {"softmax-xent dlogits"};
  c.forward = [&] {
    Vec p(z.size());
    return Vec{cpu::softmax_xent(N, K, z.data(), labels.data(), p.data(), (double*)nullptr)};
  };
  c.backward = [&](const Vec& dy) {
    Vec p(z.size()), d(z.size());
    cpu::softmax_xent(N, K, z.data(), labels.data(), p.data(), d.data());
    for (auto& v : d) v *= dy[0];
    return std::vector<Vec>{d};
  };
  check_gradients(c);
}

TEST(SoftmaxCrossEntropy, StableForHugeLogits) {
  std::vector<float> z = {1000.f, 0.f, -1000.f, 50.f, 50.f, 50.f}, p(6), d(6);
  std::vector<int32_t> labels = {0, 1};
  double loss = cpu::softmax_xent(2, 3, z.data(), labels.data(), p.data(), d.data());
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, (0.0 + std::log(3.0)) / 2, 1e-6);
  EXPECT_NEAR(p[0], 1.0f, 1e-7);
  EXPECT_NEAR(p[4], 1.0f / 3, 1e-6);
}

TEST(GradCheck, BatchNormTraining) {
  const int N = 3, C = 2, P = 5;
  Vec x = random_vec(N * C * P, 18), gamma = random_vec(C, 19, 0.5, 1.5), beta = random_vec(C, 20);
  Vec mean(C), invstd(C);
  GradCase c;
  c.inputs = {&x, &gamma, &beta};
  c.names = {"batchnorm dx", "batchnorm dgamma", "batchnorm dbeta"};
  c.forward = [&] {
    Vec y(x.size());
    cpu::batchnorm_forward_train<double>(N, C, P, x.data(), gamma.data(), beta.data(), y.data(), nullptr, nullptr, 0.1,
                                         1e-3, mean.data(), invstd.data());
    return y;
  };
  c.backward = [&](const Vec& dy) {
    c.forward();
    Vec dx(x.size()), dg(C), dbt(C);
    cpu::batchnorm_backward(N, C, P, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                            dg.data(), dbt.data());
    return std::vector<Vec>{dx, dg, dbt};
  };
  check_gradients(c);
}

// ---- Sparse-input convolution ----------------------------------------------------------------
// The kernels of SparseConvOp in double: numeric gradients of the weights and biases (there is no
// input gradient), and equality with the dense templated convolution on the densified batch.

namespace {

// A random COO batch (a cell is non-zero with probability `density`; sample 1 of three or more
// is left empty), with the dense twin.
struct SparseCase {
  std::vector<int64_t> offsets{0};
  std::vector<uint32_t> index;
  Vec value, dense;
};

SparseCase random_sparse(const ConvGeom& g, int batch, double density, uint64_t seed) {
  Rng rng(seed, 21);
  SparseCase s;
  const size_t per = size_t(g.in_c) * g.in_h * g.in_w;
  s.dense.assign(per * batch, 0.0);
  for (int n = 0; n < batch; ++n) {
    for (size_t i = 0; i < per; ++i)
      if (rng.uniform(0, 1) < density && !(batch >= 3 && n == 1)) {
        double v = rng.uniform(0.5, 3.0);
        s.index.push_back(uint32_t(i));
        s.value.push_back(v);
        s.dense[n * per + i] = v;
      }
    s.offsets.push_back(int64_t(s.index.size()));
  }
  return s;
}

struct SparseConvCase {
  ConvGeom g;
  int batch;
  bool relu;
  int band;  // 0 = automatic, > 0 forced output rows per band
};

void check_sparse_conv(const SparseConvCase& sc) {
  const ConvGeom& g = sc.g;
  ASSERT_TRUE(g.valid());
  const int N = sc.batch;
  SparseCase x = random_sparse(g, N, 0.3, 40 + g.kh);
  ASSERT_GT(x.index.size(), 4u);
  Vec w = random_vec(size_t(g.out_c) * g.k_size(), 41);
  // Biases away from 0: an output that no cell reaches is its bias, and with a fused ReLU a
  // pre-activation within a step of 0 would be a kink.
  Vec b = random_vec(g.out_c, 42, 0.3, 1.0);
  for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];
  const size_t ycount = size_t(N) * g.out_c * g.out_h() * g.out_w();
  if (sc.relu) {  // no pre-activation near the kink, or the numeric gradient would straddle it
    Vec z(ycount);
    cpu::sparse_conv2d_forward(g, N, x.offsets.data(), x.index.data(), x.value.data(), w.data(), b.data(), z.data(),
                               false, sc.band);
    size_t near = 0, positive = 0;
    for (double v : z) near += std::fabs(v)<1e-3, positive += v> 0;
    ASSERT_EQ(near, 0u) << "pick another seed: a pre-activation sits on the ReLU kink";
    ASSERT_GT(positive, 0u);
    ASSERT_LT(positive, ycount);
  }
  GradCase c;
  c.inputs = {&w, &b};
  c.names = {"sparse conv dw", "sparse conv db"};
  c.forward = [&] {
    Vec y(ycount, 7.0);  // garbage: must be overwritten
    cpu::sparse_conv2d_forward(g, N, x.offsets.data(), x.index.data(), x.value.data(), w.data(), b.data(), y.data(),
                               sc.relu, sc.band);
    return y;
  };
  c.backward = [&](const Vec& dy) {
    Vec y = c.forward(), dw(w.size(), 7.0), db(b.size(), 7.0);
    cpu::sparse_conv2d_backward(g, N, x.offsets.data(), x.index.data(), x.value.data(), dy.data(), dw.data(), db.data(),
                                sc.relu ? y.data() : nullptr, sc.band);
    return std::vector<Vec>{dw, db};
  };
  check_gradients(c);

  // The dense templated convolution on the densified batch: the same y, dw and db (in double,
  // summed in another order).
  Vec ys = c.forward(), yd(ycount);
  cpu::conv2d_forward(g, N, x.dense.data(), w.data(), b.data(), yd.data(), 0, sc.relu);
  EXPECT_ALL_CLOSE(ys, yd, 1e-12, 1e-12);
  Vec dy = random_vec(ycount, 43), dws(w.size()), dbs(b.size()), dwd(w.size()), dbd(b.size()), dxd(x.dense.size());
  cpu::sparse_conv2d_backward(g, N, x.offsets.data(), x.index.data(), x.value.data(), dy.data(), dws.data(), dbs.data(),
                              sc.relu ? ys.data() : nullptr, sc.band);
  cpu::conv2d_backward(g, N, x.dense.data(), w.data(), dy.data(), dxd.data(), dwd.data(), dbd.data(), 0,
                       sc.relu ? yd.data() : nullptr);
  EXPECT_ALL_CLOSE(dws, dwd, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(dbs, dbd, 1e-12, 1e-12);
}

}  // namespace

TEST(GradCheck, SparseConvStride5Kernel10SameLikePaper) {
  for (bool relu : {false, true}) {
    check_sparse_conv({same_geom(1, 23, 21, 2, 10, 5), 2, relu, 0});
    check_sparse_conv({same_geom(2, 22, 24, 3, 10, 5), 3, relu, 0});
  }
}

TEST(GradCheck, SparseConvStride1Kernel3) {
  for (bool relu : {false, true}) {
    check_sparse_conv({same_geom(1, 7, 6, 3, 3, 1), 2, relu, 0});
    check_sparse_conv({geom(2, 6, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0), 3, relu, 0});
  }
}

TEST(GradCheck, SparseConvAsymmetricPaddingAndBandSeams) {
  for (int band : {1, 2, 3}) {
    check_sparse_conv({same_geom(2, 9, 8, 3, 3, 2), 3, true, band});
    check_sparse_conv({same_geom(1, 23, 21, 2, 10, 5), 2, false, band});
    check_sparse_conv({geom(2, 6, 7, 2, 2, 3, 2, 1, 1, 0, 2, 1), 2, true, band});
  }
}

// ---- Sparse-input convolution + ReLU + max pooling, fused ----------------------------------
// sparse_conv_pool_forward/backward in double: against the dense templated conv -> relu ->
// max pool on the densified batch (to 1e-12, with inputs without ties and inputs full of them,
// where the winner must be the dense max-pool's), and numeric gradients of the weights and biases
// on inputs where no perturbation can flip a window's winner or cross the ReLU's kink.

namespace {

struct PoolCase {
  ConvGeom g;
  int pkh, pkw, psh, psw;
  int batch;
  bool relu;
  int band;  // 0 = automatic, > 0 forced rows per band (pooled rows forward, conv rows backward)
  cpu::PoolRoute route = cpu::PoolRoute::automatic;
  PoolGeom pool() const { return PoolGeom{g.out_c, g.out_h(), g.out_w(), pkh, pkw, psh, psw}; }
};

struct PoolRun {
  Vec y, dw, db;
};

PoolRun fused_run(const PoolCase& pc, const SparseCase& x, const Vec& w, const Vec& b, const Vec& dy) {
  const PoolGeom p = pc.pool();
  const size_t ycount = size_t(pc.batch) * pc.g.out_c * p.out_h() * p.out_w();
  PoolRun r{Vec(ycount, 7.0), Vec(w.size(), 7.0), Vec(b.size(), 7.0)};  // garbage: must be overwritten
  std::vector<uint16_t> winners(ycount, 12345);
  BackgroundDelta<double> listed;
  cpu::sparse_conv_pool_forward(pc.g, p, pc.batch, x.offsets.data(), x.index.data(), x.value.data(), w.data(), b.data(),
                                r.y.data(), winners.data(), listed, pc.relu, pc.band, pc.route);
  if (!dy.empty()) {
    BackgroundDeltaGrad<double> dyd;
    cpu::background_delta_grad_from_dense(listed, pc.g.out_c, size_t(p.out_h()) * p.out_w(), dy.data(), dyd);
    cpu::sparse_conv_pool_backward(pc.g, p, pc.batch, x.offsets.data(), x.index.data(), x.value.data(), listed, dyd,
                                   winners.data(), pc.relu, r.dw.data(), r.db.data(), pc.band, pc.route);
  }
  return r;
}

// conv (+ relu) on the densified batch, then the dense max pool; z is the conv's output.
PoolRun dense_run(const PoolCase& pc, const SparseCase& x, const Vec& w, const Vec& b, const Vec& dy, Vec* z_out) {
  const PoolGeom p = pc.pool();
  const ConvGeom& g = pc.g;
  const int N = pc.batch;
  Vec z(size_t(N) * g.out_c * g.out_h() * g.out_w()), dz(z.size()), dx(x.dense.size());
  PoolRun r{Vec(size_t(N) * g.out_c * p.out_h() * p.out_w()), Vec(w.size()), Vec(b.size())};
  cpu::conv2d_forward(g, N, x.dense.data(), w.data(), b.data(), z.data(), 0, pc.relu);
  cpu::maxpool_forward(p, N, z.data(), r.y.data());
  if (!dy.empty()) {
    cpu::maxpool_backward(p, N, z.data(), dy.data(), dz.data());
    cpu::conv2d_backward(g, N, x.dense.data(), w.data(), dz.data(), dx.data(), r.dw.data(), r.db.data(), 0,
                         pc.relu ? z.data() : nullptr);
  }
  if (z_out) *z_out = z;
  return r;
}

void expect_fused_equals_dense(const PoolCase& pc, const SparseCase& x, const Vec& w, const Vec& b) {
  const PoolGeom p = pc.pool();
  Vec dy = random_vec(size_t(pc.batch) * pc.g.out_c * p.out_h() * p.out_w(), 53);
  PoolRun f = fused_run(pc, x, w, b, dy), d = dense_run(pc, x, w, b, dy, nullptr);
  EXPECT_ALL_CLOSE(f.y, d.y, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.dw, d.dw, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.db, d.db, 1e-12, 1e-12);
}

// No perturbation of the head's weights may flip a winner or cross the kink. A step of 1e-5 in
// one weight moves an output by at most 3e-5 (values below 3), so in every window two positions
// closer than 2e-4 must be both unreached (equal biases, which move together) or both cut to 0 by
// the ReLU, and no pre-activation may be within 2e-4 of 0.
void expect_no_winner_flips(const PoolCase& pc, const SparseCase& x, const Vec& w, const Vec& b) {
  const ConvGeom& g = pc.g;
  const PoolGeom p = pc.pool();
  const int N = pc.batch;
  PoolCase plain = pc;
  plain.relu = false;
  Vec z, reach, ones(w.size(), 1.0), zero_b(b.size(), 0.0);
  dense_run(plain, x, w, b, {}, &z);
  dense_run(plain, x, ones, zero_b, {}, &reach);  // > 0 where some cell reaches (values are > 0)
  const int OH = g.out_h(), OW = g.out_w();
  size_t risky = 0, kinks = 0;
  for (size_t i = 0; i < z.size(); ++i) kinks += pc.relu && std::fabs(z[i]) < 2e-4;
  auto act = [&](double v) { return pc.relu ? std::max(v, 0.0) : v; };
  for (int pl = 0; pl < N * g.out_c; ++pl)
    for (int py = 0; py < p.out_h(); ++py)
      for (int px = 0; px < p.out_w(); ++px)
        for (int i = 0; i < p.kh * p.kw; ++i)
          for (int j = i + 1; j < p.kh * p.kw; ++j) {
            auto at = [&](int k) {
              return size_t(pl) * OH * OW + size_t(py * p.sh + k / p.kw) * OW + px * p.sw + k % p.kw;
            };
            const size_t a = at(i), c = at(j);
            if (std::fabs(act(z[a]) - act(z[c])) >= 2e-4) continue;
            const bool both_unreached = reach[a] == 0 && reach[c] == 0;
            const bool both_cut = pc.relu && z[a] < 0 && z[c] < 0;
            risky += !both_unreached && !both_cut;
          }
  ASSERT_EQ(kinks, 0u) << "pick another seed: a pre-activation sits on the ReLU kink";
  ASSERT_EQ(risky, 0u) << "pick another seed: a window's winner could flip";
}

// Random weights and cells (no ties between positions a cell reaches), biases of both signs.
void check_sparse_conv_pool_route(const PoolCase& pc) {
  const ConvGeom& g = pc.g;
  ASSERT_TRUE(g.valid());
  const PoolGeom p = pc.pool();
  ASSERT_GT(p.out_h(), 0);
  ASSERT_GT(p.out_w(), 0);
  const int N = pc.batch;
  SparseCase x = random_sparse(g, N, 0.15, 60 + g.kh + pc.pkh);
  ASSERT_GT(x.index.size(), 4u);
  Vec w = random_vec(size_t(g.out_c) * g.k_size(), 61);
  Vec b = random_vec(g.out_c, 62, 0.3, 1.0);
  for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];

  expect_no_winner_flips(pc, x, w, b);
  if (::testing::Test::HasFatalFailure()) return;

  GradCase c;
  c.inputs = {&w, &b};
  c.names = {"sparse conv+pool dw", "sparse conv+pool db"};
  c.forward = [&] { return fused_run(pc, x, w, b, {}).y; };
  c.backward = [&](const Vec& dy) {
    PoolRun r = fused_run(pc, x, w, b, dy);
    return std::vector<Vec>{r.dw, r.db};
  };
  check_gradients(c);
  expect_fused_equals_dense(pc, x, w, b);
}

// Ties everywhere: few cells, small integer weights and values (every sum exact, so reached
// positions tie too), biases of both signs; the fused op must pick the dense max-pool's winners.
void check_sparse_conv_pool_ties_route(const PoolCase& pc) {
  const ConvGeom& g = pc.g;
  SparseCase x = random_sparse(g, pc.batch, 0.03, 70 + g.kh);
  for (auto& v : x.value) v = std::round(v);
  for (size_t n = 0, e = 0; n + 1 < x.offsets.size(); ++n)
    for (; e < size_t(x.offsets[n + 1]); ++e) x.dense[n * size_t(g.in_c) * g.in_h * g.in_w + x.index[e]] = x.value[e];
  Vec w = random_vec(size_t(g.out_c) * g.k_size(), 71, -2.5, 2.5);
  for (auto& v : w) v = std::round(v);
  Vec b(g.out_c);
  for (int f = 0; f < g.out_c; ++f) b[f] = f % 3 == 0 ? -1.0 : f % 3 == 1 ? 2.0 : 0.0;
  expect_fused_equals_dense(pc, x, w, b);
}

// Each case on both routes (cpu_kernels.hpp: PoolRoute) and the automatic choice.
template <typename Check>
void on_every_route(const PoolCase& pc, Check check) {
  for (cpu::PoolRoute route : {cpu::PoolRoute::cells, cpu::PoolRoute::bands, cpu::PoolRoute::automatic}) {
    SCOPED_TRACE(route == cpu::PoolRoute::cells   ? "cell route"
                 : route == cpu::PoolRoute::bands ? "band route"
                                                  : "auto");
    PoolCase c = pc;
    c.route = route;
    check(c);
  }
}
void check_sparse_conv_pool(const PoolCase& pc) { on_every_route(pc, check_sparse_conv_pool_route); }
void check_sparse_conv_pool_ties(const PoolCase& pc) { on_every_route(pc, check_sparse_conv_pool_ties_route); }

}  // namespace

TEST(GradCheck, SparseConvPoolLikePaperWithOddSizes) {
  // 23x21 -> conv 5x5 (stride 5, same) -> 2x2 pool 2: the last conv row and column are dropped.
  for (bool relu : {true, false}) {
    check_sparse_conv_pool({same_geom(1, 23, 21, 2, 10, 5), 2, 2, 2, 2, 2, relu, 0});
    check_sparse_conv_pool({same_geom(2, 32, 34, 3, 10, 5), 2, 2, 2, 2, 3, relu, 0});
  }
}

TEST(GradCheck, SparseConvPoolOverlappingStridedAndNonSquareWindows) {
  for (bool relu : {true, false}) {
    check_sparse_conv_pool({same_geom(2, 22, 24, 3, 10, 5), 3, 3, 2, 2, 2, relu, 0});  // overlapping
    check_sparse_conv_pool({same_geom(1, 9, 8, 3, 3, 1), 2, 3, 1, 2, 2, relu, 0});     // 2x3, strides 1x2
    check_sparse_conv_pool({same_geom(1, 9, 8, 2, 3, 1), 2, 2, 3, 3, 3, relu, 0});     // stride > window
  }
}

TEST(GradCheck, SparseConvPoolBandSeams) {
  for (int band : {1, 2, 3}) {
    check_sparse_conv_pool({same_geom(2, 9, 8, 3, 3, 1), 3, 3, 2, 2, 2, true, band});
    check_sparse_conv_pool({geom(2, 16, 15, 2, 3, 3, 2, 1, 1, 0, 2, 1), 2, 2, 2, 2, 3, true, band});
    check_sparse_conv_pool({same_geom(1, 9, 8, 3, 3, 1), 2, 2, 2, 2, 2, false, band});
  }
}

namespace {

// Sample n gets cells[n] distinct cells (0: an empty sample) in `rows` consecutive rows of one
// channel, as a real window's few packets (a few packet sizes), with small integer counts and
// seed-dependent rows: the cell route's inputs.
SparseCase few_cells(const ConvGeom& g, const std::vector<int>& cells, int rows, uint64_t seed) {
  Rng rng(seed, 23);
  SparseCase s;
  const size_t plane = size_t(g.in_h) * g.in_w, per = size_t(g.in_c) * plane;
  s.dense.assign(per * cells.size(), 0.0);
  for (size_t n = 0; n < cells.size(); ++n) {
    const size_t first = size_t(rng.next_u64() % uint64_t(g.in_c)) * plane +
                         size_t(rng.next_u64() % uint64_t(g.in_h - rows + 1)) * g.in_w;
    std::vector<uint32_t> at;
    while (int(at.size()) < cells[n]) {
      const uint32_t i = uint32_t(first + rng.next_u64() % (size_t(rows) * g.in_w));
      if (std::find(at.begin(), at.end(), i) == at.end()) at.push_back(i);
    }
    std::sort(at.begin(), at.end());
    for (uint32_t i : at) {
      const double v = double(1 + rng.next_u64() % 4);
      s.index.push_back(i);
      s.value.push_back(v);
      s.dense[n * per + i] = v;
    }
    s.offsets.push_back(int64_t(s.index.size()));
  }
  return s;
}

// `cells` per sample, integer weights: every sum exact, ties everywhere; then random weights.
void check_few_cells_route(PoolCase pc, const std::vector<int>& cells, int rows) {
  const ConvGeom& g = pc.g;
  pc.batch = int(cells.size());
  SparseCase x = few_cells(g, cells, rows, 100 + g.in_h);
  Vec w = random_vec(size_t(g.out_c) * g.k_size(), 101, -2.5, 2.5);
  for (auto& v : w) v = std::round(v);
  Vec b(g.out_c);
  for (int f = 0; f < g.out_c; ++f) b[f] = f % 3 == 0 ? -1.0 : f % 3 == 1 ? 2.0 : 0.0;
  expect_fused_equals_dense(pc, x, w, b);
  // Random weights too (no ties between reached positions).
  Vec wr = random_vec(size_t(g.out_c) * g.k_size(), 102), br = random_vec(g.out_c, 103, 0.3, 1.0);
  for (size_t i = 0; i < br.size(); i += 2) br[i] = -br[i];
  expect_fused_equals_dense(pc, x, wr, br);
}

}  // namespace

TEST(GradCheck, SparseConvPoolFewCellsAt32And1500) {
  // LeNet-5's head at 32x32 (6@5x5 valid, pool 2), cells in 2 rows or anywhere, samples of 0-10
  // cells twice over; the paper's at 1500x1500 (10@10x10 stride 5 same, pool 2; the dense
  // reference is slow there: 4 samples).
  std::vector<int> lenet_cells;
  for (int n = 0; n < 22; ++n) lenet_cells.push_back(n % 11);
  for (bool relu : {true, false}) {
    SCOPED_TRACE(relu ? "relu" : "no relu");
    for (int rows : {2, 32})
      on_every_route({geom(1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 0, 0), 2, 2, 2, 2, 0, relu, 0},
                     [&](const PoolCase& pc) { check_few_cells_route(pc, lenet_cells, rows); });
    on_every_route({same_geom(1, 1500, 1500, 10, 10, 5), 2, 2, 2, 2, 0, relu, 0}, [&](const PoolCase& pc) {
      check_few_cells_route(pc, {1, 0, 3, 10}, 3);
    });
  }
}

TEST(GradCheck, SparseConvPoolTiesPickTheDenseMaxPoolsWinner) {
  for (bool relu : {true, false})
    for (int band : {0, 1, 2}) {
      check_sparse_conv_pool_ties({same_geom(1, 60, 55, 4, 10, 5), 2, 2, 2, 2, 3, relu, band});
      check_sparse_conv_pool_ties({same_geom(2, 30, 31, 3, 3, 1), 3, 3, 2, 2, 3, relu, band});
      check_sparse_conv_pool_ties({same_geom(1, 30, 31, 5, 3, 2), 2, 3, 1, 2, 2, relu, band});
    }
}

// ---- The convolution over the fused head's background + sparse delta output ----------------
// The fused sparse conv + pool, then delta_conv2d_forward/backward over its listed positions,
// against the dense chain (conv -> act -> max pool -> conv) on the densified batch in double:
// the output, every parameter's gradient and the input gradient of the delta conv (exact at the
// listed positions, one sum per channel elsewhere) to 1e-12; and numeric gradients of all four
// parameters through both ops.

namespace {

struct DeltaCase {
  PoolCase head;
  cpu::DeltaRoute route = cpu::DeltaRoute::automatic;
  double cells;  // per sample, on average: few enough that many pooled windows stay background
  int filters, k, stride;
  bool same;  // Keras "same", else "valid"
  bool relu;  // fused into the delta conv
  ConvGeom conv() const {
    const PoolGeom p = head.pool();
    return same ? same_geom(head.g.out_c, p.out_h(), p.out_w(), filters, k, stride)
                : geom(head.g.out_c, p.out_h(), p.out_w(), filters, k, k, stride, stride, 0, 0, 0, 0);
  }
};

struct ChainRun {
  Vec y, dw1, db1, dw2, db2;
  Vec listed_dx, background_dx;  // the delta conv's input gradient
  BackgroundDelta<double> listed;
};

ChainRun delta_chain(const DeltaCase& dc, const SparseCase& x, const Vec& w1, const Vec& b1, const Vec& w2,
                     const Vec& b2, const Vec& dy) {
  const PoolCase& pc = dc.head;
  const PoolGeom p = pc.pool();
  const ConvGeom g2 = dc.conv();
  const int N = pc.batch;
  ChainRun r;
  // As the model runs it: the head's dense output left unwritten but for its listed positions (the
  // delta conv reads r.listed alone).
  Vec y1(size_t(N) * pc.g.out_c * p.out_h() * p.out_w(), 7.0);
  std::vector<uint16_t> winners(y1.size(), 12345);
  cpu::sparse_conv_pool_forward(pc.g, p, N, x.offsets.data(), x.index.data(), x.value.data(), w1.data(), b1.data(),
                                y1.data(), winners.data(), r.listed, pc.relu, pc.band, pc.route, false);
  r.y.assign(size_t(N) * g2.out_c * g2.out_h() * g2.out_w(), 7.0);  // garbage: must be overwritten
  cpu::delta_conv2d_forward(g2, N, r.listed, w2.data(), b2.data(), r.y.data(), dc.relu, dc.route);
  // Inference's pooled forward: exactly maxpool_forward of that output (2x2, an overlapping 3x3
  // stride 2, a 2x3 stride 1x2, a window the size of the output).
  const PoolGeom pools[] = {{g2.out_c, g2.out_h(), g2.out_w(), 2, 2, 2, 2},
                            {g2.out_c, g2.out_h(), g2.out_w(), 3, 3, 2, 2},
                            {g2.out_c, g2.out_h(), g2.out_w(), 2, 3, 1, 2},
                            {g2.out_c, g2.out_h(), g2.out_w(), g2.out_h(), g2.out_w(), 1, 1}};
  for (const PoolGeom& q : pools) {
    if (q.out_h() < 1 || q.out_w() < 1) continue;
    SCOPED_TRACE("pooled forward, pool " + std::to_string(q.kh) + "x" + std::to_string(q.kw));
    Vec pooled(size_t(N) * q.c * q.out_h() * q.out_w()), fused(pooled.size(), 7.0);
    cpu::maxpool_forward(q, N, r.y.data(), pooled.data());
    cpu::delta_conv2d_forward(g2, N, r.listed, w2.data(), b2.data(), fused.data(), dc.relu, dc.route, nullptr, &q);
    EXPECT_EQ(fused, pooled);
  }
  if (dy.empty()) return r;
  BackgroundDeltaGrad<double> dx;
  r.dw2.assign(w2.size(), 7.0), r.db2.assign(b2.size(), 7.0), r.dw1.assign(w1.size(), 7.0),
      r.db1.assign(b1.size(), 7.0);
  cpu::delta_conv2d_backward(g2, N, r.listed, w2.data(), dy.data(), &dx, r.dw2.data(), r.db2.data(),
                             dc.relu ? r.y.data() : nullptr, dc.route);
  cpu::sparse_conv_pool_backward(pc.g, p, N, x.offsets.data(), x.index.data(), x.value.data(), r.listed, dx,
                                 winners.data(), pc.relu, r.dw1.data(), r.db1.data(), pc.band, pc.route);
  r.listed_dx = dx.touched;
  r.background_dx = dx.background;
  return r;
}

// The same chain dense: the dense input gradient is read back in the delta conv's form.
ChainRun dense_chain(const DeltaCase& dc, const SparseCase& x, const Vec& w1, const Vec& b1, const Vec& w2,
                     const Vec& b2, const Vec& dy, const BackgroundDelta<double>& listed) {
  const PoolCase& pc = dc.head;
  const PoolGeom p = pc.pool();
  const ConvGeom &g1 = pc.g, g2 = dc.conv();
  const int N = pc.batch;
  ChainRun r;
  Vec z(size_t(N) * g1.out_c * g1.out_h() * g1.out_w()), y1(size_t(N) * g1.out_c * p.out_h() * p.out_w());
  cpu::conv2d_forward(g1, N, x.dense.data(), w1.data(), b1.data(), z.data(), 0, pc.relu);
  cpu::maxpool_forward(p, N, z.data(), y1.data());
  r.y.resize(size_t(N) * g2.out_c * g2.out_h() * g2.out_w());
  cpu::conv2d_forward(g2, N, y1.data(), w2.data(), b2.data(), r.y.data(), 0, dc.relu);
  Vec dy1(y1.size()), dz(z.size()), dx0(x.dense.size());
  r.dw2.resize(w2.size()), r.db2.resize(b2.size()), r.dw1.resize(w1.size()), r.db1.resize(b1.size());
  cpu::conv2d_backward(g2, N, y1.data(), w2.data(), dy.data(), dy1.data(), r.dw2.data(), r.db2.data(), 0,
                       dc.relu ? r.y.data() : nullptr);
  cpu::maxpool_backward(p, N, z.data(), dy1.data(), dz.data());
  cpu::conv2d_backward(g1, N, x.dense.data(), w1.data(), dz.data(), dx0.data(), r.dw1.data(), r.db1.data(), 0,
                       pc.relu ? z.data() : nullptr);
  // Read at the listed positions; the others summed directly (no total minus the listed ones).
  const size_t plane = size_t(p.out_h()) * p.out_w();
  r.background_dx.assign(g1.out_c, 0.0);
  for (int n = 0; n < N; ++n) {
    std::vector<bool> is_listed(plane, false);
    for (int64_t e = listed.offsets[n]; e < listed.offsets[n + 1]; ++e) is_listed[listed.index[e]] = true;
    for (int64_t e = listed.offsets[n]; e < listed.offsets[n + 1]; ++e)
      for (int c = 0; c < g1.out_c; ++c)
        r.listed_dx.push_back(dy1[(size_t(n) * g1.out_c + c) * plane + listed.index[e]]);
    for (int c = 0; c < g1.out_c; ++c)
      for (size_t q = 0; q < plane; ++q)
        if (!is_listed[q]) r.background_dx[c] += dy1[(size_t(n) * g1.out_c + c) * plane + q];
  }
  return r;
}

void expect_delta_chain_equals_dense(const DeltaCase& dc, const SparseCase& x, const Vec& w1, const Vec& b1,
                                     const Vec& w2, const Vec& b2) {
  const ConvGeom g2 = dc.conv();
  const Vec dy = random_vec(size_t(dc.head.batch) * g2.out_c * g2.out_h() * g2.out_w(), 91);
  const ChainRun f = delta_chain(dc, x, w1, b1, w2, b2, dy), d = dense_chain(dc, x, w1, b1, w2, b2, dy, f.listed);
  // Some of the pooled windows are listed, not all (the band route lists them all).
  const PoolGeom p = dc.head.pool();
  EXPECT_GT(f.listed.listed(), 0);
  if (dc.head.route == cpu::PoolRoute::cells) {
    EXPECT_LT(f.listed.listed(), int64_t(dc.head.batch - 1) * p.out_h() * p.out_w() * 3 / 4);
  }
  EXPECT_ALL_CLOSE(f.y, d.y, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.dw2, d.dw2, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.db2, d.db2, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.listed_dx, d.listed_dx, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.background_dx, d.background_dx, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.dw1, d.dw1, 1e-12, 1e-12);
  EXPECT_ALL_CLOSE(f.db1, d.db1, 1e-12, 1e-12);
}

// Ties everywhere (as check_sparse_conv_pool_ties_route: every sum exact), and random values.
void check_delta_conv_route(const DeltaCase& dc) {
  const PoolCase& pc = dc.head;
  const ConvGeom& g = pc.g;
  ASSERT_TRUE(dc.conv().valid());
  const double density = dc.cells / (double(g.in_c) * g.in_h * g.in_w);
  {
    SCOPED_TRACE("ties");
    SparseCase x = random_sparse(g, pc.batch, density, 80 + g.kh);
    for (auto& v : x.value) v = std::round(v);
    for (size_t n = 0, e = 0; n + 1 < x.offsets.size(); ++n)
      for (; e < size_t(x.offsets[n + 1]); ++e) x.dense[n * size_t(g.in_c) * g.in_h * g.in_w + x.index[e]] = x.value[e];
    Vec w1 = random_vec(size_t(g.out_c) * g.k_size(), 81, -2.5, 2.5),
        w2 = random_vec(size_t(dc.filters) * g.out_c * dc.k * dc.k, 82, -2.5, 2.5);
    for (auto& v : w1) v = std::round(v);
    for (auto& v : w2) v = std::round(v);
    Vec b1(g.out_c), b2(dc.filters);
    for (int f = 0; f < g.out_c; ++f) b1[f] = f % 3 == 0 ? -1.0 : f % 3 == 1 ? 2.0 : 0.0;
    for (int f = 0; f < dc.filters; ++f) b2[f] = f % 2 ? 1.0 : -3.0;
    expect_delta_chain_equals_dense(dc, x, w1, b1, w2, b2);
  }
  {
    SCOPED_TRACE("random");
    SparseCase x = random_sparse(g, pc.batch, density, 83 + g.kh);
    Vec w1 = random_vec(size_t(g.out_c) * g.k_size(), 84),
        w2 = random_vec(size_t(dc.filters) * g.out_c * dc.k * dc.k, 85);
    Vec b1 = random_vec(g.out_c, 86, 0.3, 1.0), b2 = random_vec(dc.filters, 87);
    for (size_t i = 0; i < b1.size(); i += 2) b1[i] = -b1[i];
    expect_delta_chain_equals_dense(dc, x, w1, b1, w2, b2);
  }
}
// On every route of the head and of the delta conv.
void check_delta_conv(const DeltaCase& dc) {
  on_every_route(dc.head, [&](const PoolCase& pc) {
    for (cpu::DeltaRoute route : {cpu::DeltaRoute::scatter, cpu::DeltaRoute::gemm, cpu::DeltaRoute::automatic}) {
      SCOPED_TRACE(route == cpu::DeltaRoute::scatter ? "scatter" : route == cpu::DeltaRoute::gemm ? "gemm" : "auto");
      DeltaCase c = dc;
      c.head = pc;
      c.route = route;
      check_delta_conv_route(c);
    }
  });
}

// PoolCase{conv, pool kh, kw, sh, sw, batch, relu, band}; 3 samples: sample 1 is empty.
PoolCase delta_head(int in_c, int size, int k, int s, bool relu) {
  return {same_geom(in_c, size, size + 3, 4, k, s), 2, 2, 2, 2, 3, relu, 0};
}

}  // namespace

TEST(GradCheck, DeltaConvAfterTheSparseHeadEqualsTheDenseChain) {
  for (bool relu : {true, false})
    for (int in_c : {1, 2}) {
      SCOPED_TRACE((relu ? "relu, " : "no relu, ") + std::to_string(in_c) + " input channels");
      // Like the paper: 10x10 stride 5 "same" on both; then 'valid' and stride 1.
      check_delta_conv({delta_head(in_c, 120, 10, 5, relu), cpu::DeltaRoute::automatic, 30, 3, 10, 5, true, relu});
      check_delta_conv({delta_head(in_c, 120, 10, 5, relu), cpu::DeltaRoute::automatic, 30, 3, 10, 5, false, !relu});
      check_delta_conv(
          {delta_head(in_c, 36, 5, 1, relu), cpu::DeltaRoute::automatic, 8, 3, 5, 1, false, relu});  // LeNet-like
      check_delta_conv({delta_head(in_c, 36, 5, 1, relu), cpu::DeltaRoute::automatic, 8, 2, 3, 1, true, !relu});
    }
  for (bool relu : {true, false})  // LeNet-5 at 32x32, ~3 cells per sample
    check_delta_conv({{geom(1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 0, 0), 2, 2, 2, 2, 3, relu, 0},
                      cpu::DeltaRoute::automatic,
                      3,
                      16,
                      5,
                      1,
                      false,
                      relu});
}

TEST(GradCheck, DeltaConvMixesRoutesWithinABatch) {
  // Dense samples 0 and 2 (every window listed) take the GEMM route, the empty sample 1 the scatter.
  for (bool relu : {true, false}) {
    const DeltaCase dc{delta_head(2, 40, 5, 1, relu), cpu::DeltaRoute::automatic, 400, 3, 3, 1, true, relu};
    SparseCase x = random_sparse(dc.head.g, dc.head.batch, 0.12, 88);
    Vec w1 = random_vec(size_t(dc.head.g.out_c) * dc.head.g.k_size(), 84), w2 = random_vec(size_t(3) * 4 * 9, 85);
    Vec b1 = random_vec(dc.head.g.out_c, 86, 0.3, 1.0), b2 = random_vec(3, 87);
    for (size_t i = 0; i < b1.size(); i += 2) b1[i] = -b1[i];
    const ChainRun f = delta_chain(dc, x, w1, b1, w2, b2, {});
    for (int advantage : {cpu::kDeltaGemmAdvantageForward, cpu::kDeltaGemmAdvantageBackward}) {
      const cpu::DeltaGemmSamples gs = cpu::delta_gemm_samples(dc.conv(), f.listed, dc.route, advantage);
      EXPECT_EQ(gs.samples, (std::vector<int>{0, 2}));
    }
    expect_delta_chain_equals_dense(dc, x, w1, b1, w2, b2);
  }
}

TEST(GradCheck, DeltaConvNumericGradientsThroughBothOps) {
  for (bool relu : {true, false}) {
    SCOPED_TRACE(relu ? "relu" : "no relu");
    for (cpu::DeltaRoute route : {cpu::DeltaRoute::scatter, cpu::DeltaRoute::gemm}) {
      const DeltaCase dc{{same_geom(2, 23, 21, 3, 10, 5), 2, 2, 2, 2, 3, relu, 0}, route, 8, 2, 3, 1, true, false};
      const PoolCase& pc = dc.head;
      SparseCase x = random_sparse(pc.g, pc.batch, 0.01, 95);
      Vec w1 = random_vec(size_t(pc.g.out_c) * pc.g.k_size(), 96),
          w2 = random_vec(size_t(dc.filters) * pc.g.out_c * 9, 97);
      Vec b1 = random_vec(pc.g.out_c, 98, 0.3, 1.0), b2 = random_vec(dc.filters, 99);
      for (size_t i = 0; i < b1.size(); i += 2) b1[i] = -b1[i];
      expect_no_winner_flips(pc, x, w1, b1);
      if (::testing::Test::HasFatalFailure()) return;
      GradCase c;
      c.inputs = {&w1, &b1, &w2, &b2};
      c.names = {"head dw", "head db", "delta conv dw", "delta conv db"};
      c.forward = [&] { return delta_chain(dc, x, w1, b1, w2, b2, {}).y; };
      c.backward = [&](const Vec& dy) {
        ChainRun r = delta_chain(dc, x, w1, b1, w2, b2, dy);
        return std::vector<Vec>{r.dw1, r.db1, r.dw2, r.db2};
      };
      check_gradients(c);
    }
  }
}
