// The image augmentations' CPU twin (augment_images_cpu, kernels/image_augment.hpp) against
// straightforward references written here: flips, rotations (exact cases at 0, 90 and 180 degrees
// and an independent nearest-neighbour reference at other angles) and the colour-jitter ops, alone,
// in both orders, and mixed in one batch; the front end and its errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/image_augment.hpp"
#include "support/error_of.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

constexpr double kPi = 3.14159265358979323846;

// A batch of NCHW images.
struct Batch {
  size_t count;
  int c, h, w;
  std::vector<float> v;
  Batch(size_t count_, int c_, int h_, int w_)
      : count(count_), c(c_), h(h_), w(w_), v(count_ * static_cast<size_t>(c_) * h_ * w_) {}
  size_t floats() const { return static_cast<size_t>(c) * h * w; }
  float& at(size_t b, int ch, int i, int j) { return v[b * floats() + (static_cast<size_t>(ch) * h + i) * w + j]; }
  float at(size_t b, int ch, int i, int j) const { return v[b * floats() + (static_cast<size_t>(ch) * h + i) * w + j]; }
  float* image(size_t b) { return v.data() + b * floats(); }
};

// Pixels uniform in [lo, hi], with a few exact 0s and 1s when the range includes them.
Batch random_batch(uint64_t seed, size_t count, int c, int h, int w, float lo = 0.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::uniform_int_distribution<int> coin(0, 19);
  Batch b(count, c, h, w);
  for (float& x : b.v) {
    const int k = coin(rng);
    x = (k == 0 && lo <= 0.0f) ? 0.0f : (k == 1 && hi >= 1.0f) ? 1.0f : u(rng);
  }
  return b;
}

void augment(Batch& b, const std::vector<ImageAugmentParams>& params, int threads = 0) {
  ASSERT_EQ(params.size(), b.count);
  augment_images_cpu(b.v.data(), params.data(), b.count, b.c, b.h, b.w, threads);
}

bool same_bits(const Batch& a, const Batch& b) {
  return a.v.size() == b.v.size() && std::memcmp(a.v.data(), b.v.data(), a.v.size() * sizeof(float)) == 0;
}

ImageAugmentParams flip(bool on) {
  ImageAugmentParams p;
  p.kind = ImageAugmentKind::kHorizontalFlip;
  p.flip = on;
  return p;
}

ImageAugmentParams jitter(float brightness, float contrast, std::vector<uint8_t> order = {0, 1, 2, 3},
                          float saturation = 1, float hue = 0) {
  ImageAugmentParams p;
  p.kind = ImageAugmentKind::kColourJitter;
  p.brightness = brightness;
  p.contrast = contrast;
  p.saturation = saturation;
  p.hue = hue;
  for (int s = 0; s < 4; ++s) p.order[s] = order[s];
  return p;
}

// The independent rotation reference: for each output pixel the centred coordinates, the inverse
// rotation [cos, -sin; sin, cos] in double, back to pixel coordinates, nearest (ties to even), 0
// outside.
Batch rotate_reference(const Batch& in, size_t b, double degrees) {
  const double a = degrees * (kPi / 180.0);
  const double ca = std::cos(a), sa = std::sin(a);
  Batch out(1, in.c, in.h, in.w);
  const double cx = (in.w - 1) * 0.5, cy = (in.h - 1) * 0.5;
  for (int i = 0; i < in.h; ++i) {
    for (int j = 0; j < in.w; ++j) {
      const double x = j - cx, y = i - cy;
      const double xs = ca * x - sa * y, ys = sa * x + ca * y;
      const long col = std::lrint(std::nearbyint(xs + cx)), row = std::lrint(std::nearbyint(ys + cy));
      const bool inside = col >= 0 && col < in.w && row >= 0 && row < in.h;
      for (int ch = 0; ch < in.c; ++ch)
        out.at(0, ch, i, j) = inside ? in.at(b, ch, static_cast<int>(row), static_cast<int>(col)) : 0.0f;
    }
  }
  return out;
}

double mean_of(const Batch& b, size_t image) {
  double s = 0;
  for (size_t k = 0; k < b.floats(); ++k) s += b.v[image * b.floats() + k];
  return s / static_cast<double>(b.floats());
}

