// Augmentations (kernels/augment.hpp): the config's strictness, the draws (seeded per sample and
// key, with the right distributions) and the packet augmentations' images, which must equal the
// images of tcbench's rule applied to the packet arrays themselves (a restatement here), on both
// CPU paths and, with a device, on the GPU bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "common/error.hpp"
#include "kernels/augment.hpp"
#include "kernels/image_builder.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "support/error_of.hpp"
#include "support/gpu.hpp"
#include "support/image_reference.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

AugmentConfig parse(const std::string& text) { return AugmentConfig::from_json(json::parse(text), {"c.json", "aug"}); }
std::string parse_error(const std::string& text) {
  return ft::error_of([&] { parse(text); });
}

RepresentationConfig rep(const std::string& text) { return RepresentationConfig::parse(text, "repr.json"); }

// tcbench's FlowPic at `resolution`: both directions, the first 15 s (open end), sizes clipped,
// counts clipped at 255.
RepresentationConfig tcbench(int resolution) {
  return rep(R"({"type": "flowpic", "resolution": )" + std::to_string(resolution) +
             R"(, "transform": "clip255", "flow_view": "bidirectional", "blocks": "first", "block_s": 15,
                "block_end": "open", "oversize": "clip", "size_bins": "scaled", "packets_more_than": 0})");
}

// A session of `n` packets over about n * gap seconds, starting at 0.
PacketStore random_session(uint64_t seed, size_t n, double gap) {
  std::mt19937_64 rng(seed);
  PacketStore s;
  ft::add_flow(s, ft::random_flow(rng, n, gap));
  return s;
}

std::vector<float> build(const PacketStore& s, const FlowPicSpec& spec, const ImageWindow& w) {
  std::vector<float> img(spec.image_floats());
  build_flowpic_cpu(host_columns(s), spec, &w, 1, img.data(), 1);
  return img;
}

// tcbench's rule on the arrays: the imaged flow's packets (direction in `mask`), their times since
// its first one, transformed; then the FlowPic of [start, start + block) (open or closed end).
std::vector<float> reference(const PacketStore& s, const RepresentationConfig& r, const Sample& sample,
                             const AugmentConfig& a, double value) {
  PacketStore t;
  std::vector<ft::Pkt> kept;
  const double start = sample.index * r.flowpic.stride_s, end = start + r.flowpic.block_s;
  for (uint64_t p = s.flow_begin(sample.flow); p < s.flow_end(sample.flow); ++p) {
    if (!(sample.window.directions & (1u << s.direction[p]))) continue;
    double tau = s.time[p] - sample.origin;
    if (a.type == AugmentType::kChangeRtt) tau = tau * value;
    if (a.type == AugmentType::kTimeShift) tau = tau + value;
    if (a.type == AugmentType::kPacketLoss && tau >= value - a.loss_window_s && tau <= value + a.loss_window_s)
      continue;
    if (tau < 0) continue;  // time shift: before the flow's start
    if (tau < start || (r.flowpic.closed_end ? tau > end : tau >= end)) continue;
    kept.push_back({tau, s.ip_length[p], s.direction[p], 0});
  }
  ft::add_flow(t, kept);
  ImageWindow w;
  w.begin = 0;
  w.end = t.num_packets();
  w.t0 = start;
  w.duration = r.flowpic.block_s;
  w.directions = kDirBoth;
  return build(t, std::get<FlowPicSpec>(r.image_spec()), w);
}

double sum(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s;
}

}  // namespace

TEST(AugmentConfig, DefaultsAreTcbenchsAndParsingIsStrict) {
  AugmentConfig none = parse("{}");
  EXPECT_FALSE(none.active());
  EXPECT_EQ(none.to_json(), json({{"type", "none"}}));
  AugmentConfig c = parse(R"({"type": "change_rtt"})");
  EXPECT_TRUE(c.on_packets());
  EXPECT_EQ(c.mode, AugmentMode::kLoading);
  EXPECT_EQ(c.copies, 10);
  EXPECT_EQ(c.alpha_min, 0.5);
  EXPECT_EQ(c.alpha_max, 1.5);
  EXPECT_EQ(parse(c.to_json().dump()).to_json(), c.to_json());
  AugmentConfig j = parse(R"({"type": "colour_jitter", "mode": "epoch", "hue": 0.1})");
  EXPECT_TRUE(j.on_images());
  EXPECT_EQ(j.brightness, 0.8);
  EXPECT_EQ(j.hue, 0.1);
  EXPECT_FALSE(j.to_json().contains("copies"));

  EXPECT_NE(
      parse_error(R"({"type": "mixup"})").find("c.json: aug.type: unknown augmentation \"mixup\"; allowed: none,"),
      std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "rotate", "alpha_min": 0.7})")
                .find("aug.alpha_min: a parameter of \"change_rtt\", not of \"rotate\""),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "rotate", "degrees": 5})").find("degrees"), std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "rotate", "mode": "epoch", "copies": 3})")
                .find("aug.copies: only with \"mode\": \"loading\""),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "horizontal_flip", "probability": 2})").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "change_rtt", "alpha_min": 1.2, "alpha_max": 1.1})").find("below alpha_min"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "time_shift", "mode": "sometimes"})").find("unknown mode"), std::string::npos);
  EXPECT_NE(parse_error(R"({"type": "rotate", "copies": 0})").find("out of range"), std::string::npos);
}

