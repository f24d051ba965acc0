// The per-element rules of kernels/bin_math.hpp, checked against values numpy.histogram2d gave
// (numpy 1.24: sizes with edges k*1500/R, times x = (t - t0) / D * R with edges 0..R).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/bin_math.hpp"
#include "support/image_reference.hpp"

using namespace flowpic;

namespace {

struct TimeCase {
  int R;
  double D, t;
  int col;
};
// Produced by numpy.histogram2d on single packets; -1 = not counted.
const TimeCase kTimeCases[] = {
    {1500, 60.0, 0.0, 0},
    {1500, 60.0, 0.04, 1},
    {1500, 60.0, 0.08, 2},
    {1500, 60.0, 1.0, 25},
    {1500, 60.0, 7.5, 187},
    {1500, 60.0, 20.0, 500},
    {1500, 60.0, 30.0, 750},
    {1500, 60.0, 59.999939999999995, 1499},
    {1500, 60.0, 59.999999999999, 1499},
    {1500, 60.0, 60.0, 1499},
    {1500, 60.0, 60.000000001, -1},
    {1500, 60.0, 59.96, 1499},
    {1500, 60.0, 0.12, 3},
    {32, 15.0, 0.0, 0},
    {32, 15.0, 0.04, 0},
    {32, 15.0, 1.0, 2},
    {32, 15.0, 7.5, 16},
    {32, 15.0, 5.0, 10},
    {32, 15.0, 14.999984999999999, 31},
    {32, 15.0, 14.999999999999, 31},
    {32, 15.0, 15.0, 31},
    {32, 15.0, 15.000000001, -1},
    {32, 15.0, 59.96, -1},
    {64, 60.0, 1.0, 1},
    {64, 60.0, 7.5, 8},
    {64, 60.0, 20.0, 21},
    {64, 60.0, 30.0, 32},
    {64, 60.0, 60.0, 63},
    {64, 60.0, 60.000000001, -1},
    {100, 30.0, 1.0, 3},
    {100, 30.0, 7.5, 25},
    {100, 30.0, 10.0, 33},
    {100, 30.0, 15.0, 50},
    {100, 30.0, 29.999969999999998, 99},
    {100, 30.0, 30.0, 99},
    {100, 30.0, 30.000000001, -1},
};

struct SizeCase {
  int R;
  uint32_t size;
  int row;
};
const SizeCase kSizeCases[] = {
    {1500, 0, 0},     {1500, 1, 1},    {1500, 46, 46},  {1500, 1453, 1453}, {1500, 1499, 1499}, {1500, 1500, 1499},
    {1500, 1501, -1}, {32, 0, 0},      {32, 46, 0},     {32, 47, 1},        {32, 100, 2},       {32, 1453, 30},
    {32, 1454, 31},   {32, 1499, 31},  {32, 1500, 31},  {32, 1501, -1},     {64, 46, 1},        {64, 47, 2},
    {64, 100, 4},     {64, 1453, 61},  {64, 1454, 62},  {64, 1500, 63},     {100, 46, 3},       {100, 47, 3},
    {100, 100, 6},    {100, 1453, 96}, {100, 1499, 99}, {100, 1500, 99},    {100, 1501, -1},
};

}  // namespace

TEST(BinMath, TimeColumnsMatchNumpyHistogram2d) {
  for (const auto& c : kTimeCases) {
    EXPECT_EQ(flowpic_time_bin(c.t, 0.0, c.D, c.R), c.col) << "R=" << c.R << " D=" << c.D << " t=" << c.t;
    EXPECT_EQ(flowpic::testing::ref_time_col(c.t, 0.0, c.D, c.R), c.col) << "reference, t=" << c.t;
  }
}

TEST(BinMath, SizeRowsMatchNumpyHistogram2d) {
  for (const auto& c : kSizeCases) {
    EXPECT_EQ(flowpic_size_bin(c.size, 1500, c.R), c.row) << "R=" << c.R << " size=" << c.size;
    EXPECT_EQ(flowpic::testing::ref_size_row(c.size, 1500, c.R), c.row) << "reference, size=" << c.size;
  }
}

TEST(BinMath, SizeRowsAgreeWithTheEdgeRuleForEveryResolution) {
  for (int R = 8; R <= 1500; R += (R < 100 ? 1 : 37))
    for (uint32_t s = 0; s <= 1501; ++s)
      ASSERT_EQ(flowpic_size_bin(s, 1500, R), flowpic::testing::ref_size_row(s, 1500, R)) << "R=" << R << " size=" << s;
}

TEST(BinMath, TimeEdgesAndDegenerateWindows) {
  // Exactly on an interior edge: the bin to the right (half-open bins).
  EXPECT_EQ(flowpic_time_bin(30.0, 0.0, 60.0, 2), 1);
  EXPECT_EQ(flowpic_time_bin(29.999999, 0.0, 60.0, 2), 0);
  // Window end: last bin (closed); beyond it and before the start: dropped.
  EXPECT_EQ(flowpic_time_bin(70.0, 10.0, 60.0, 32), 31);
  EXPECT_EQ(flowpic_time_bin(9.999, 10.0, 60.0, 32), -1);
  EXPECT_EQ(flowpic_time_bin(std::nan(""), 0.0, 60.0, 32), -1);
  // span = 0: everything in column 0.
  EXPECT_EQ(flowpic_time_bin(5.0, 5.0, 0.0, 32), 0);
  EXPECT_EQ(flowpic_time_bin(5.0, 5.0, -1.0, 32), 0);
}

TEST(BinMath, PixelTransforms) {
  EXPECT_EQ(flowpic_pixel(7, PixelTransform::kRaw, 0), 7.0f);
  EXPECT_EQ(flowpic_pixel(300, PixelTransform::kClip255, 0), 1.0f);
  EXPECT_EQ(flowpic_pixel(51, PixelTransform::kClip255, 0), 51.0f / 255.0f);
  EXPECT_EQ(flowpic_pixel(0, PixelTransform::kLog1p, 0), 0.0f);
  EXPECT_EQ(flowpic_pixel(3, PixelTransform::kLog1p, 0), float(std::log(4.0)));
  EXPECT_EQ(flowpic_pixel(3, PixelTransform::kMax, 4), 0.75f);
  EXPECT_EQ(flowpic_pixel(0, PixelTransform::kMax, 0), 0.0f);
}

TEST(BinMath, PayloadGreyLevels) {
  EXPECT_EQ(payload_grey(0, 1500), 0.0f);
  EXPECT_EQ(payload_grey(750, 1500), 0.5f);
  EXPECT_EQ(payload_grey(1500, 1500), 1.0f);
  EXPECT_EQ(payload_grey(9000, 1500), 1.0f);  // clipped, not dropped
  EXPECT_EQ(payload_grey_signed(1500, 0, 1500), 1.0f);
  EXPECT_EQ(payload_grey_signed(1500, 1, 1500), 0.0f);
  EXPECT_EQ(payload_grey_signed(750, 1, 1500), 0.25f);
  EXPECT_EQ(payload_grey_signed(0, 0, 1500), 0.5f);
  EXPECT_FALSE(payload_counts(0));
  EXPECT_FALSE(payload_counts(kUnknownPayload));
  EXPECT_TRUE(payload_counts(1));
}
