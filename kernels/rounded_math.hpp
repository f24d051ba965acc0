#pragma once
// Explicitly rounded arithmetic for the rules the CPU builders and the CUDA kernels share
// (kernels/image_spec.hpp's time warp, kernels/image_augment_math.hpp): one IEEE
// round-to-nearest-even operation each, never fused. In device code they are the _rn intrinsics,
// so nvcc cannot contract a multiply and an add into an FMA (it does by default); the host build
// has no -march and so no FMA instructions.
#include <math.h>

#include <cmath>

#include "common/host_device.hpp"

namespace flowpic {

FLOWPIC_HD inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
FLOWPIC_HD inline double add_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
FLOWPIC_HD inline double sub_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
FLOWPIC_HD inline double div_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}
FLOWPIC_HD inline float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
FLOWPIC_HD inline float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// The nearest integer, ties to even (host: std::nearbyint in the default rounding mode; device:
// rint, which always rounds half to even). Kept in double so a NaN or huge value cannot overflow
// a conversion before the bounds check.
FLOWPIC_HD inline double round_half_even(double v) {
#ifdef __CUDA_ARCH__
  return rint(v);
#else
  return std::nearbyint(v);
#endif
}

}  // namespace flowpic