TEST(AugmentConfig, RefusesRepresentationsItCannotAugment) {
  const RepresentationConfig payload = rep(R"({"type": "payload_image"})");
  const RepresentationConfig span = rep(R"({"type": "flowpic", "time_axis": "span"})");
  const RepresentationConfig raw = rep(R"({"type": "flowpic", "resolution": 32})");
  auto check = [](const std::string& aug, const RepresentationConfig& r) {
    return ft::error_of([&] { parse(aug).check(r, {"c.json", "training.augment"}); });
  };
  EXPECT_NE(check(R"({"type": "change_rtt"})", payload).find("needs a flowpic representation"), std::string::npos);
  EXPECT_NE(check(R"({"type": "packet_loss"})", span).find("time_axis"), std::string::npos);
  EXPECT_NE(check(R"({"type": "colour_jitter"})", raw).find("clip255"), std::string::npos);
  EXPECT_EQ(check(R"({"type": "colour_jitter"})", tcbench(32)), "(no error)");
  EXPECT_EQ(check(R"({"type": "rotate"})", payload), "(no error)");  // image augmentations take any image
  EXPECT_EQ(check(R"({"type": "time_shift"})", raw), "(no error)");
}

TEST(Augmenter, DrawsDependOnlyOnSeedSampleAndKey) {
  PacketStore s = random_session(1, 400, 0.1);
  const RepresentationConfig r = tcbench(32);
  const SampleIndex idx = build_sample_index(s, r);
  ASSERT_EQ(idx.samples.size(), 1u);
  const Sample& sample = idx.samples[0];
  for (const char* type : {"change_rtt", "time_shift", "packet_loss", "horizontal_flip", "rotate", "colour_jitter"}) {
    SCOPED_TRACE(type);
    const AugmentConfig c = parse(std::string(R"({"type": ")") + type + "\"}");
    Augmenter a(c, s, r, 7), same(c, s, r, 7), other(c, s, r, 8);
    EXPECT_EQ(a.draw(sample, 3).value, same.draw(sample, 3).value);
    if (c.type == AugmentType::kHorizontalFlip) continue;  // a coin: two draws may agree
    EXPECT_NE(a.draw(sample, 3).value, a.draw(sample, 4).value);
    EXPECT_NE(a.draw(sample, 3).value, other.draw(sample, 3).value);
    Sample moved = sample;
    moved.flow = 0;
    moved.index = 1;  // another block of the same flow is another sample
    EXPECT_NE(a.draw(sample, 3).value, a.draw(moved, 3).value);
  }
}

