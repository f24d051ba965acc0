#pragma once
// Test helpers of the kernels and apps suites: packet stores built in memory, random flows, and the plain
// straightforward reference the builders are checked against.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "dataset/packet_store.hpp"
#include "kernels/image_spec.hpp"

namespace flowpic::testing {

struct Pkt {
  double t;
  uint32_t size;  // IP length
  uint8_t dir = 0;
  uint32_t payload = 0;
};

// Appends one flow (packets must be in time order) to a store built in memory.
inline void add_flow(PacketStore& s, const std::vector<Pkt>& pkts, FlowView view = FlowView::kSession,
                     int32_t label = 0) {
  for (const Pkt& p : pkts) {
    s.time.push_back(p.t);
    s.ip_length.push_back(p.size);
    s.payload_length.push_back(p.payload);
    s.direction.push_back(p.dir);
    s.tcp_flags.push_back(0);
  }
  s.offsets.push_back(s.time.size());
  s.keys.emplace_back();
  s.start_time.push_back(1.5e9);
  s.source.push_back(0);
  s.view.push_back(view);
  if (s.labels.empty()) {
    s.labels.push_back(LabelColumn{"category", {"VoIP", "Video", "Chat"}, {}});
  }
  s.labels[0].ids.push_back(label);
}

// A random session: exponential gaps (mean `gap`), sizes mostly 40..1500 with a few oversize
// ones and some sizes and times exactly on bin edges, both directions.
inline std::vector<Pkt> random_flow(std::mt19937_64& rng, size_t n, double gap) {
  std::exponential_distribution<double> dt(1.0 / gap);
  std::uniform_int_distribution<uint32_t> size(40, 1500), coin(0, 99);
  std::vector<Pkt> v;
  double t = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) {
      uint32_t c = coin(rng);
      if (c < 5)
        t = std::ceil(t);  // on a whole second (a bin edge at R = 60 * k)
      else if (c >= 10)
        t += dt(rng);  // else: same instant as the previous packet
    }
    Pkt p;
    p.t = t;
    uint32_t c = coin(rng);
    p.size = c < 3 ? 1500 + coin(rng) : (c < 6 ? 1500 : size(rng));
    p.dir = coin(rng) < 40 ? 1 : 0;
    p.payload = coin(rng) < 30 ? 0 : p.size - 40;
    v.push_back(p);
  }
  return v;
}

// numpy.histogram2d's rule written out independently: a value v goes to the last edge index k
// with edge[k] <= v, except that v == edge[R] goes to R - 1; values outside [edge[0], edge[R]]
// are dropped. Size edges are k * max / R (compared exactly as size * R >= k * max), time edges
// are the integers 0..R on the axis x = (t - t0) / duration * R.
inline int ref_size_row(uint32_t size, uint32_t max, int R) {
  if (size > max) return -1;
  int row = -1;
  for (int k = 0; k < R; ++k)
    if (static_cast<uint64_t>(size) * R >= static_cast<uint64_t>(k) * max) row = k;
  return row;
}
inline int ref_time_col(double t, double t0, double duration, int R) {
  if (duration <= 0) return 0;
  double x = ((t - t0) / duration) * R;
  if (!(x >= 0) || x > R) return -1;
  int col = -1;
  for (int k = 0; k < R; ++k)
    if (x >= k) col = k;
  return col;
}

// Reference FlowPic: counts, then the transform, pixel by pixel.
inline std::vector<float> reference_flowpic(const PacketStore& s, const FlowPicSpec& spec, const ImageWindow& w) {
  const int R = spec.resolution;
  std::vector<uint32_t> counts(spec.image_floats(), 0);
  for (uint64_t p = w.begin; p < w.end; ++p) {
    int d = s.direction[p];
    if (!(w.directions & (1 << d))) continue;
    int row = ref_size_row(s.ip_length[p], spec.max_size, R);
    int col = ref_time_col(s.time[p], w.t0, w.duration, R);
    if (row < 0 || col < 0) continue;
    int ch = spec.per_direction ? d : 0;
    counts[(static_cast<size_t>(ch) * R + row) * R + col]++;
  }
  uint32_t mx = *std::max_element(counts.begin(), counts.end());
  std::vector<float> out(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    uint32_t c = counts[i];
    switch (spec.transform) {
      case PixelTransform::kRaw: out[i] = float(c); break;
      case PixelTransform::kClip255: out[i] = float(std::min(c, 255u)) / 255.0f; break;
      case PixelTransform::kLog1p: out[i] = float(std::log1p(double(c))); break;
      case PixelTransform::kMax: out[i] = mx ? float(c) / float(mx) : 0.0f; break;
    }
  }
  return out;
}

// Reference payload image.
inline std::vector<float> reference_payload(const PacketStore& s, const PayloadSpec& spec, const ImageWindow& w) {
  const int n = spec.length();
  std::vector<float> out(spec.image_floats(), spec.padding());
  int pos = 0;
  for (uint64_t p = w.begin; p < w.end && pos < n; ++p) {
    uint32_t size = s.payload_length[p];
    int d = s.direction[p];
    if (size == 0 || size == kUnknownPayload || !(w.directions & (1 << d))) continue;
    double g = std::min<double>(size, spec.max_size) / spec.max_size;
    switch (spec.variant) {
      case PayloadVariant::kGrey: out[pos] = float(g); break;
      case PayloadVariant::kSigned: out[pos] = float(0.5 + (d == 0 ? 0.5 : -0.5) * g); break;
      case PayloadVariant::kTwoChannel:
        out[d * n + pos] = float(g);
        out[(1 - d) * n + pos] = 0.0f;
        break;
    }
    ++pos;
  }
  return out;
}

// A batch buffer with sentinel guard bands before and after (and between images when asked).
struct GuardedBatch {
  static constexpr size_t kGuard = 256;
  static constexpr uint32_t kSentinelBits = 0x7FC0DEADu;  // a NaN no builder writes
  std::vector<float> buf;
  size_t images, image_floats;
  GuardedBatch(size_t n, size_t floats) : images(n), image_floats(floats) {
    buf.resize(2 * kGuard + n * floats);
    float s;
    std::memcpy(&s, &kSentinelBits, 4);
    std::fill(buf.begin(), buf.end(), s);
  }
  float* data() { return buf.data() + kGuard; }
  std::vector<float> image(size_t i) const {
    auto a = buf.begin() + kGuard + i * image_floats;
    return std::vector<float>(a, a + image_floats);
  }
  static bool is_sentinel(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b == kSentinelBits;
  }
  // True when every guard float is untouched and no image float still holds the sentinel.
  ::testing::AssertionResult intact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (!is_sentinel(buf[i])) return ::testing::AssertionFailure() << "guard before the batch overwritten at " << i;
      if (!is_sentinel(buf[buf.size() - 1 - i]))
        return ::testing::AssertionFailure() << "guard after the batch overwritten at " << i;
    }
    for (size_t i = kGuard; i < buf.size() - kGuard; ++i)
      if (is_sentinel(buf[i])) return ::testing::AssertionFailure() << "image float " << i - kGuard << " never written";
    return ::testing::AssertionSuccess();
  }
};

}  // namespace flowpic::testing
