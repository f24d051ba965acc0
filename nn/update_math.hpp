#pragma once
// The per-element math of the optimizers and the per-row math of the softmax cross-entropy,
// shared by the CPU backend (cpu_backend.cpp, cpu_kernels.hpp) and the CUDA kernels
// (cuda/optimizers.cu, cuda/softmax_xent.cu), as kernels/bin_math.hpp is for the image builders:
// one formula, one order of operations. The CPU runs it in plain fp32 (no FMA contraction,
// std:: libm), so its results are the same bits as before; nvcc may contract multiply-adds
// into FMAs and uses its own expf/logf, so the two backends agree to rounding, not bit for bit.
#include <math.h>

#include <cmath>
#include <cstdint>

#include "common/host_device.hpp"

namespace flowpic::nn {

// Keras's Adam step size: alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t), in double, t >= 1.
inline float adam_alpha(float lr, float beta1, float beta2, int64_t step) {
  return float(lr * std::sqrt(1.0 - std::pow(double(beta2), double(step))) /
               (1.0 - std::pow(double(beta1), double(step))));
}

// One parameter of Adam with coupled (L2) weight decay:
//   g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  p -= alpha m / (sqrt(v) + eps).
FLOWPIC_HD inline void adam_update(float& p, float g, float& m, float& v, float alpha, float beta1, float beta2,
                                   float eps, float weight_decay) {
  const float gi = g + weight_decay * p;
  const float mi = beta1 * m + (1 - beta1) * gi;
  const float vi = beta2 * v + (1 - beta2) * gi * gi;
  m = mi;
  v = vi;
  p -= alpha * mi / (sqrtf(vi) + eps);
}

// One parameter of PyTorch's SGD: g' = g + wd p;  v = mu v + g';  p -= lr (nesterov ? g' + mu v : v).
FLOWPIC_HD inline void sgd_update(float& p, float g, float& velocity, float lr, float momentum, float weight_decay,
                                  bool nesterov) {
  const float gi = g + weight_decay * p;
  const float vi = momentum * velocity + gi;
  velocity = vi;
  p -= lr * (nesterov ? gi + momentum * vi : vi);
}

// exp and log in the precision of their argument, on the host (libm) and the device.
namespace hd_math {
FLOWPIC_HD inline float exp(float x) { return ::expf(x); }
FLOWPIC_HD inline double exp(double x) { return ::exp(x); }
FLOWPIC_HD inline float log(float x) { return ::logf(x); }
FLOWPIC_HD inline double log(double x) { return ::log(x); }
}  // namespace hd_math

// One row of the fused, stable softmax cross-entropy (log-sum-exp around the row maximum) over
// `classes` logits z: writes p = softmax(z). With a label (0 <= label < classes) returns the
// row's loss log(sum exp z) - z[label] and, when d is non-null, writes the gradient of the
// batch-mean loss d = (p - onehot(label)) / batch. Without one (label < 0) returns 0.
// In float (training) and double (the gradient checks).
template <typename T>
FLOWPIC_HD inline T softmax_xent_row(int classes, const T* z, int label, int batch, T* p, T* d) {
  T m = z[0];
  for (int k = 1; k < classes; ++k) m = m < z[k] ? z[k] : m;
  T s = 0;
  for (int k = 0; k < classes; ++k) s += hd_math::exp(z[k] - m);
  const T log_s = hd_math::log(s);
  for (int k = 0; k < classes; ++k) p[k] = hd_math::exp(z[k] - m - log_s);
  if (label < 0) return T(0);
  if (d)
    for (int k = 0; k < classes; ++k) d[k] = (p[k] - (k == label ? T(1) : T(0))) / T(batch);
  return log_s + m - z[label];
}

}  // namespace flowpic::nn