// Over many draws each parameter has its distribution: uniform on the configured range (mean and
// variance within 5 standard errors), the flip a fair coin, every jitter order about as often.
TEST(Augmenter, DrawStatistics) {
  PacketStore s = random_session(2, 600, 0.1);
  const RepresentationConfig r = tcbench(32);
  const SampleIndex idx = build_sample_index(s, r);
  ASSERT_EQ(idx.samples.size(), 1u);
  const Sample sample = idx.samples[0];
  const int n = 24000;
  struct Case {
    const char* type;
    double lo, hi;
  };
  for (const Case& k : {Case{"change_rtt", 0.5, 1.5}, Case{"time_shift", -1.0, 1.0},
                        Case{"packet_loss", 0.0, sample.length}, Case{"rotate", -10.0, 10.0}}) {
    SCOPED_TRACE(k.type);
    const AugmentConfig c = parse(std::string(R"({"type": ")") + k.type + "\"}");
    Augmenter a(c, s, r, 11);
    double m = 0, m2 = 0;
    for (int i = 0; i < n; ++i) {
      const AugmentDraw d = a.draw(sample, static_cast<uint64_t>(i));
      ASSERT_GE(d.value, k.lo);
      ASSERT_LE(d.value, k.hi);
      if (c.type == AugmentType::kRotate) {
        EXPECT_NEAR(d.image.cos_a, std::cos(d.value * M_PI / 180), 1e-15);
        EXPECT_NEAR(d.image.sin_a, std::sin(d.value * M_PI / 180), 1e-15);
        EXPECT_EQ(d.image.kind, ImageAugmentKind::kRotate);
      } else {
        EXPECT_TRUE(d.window.warp.on);
        EXPECT_EQ(d.image.kind, ImageAugmentKind::kNone);
      }
      m += d.value;
      m2 += d.value * d.value;
    }
    m /= n;
    const double var = m2 / n - m * m, w = k.hi - k.lo;
    const double sd = w / std::sqrt(12.0);
    EXPECT_NEAR(m, (k.lo + k.hi) / 2, 5 * sd / std::sqrt(n));
    EXPECT_NEAR(var, w * w / 12,
                5 * w * w * std::sqrt(1.0 / 180) / std::sqrt(n));  // var of U: w^2/12, sd w^2/sqrt(180)
  }
  {
    Augmenter a(parse(R"({"type": "horizontal_flip"})"), s, r, 11);
    int flips = 0;
    for (int i = 0; i < n; ++i) flips += a.draw(sample, static_cast<uint64_t>(i)).image.flip;
    EXPECT_NEAR(flips / double(n), 0.5, 5 * 0.5 / std::sqrt(n));
    Augmenter always(parse(R"({"type": "horizontal_flip", "probability": 1})"), s, r, 11);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(always.draw(sample, static_cast<uint64_t>(i)).image.flip);
  }
  {
    Augmenter a(parse(R"({"type": "colour_jitter"})"), s, r, 11);
    std::map<std::vector<int>, int> orders;
    for (int i = 0; i < n; ++i) {
      const AugmentDraw d = a.draw(sample, static_cast<uint64_t>(i));
      ASSERT_EQ(d.image.kind, ImageAugmentKind::kColourJitter);
      std::vector<int> o(d.image.order, d.image.order + 4);
      std::vector<int> sorted = o;
      std::sort(sorted.begin(), sorted.end());
      ASSERT_EQ(sorted, (std::vector<int>{0, 1, 2, 3}));
      ++orders[o];
      for (float f : {d.image.brightness, d.image.contrast, d.image.saturation}) {
        ASSERT_GE(f, 0.2f - 1e-6f);
        ASSERT_LE(f, 1.8f + 1e-6f);
      }
      ASSERT_GE(d.image.hue, -0.2f - 1e-6f);
      ASSERT_LE(d.image.hue, 0.2f + 1e-6f);
    }
    ASSERT_EQ(orders.size(), 24u);
    const double expect = n / 24.0;
    for (auto& [o, count] : orders) EXPECT_NEAR(count, expect, 5 * std::sqrt(expect));
  }
}

