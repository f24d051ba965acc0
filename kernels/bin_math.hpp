#pragma once
// The per-element math of the image builders, shared by the CPU builder and the CUDA kernels so
// the two cannot drift: the bin of a packet in a FlowPic and the grey level of a payload size.
// Everything here is exact integer arithmetic or a single IEEE-rounded double/float operation
// (no expression nvcc could contract into an FMA), so both backends produce identical bits.
// The rules are written down in docs/representations.md.
#include <math.h>

#include <cstdint>

#include "common/host_device.hpp"

namespace flowpic {

inline constexpr uint32_t kDefaultMaxPacketSize = 1500;

// Row of a packet of `size` bytes in an R-row FlowPic whose size axis spans [0, max_size]:
// the bins are [k*max/R, (k+1)*max/R), the last one closed, so
//   row = floor(size * R / max) for size < max, and R - 1 for size == max.
// (numpy.histogram2d with edges k*max/R; at R = max = 1500 that is row = size, 1500 -> 1499.)
// Returns -1 for size > max: such packets are dropped (and counted by the sample index).
// Precondition (asserted by the builders): max_size and resolution at most 65535, so size * R
// fits 32 bits (a 64-bit division is several times slower, and emulated on the GPU).
FLOWPIC_HD inline int flowpic_size_bin(uint32_t size, uint32_t max_size, int resolution) {
  if (size > max_size) return -1;
  const uint32_t r = size * static_cast<uint32_t>(resolution) / max_size;
  return r < static_cast<uint32_t>(resolution) ? static_cast<int>(r) : resolution - 1;
}

// How sizes over max_size and the size bins are treated (representation keys "oversize" and
// "size_bins", docs/representations.md).
enum class OversizeRule : uint8_t {
  kDrop = 0,   // removed before anything (default): no pixel, not counted by the sample index
  kClip = 1,   // counted as max_size (tcbench: np.clip(sizes, 0, 1500))
  kCount = 2,  // no pixel, but counted towards a block's packets and span (the authors' code)
};
enum class SizeBins : uint8_t {
  kExact = 0,   // floor(size * R / max) in integers (flowpic_size_bin; the authors' code at R = max)
  kScaled = 1,  // tcbench: x = (size / max) * R in double, then numpy's edge rule (flowpic_time_bin_of_x)
};

// The row of a packet of `size` bytes under both rules; -1 when it draws no pixel.
FLOWPIC_HD inline int flowpic_size_row(uint32_t size, uint32_t max_size, int resolution, OversizeRule oversize,
                                       SizeBins bins);

// Column of a packet arriving at `t` in a window whose time axis starts at t0 and spans
// `duration` seconds over R columns: x = (t - t0) / duration * R, computed in double in exactly
// this order (the authors' ((ts - ts[0]) / max_delta_time) * MTU), then
//   column = floor(x) for 0 <= x < R, R - 1 for x == R (last bin closed, numpy's rule),
//   -1 (dropped) for x < 0, x > R or NaN.
// duration <= 0 (a "span" window whose packets all arrive at one instant; numpy would divide by
// zero) puts every packet at column 0. The two halves (x, then its column) are separate so the
// CPU builder can compute x for many packets in a vectorised loop.
FLOWPIC_HD inline double flowpic_time_x(double t, double t0, double duration, int resolution) {
  const double x = (t - t0) / duration;
  return x * static_cast<double>(resolution);
}
FLOWPIC_HD inline int flowpic_time_bin_of_x(double x, int resolution) {
  if (!(x >= 0.0) || x > static_cast<double>(resolution)) return -1;
  const int c = static_cast<int>(x);  // truncation == floor for x >= 0
  return c < resolution ? c : resolution - 1;
}
FLOWPIC_HD inline int flowpic_size_row(uint32_t size, uint32_t max_size, int resolution, OversizeRule oversize,
                                       SizeBins bins) {
  if (size > max_size) {
    if (oversize != OversizeRule::kClip) return -1;
    size = max_size;
  }
  if (bins == SizeBins::kExact) return flowpic_size_bin(size, max_size, resolution);
  // Two IEEE-rounded operations in tcbench's order, (size / max) * R: at R = max = 1500 this
  // differs from the exact bin for 78 sizes (27, 49, 54, ...), which land one row lower.
  const double x = (static_cast<double>(size) / static_cast<double>(max_size)) * static_cast<double>(resolution);
  return flowpic_time_bin_of_x(x, resolution);
}
FLOWPIC_HD inline int flowpic_time_bin(double t, double t0, double duration, int resolution) {
  if (!(duration > 0.0)) return 0;
  return flowpic_time_bin_of_x(flowpic_time_x(t, t0, duration, resolution), resolution);
}

// Pixel transforms of FlowPic counts (integers). All are one correctly rounded float operation
// except log1p, which both backends compute in double and round to float.
enum class PixelTransform : uint8_t {
  kRaw = 0,      // the count itself (paper, authors' code)
  kClip255 = 1,  // min(count, 255) / 255 (mini-FlowPic, tcbench)
  kLog1p = 2,    // log(1 + count)
  kMax = 3,      // count / (largest count of the image), 0 for an empty image
};

FLOWPIC_HD inline float flowpic_pixel(uint32_t count, PixelTransform transform, uint32_t image_max) {
  switch (transform) {
    case PixelTransform::kRaw: return static_cast<float>(count);
    case PixelTransform::kClip255: return static_cast<float>(count < 255u ? count : 255u) / 255.0f;
    case PixelTransform::kLog1p: return static_cast<float>(::log1p(static_cast<double>(count)));
    case PixelTransform::kMax: return image_max == 0 ? 0.0f : static_cast<float>(count) / static_cast<float>(image_max);
  }
  return 0.0f;
}

// Payload-size image grey levels.
//   plain:  min(size, max) / max                       in [0, 1], padding 0
//   signed: (max + s) / (2 max), s = +min(size, max) from the initiator, -min(size, max) from the
//           responder; in [0, 1] around 0.5, padding 0.5 (the level of "no size")
// Integers first, then one float division: identical on both backends.
FLOWPIC_HD inline float payload_grey(uint32_t size, uint32_t max_size) {
  uint32_t s = size < max_size ? size : max_size;
  return static_cast<float>(s) / static_cast<float>(max_size);
}
FLOWPIC_HD inline float payload_grey_signed(uint32_t size, uint8_t direction, uint32_t max_size) {
  int64_t s = size < max_size ? size : max_size;
  int64_t v = static_cast<int64_t>(max_size) + (direction == 0 ? s : -s);
  return static_cast<float>(v) / static_cast<float>(2 * static_cast<int64_t>(max_size));
}

// A payload size that goes into a payload image: known and non-zero.
FLOWPIC_HD inline bool payload_counts(uint32_t payload_length) {
  return payload_length != 0 && payload_length != 0xFFFFFFFFu;
}

}  // namespace flowpic