// ---------------------------------------------------------------------------------------------
// Flip

TEST(ImageAugment, FlipReversesTheColumnsOfEveryChannel) {
  for (int w : {1, 6, 7}) {
    const Batch in = random_batch(1 + w, 3, 2, 5, w);
    Batch out = in;
    augment(out, {flip(true), flip(true), flip(true)});
    for (size_t b = 0; b < 3; ++b)
      for (int ch = 0; ch < 2; ++ch)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < w; ++j) ASSERT_EQ(out.at(b, ch, i, j), in.at(b, ch, i, w - 1 - j)) << b << ch << i << j;
    if (w > 1) {
      EXPECT_FALSE(same_bits(in, out));
    }
    augment(out, {flip(true), flip(true), flip(true)});
    EXPECT_TRUE(same_bits(in, out)) << "flipping twice is the identity";
  }
}

TEST(ImageAugment, FlipFalseAndNoneAreBitIdentical) {
  Batch in = random_batch(2, 3, 2, 6, 5);
  in.v[3] = -0.0f;
  in.v[7] = std::numeric_limits<float>::quiet_NaN();
  in.v[11] = 7.5f;  // out of [0, 1]: untouched all the same
  Batch out = in;
  ImageAugmentParams none;
  none.cos_a = 0.3;  // the other kinds' fields are not read
  none.brightness = 0.1f;
  none.contrast = 0.2f;
  augment(out, {flip(false), ImageAugmentParams{}, none});
  EXPECT_TRUE(same_bits(in, out));
}

// ---------------------------------------------------------------------------------------------
// Rotation

TEST(ImageAugment, RotationByZeroIsTheIdentity) {
  for (int h : {6, 7}) {
    const Batch in = random_batch(3 + h, 2, 2, h, 9);
    Batch out = in;
    augment(out, {rotation_params(0), rotation_params(0)});
    EXPECT_TRUE(same_bits(in, out));
  }
}

TEST(ImageAugment, RotationBy90IsCounterClockwiseOnScreen) {
  for (int n : {1, 5, 7, 31}) {
    const Batch in = random_batch(4 + n, 1, 2, n, n);
    Batch out = in;
    augment(out, {rotation_params(90)});
    for (int ch = 0; ch < 2; ++ch) {
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) ASSERT_EQ(out.at(0, ch, i, j), in.at(0, ch, j, n - 1 - i)) << ch << i << j;
      }
      // The top row goes to the left column, its first pixel (top left) to the bottom left.
      for (int k = 0; k < n; ++k) EXPECT_EQ(out.at(0, ch, n - 1 - k, 0), in.at(0, ch, 0, k));
    }
  }
  // A -90 degrees rotation undoes it.
  const Batch in = random_batch(5, 1, 1, 9, 9);
  Batch out = in;
  augment(out, {rotation_params(90)});
  augment(out, {rotation_params(-90)});
  EXPECT_TRUE(same_bits(in, out));
}

TEST(ImageAugment, RotationBy180IsADoubleFlip) {
  for (auto [h, w] : std::vector<std::pair<int, int>>{{4, 6}, {5, 8}, {7, 3}, {6, 6}, {1, 4}, {32, 32}}) {
    const Batch in = random_batch(6 + h * w, 2, 2, h, w);
    Batch out = in;
    augment(out, {rotation_params(180), rotation_params(-180)});
    for (size_t b = 0; b < 2; ++b)
      for (int ch = 0; ch < 2; ++ch)
        for (int i = 0; i < h; ++i)
          for (int j = 0; j < w; ++j)
            ASSERT_EQ(out.at(b, ch, i, j), in.at(b, ch, h - 1 - i, w - 1 - j)) << h << "x" << w << " " << i << j;
  }
}

TEST(ImageAugment, RotationTiesRoundHalfToEven) {
  // Exactly 90 degrees (cos 0, sin 1) on 4 rows x 5 columns: source column 2 - (i - 1.5) = 3.5 - i
  // and source row 1.5 + (j - 2) = j - 0.5 are all ties: columns 4 2 2 0 for rows i = 0..3, rows
  // 0 (from -0.5) 0 2 2 and 4 (outside: 0) for columns j = 0..4.
  Batch in(1, 1, 4, 5);
  for (size_t k = 0; k < in.v.size(); ++k) in.v[k] = 1.0f + static_cast<float>(k);
  Batch out = in;
  ImageAugmentParams p;
  p.kind = ImageAugmentKind::kRotate;
  p.cos_a = 0.0;
  p.sin_a = 1.0;
  augment(out, {p});
  const int col[4] = {4, 2, 2, 0}, row[5] = {0, 0, 2, 2, -1};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      EXPECT_EQ(out.at(0, 0, i, j), row[j] < 0 ? 0.0f : in.at(0, 0, row[j], col[i])) << i << " " << j;
}

TEST(ImageAugment, RotationMatchesTheIndependentReference) {
  // Pixels in [0.25, 1], so a 0 can only be the fill.
  for (auto [h, w] : std::vector<std::pair<int, int>>{{23, 31}, {32, 32}, {20, 9}}) {
    const Batch in = random_batch(7 + h, 4, 2, h, w, 0.25f, 1.0f);
    Batch out = in;
    const double angles[4] = {10, -10, 33.3, 137};
    std::vector<ImageAugmentParams> params;
    for (double a : angles) params.push_back(rotation_params(a));
    augment(out, params);
    for (size_t b = 0; b < 4; ++b) {
      const Batch ref = rotate_reference(in, b, angles[b]);
      for (size_t k = 0; k < ref.v.size(); ++k)
        ASSERT_EQ(out.v[b * in.floats() + k], ref.v[k]) << h << "x" << w << " angle " << angles[b] << " float " << k;
      // At these angles (not 137) the corners' sources fall outside the image: 0 in both channels.
      for (int ch = 0; ch < 2 && b < 3; ++ch) {
        EXPECT_EQ(out.at(b, ch, 0, 0), 0.0f);
        EXPECT_EQ(out.at(b, ch, 0, w - 1), 0.0f);
        EXPECT_EQ(out.at(b, ch, h - 1, 0), 0.0f);
        EXPECT_EQ(out.at(b, ch, h - 1, w - 1), 0.0f);
      }
      // The centre pixel (odd sizes) is its own source.
      if (h % 2 && w % 2) {
        EXPECT_EQ(out.at(b, 1, h / 2, w / 2), in.at(b, 1, h / 2, w / 2));
      }
    }
  }
}