// The warped window gives exactly the image of the transformed packet arrays, at 32 (the dense
// CPU path) and 1500 (the sorted path), including the packets the warp brings in from past the
// original window (change RTT below 1) and the ones it pushes out.
TEST(Augmenter, PacketAugmentationsEqualTheRuleOnThePacketArrays) {
  PacketStore s = random_session(3, 3000, 0.02);  // about 60 s: most of it past the 15 s window
  for (int resolution : {32, 1500}) {
    const RepresentationConfig r = tcbench(resolution);
    const SampleIndex idx = build_sample_index(s, r);
    ASSERT_EQ(idx.samples.size(), 1u);
    const Sample& sample = idx.samples[0];
    const FlowPicSpec spec = std::get<FlowPicSpec>(r.image_spec());
    for (const char* type : {"change_rtt", "time_shift", "packet_loss"}) {
      const AugmentConfig c = parse(std::string(R"({"type": ")") + type + R"(", "mode": "epoch"})");
      Augmenter a(c, s, r, 5);
      for (uint64_t key = 1; key <= 40; ++key) {
        SCOPED_TRACE(std::string(type) + " R=" + std::to_string(resolution) + " key " + std::to_string(key));
        const AugmentDraw d = a.draw(sample, key);
        const std::vector<float> got = build(s, spec, d.window);
        ASSERT_EQ(got, reference(s, r, sample, c, d.value));
      }
    }
    // A slower RTT squeezes the later packets into the window: more of them than unaugmented.
    const AugmentConfig half = parse(R"({"type": "change_rtt", "alpha_min": 0.5, "alpha_max": 0.5})");
    const AugmentDraw d = Augmenter(half, s, r, 5).draw(sample, 1);
    EXPECT_GT(d.window.end - d.window.begin, sample.window.end - sample.window.begin);
  }
}

// Unidirectional flow views (their own origin, after the session's first packet) and later 60 s
// blocks, closed ends: the paper's setting.
TEST(Augmenter, PacketAugmentationsOnLaterBlocksOfOneDirection) {
  PacketStore s = random_session(4, 4000, 0.05);  // about 200 s
  const RepresentationConfig r = rep(R"({"type": "flowpic", "resolution": 64, "transform": "log1p"})");
  PacketStore sessions = s;
  sessions.view[0] = FlowView::kSession;
  const SampleIndex idx = build_sample_index(sessions, r);
  ASSERT_GE(idx.samples.size(), 4u);
  const FlowPicSpec spec = std::get<FlowPicSpec>(r.image_spec());
  for (const char* type : {"change_rtt", "time_shift", "packet_loss"}) {
    const std::string extra = std::string(type) == "time_shift" ? R"(, "max_shift_s": 5)" : "";
    const AugmentConfig c = parse(std::string(R"({"type": ")") + type + "\"" + extra + "}");
    Augmenter a(c, sessions, r, 9);
    for (const Sample& sample : idx.samples) {
      for (uint64_t key = 1; key <= 8; ++key) {
        SCOPED_TRACE(std::string(type) + " block " + std::to_string(sample.index) + " direction " +
                     std::to_string(sample.direction));
        const AugmentDraw d = a.draw(sample, key);
        ASSERT_EQ(build(sessions, spec, d.window), reference(sessions, r, sample, c, d.value));
      }
    }
  }
}

TEST(Augmenter, NoWarpLeavesTheImageBitIdentical) {
  PacketStore s = random_session(5, 2000, 0.03);
  const RepresentationConfig r = tcbench(32);
  const SampleIndex idx = build_sample_index(s, r);
  const FlowPicSpec spec = std::get<FlowPicSpec>(r.image_spec());
  ImageWindow w = idx.samples[0].window;
  const std::vector<float> plain = build(s, spec, w);
  EXPECT_GT(sum(plain), 0);
  // Image augmentations do not touch the window.
  const AugmentDraw d = Augmenter(parse(R"({"type": "rotate"})"), s, r, 1).draw(idx.samples[0], 1);
  EXPECT_FALSE(d.window.warp.on);
  EXPECT_EQ(build(s, spec, d.window), plain);
}

#ifdef FLOWPIC_HAVE_CUDA
// The CUDA builders apply the same warp: bit-identical images for every packet augmentation, on
// the shared-memory path (32) and the sorted path (1500).
TEST(AugmenterGpu, WarpedWindowsEqualTheCpu) {
  FLOWPIC_REQUIRE_GPU();
  PacketStore s;
  std::mt19937_64 rng(6);
  for (int f = 0; f < 12; ++f) ft::add_flow(s, ft::random_flow(rng, 800 + 200 * f, 0.03));
  for (int resolution : {32, 1500}) {
    const RepresentationConfig r = tcbench(resolution);
    const SampleIndex idx = build_sample_index(s, r);
    ASSERT_EQ(idx.samples.size(), 12u);
    const ImageSpec spec = r.image_spec();
    auto cpu = make_image_builder(spec, BuilderDevice::kCpu, host_columns(s));
    auto gpu = make_image_builder(spec, BuilderDevice::kGpu, host_columns(s));
    for (const char* type : {"change_rtt", "time_shift", "packet_loss"}) {
      SCOPED_TRACE(std::string(type) + " R=" + std::to_string(resolution));
      Augmenter a(parse(std::string(R"({"type": ")") + type + "\"}"), s, r, 3);
      std::vector<ImageWindow> windows;
      for (uint64_t key = 1; key <= 4; ++key)
        for (const Sample& sample : idx.samples) windows.push_back(a.draw(sample, key).window);
      const size_t n = image_floats(spec) * windows.size();
      std::vector<float> c(n), g(n, -1.0f);
      cpu->build_host(windows.data(), windows.size(), c.data());
      gpu->build_host(windows.data(), windows.size(), g.data());
      ASSERT_EQ(c, g);
    }
  }
}
#endif
