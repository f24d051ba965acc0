// Guard bands: every output a backend op writes is a view into a larger buffer filled with a
// sentinel; after the op the sentinel before and after the view must be untouched (an op that
// writes past its tensor fails here, not as a corrupted neighbour later). Both backends; the GPU
// case skips without a device.
#include <gtest/gtest.h>

#include <cstring>

#include "nn/backend.hpp"
#include "nn/random.hpp"
#include "nn_fixtures.hpp"
#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#endif

using namespace flowpic;
using namespace flowpic::nn;

namespace {

constexpr size_t kGuard = 1024;
constexpr float kSentinel = -12345.0f;

// A buffer of guard + count + guard floats on `device`, sentinel-filled, with a view of the middle.
class Guarded {
 public:
  Guarded(Shape shape, DeviceKind device)
      : shape_(shape), device_(device), host_(shape.count() + 2 * kGuard, kSentinel) {
    if (device == DeviceKind::cpu) {
      data_ = host_.data();
    } else {
#ifdef FLOWPIC_HAVE_CUDA
      dev_.upload(host_.data(), host_.size());
      data_ = dev_.data();
#endif
    }
    view_ = Tensor::view(data_ + kGuard, shape, device);
  }
  Tensor& view() { return view_; }
  // Sentinels intact on both sides?
  ::testing::AssertionResult intact() {
    std::vector<float> all(host_.size());
    if (device_ == DeviceKind::cpu) {
      std::memcpy(all.data(), data_, all.size() * sizeof(float));
    } else {
#ifdef FLOWPIC_HAVE_CUDA
      dev_.download(all.data(), all.size());
      CUDA_CHECK(cudaDeviceSynchronize());
#endif
    }
    for (size_t i = 0; i < kGuard; ++i) {
      if (all[i] != kSentinel)
        return ::testing::AssertionFailure() << "guard before the tensor overwritten at -" << kGuard - i;
      if (all[kGuard + shape_.count() + i] != kSentinel)
        return ::testing::AssertionFailure() << "guard after the tensor overwritten at +" << i;
    }
    return ::testing::AssertionSuccess();
  }

 private:
  Shape shape_;
  DeviceKind device_;
  std::vector<float> host_;
  float* data_ = nullptr;
#ifdef FLOWPIC_HAVE_CUDA
  DeviceBuffer<float> dev_;
#endif
  Tensor view_;
};

Tensor random_tensor(Shape s, DeviceKind d, uint64_t seed) {
  Rng rng(seed, 1);
  std::vector<float> v(s.count());
  for (auto& x : v) x = float(rng.uniform(-1, 1));
  return Tensor::from_host(v, s, d);
}

}  // namespace

class GuardBands : public ::testing::TestWithParam<std::string> {};

TEST_P(GuardBands, OpsWriteOnlyTheirOutputs) {
  NN_BACKEND_OR_SKIP(backend, GetParam());
  const DeviceKind d = backend->device();
  // A convolution with asymmetric "same" padding (the cuda backend's padded path) and a fused ReLU.
  ConvGeom g;
  g.in_c = 2, g.in_h = 9, g.in_w = 8, g.out_c = 3, g.kh = g.kw = 4, g.sh = g.sw = 2;
  g.pad_top = same_padding(9, 4, 2).before, g.pad_bottom = same_padding(9, 4, 2).after;
  g.pad_left = same_padding(8, 4, 2).before, g.pad_right = same_padding(8, 4, 2).after;
  const int n = 3;
  Tensor x = random_tensor({n, 2, 9, 8}, d, 1), w = random_tensor({3, 2, 4, 4}, d, 2),
         b = random_tensor({1, 3, 1, 1}, d, 3);
  auto conv = backend->make_conv(g);
  Shape ys{n, 3, g.out_h(), g.out_w()};
  Guarded y(ys, d), dx(x.shape(), d), dw(w.shape(), d), db(b.shape(), d);
  conv->forward(x, w, b, y.view(), Activation::relu);
  EXPECT_TRUE(y.intact());
  Tensor dy = random_tensor(ys, d, 4);
  conv->backward(x, w, y.view(), dy, &dx.view(), dw.view(), &db.view(), Activation::relu);
  EXPECT_TRUE(dx.intact());
  EXPECT_TRUE(dw.intact());
  EXPECT_TRUE(db.intact());

  PoolGeom pg{3, 7, 9, 2, 2, 2, 2};  // windows that drop the last row and column
  Tensor px = random_tensor({n, 3, 7, 9}, d, 5);
  auto pool = backend->make_pool(pg);
  Guarded py({n, 3, pg.out_h(), pg.out_w()}, d), pdx(px.shape(), d);
  pool->forward(px, py.view());
  EXPECT_TRUE(py.intact());
  Tensor pdy = random_tensor(py.view().shape(), d, 6);
  pool->backward(px, py.view(), pdy, pdx.view());
  EXPECT_TRUE(pdx.intact());

  Tensor lx = random_tensor({n, 5, 2, 2}, d, 7), lw = random_tensor({4, 20, 1, 1}, d, 8),
         lb = random_tensor({1, 4, 1, 1}, d, 9);
  Guarded ly({n, 4, 1, 1}, d), ldx(lx.shape(), d), ldw(lw.shape(), d), ldb(lb.shape(), d);
  backend->linear_forward(lx, lw, lb, ly.view());
  EXPECT_TRUE(ly.intact());
  Tensor ldy = random_tensor({n, 4, 1, 1}, d, 10);
  backend->linear_backward(lx, lw, ldy, &ldx.view(), ldw.view(), &ldb.view());
  EXPECT_TRUE(ldx.intact());
  EXPECT_TRUE(ldw.intact());
  EXPECT_TRUE(ldb.intact());

  Guarded ry(px.shape(), d), rdx(px.shape(), d), dr(px.shape(), d);
  backend->relu_forward(px, ry.view());
  backend->relu_backward(ry.view(), px, rdx.view());
  backend->dropout(px, 0.5f, 1, 2, dr.view(), 0);
  EXPECT_TRUE(ry.intact());
  EXPECT_TRUE(rdx.intact());
  EXPECT_TRUE(dr.intact());

  Guarded probs({n, 4, 1, 1}, d), dlogits({n, 4, 1, 1}, d);
  backend->softmax_xent(ldy, {0, 3, 1}, probs.view(), dlogits.view());
  EXPECT_TRUE(probs.intact());
  EXPECT_TRUE(dlogits.intact());
}

INSTANTIATE_TEST_SUITE_P(Backends, GuardBands, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });
