#include "nn/simd.hpp"

#include <immintrin.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace flowpic::nn::simd {

namespace {

void scatter_portable(float* acc, const float* w, const float* dl, int c, int m, const uint32_t* out,
                      const uint32_t* tap, int pairs) {
  for (int p = 0; p < pairs; ++p) {
    float* __restrict a = acc + size_t(out[p]) * m;
    const float* __restrict wk = w + size_t(tap[p]) * c * m;
    for (int ch = 0; ch < c; ++ch) {
      const float v = dl[ch];
#pragma omp simd
      for (int f = 0; f < m; ++f) a[f] += v * wk[size_t(ch) * m + f];
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define FLOWPIC_SIMD_X86 1

__attribute__((target("avx2"))) void scatter_avx2(float* acc, const float* w, const float* dl, int c, int m,
                                                  const uint32_t* out, const uint32_t* tap, int pairs) {
  for (int p = 0; p < pairs; ++p) {
    float* a = acc + size_t(out[p]) * m;
    const float* wk = w + size_t(tap[p]) * c * m;
    int f = 0;
    for (; f + 8 <= m; f += 8) {
      __m256 s = _mm256_loadu_ps(a + f);
      for (int ch = 0; ch < c; ++ch)
        s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(dl[ch]), _mm256_loadu_ps(wk + size_t(ch) * m + f)));
      _mm256_storeu_ps(a + f, s);
    }
    for (; f < m; ++f) {
      float s = a[f];
      for (int ch = 0; ch < c; ++ch) s = s + dl[ch] * wk[size_t(ch) * m + f];
      a[f] = s;
    }
  }
}

__attribute__((target("avx512f"))) void scatter_avx512(float* acc, const float* w, const float* dl, int c, int m,
                                                       const uint32_t* out, const uint32_t* tap, int pairs) {
  const int full = m / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (m - full)) - 1u);
  for (int p = 0; p < pairs; ++p) {
    float* a = acc + size_t(out[p]) * m;
    const float* wk = w + size_t(tap[p]) * c * m;
    for (int f = 0; f < full; f += 16) {
      __m512 s = _mm512_loadu_ps(a + f);
      for (int ch = 0; ch < c; ++ch)
        s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_set1_ps(dl[ch]), _mm512_loadu_ps(wk + size_t(ch) * m + f)));
      _mm512_storeu_ps(a + f, s);
    }
    if (tail) {
      __m512 s = _mm512_maskz_loadu_ps(tail, a + full);
      for (int ch = 0; ch < c; ++ch)
        s = _mm512_add_ps(
            s, _mm512_mul_ps(_mm512_set1_ps(dl[ch]), _mm512_maskz_loadu_ps(tail, wk + size_t(ch) * m + full)));
      _mm512_mask_storeu_ps(a + full, tail, s);
    }
  }
}
#endif

Level detect() {
  Level best = Level::portable;
#ifdef FLOWPIC_SIMD_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) best = Level::avx2;
  if (__builtin_cpu_supports("avx512f")) best = Level::avx512;
#endif
  const char* env = std::getenv("FLOWPIC_SIMD");
  if (!env || !*env) return best;
  const std::string v = env;
  // A bad value is one warning line and the best level: an exception here would come from
  // inside a worker thread's first convolution.
  const Level want = v == "portable" ? Level::portable : v == "avx2" ? Level::avx2 : Level::avx512;
  if (v != "portable" && v != "avx2" && v != "avx512") {
    std::fprintf(stderr, "flowpic: FLOWPIC_SIMD=%s: unknown level (allowed: portable, avx2, avx512); using %s\n",
                 v.c_str(), level_name(best));
    return best;
  }
  if (!supported(want)) {
    std::fprintf(stderr, "flowpic: FLOWPIC_SIMD=%s: this processor does not support it; using %s\n", v.c_str(),
                 level_name(best));
    return best;
  }
  return want;
}

}  // namespace

bool supported(Level l) {
  if (l == Level::portable) return true;
#ifdef FLOWPIC_SIMD_X86
  __builtin_cpu_init();
  return l == Level::avx2 ? __builtin_cpu_supports("avx2") != 0 : __builtin_cpu_supports("avx512f") != 0;
#else
  return false;
#endif
}

Level level() {
  static const Level l = detect();
  return l;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::avx2: return "avx2";
    case Level::avx512: return "avx512";
    default: return "portable";
  }
}

void scatter_taps(Level l, float* acc, const float* w, const float* dl, int c, int m, const uint32_t* out,
                  const uint32_t* tap, int pairs) {
  switch (l) {
#ifdef FLOWPIC_SIMD_X86
    case Level::avx512: return scatter_avx512(acc, w, dl, c, m, out, tap, pairs);
    case Level::avx2: return scatter_avx2(acc, w, dl, c, m, out, tap, pairs);
#endif
    default: return scatter_portable(acc, w, dl, c, m, out, tap, pairs);
  }
}

void scatter_taps(float* acc, const float* w, const float* dl, int c, int m, const uint32_t* out, const uint32_t* tap,
                  int pairs) {
  scatter_taps(level(), acc, w, dl, c, m, out, tap, pairs);
}

}  // namespace flowpic::nn::simd
