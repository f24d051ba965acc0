// The CPU FlowPic builder against the plain reference (tests/support/image_reference.hpp), on random flows and on every
// edge case, with guard bands around the batch.
#include <gtest/gtest.h>

#include <random>

#include "kernels/image_builder_cpu.hpp"
#include "support/image_reference.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;
using ft::GuardedBatch;
using ft::Pkt;

namespace {

// Windows over a store's flows: fixed 60 s blocks and "span" blocks, all direction masks.
std::vector<ImageWindow> windows_of(const PacketStore& s, std::mt19937_64& rng) {
  std::vector<ImageWindow> w;
  std::uniform_int_distribution<int> mask(1, 3);
  for (size_t f = 0; f + 1 < s.offsets.size(); ++f) {
    uint64_t a = s.offsets[f], b = s.offsets[f + 1];
    if (a == b) continue;
    double last = s.time[b - 1];
    for (double start = 0; start <= last; start += 60) {
      ImageWindow x;
      x.begin = a;
      while (x.begin < b && s.time[x.begin] < start) ++x.begin;
      x.end = x.begin;
      while (x.end < b && s.time[x.end] <= start + 60) ++x.end;
      x.t0 = start;
      x.duration = 60;
      x.directions = static_cast<uint8_t>(mask(rng));
      w.push_back(x);
      if (x.end > x.begin) {  // the same packets on the block's own span
        x.t0 = s.time[x.begin];
        x.duration = s.time[x.end - 1] - s.time[x.begin];
        w.push_back(x);
      }
    }
  }
  return w;
}

void check_against_reference(const PacketStore& s, const FlowPicSpec& spec, const std::vector<ImageWindow>& w,
                             int threads) {
  GuardedBatch batch(w.size(), spec.image_floats());
  build_flowpic_cpu(flowpic::host_columns(s), spec, w.data(), w.size(), batch.data(), threads);
  ASSERT_TRUE(batch.intact());
  for (size_t i = 0; i < w.size(); ++i) {
    std::vector<float> ref = ft::reference_flowpic(s, spec, w[i]);
    std::vector<float> got = batch.image(i);
    // Same bin math, same double log1p: exactly equal for every transform.
    ASSERT_EQ(got, ref) << "window " << i << " R=" << spec.resolution;
  }
}

}  // namespace

class FlowPicCpu : public ::testing::TestWithParam<std::tuple<int, PixelTransform, bool>> {};

TEST_P(FlowPicCpu, MatchesTheReferenceOnRandomFlows) {
  auto [R, transform, per_direction] = GetParam();
  std::mt19937_64 rng(1234 + R);
  PacketStore s;
  // R = 1500 images are 9 MB each: fewer flows there.
  const int flows = R >= 1000 ? 3 : 12;
  for (int f = 0; f < flows; ++f) ft::add_flow(s, ft::random_flow(rng, 50 + 97 * f, 0.4 + 0.2 * f));
  ft::add_flow(s, {});  // an empty flow
  FlowPicSpec spec;
  spec.resolution = R;
  spec.transform = transform;
  spec.per_direction = per_direction;
  auto w = windows_of(s, rng);
  ASSERT_GT(w.size(), R >= 1000 ? 5u : 30u);
  check_against_reference(s, spec, w, 2);
}

INSTANTIATE_TEST_SUITE_P(Resolutions, FlowPicCpu,
                         ::testing::Combine(::testing::Values(8, 32, 64, 100, 181, 1500),
                                            ::testing::Values(PixelTransform::kRaw, PixelTransform::kClip255,
                                                              PixelTransform::kLog1p, PixelTransform::kMax),
                                            ::testing::Bool()));

