// Sample index rules (blocks, keep rules, flow views) and the strictness of the config parser.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "kernels/sample_index.hpp"
#include "support/error_of.hpp"
#include "support/image_reference.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

// A session with one packet per second in each direction for `seconds` (inclusive), the
// responder's first packet 0.5 s after the initiator's.
PacketStore steady_session(int seconds, uint32_t size = 200) {
  PacketStore s;
  std::vector<ft::Pkt> p;
  for (int i = 0; i <= seconds; ++i) {
    p.push_back({double(i), size, 0, 0});
    p.push_back({i + 0.5, size, 1, 0});
  }
  ft::add_flow(s, p);
  return s;
}

RepresentationConfig fp_config(const std::string& extra) {
  return RepresentationConfig::parse(R"({"type": "flowpic")" + (extra.empty() ? "" : ", " + extra) + "}", "repr.json");
}

std::string error_of(const std::string& text) {
  return flowpic::testing::error_of([&] { RepresentationConfig::parse(text, "repr.json"); });
}

}  // namespace

TEST(SampleIndex, UnidirectionalBlocksPerDirectionWithTheirOwnOrigin) {
  PacketStore s = steady_session(150);
  auto idx = build_sample_index(s, fp_config(""));
  // Each direction: blocks at 0, 60, 120 (starts <= last packet at 150 s); closed ends.
  ASSERT_EQ(idx.samples.size(), 6u);
  EXPECT_EQ(idx.stats.flow_views, 2u);
  const Sample& a = idx.samples[0];
  EXPECT_EQ(a.direction, 0);
  EXPECT_EQ(a.packets, 61u);  // t = 0..60, the packet at exactly 60 s included (closed end)
  EXPECT_EQ(a.window.directions, kDirInitiator);
  EXPECT_EQ(a.window.t0, 0.0);
  EXPECT_EQ(a.window.duration, 60.0);
  const Sample& r = idx.samples[3];
  EXPECT_EQ(r.direction, 1);
  EXPECT_EQ(r.start, 0.5);  // the responder's blocks start at its own first packet
  EXPECT_EQ(r.window.t0, 0.5);
  EXPECT_EQ(r.packets, 61u);
  EXPECT_EQ(idx.samples[2].packets, 31u);  // 120..150

  auto open = build_sample_index(s, fp_config(R"("block_end": "open")"));
  EXPECT_EQ(open.samples[0].packets, 60u);
}

TEST(SampleIndex, BidirectionalCompleteFirstAndStride) {
  PacketStore s = steady_session(150);
  auto bi = build_sample_index(s, fp_config(R"("flow_view": "bidirectional")"));
  ASSERT_EQ(bi.samples.size(), 3u);
  EXPECT_EQ(bi.samples[0].direction, 2);
  EXPECT_EQ(bi.samples[0].packets, 121u);  // 0..60 and 0.5..59.5

  auto complete = build_sample_index(s, fp_config(R"("flow_view": "bidirectional", "blocks": "complete")"));
  EXPECT_EQ(complete.samples.size(), 2u);  // [120, 180] ends after the last packet
  auto first = build_sample_index(s, fp_config(R"("flow_view": "bidirectional", "blocks": "first", "block_s": 15)"));
  ASSERT_EQ(first.samples.size(), 1u);
  EXPECT_EQ(first.samples[0].window.duration, 15.0);
  auto overlap =
      build_sample_index(s, fp_config(R"("flow_view": "bidirectional", "stride_s": 30, "blocks": "complete")"));
  EXPECT_EQ(overlap.samples.size(), 4u);  // starts 0, 30, 60, 90
  EXPECT_EQ(overlap.samples[1].start, 30.0);
}

TEST(SampleIndex, KeepRulesMinPacketsAndMinSpan) {
  PacketStore s;
  std::vector<ft::Pkt> p;
  for (int i = 0; i < 11; ++i) p.push_back({i * 5.0, 300, 0, 0});  // 11 packets over 50 s
  ft::add_flow(s, p);
  p.pop_back();
  ft::add_flow(s, p);  // 10 packets: not more than 10
  auto idx = build_sample_index(s, fp_config(""));
  EXPECT_EQ(idx.samples.size(), 1u);
  EXPECT_EQ(idx.stats.blocks_few_packets, 1u);
  // The paper code's span rule: more than 50 s. 11 packets spanning exactly 50 s fail it.
  auto span = build_sample_index(s, fp_config(R"("span_more_than_s": 50)"));
  EXPECT_EQ(span.samples.size(), 0u);
  EXPECT_EQ(span.stats.blocks_short_span, 1u);
  auto span49 = build_sample_index(s, fp_config(R"("span_more_than_s": 49.5)"));
  EXPECT_EQ(span49.samples.size(), 1u);
  auto any = build_sample_index(s, fp_config(R"("packets_more_than": 0)"));
  EXPECT_EQ(any.samples.size(), 2u);
}

TEST(SampleIndex, SpanAxisOversizeAndCsvFlows) {
  PacketStore s;
  std::vector<ft::Pkt> p;
  for (int i = 0; i < 20; ++i) p.push_back({2.0 + i, i == 0 ? 1600u : 300u, 0, kUnknownPayload});
  ft::add_flow(s, p, FlowView::kUnidirectional);
  auto idx = build_sample_index(s, fp_config(R"("time_axis": "span")"));
  ASSERT_EQ(idx.samples.size(), 1u);
  EXPECT_EQ(idx.stats.oversize_packets, 1u);
  EXPECT_EQ(idx.stats.flow_views, 1u);  // a CSV flow is imaged once, not per direction
  const Sample& x = idx.samples[0];
  EXPECT_EQ(x.packets, 19u);
  EXPECT_EQ(x.window.t0, 3.0);  // the oversize first packet does not count
  EXPECT_EQ(x.window.duration, 18.0);
  EXPECT_EQ(x.window.begin, 1u);
}

