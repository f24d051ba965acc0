#pragma once
// Shapes of convolution and pooling windows, shared by both backends and the double-precision
// reference kernels. Padding may be asymmetric (Keras "same" puts the odd pixel after).
#include <algorithm>
#include <cstdint>

#include "common/host_device.hpp"

namespace flowpic::nn {

// Keras "same": the output has ceil(in / stride) positions;
// pad_total = max((out - 1) * stride + k - in, 0), pad_before = floor(pad_total / 2).
struct SamePadding {
  int before = 0, after = 0;
};
inline SamePadding same_padding(int in, int k, int stride) {
  int out = (in + stride - 1) / stride;
  int total = std::max((out - 1) * stride + k - in, 0);
  return {total / 2, total - total / 2};
}

struct ConvGeom {
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0;
  int kh = 0, kw = 0;
  int sh = 1, sw = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int out_h() const { return (in_h + pad_top + pad_bottom - kh) / sh + 1; }
  int out_w() const { return (in_w + pad_left + pad_right - kw) / sw + 1; }
  int k_size() const { return in_c * kh * kw; }  // one filter's weights = rows of im2col
  bool valid() const {
    return in_c > 0 && out_c > 0 && kh > 0 && kw > 0 && sh > 0 && sw > 0 && pad_top >= 0 && pad_bottom >= 0 &&
           pad_left >= 0 && pad_right >= 0 && in_h + pad_top + pad_bottom >= kh && in_w + pad_left + pad_right >= kw;
  }
};

// The output positions along one axis whose window holds input coordinate i (0 <= i < in):
// [lo, hi], empty when lo > hi. Position o reads inputs [o * stride - pad, o * stride - pad + k).
// The scatter rule of the sparse-input convolution, shared by the CPU kernels and the CUDA ones.
FLOWPIC_HD inline void window_range(int i, int pad, int k, int stride, int out, int& lo, int& hi) {
  const int first = i + pad - k + 1, last = (i + pad) / stride;
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  hi = last < out - 1 ? last : out - 1;
}

// Max pooling, no padding, windows that do not fit are dropped (Keras "valid", PyTorch default).
struct PoolGeom {
  int c = 0, in_h = 0, in_w = 0;
  int kh = 2, kw = 2, sh = 2, sw = 2;
  int out_h() const { return in_h >= kh ? (in_h - kh) / sh + 1 : 0; }
  int out_w() const { return in_w >= kw ? (in_w - kw) / sw + 1 : 0; }
};

// The fused sparse conv + max pool (SparseConvPoolOp) keeps each pooled output's winner as its
// offset ky * kw + kx in the window, 16 bits, with this value for "no gradient" (a fused ReLU
// zeroed the winner); so a window must have fewer positions. Shared by both backends.
inline constexpr uint16_t kPoolMasked = 0xFFFF;
inline bool pool_window_fits_winners(const PoolGeom& p) { return int64_t(p.kh) * p.kw < int64_t(kPoolMasked); }

}  // namespace flowpic::nn
