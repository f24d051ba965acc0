// Payload-size images on hand-made sessions, and the CPU builder against the reference.
#include <gtest/gtest.h>

#include <random>

#include "kernels/image_builder_cpu.hpp"
#include "kernels/sample_index.hpp"
#include "support/image_reference.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;
using ft::GuardedBatch;

namespace {

PacketStore hand_made() {
  PacketStore s;
  // Session 0: SYN, SYN-ACK, ACK (no payload), then sizes 100 (init), 1500 (resp), 0 (ACK),
  // 3000 (resp, clipped to 1500), 750 (init).
  ft::add_flow(s, {{0.0, 60, 0, 0},
                   {0.01, 60, 1, 0},
                   {0.02, 52, 0, 0},
                   {0.03, 140, 0, 100},
                   {0.04, 1540, 1, 1500},
                   {0.05, 52, 0, 0},
                   {0.06, 3040, 1, 3000},
                   {0.07, 790, 0, 750}});
  return s;
}

std::vector<float> build_one(const PacketStore& s, const PayloadSpec& spec, const ImageWindow& w) {
  GuardedBatch b(1, spec.image_floats());
  build_payload_image_cpu(host_columns(s), spec, &w, 1, b.data());
  EXPECT_TRUE(b.intact());
  return b.image(0);
}

}  // namespace

TEST(PayloadImage, GreySignedAndTwoChannelOnAHandMadeSession) {
  PacketStore s = hand_made();
  ImageWindow w;
  w.begin = 0;
  w.end = 8;
  PayloadSpec spec;
  spec.side = 3;  // N = 9: four sizes then padding
  auto g = build_one(s, spec, w);
  EXPECT_EQ(g, (std::vector<float>{100 / 1500.0f, 1.0f, 1.0f, 0.5f, 0, 0, 0, 0, 0}));

  spec.variant = PayloadVariant::kSigned;
  auto sg = build_one(s, spec, w);
  EXPECT_EQ(sg, (std::vector<float>{1600 / 3000.0f, 0.0f, 0.0f, 0.75f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}));

  spec.variant = PayloadVariant::kTwoChannel;
  auto two = build_one(s, spec, w);
  EXPECT_EQ(two, (std::vector<float>{100 / 1500.0f, 0, 0, 0.5f, 0, 0, 0, 0, 0,  // initiator
                                     0, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0}));        // responder

  // N smaller than the session: only the first N sizes.
  spec.variant = PayloadVariant::kGrey;
  spec.side = 1;
  EXPECT_EQ(build_one(s, spec, w), (std::vector<float>{100 / 1500.0f}));
}

TEST(PayloadImage, SampleIndexDropsShortAndUnknownSessionsAndCutsSubflows) {
  PacketStore s = hand_made();                                         // 4 sizes
  ft::add_flow(s, {{0, 60, 0, 0}, {1, 100, 0, 60}, {2, 100, 1, 60}});  // 2 sizes: dropped (< 3)
  ft::add_flow(s,
               {{0, 100, 0, kUnknownPayload},
                {1, 100, 0, kUnknownPayload},
                {2, 100, 0, kUnknownPayload},
                {3, 100, 0, kUnknownPayload}},
               FlowView::kUnidirectional);  // CSV import: payload unknown
  std::vector<ft::Pkt> longer;
  for (int i = 0; i < 23; ++i) longer.push_back({i * 0.1, 100u + i, static_cast<uint8_t>(i % 2), i % 5 ? 60u + i : 0u});
  ft::add_flow(s, longer);  // 23 packets, 18 with payload

  auto cfg = RepresentationConfig::parse(R"({"type": "payload_image", "side": 2, "min_sizes": 3})", "test");
  auto idx = build_sample_index(s, cfg);
  ASSERT_EQ(idx.samples.size(), 2u);
  EXPECT_EQ(idx.stats.sessions_few_sizes, 1u);
  EXPECT_EQ(idx.stats.sessions_unknown_payload, 1u);
  EXPECT_EQ(idx.samples[0].flow, 0u);
  EXPECT_EQ(idx.samples[0].window.begin, 3u);
  EXPECT_EQ(idx.samples[0].window.end, 8u);
  EXPECT_EQ(idx.samples[1].flow, 3u);

  cfg =
      RepresentationConfig::parse(R"({"type": "payload_image", "side": 2, "min_sizes": 3, "subflows": "all"})", "test");
  idx = build_sample_index(s, cfg);
  // Session 0: one subflow of 4; session 3: 18 sizes = 4 full subflows + 2 (dropped).
  ASSERT_EQ(idx.samples.size(), 1u + 4u);
  EXPECT_EQ(idx.stats.subflows_few_sizes, 1u);
  for (size_t i = 1; i < idx.samples.size(); ++i) {
    EXPECT_EQ(idx.samples[i].index, i - 1);
    EXPECT_EQ(idx.samples[i].packets, 4u);
  }
  // Every subflow image is exactly its four sizes.
  auto w = idx.windows();
  GuardedBatch b(w.size(), 4);
  build_payload_image_cpu(host_columns(s), cfg.payload.image, w.data(), w.size(), b.data(), 2);
  ASSERT_TRUE(b.intact());
  std::vector<float> sizes;
  for (uint64_t p = s.offsets[3]; p < s.offsets[4]; ++p)
    if (s.payload_length[p]) sizes.push_back(s.payload_length[p] / 1500.0f);
  for (size_t k = 0; k < 4; ++k)
    EXPECT_EQ(b.image(1 + k), std::vector<float>(sizes.begin() + 4 * k, sizes.begin() + 4 * k + 4)) << k;
}

TEST(PayloadImage, RandomSessionsMatchTheReference) {
  std::mt19937_64 rng(99);
  PacketStore s;
  for (int f = 0; f < 30; ++f) ft::add_flow(s, ft::random_flow(rng, 5 + 60 * f, 0.1));
  for (auto variant : {PayloadVariant::kGrey, PayloadVariant::kSigned, PayloadVariant::kTwoChannel}) {
    for (int side : {28, 5}) {
      PayloadImageConfig c;
      c.image.side = side;
      c.image.variant = variant;
      c.all_subflows = true;
      RepresentationConfig cfg;
      cfg.type = RepresentationConfig::Type::kPayloadImage;
      cfg.payload = c;
      auto idx = build_sample_index(s, cfg);
      ASSERT_GT(idx.samples.size(), 10u);
      auto w = idx.windows();
      GuardedBatch b(w.size(), c.image.image_floats());
      build_payload_image_cpu(host_columns(s), c.image, w.data(), w.size(), b.data());
      ASSERT_TRUE(b.intact());
      for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(b.image(i), ft::reference_payload(s, c.image, w[i])) << i;
    }
  }
}