TEST(SampleIndex, SubsetOfFlows) {
  PacketStore s = steady_session(30);
  ft::add_flow(s, {{0, 100}});
  std::vector<uint32_t> flows{1};
  auto idx = build_sample_index(s, fp_config(R"("packets_more_than": 0)"), &flows);
  ASSERT_EQ(idx.samples.size(), 1u);
  EXPECT_EQ(idx.samples[0].flow, 1u);
  flows = {7};
  EXPECT_THROW(build_sample_index(s, fp_config(""), &flows), Error);
}

TEST(SampleIndex, LabelsOfSamples) {
  PacketStore s = steady_session(150);
  ft::add_flow(s, {{0, 100}, {1, 100}}, FlowView::kSession, 2);
  auto idx = build_sample_index(s, fp_config(R"("packets_more_than": 0)"));
  auto ids = sample_labels(s, idx, "category");
  ASSERT_EQ(ids.size(), idx.samples.size());
  EXPECT_EQ(ids.front(), 0);
  EXPECT_EQ(ids.back(), 2);
  EXPECT_THROW(sample_labels(s, idx, "application"), Error);
}

TEST(RepresentationConfigTest, RoundTripsThroughJsonWithEveryKey) {
  auto c =
      fp_config(R"("resolution": 32, "transform": "clip255", "flow_view": "bidirectional", "channels": "per_direction",
                      "time_axis": "span", "block_s": 15, "blocks": "first", "span_more_than_s": 5)");
  json j = c.to_json();
  EXPECT_EQ(j["resolution"], 32);
  EXPECT_EQ(j["stride_s"], 15.0);
  auto back = RepresentationConfig::from_json(j, {"resolved", ""});
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(back.channels(), 2);
  auto p = RepresentationConfig::parse(R"({"type": "payload_image", "length": 784, "variant": "two_channel"})", "x");
  EXPECT_EQ(p.height(), 28);
  EXPECT_EQ(p.channels(), 2);
  EXPECT_EQ(RepresentationConfig::from_json(p.to_json(), {"r", ""}).to_json(), p.to_json());
}

TEST(RepresentationConfigTest, ErrorsNameTheFileAndTheKey) {
  auto has = [](const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; };
  std::string e = error_of(R"({"type": "flowpic", "resolutoin": 32})");
  EXPECT_TRUE(has(e, "repr.json") && has(e, "resolutoin") && has(e, "unknown key")) << e;
  e = error_of(R"({"type": "flowpic", "resolution": 4})");
  EXPECT_TRUE(has(e, "resolution") && has(e, "8 to 1500")) << e;
  e = error_of(R"({"type": "flowpic", "transform": "sqrt"})");
  EXPECT_TRUE(has(e, "transform") && has(e, "clip255")) << e;
  e = error_of(R"({"type": "flowpic", "channels": "per_direction"})");
  EXPECT_TRUE(has(e, "channels") && has(e, "bidirectional")) << e;
  e = error_of(R"({"type": "flowpic", "block_s": -1})");
  EXPECT_TRUE(has(e, "block_s")) << e;
  e = error_of(R"({"type": "flowpic", "resolution": "32"})");
  EXPECT_TRUE(has(e, "resolution") && has(e, "integer")) << e;
  e = error_of(R"({"type": "flowpix"})");
  EXPECT_TRUE(has(e, "type") && has(e, "payload_image")) << e;
  e = error_of(R"({"resolution": 32})");
  EXPECT_TRUE(has(e, "type") && has(e, "missing")) << e;
  e = error_of(R"({"type": "payload_image", "length": 700})");
  EXPECT_TRUE(has(e, "length") && has(e, "square")) << e;
  e = error_of(R"({"type": "payload_image", "side": 28, "length": 100})");
  EXPECT_TRUE(has(e, "length") && has(e, "side")) << e;
  e = error_of(R"({"type": "payload_image", "variant": "colour"})");
  EXPECT_TRUE(has(e, "variant") && has(e, "two_channel")) << e;
}

TEST(RepresentationConfigTest, ShippedConfigsParse) {
  const std::string dir = std::string(FLOWPIC_SOURCE_DIR) + "/configs/representations/";
  for (const char* name : {"flowpic_paper.json", "flowpic_authors_code.json", "mini_flowpic_32.json",
                           "tcbench_flowpic_32.json", "payload_image_28.json"}) {
    auto c = RepresentationConfig::load(dir + name);
    EXPECT_EQ(RepresentationConfig::from_json(c.to_json(), {name, ""}).to_json(), c.to_json()) << name;
  }
  auto authors = RepresentationConfig::load(dir + "flowpic_authors_code.json");
  EXPECT_EQ(authors.flowpic.time_axis, TimeAxis::kSpan);
  EXPECT_EQ(*authors.flowpic.span_more_than_s, 50.0);
  EXPECT_EQ(authors.flowpic.blocks, BlockSelection::kFirstAndComplete);
  EXPECT_EQ(authors.flowpic.image.oversize, OversizeRule::kCount);
  auto tcbench = RepresentationConfig::load(dir + "tcbench_flowpic_32.json");
  EXPECT_EQ(tcbench.flowpic.image.oversize, OversizeRule::kClip);
  EXPECT_EQ(tcbench.flowpic.image.size_bins, SizeBins::kScaled);
  EXPECT_FALSE(tcbench.flowpic.closed_end);
}