TEST(FlowPicCpuEdges, EdgeCasesAtR1500AndR32) {
  PacketStore s;
  // 0: packets on bin edges (t = k * 60/1500, sizes on row edges), at the window end, oversize.
  ft::add_flow(
      s, {{0.0, 40}, {0.04, 46}, {0.08, 47}, {30.0, 1499}, {30.0, 1500}, {59.96, 1501}, {60.0, 100}, {60.0, 1500}});
  // 1: a single packet; 2: duplicates (same time, same size); 3: all at one instant (span = 0).
  ft::add_flow(s, {{12.5, 700}});
  ft::add_flow(s, {{1.0, 100}, {1.0, 100}, {1.0, 100}, {2.0, 100}});
  ft::add_flow(s, {{3.0, 80}, {3.0, 90, 1}, {3.0, 1500}});
  std::vector<ImageWindow> w;
  auto win = [&](size_t f, double t0, double d, uint8_t mask = kDirBoth) {
    ImageWindow x;
    x.begin = s.offsets[f];
    x.end = s.offsets[f + 1];
    x.t0 = t0;
    x.duration = d;
    x.directions = mask;
    w.push_back(x);
  };
  win(0, 0, 60);
  win(1, 0, 60);
  win(2, 0, 60);
  win(3, 3.0, 0.0);  // span = 0
  win(3, 3.0, 0.0, kDirResponder);
  ImageWindow empty;  // empty window
  empty.begin = empty.end = 2;
  empty.duration = 60;
  w.push_back(empty);
  win(0, 10, 60);  // packets before t0 are dropped, not clamped

  for (int R : {1500, 32}) {
    for (auto tr : {PixelTransform::kRaw, PixelTransform::kMax, PixelTransform::kClip255}) {
      FlowPicSpec spec;
      spec.resolution = R;
      spec.transform = tr;
      check_against_reference(s, spec, w, 1);
    }
  }
  // The exact cells at R = 1500 (rows = size, columns = time).
  FlowPicSpec spec;
  GuardedBatch b(w.size(), spec.image_floats());
  build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), b.data());
  ASSERT_TRUE(b.intact());
  auto img = b.image(0);
  auto at = [&](int row, int col) { return img[static_cast<size_t>(row) * 1500 + col]; };
  EXPECT_EQ(at(40, 0), 1);
  EXPECT_EQ(at(46, 1), 1);  // 0.04 s is column 1 in double arithmetic, as numpy
  EXPECT_EQ(at(47, 2), 1);
  EXPECT_EQ(at(1499, 750), 2);  // 1499 and 1500 share the last row
  EXPECT_EQ(at(100, 1499), 1);  // t = 60 (window end) in the last column
  EXPECT_EQ(at(1499, 1499), 1);
  double total = 0;
  for (float v : img) total += v;
  EXPECT_EQ(total, 7);  // the 1501-byte packet is dropped
  auto dup = b.image(2);
  EXPECT_EQ(dup[100 * 1500 + 25], 3);
  auto span0 = b.image(3);
  EXPECT_EQ(span0[80 * 1500 + 0] + span0[90 * 1500 + 0] + span0[1499 * 1500 + 0], 3);
  auto resp = b.image(4);
  EXPECT_EQ(resp[90 * 1500], 1);
  EXPECT_EQ(resp[80 * 1500], 0);
  for (float v : b.image(5)) ASSERT_EQ(v, 0.0f);
}

TEST(FlowPicCpuEdges, ThreadCountDoesNotChangeTheResult) {
  std::mt19937_64 rng(7);
  PacketStore s;
  for (int f = 0; f < 6; ++f) ft::add_flow(s, ft::random_flow(rng, 400, 0.5));
  auto w = windows_of(s, rng);
  for (int R : {32, 1500}) {
    FlowPicSpec spec;
    spec.resolution = R;
    spec.transform = PixelTransform::kMax;
    std::vector<float> a(w.size() * spec.image_floats()), b(a.size());
    build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), a.data(), 1);
    build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), b.data(), 2);
    EXPECT_EQ(a, b);
  }
}

TEST(FlowPicCpuEdges, UnalignedBatchPointerGivesTheSameImages) {
  // Large images are streamed out in aligned 64-byte blocks after a plain-store head.
  std::mt19937_64 rng(11);
  PacketStore s;
  for (int f = 0; f < 2; ++f) ft::add_flow(s, ft::random_flow(rng, 500, 0.1));
  auto w = windows_of(s, rng);
  FlowPicSpec spec;
  spec.transform = PixelTransform::kClip255;
  const size_t n = spec.image_floats();
  std::vector<float> aligned(w.size() * n), shifted(w.size() * n + 3, -1.0f);
  build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), aligned.data(), 1);
  build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), shifted.data() + 1, 2);
  EXPECT_EQ(shifted[0], -1.0f);
  EXPECT_EQ(shifted[shifted.size() - 2], -1.0f);
  EXPECT_TRUE(std::equal(aligned.begin(), aligned.end(), shifted.begin() + 1));
}
