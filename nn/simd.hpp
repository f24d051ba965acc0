#pragma once
// Hand-vectorised CPU loops, chosen once at run time by what the processor supports (AVX-512F,
// AVX2, or the portable loop that the baseline x86-64 build vectorises for SSE2), so that one
// portable binary still uses the wide registers where they exist. Each level computes the same
// bits as the portable loop: the same operations in the same order, a multiply then an add,
// never fused (nn/simd.cpp is compiled with -ffp-contract=off).
#include <cstddef>
#include <cstdint>

namespace flowpic::nn::simd {

enum class Level { portable, avx2, avx512 };

// The widest level this processor supports (checked once), or FLOWPIC_SIMD=portable|avx2|avx512
// when set to a level it supports (for tests and profiling); an unknown or unsupported value
// gets one warning line on stderr and the widest level.
Level level();
const char* level_name(Level l);
// Whether this processor can run level l.
bool supported(Level l);

// The delta convolution's scatter (nn/cpu_kernels.hpp delta_conv2d_forward): for each of the
// `pairs` (output o, tap k) and each filter f < m,
//   acc[o * m + f] = (...((acc[o * m + f] + dl[0] * w[(k * c + 0) * m + f]) + dl[1] * w[(k * c + 1) * m + f]) ...)
// over the c input channels in order: w is laid out [tap][channel][filter].
void scatter_taps(float* acc, const float* w, const float* dl, int c, int m, const uint32_t* out, const uint32_t* tap,
                  int pairs);
// The same at a given level (tests); l must be supported.
void scatter_taps(Level l, float* acc, const float* w, const float* dl, int c, int m, const uint32_t* out,
                  const uint32_t* tap, int pairs);

}  // namespace flowpic::nn::simd
