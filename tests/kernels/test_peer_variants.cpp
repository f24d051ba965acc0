// The exact peer variants of FlowPic against numpy restatements of the peers' code
// (tests/data/peer_flowpics.json, written by scripts/make_peer_flowpic_references.py), pixel for
// pixel: tcbench's get_flowpic (configs/representations/tcbench_flowpic_32.json) on edge cases,
// random flows and the five real UC Davis sample flows, and the FlowPic authors' block loop
// (configs/representations/flowpic_authors_code.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/ucdavis_import.hpp"
#include "kernels/image_builder.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "kernels/sample_index.hpp"
#include "support/gpu.hpp"
#include "support/image_reference.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

const json& references() {
  static const json j = load_json_file(std::string(FLOWPIC_TEST_DATA_DIR) + "/peer_flowpics.json");
  return j;
}

RepresentationConfig shipped(const std::string& name, const json& changes = json::object()) {
  json j = load_json_file(std::string(FLOWPIC_SOURCE_DIR) + "/configs/representations/" + name);
  for (auto it = changes.begin(); it != changes.end(); ++it) j[it.key()] = it.value();
  return RepresentationConfig::from_json(j, {name, ""});
}

// The image of one sample, built by the CPU builder.
std::vector<float> image_of(const PacketStore& store, const RepresentationConfig& cfg, const Sample& s) {
  std::vector<float> img(cfg.image_floats());
  build_flowpic_cpu(host_columns(store), cfg.flowpic.image, &s.window, 1, img.data());
  return img;
}

// Every pixel of `img` against the expected cells ([row, column, count], zeros elsewhere), as
// counts (`clip` = false) or as tcbench's min(count, 255) / 255.
::testing::AssertionResult same_pixels(const std::vector<float>& img, int R, const json& cells, bool clip) {
  std::vector<float> want(static_cast<size_t>(R) * R, 0.0f);
  for (const auto& c : cells) {
    const uint32_t n = c[2].get<uint32_t>();
    want[c[0].get<size_t>() * R + c[1].get<size_t>()] =
        clip ? static_cast<float>(std::min(n, 255u)) / 255.0f : static_cast<float>(n);
  }
  if (img.size() != want.size()) return ::testing::AssertionFailure() << "image has " << img.size() << " pixels";
  size_t wrong = 0, first = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (img[i] != want[i] && wrong++ == 0) first = i;
  if (wrong == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << wrong << " pixels differ; first at row " << first / R << ", column "
                                       << first % R << ": " << img[first] << " instead of " << want[first];
}

TEST(PeerVariants, TcbenchGetFlowpicPixelForPixel) {
  const json& cases = references().at("tcbench");
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    PacketStore store;
    std::vector<Pkt> pkts;
    for (size_t i = 0; i < c.at("time").size(); ++i)
      pkts.push_back({c["time"][i].get<double>(), c["size"][i].get<uint32_t>(), c["direction"][i].get<uint8_t>(), 0});
    add_flow(store, pkts, FlowView::kSession);
    const int R = c.at("resolution").get<int>();
    for (bool clip : {false, true}) {
      const RepresentationConfig cfg =
          shipped("tcbench_flowpic_32.json",
                  {{"resolution", R}, {"block_s", c.at("block_s")}, {"transform", clip ? "clip255" : "raw"}});
      const SampleIndex index = build_sample_index(store, cfg);
      ASSERT_EQ(index.samples.size(), 1u);
      EXPECT_TRUE(same_pixels(image_of(store, cfg, index.samples[0]), R, c.at("cells"), clip))
          << (clip ? "clip255" : "raw");
    }
  }
}

TEST(PeerVariants, TcbenchOnTheRealUcdavisSampleFlows) {
  const std::string dir = std::string(FLOWPIC_SOURCE_DIR) + "/../shared/data/ucdavis-icdm19-sample";
  const json& cases = references().at("tcbench_ucdavis_sample");
  if (!std::filesystem::is_directory(dir) || cases.empty())
    GTEST_SKIP() << "no " << dir << " (or no references made from it)";
  TempDir tmp;
  UcdavisImportOptions o;
  o.partition = "sample";
  o.progress = false;
  import_ucdavis({dir}, tmp.file("s.h5"), o);
  const PacketStore store = read_packet_store(tmp.file("s.h5"));
  ASSERT_EQ(cases.size(), 15u);  // 5 flows x 3 resolutions
  for (const auto& c : cases) {
    const std::string file = c.at("file");
    const int R = c.at("resolution").get<int>();
    SCOPED_TRACE(file + " at " + std::to_string(R));
    std::vector<uint32_t> flow;
    for (uint32_t f = 0; f < store.num_flows(); ++f)
      if (store.label_of(f, "flow_id") == file) flow.push_back(f);
    ASSERT_EQ(flow.size(), 1u);
    const RepresentationConfig cfg = shipped("tcbench_flowpic_32.json", {{"resolution", R}, {"transform", "raw"}});
    const SampleIndex index = build_sample_index(store, cfg, &flow);
    ASSERT_EQ(index.samples.size(), 1u);
    EXPECT_TRUE(same_pixels(image_of(store, cfg, index.samples[0]), R, c.at("cells"), false));
  }
}