TEST(ImageAugment, RotationParamsAreCosAndSinOfTheAngle) {
  const ImageAugmentParams p = rotation_params(30);
  EXPECT_EQ(p.kind, ImageAugmentKind::kRotate);
  EXPECT_NEAR(p.cos_a, std::sqrt(3.0) / 2, 1e-15);
  EXPECT_NEAR(p.sin_a, 0.5, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Colour jitter

TEST(ImageAugment, BrightnessAloneScalesAndClamps) {
  const Batch in = random_batch(8, 2, 1, 16, 16);
  Batch out = in;
  augment(out, {jitter(1.7f, 1.0f), jitter(0.5f, 1.0f)});
  int clamped = 0;
  for (size_t k = 0; k < in.floats(); ++k) {
    const float x = in.v[k];
    const float ref = 1.7f * x > 1.0f ? 1.0f : 1.7f * x;
    clamped += 1.7f * x > 1.0f;
    ASSERT_EQ(out.v[k], ref) << k;
    ASSERT_EQ(out.v[in.floats() + k], 0.5f * in.v[in.floats() + k]) << k;
  }
  EXPECT_GT(clamped, 10);
}

TEST(ImageAugment, ContrastAloneKeepsTheMeanUpToClamping) {
  // Pixels in [0.3, 0.7]: contrast 0.6 and 1.5 clamp nothing, so the mean is kept.
  const Batch in = random_batch(9, 2, 2, 12, 10, 0.3f, 0.7f);
  Batch out = in;
  augment(out, {jitter(1.0f, 0.6f), jitter(1.0f, 1.5f)});
  const float cs[2] = {0.6f, 1.5f};
  for (size_t b = 0; b < 2; ++b) {
    const double m = mean_of(in, b);
    EXPECT_NEAR(mean_of(out, b), m, 1e-6);
    for (size_t k = 0; k < in.floats(); ++k) {
      const double ref = cs[b] * in.v[b * in.floats() + k] + (1.0 - cs[b]) * m;
      ASSERT_NEAR(out.v[b * in.floats() + k], ref, 1e-6) << b << " " << k;
    }
  }
}

TEST(ImageAugment, ContrastClampsToZeroAndOne) {
  const Batch in = random_batch(10, 1, 1, 20, 20);
  Batch out = in;
  augment(out, {jitter(1.0f, 3.0f)});
  const double m = mean_of(in, 0);
  int low = 0, high = 0;
  for (size_t k = 0; k < in.floats(); ++k) {
    const double raw = 3.0 * in.v[k] - 2.0 * m;
    const double ref = raw < 0 ? 0 : raw > 1 ? 1 : raw;
    low += raw < 0;
    high += raw > 1;
    ASSERT_NEAR(out.v[k], ref, 1e-6) << k;
    ASSERT_GE(out.v[k], 0.0f);
    ASSERT_LE(out.v[k], 1.0f);
  }
  EXPECT_GT(low, 10);
  EXPECT_GT(high, 10);
}

TEST(ImageAugment, ContrastZeroGivesTheMeanEverywhere) {
  const Batch in = random_batch(11, 1, 2, 9, 13);
  Batch out = in;
  augment(out, {jitter(1.0f, 0.0f)});
  const double m = mean_of(in, 0);
  for (size_t k = 0; k < in.floats(); ++k) ASSERT_EQ(out.v[k], out.v[0]) << k;
  EXPECT_NEAR(out.v[0], m, 1e-7);
  // The mean is of both channels: a channel of 0.25s and one of 0.75s become 0.5s.
  Batch two(1, 2, 4, 4);
  for (size_t k = 0; k < 16; ++k) two.v[k] = 0.25f, two.v[16 + k] = 0.75f;
  augment(two, {jitter(1.0f, 0.0f)});
  for (float x : two.v) ASSERT_EQ(x, 0.5f);
}

TEST(ImageAugment, SaturationAndHueLeaveGreyImagesBitIdentical) {
  for (int c : {1, 2}) {
    const Batch in = random_batch(12 + c, 3, c, 8, 8);
    Batch out = in;
    augment(out, {jitter(1.0f, 1.0f, {2, 3, 0, 1}, 0.2f, 0.4f), jitter(1.0f, 1.0f, {3, 2, 1, 0}, 1.8f, -0.5f),
                  jitter(1.0f, 1.0f, {0, 1, 2, 3}, 0.0f, 0.1f)});
    EXPECT_TRUE(same_bits(in, out));
  }
}

TEST(ImageAugment, TheOrderOfBrightnessAndContrastMatters) {
  // Half the pixels 0.8, half 0.1; brightness 2, contrast 0.5.
  Batch in(2, 1, 4, 4);
  for (size_t k = 0; k < 32; ++k) in.v[k] = (k % 2) ? 0.8f : 0.1f;
  Batch out = in;
  augment(out, {jitter(2.0f, 0.5f, {0, 1, 2, 3}), jitter(2.0f, 0.5f, {1, 0, 2, 3})});
  // Brightness first: 1 (clamped) and 0.2, mean 0.6, then contrast: 0.8 and 0.4.
  // Contrast first: mean 0.45: 0.625 and 0.275, then brightness: 1 (clamped) and 0.55.
  for (size_t k = 0; k < 16; ++k) {
    EXPECT_NEAR(out.v[k], (k % 2) ? 0.8f : 0.4f, 1e-6) << k;
    EXPECT_NEAR(out.v[16 + k], (k % 2) ? 1.0f : 0.55f, 1e-6) << k;
  }
  // Saturation and hue anywhere in the order change nothing.
  Batch same = in;
  augment(same, {jitter(2.0f, 0.5f, {2, 0, 3, 1}, 0.3f, 0.2f), jitter(2.0f, 0.5f, {1, 3, 2, 0}, 1.5f, -0.1f)});
  EXPECT_TRUE(same_bits(out, same));
}

// ---------------------------------------------------------------------------------------------
// Batches, the front end, errors

TEST(ImageAugment, MixedKindsInOneBatchEqualEachImageAlone) {
  for (int c : {1, 2}) {
    const std::vector<ImageAugmentParams> params = {
        flip(true),          jitter(1.3f, 0.7f, {3, 1, 0, 2}), ImageAugmentParams{}, rotation_params(17),
        flip(false),         jitter(0.8f, 1.6f, {0, 2, 1, 3}), rotation_params(-95), flip(true),
        rotation_params(0.5)};
    const Batch in = random_batch(14 + c, params.size(), c, 11, 14);
    for (int threads : {1, 3}) {
      Batch out = in;
      augment(out, params, threads);
      for (size_t b = 0; b < params.size(); ++b) {
        Batch one(1, c, 11, 14);
        std::memcpy(one.v.data(), in.v.data() + b * in.floats(), in.floats() * sizeof(float));
        augment(one, {params[b]});
        EXPECT_EQ(std::memcmp(one.v.data(), out.v.data() + b * in.floats(), in.floats() * sizeof(float)), 0)
            << "image " << b << ", " << threads << " threads";
      }
      EXPECT_EQ(std::memcmp(out.image(2), in.v.data() + 2 * in.floats(), in.floats() * sizeof(float)), 0);
    }
  }
}

TEST(ImageAugment, FrontEndCpuAugmenterEqualsTheCpuFunction) {
  auto aug = make_image_augmenter(BuilderDevice::kCpu, ImageBuilderOptions{2});
  EXPECT_EQ(aug->device(), BuilderDevice::kCpu);
  EXPECT_EQ(aug->describe(), "CPU, 2 threads");
  const std::vector<ImageAugmentParams> params = {rotation_params(45), jitter(1.2f, 0.9f), flip(true)};
  Batch a = random_batch(16, 3, 1, 32, 32), b = a;
  aug->apply(a.v.data(), params.data(), 3, 1, 32, 32);
  aug->synchronize();
  augment(b, params);
  EXPECT_TRUE(same_bits(a, b));
  aug->apply(nullptr, params.data(), 0, 1, 32, 32);  // an empty batch is fine
#ifndef FLOWPIC_HAVE_CUDA
  EXPECT_NE(ft::error_of([] { make_image_augmenter(BuilderDevice::kGpu); }).find("needs a CUDA build"),
            std::string::npos);
#endif
}

TEST(ImageAugment, InvalidParametersAreOneLineErrors) {
  Batch b = random_batch(17, 1, 3, 4, 4), grey = random_batch(18, 1, 1, 4, 4);
  ImageAugmentParams bad_kind;
  bad_kind.kind = static_cast<ImageAugmentKind>(7);
  EXPECT_NE(ft::error_of([&] { augment(b, {bad_kind}); }).find("unknown kind 7"), std::string::npos);
  EXPECT_NE(ft::error_of([&] {
              augment(grey, {jitter(1, 1, {0, 0, 1, 2})});
            }).find("not a permutation"),
            std::string::npos);
  EXPECT_NE(ft::error_of([&] {
              augment(grey, {jitter(1, 1, {0, 1, 2, 4})});
            }).find("not a permutation"),
            std::string::npos);
  // Colour jitter needs grey (one- or two-channel) images; flips and rotations do not.
  EXPECT_NE(ft::error_of([&] { augment(b, {jitter(1, 1)}); }).find("one- or two-channel"), std::string::npos);
  const Batch before = b;
  EXPECT_EQ(ft::error_of([&] { augment(b, {flip(false)}); }), "(no error)");
  EXPECT_TRUE(same_bits(before, b));
  ImageAugmentParams p;
  EXPECT_NE(ft::error_of([&] { augment_images_cpu(b.v.data(), &p, 1, 1, 0, 4); }).find("must be > 0"),
            std::string::npos);
  EXPECT_NE(ft::error_of([&] { augment_images_cpu(b.v.data(), &p, 1, 2, 2048, 2049); }).find("at most 2^23"),
            std::string::npos);
}

}  // namespace
