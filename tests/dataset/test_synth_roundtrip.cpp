// Generate -> ingest (with the shipped label maps) -> read the packet store -> compare with the
// generator's ground truth exactly: the same sessions (5-tuple, source file), packet counts,
// directions, sizes and times to the capture's resolution, and labels; background DNS/NTP dropped
// by the maps' flow filters.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "common/json_util.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/synth.hpp"
#include "dataset/synth_capture.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::synth;
using flowpic::testing::TempDir;

namespace {

std::array<uint8_t, 16> addr_bytes(const std::string& text) {
  std::array<uint8_t, 16> b{};
  if (inet_pton(AF_INET, text.c_str(), b.data()) == 1) return b;
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), b.data()), 1) << text;
  return b;
}

}  // namespace

TEST(SynthRoundTrip, IngestedStoreMatchesTheGroundTruthExactly) {
  TempDir dir;
  SynthOptions o;
  o.out_dir = dir.path();
  o.seed = 21;
  o.scale = 0.02;
  o.progress = false;
  generate_synthetic(o);
  json manifest = load_json_file(dir.file("manifest.json"));

  std::vector<std::string> captures;
  for (const auto& f : manifest["files"]) captures.push_back(dir.path() + "/captures/" + f["name"].get<std::string>());
  IngestOptions io;
  io.label_map_paths = {std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/iscx_vpn_nonvpn.json",
                        std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/iscx_tor.json"};
  io.progress = false;
  IngestReport report = ingest_captures(captures, dir.file("store.h5"), io);
  EXPECT_EQ(report.files, captures.size());
  EXPECT_EQ(report.files_damaged, 0u);
  PacketStore store = read_packet_store(dir.file("store.h5"));

  // The in-memory traces the captures were written from: per-packet truth.
  std::map<std::string, Trace> traces;
  for (const auto& spec : plan_captures(o.preset, o.scale, o.seed)) traces.emplace(spec.name, generate_capture(spec));

  // Ground truth sessions by (file, protocol, a, port a, b, port b).
  using Key = std::tuple<std::string, int, std::array<uint8_t, 16>, int, std::array<uint8_t, 16>, int>;
  std::map<Key, std::pair<const json*, const json*>> truth;  // -> (file entry, session entry)
  uint64_t background_packets = 0;
  for (const auto& f : manifest["files"])
    for (const auto& s : f["sessions"]) {
      if (s["role"] == kRoleBackground) {
        background_packets += s["packets"].get<uint64_t>();
        continue;
      }
      Key k{f["name"].get<std::string>(),
            s["protocol"] == "TCP" ? 6 : 17,
            addr_bytes(s["addr_a"].get<std::string>()),
            s["port_a"].get<int>(),
            addr_bytes(s["addr_b"].get<std::string>()),
            s["port_b"].get<int>()};
      ASSERT_TRUE(truth.emplace(k, std::make_pair(&f, &s)).second);
    }
  ASSERT_EQ(store.num_flows(), truth.size()) << "one flow per generated session; background filtered";
  uint64_t filtered = 0;
  for (const auto& [reason, n] : store.skipped)
    if (reason.rfind("filter:", 0) == 0) filtered += n;
  EXPECT_EQ(filtered, background_packets);
  EXPECT_TRUE(store.unmatched_sources.empty());

  std::map<Key, bool> seen;
  for (size_t fl = 0; fl < store.num_flows(); ++fl) {
    const FlowKey& k = store.keys[fl];
    const std::string file = store.sources[store.source[fl]].name;
    Key key{file, k.protocol, k.addr_a, k.port_a, k.addr_b, k.port_b};
    auto it = truth.find(key);
    ASSERT_NE(it, truth.end()) << file << ": unexpected flow " << k.to_string();
    ASSERT_FALSE(seen[key]) << "flow found twice: " << k.to_string();
    seen[key] = true;
    const json& fe = *it->second.first;
    const json& se = *it->second.second;
    SCOPED_TRACE(file + " " + k.to_string());
    EXPECT_EQ(k.ip_version, se["ip_version"].get<int>());
    const uint64_t b = store.flow_begin(fl), e = store.flow_end(fl);
    ASSERT_EQ(e - b, se["packets"].get<uint64_t>());
    // Labels from the shipped maps agree with the generator's (the maps call every browser "Browser").
    EXPECT_EQ(store.label_of(fl, "category"), fe["category"].get<std::string>());
    EXPECT_EQ(store.label_of(fl, "encapsulation"), fe["encapsulation"].get<std::string>());
    EXPECT_EQ(store.label_of(fl, "dataset"), fe["dataset"].get<std::string>());
    if (fe["category"] != "Browsing") {
      EXPECT_EQ(store.label_of(fl, "application"), fe["application"].get<std::string>());
    }
    // Packet by packet against the trace the capture was written from.
    const Trace& tr = traces.at(file);
    std::vector<const Packet*> pk;
    for (const auto& p : tr.packets) {
      const Session& s = tr.sessions[p.session];
      if (s.protocol == k.protocol && s.port_a == k.port_a && s.port_b == k.port_b && s.addr_a.bytes == k.addr_a &&
          s.addr_b.bytes == k.addr_b)
        pk.push_back(&p);
    }
    ASSERT_EQ(pk.size(), e - b);
    const bool nano = fe["tstamp_precision"] == "nano";
    EXPECT_NEAR(store.start_time[fl], pk[0]->t_ns * 1e-9, 1e-6);
    EXPECT_EQ(se["first_time_ns"].get<int64_t>(), pk[0]->t_ns);
    for (size_t i = 0; i < pk.size(); ++i) {
      const Packet& p = *pk[i];
      const Session& s = tr.sessions[p.session];
      ASSERT_EQ(store.ip_length[b + i], ip_length(s, p)) << "packet " << i;
      ASSERT_EQ(store.payload_length[b + i], p.payload) << "packet " << i;
      ASSERT_EQ(store.direction[b + i], p.dir) << "packet " << i;
      ASSERT_EQ(store.tcp_flags[b + i], s.protocol == 6 ? p.flags : 0) << "packet " << i;
      double want = (p.t_ns - pk[0]->t_ns) * 1e-9;
      ASSERT_NEAR(store.time[b + i], want, nano ? 2e-9 : 1e-6 + 1e-9) << "packet " << i;
    }
  }
}