TEST(PeerVariants, TheAuthorsBlockLoopPixelForPixel) {
  const json& flows = references().at("authors");
  ASSERT_EQ(flows.size(), 5u);
  const RepresentationConfig cfg = shipped("flowpic_authors_code.json");
  size_t blocks = 0;
  for (const auto& c : flows) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    PacketStore store;
    std::vector<Pkt> pkts;
    for (size_t i = 0; i < c.at("time").size(); ++i)
      pkts.push_back({c["time"][i].get<double>(), c["size"][i].get<uint32_t>(), 0, 0});
    add_flow(store, pkts, FlowView::kUnidirectional);
    const SampleIndex index = build_sample_index(store, cfg);
    const json& want = c.at("blocks");
    ASSERT_EQ(index.samples.size(), want.size()) << "blocks the authors' loop keeps";
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(index.samples[i].index, want[i].at("block").get<uint32_t>());
      EXPECT_TRUE(same_pixels(image_of(store, cfg, index.samples[i]), 1500, want[i].at("cells"), false))
          << "block " << index.samples[i].index;
      ++blocks;
    }
  }
  EXPECT_EQ(blocks, 8u);
}

// What each option changes on its own, against the defaults (so that a test above cannot pass by
// the options doing nothing).
TEST(PeerVariants, EachOptionMatters) {
  PacketStore store;
  // 12 packets over 55 s, two of them oversize: 10 normal ones are not "more than 10".
  std::vector<Pkt> p;
  for (int i = 0; i < 12; ++i) p.push_back({i * 5.0, i % 6 == 5 ? 1600u : 27u + i, 0, 0});
  add_flow(store, p, FlowView::kUnidirectional);
  RepresentationConfig drop = shipped("flowpic_authors_code.json", {{"oversize", "drop"}});
  RepresentationConfig count = shipped("flowpic_authors_code.json");
  EXPECT_EQ(build_sample_index(store, drop).samples.size(), 0u);
  ASSERT_EQ(build_sample_index(store, count).samples.size(), 1u);
  EXPECT_EQ(build_sample_index(store, count).stats.oversize_packets, 2u);

  // clip draws an oversize packet at the top row, drop does not; scaled moves size 27 one row down at R = 1500.
  PacketStore one;
  add_flow(one, {{0.0, 2000, 0, 0}, {1.0, 27, 0, 0}}, FlowView::kSession);
  auto row_of = [&](const RepresentationConfig& cfg, int col) {
    const SampleIndex index = build_sample_index(one, cfg);
    if (index.samples.empty()) return -2;
    const std::vector<float> img = image_of(one, cfg, index.samples[0]);
    const int R = cfg.flowpic.image.resolution;
    for (int r = 0; r < R; ++r)
      if (img[static_cast<size_t>(r) * R + col] != 0) return r;
    return -1;
  };
  RepresentationConfig tcb = shipped("tcbench_flowpic_32.json", {{"resolution", 1500}, {"transform", "raw"}});
  EXPECT_EQ(row_of(tcb, 0), 1499);
  EXPECT_EQ(row_of(tcb, 100), 26);  // (27 / 1500) * 1500 = 26.999999999999996
  RepresentationConfig exact =
      shipped("tcbench_flowpic_32.json",
              {{"resolution", 1500}, {"transform", "raw"}, {"size_bins", "exact"}, {"oversize", "drop"}});
  // Dropped, the oversize packet does not even start the flow: the 27-byte packet is at time 0.
  EXPECT_EQ(row_of(exact, 0), 27);
  EXPECT_EQ(row_of(exact, 100), -1);

  // The authors' loop: a 52 s flow has block 0; "complete" has none.
  PacketStore short_flow;
  std::vector<Pkt> q;
  for (int i = 0; i < 40; ++i) q.push_back({i * 52.0 / 39, 500, 0, 0});
  add_flow(short_flow, q, FlowView::kUnidirectional);
  EXPECT_EQ(build_sample_index(short_flow, count).samples.size(), 1u);
  EXPECT_EQ(
      build_sample_index(short_flow, shipped("flowpic_authors_code.json", {{"blocks", "complete"}})).samples.size(),
      0u);
}

// The CUDA builder (through the front end) gives the CPU builder's bits for the new options: sizes
// clipped, the scaled size rule, counted oversize packets, on random flows with oversize packets.
TEST(PeerVariants, GpuEqualsCpuForEveryOption) {
  FLOWPIC_REQUIRE_GPU();
  std::mt19937_64 rng(77);
  PacketStore store;
  for (int f = 0; f < 12; ++f) add_flow(store, random_flow(rng, 400 + 150 * f, 0.05 + 0.02 * f), FlowView::kSession);
  const json variants[] = {
      {{"resolution", 32}},
      {{"resolution", 64}},
      {{"resolution", 1500}},
      {{"resolution", 1500}, {"transform", "raw"}},
      {{"resolution", 100}, {"size_bins", "exact"}},
      {{"resolution", 181}, {"oversize", "count"}, {"transform", "log1p"}},
      {{"resolution", 1500}, {"oversize", "drop"}, {"flow_view", "bidirectional"}, {"channels", "per_direction"}},
  };
  for (const json& v : variants) {
    SCOPED_TRACE(v.dump());
    const RepresentationConfig cfg = shipped("tcbench_flowpic_32.json", v);
    const std::vector<ImageWindow> w = build_sample_index(store, cfg).windows();
    ASSERT_FALSE(w.empty());
    const size_t n = cfg.image_floats();
    std::vector<float> cpu(w.size() * n), gpu(w.size() * n);
    make_image_builder(cfg.image_spec(), BuilderDevice::kCpu, host_columns(store))
        ->build_host(w.data(), w.size(), cpu.data());
    make_image_builder(cfg.image_spec(), BuilderDevice::kGpu, host_columns(store))
        ->build_host(w.data(), w.size(), gpu.data());
    if (cfg.flowpic.image.transform == PixelTransform::kLog1p) {
      for (size_t i = 0; i < cpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu[i], 1.2e-7 * std::max(1.0f, cpu[i])) << i;
    } else {
      EXPECT_EQ(gpu, cpu);
    }
  }
}

}  // namespace
