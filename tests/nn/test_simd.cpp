// nn/simd.hpp: every vector level the processor supports gives the portable loop's bits, for
// filter counts around the vector widths (tails), channel counts 1-12 and repeated outputs; the
// level chosen at run time is the widest supported one unless FLOWPIC_SIMD says otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "nn/simd.hpp"

namespace flowpic::nn {
namespace {

TEST(Simd, EveryLevelGivesThePortableBits) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  int levels_run = 0;
  for (simd::Level l : {simd::Level::avx2, simd::Level::avx512}) {
    if (!simd::supported(l)) continue;
    ++levels_run;
    for (int m : {1, 3, 6, 7, 8, 9, 15, 16, 17, 20, 31, 32, 33, 40})
      for (int c : {1, 2, 6, 10, 12}) {
        const int outputs = 9, taps = 25, pairs = 12;
        std::vector<float> w(size_t(taps) * c * m), dl(c), acc(size_t(outputs) * m);
        for (float& v : w) v = normal(rng);
        for (float& v : dl) v = normal(rng);
        for (float& v : acc) v = normal(rng);
        std::vector<uint32_t> out(pairs), tap(pairs);
        for (int p = 0; p < pairs; ++p) {
          out[p] = uint32_t(rng() % outputs);  // repeats: accumulation in order matters
          tap[p] = uint32_t(rng() % taps);
        }
        std::vector<float> want = acc, got = acc;
        simd::scatter_taps(simd::Level::portable, want.data(), w.data(), dl.data(), c, m, out.data(), tap.data(),
                           pairs);
        simd::scatter_taps(l, got.data(), w.data(), dl.data(), c, m, out.data(), tap.data(), pairs);
        ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
            << simd::level_name(l) << " m " << m << " c " << c;
        EXPECT_NE(want, acc);  // the scatter did something
      }
  }
  if (levels_run == 0) GTEST_SKIP() << "this processor has neither AVX2 nor AVX-512F: only the portable loop runs";
}

TEST(Simd, TheChosenLevelIsTheWidestSupported) {
  if (const char* env = std::getenv("FLOWPIC_SIMD"); env && *env) GTEST_SKIP() << "FLOWPIC_SIMD=" << env << " is set";
  const simd::Level want = simd::supported(simd::Level::avx512) ? simd::Level::avx512
                           : simd::supported(simd::Level::avx2) ? simd::Level::avx2
                                                                : simd::Level::portable;
  EXPECT_EQ(simd::level(), want) << simd::level_name(simd::level());
}

}  // namespace
}  // namespace flowpic::nn
