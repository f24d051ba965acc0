// The paper network's first convolution (1x1500x1500 -> 10x300x300, 10x10 stride 5, Keras
// "same"), one image, one thread: the engine's banded im2col + SGEMM against a direct loop (input
// row de-interleaved by stride phase so the inner loop is contiguous and vectorises). Measured
// to decide which the CPU backend uses (results/bench/nn.md): process CPU time, best of 3.
//   OMP_NUM_THREADS=1 build/cpu/bench/bench_nn_first_conv
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "nn/cpu_kernels.hpp"

using namespace flowpic::nn;

namespace {

template <typename F>
double best_cpu_ms(F f) {
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    std::clock_t c0 = std::clock();
    f();
    best = std::min(best, double(std::clock() - c0) / CLOCKS_PER_SEC * 1e3);
  }
  return best;
}

void direct(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int OH = g.out_h(), OW = g.out_w(), S = g.sw;
  const int phase_len = OW + g.kw / S + 1;
  std::vector<float> ph(size_t(S) * phase_len);
  for (int oc = 0; oc < g.out_c; ++oc) std::fill(y + size_t(oc) * OH * OW, y + size_t(oc + 1) * OH * OW, b[oc]);
  for (int oy = 0; oy < OH; ++oy)
    for (int ky = 0; ky < g.kh; ++ky) {
      int iy = oy * g.sh + ky - g.pad_top;
      if (iy < 0 || iy >= g.in_h) continue;
      const float* row = x + size_t(iy) * g.in_w;
      // phase p, index j: input column j * S + p - pad_left (0 outside the image)
      for (int p = 0; p < S; ++p)
        for (int j = 0; j < phase_len; ++j) {
          int ix = j * S + p - g.pad_left;
          ph[size_t(p) * phase_len + j] = (ix >= 0 && ix < g.in_w) ? row[ix] : 0.f;
        }
      for (int kx = 0; kx < g.kw; ++kx) {
        const float* src = ph.data() + size_t(kx % S) * phase_len + kx / S;
        for (int oc = 0; oc < g.out_c; ++oc) {
          const float wv = w[(size_t(oc) * g.kh + ky) * g.kw + kx];
          float* __restrict dst = y + (size_t(oc) * OH + oy) * OW;
          for (int ox = 0; ox < OW; ++ox) dst[ox] += wv * src[ox];
        }
      }
    }
}

}  // namespace

int main() {
  SamePadding p = same_padding(1500, 10, 5);
  ConvGeom g;
  g.in_c = 1, g.in_h = g.in_w = 1500, g.out_c = 10, g.kh = g.kw = 10, g.sh = g.sw = 5;
  g.pad_top = g.pad_left = p.before, g.pad_bottom = g.pad_right = p.after;
  std::vector<float> x(size_t(1500) * 1500), w(1000), b(10, 0.1f), y1(10 * 90000), y2(10 * 90000);
  Rng r(1);
  for (auto& v : x) v = float(r.uniform(0, 1));
  for (auto& v : w) v = float(r.uniform(-1, 1));
  const double gflop = 2.0 * 10 * 90000 * 100 / 1e9;
  double t1 = best_cpu_ms([&] {
                for (int i = 0; i < 4; ++i) cpu::conv2d_forward(g, 1, x.data(), w.data(), b.data(), y1.data());
              }) /
              4;
  double t2 = best_cpu_ms([&] {
                for (int i = 0; i < 4; ++i) direct(g, x.data(), w.data(), b.data(), y2.data());
              }) /
              4;
  double maxd = 0;
  for (size_t i = 0; i < y1.size(); ++i) maxd = std::max(maxd, double(std::fabs(y1[i] - y2[i])));
  std::printf(
      "first conv forward, per image: im2col bands + sgemm %.2f ms (%.1f GFLOP/s); direct loop %.2f ms (%.1f GFLOP/s); "
      "max difference %.1e\n",
      t1, gflop / t1 * 1e3, t2, gflop / t2 * 1e3, maxd);
  return 0;
}
