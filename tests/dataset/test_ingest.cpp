// Capture ingestion end to end: files written here (pcap through libpcap, pcapng by hand) ->
// ingest_captures -> the packet store read back.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "dataset/capture_reader.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "support/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kBase = 1700000000 * kSec;

// A short TCP conversation 10.0.0.1:<port> -> 10.0.0.2:443: handshake, `data` exchanges, FINs.
// `wrap` turns an IP packet into a frame of the capture's link type.
template <typename Wrap>
std::vector<TestPacket> tcp_conversation(Wrap wrap, uint16_t port, int64_t t0, int data = 3, size_t size = 500) {
  std::vector<TestPacket> v;
  int64_t t = t0;
  auto up = [&](uint8_t f, size_t n) {
    v.push_back({t, wrap(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(port, 443, f, n)))});
    t += 1000;
  };
  auto down = [&](uint8_t f, size_t n) {
    v.push_back({t, wrap(ipv4("10.0.0.2", "10.0.0.1", 6, tcp(443, port, f, n)))});
    t += 1000;
  };
  up(kSyn, 0);
  down(kSyn | kAck, 0);
  up(kAck, 0);
  for (int i = 0; i < data; ++i) {
    up(kAck | kPsh, 100);
    down(kAck | kPsh, size);
  }
  up(kFin | kAck, 0);
  down(kFin | kAck, 0);
  up(kAck, 0);
  return v;
}

Bytes eth(const Bytes& ip) { return ether_ip(ip); }

IngestOptions quiet() {
  IngestOptions o;
  o.progress = false;
  return o;
}

std::string write_label_map(const TempDir& dir) {
  std::string path = dir.file("labels.json");
  std::ofstream(path) << R"({
    "name": "test_map",
    "columns": ["category", "encapsulation"],
    "defaults": {"encapsulation": "Non-VPN"},
    "rules": [
      {"match": "alpha\\d*", "labels": {"category": "Alpha"}},
      {"match": "alp.*", "labels": {"category": "Overlap"}},
      {"match": "beta", "labels": {"category": "Beta", "encapsulation": "VPN"}}
    ],
    "flow_filters": [{"name": "dns", "protocol": "udp", "port": 53}]
  })";
  return path;
}

bool contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

const SourceInfo& source_named(const PacketStore& s, const std::string& name) {
  for (const auto& src : s.sources)
    if (src.name == name) return src;
  throw std::runtime_error("no source " + name);
}

}  // namespace

TEST(Ingest, PcapMicrosecondAndNanosecond) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase + 123456789);
  pk[1].time_ns += 500;  // 1.5 us after the first packet
  write_pcap(dir.file("us.pcap"), DLT_EN10MB, pk, false);
  write_pcap(dir.file("ns.pcap"), DLT_EN10MB, pk, true);
  IngestReport r = ingest_captures({dir.file("us.pcap"), dir.file("ns.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.flows, 2u);
  EXPECT_EQ(r.packets_kept, 2 * pk.size());
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_flows(), 2u);
  EXPECT_EQ(s.keys[0].to_string(), "10.0.0.1:5000 -> 10.0.0.2:443 TCP");
  // Microseconds: both times are cut to whole microseconds (.123456 and .123458); nanoseconds keep 1.5 us.
  EXPECT_NEAR(s.time[s.flow_begin(0) + 1], 2e-6, 1e-12);
  EXPECT_NEAR(s.start_time[0], 1700000000.123456, 1e-6);
  EXPECT_NEAR(s.time[s.flow_begin(1) + 1], 1.5e-6, 1e-12);
  EXPECT_NEAR(s.start_time[1], 1700000000.123456789, 1e-6);
  EXPECT_EQ(s.ip_length[s.flow_begin(0) + 3], 20u + 20 + 100);
  EXPECT_EQ(s.payload_length[s.flow_begin(0) + 4], 500u);
  EXPECT_EQ(s.direction[s.flow_begin(0) + 4], 1);
  EXPECT_EQ(s.sources[0].name, "us.pcap");
  EXPECT_EQ(s.sources[0].packets_read, pk.size());
  EXPECT_EQ(s.sources[0].status, "ok");
}

TEST(Ingest, PcapngNanosecondAndMicrosecond) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase + 7);
  write_bytes(dir.file("a.pcapng"), pcapng_bytes(DLT_EN10MB, pk, true));
  write_bytes(dir.file("b.pcapng"), pcapng_bytes(DLT_EN10MB, pk, false));
  IngestReport r = ingest_captures({dir.path()}, dir.file("s.h5"), quiet());  // a folder
  EXPECT_EQ(r.files, 2u);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_flows(), 2u);
  EXPECT_EQ(s.offsets[1], pk.size());
  EXPECT_NEAR(s.time[1], 1e-6, 1e-12);
  EXPECT_NEAR(s.time[s.offsets[1] + 1], 1e-6, 1e-12);
  EXPECT_EQ(s.sources[0].name, "a.pcapng");
}

TEST(Ingest, EveryLinkType) {
  TempDir dir;
  struct Case {
    std::string name;
    int dlt;
    std::function<Bytes(const Bytes&)> wrap;
  };
  std::vector<Case> cases = {
      {"ether", DLT_EN10MB, [](const Bytes& ip) { return ether_ip(ip); }},
      {"vlan", DLT_EN10MB, [](const Bytes& ip) { return ether_ip(ip, {0x8100}); }},
      {"qinq", DLT_EN10MB,
       [](const Bytes& ip) {
         return ether_ip(ip, {0x88A8, 0x8100});
       }},
      {"sll", DLT_LINUX_SLL, [](const Bytes& ip) { return sll(0x0800, ip); }},
      {"sll2", DLT_LINUX_SLL2, [](const Bytes& ip) { return sll2(0x0800, ip); }},
      {"raw", DLT_RAW, [](const Bytes& ip) { return ip; }},
      {"ipv4", 228, [](const Bytes& ip) { return ip; }},
      {"null", DLT_NULL, [](const Bytes& ip) { return loopback(2, ip, false); }},
      {"loop", DLT_LOOP, [](const Bytes& ip) { return loopback(2, ip, true); }},
  };
  std::vector<std::string> files;
  for (const auto& c : cases) {
    files.push_back(dir.file(c.name + ".pcap"));
    write_pcap(files.back(), c.dlt, tcp_conversation(c.wrap, 6000, kBase));
  }
  // IPv6 with extension headers, on LINKTYPE_IPV6.
  std::vector<TestPacket> v6;
  for (int i = 0; i < 4; ++i)
    v6.push_back({kBase + i * 1000, ipv6("2001:db8::1", "2001:db8::2", 17, udp(4000, 443, 1200), {{0, 8}, {60, 16}})});
  files.push_back(dir.file("ipv6.pcap"));
  write_pcap(files.back(), 229, v6);
  IngestReport r = ingest_captures(files, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.files_damaged, 0u) << r.summary();
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_flows(), cases.size() + 1);
  for (size_t f = 0; f < cases.size(); ++f) {
    EXPECT_EQ(s.flow_end(f) - s.flow_begin(f), 12u) << cases[f].name;
    EXPECT_EQ(s.keys[f].to_string(), "10.0.0.1:6000 -> 10.0.0.2:443 TCP") << cases[f].name;
    EXPECT_EQ(s.sources[s.source[f]].name, cases[f].name + ".pcap");
  }
  size_t f6 = cases.size();
  EXPECT_EQ(s.keys[f6].to_string(), "[2001:db8::1]:4000 -> [2001:db8::2]:443 UDP");
  EXPECT_EQ(s.ip_length[s.flow_begin(f6)], 40u + 24 + 8 + 1200);
  EXPECT_EQ(s.payload_length[s.flow_begin(f6)], 1200u);
}

TEST(Ingest, TruncatedCaptureKeepsCompletePackets) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase, 10);
  write_pcap(dir.file("whole.pcap"), DLT_EN10MB, pk);
  Bytes b = read_bytes(dir.file("whole.pcap"));
  b.resize(b.size() - 30);  // cut inside the last packet
  write_bytes(dir.file("cut.pcap"), b);
  IngestReport r = ingest_captures({dir.file("cut.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.files_damaged, 1u);
  EXPECT_EQ(r.packets_kept, pk.size() - 1);
  ASSERT_TRUE(contains(r.warnings, "cut.pcap: truncated after " + std::to_string(pk.size() - 1) + " packets"))
      << (r.warnings.empty() ? "" : r.warnings[0]);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_EQ(s.num_packets(), pk.size() - 1);
  EXPECT_EQ(s.sources[0].status.rfind("truncated after " + std::to_string(pk.size() - 1) + " packets", 0), 0u)
      << s.sources[0].status;

  // The same bytes through a FILE* (what a fuzzer feeds in), via fmemopen.
  FILE* mem = fmemopen(b.data(), b.size(), "rb");
  ASSERT_NE(mem, nullptr);
  CaptureReader reader(mem, "in-memory");
  CaptureRecord rec;
  size_t n = 0;
  while (reader.next(rec)) ++n;
  EXPECT_EQ(n, pk.size() - 1);
  EXPECT_NE(reader.damage().find("truncated"), std::string::npos) << reader.damage();
}

TEST(Ingest, BadFilesAreReportedAndSkippedOthersContinue) {
  TempDir dir;
  write_bytes(dir.file("empty.pcap"), {});
  std::ofstream(dir.file("text.pcap")) << "this is not a capture, just some text\n";
  write_pcap(dir.file("user0.pcap"), 147, {{kBase, Bytes(60, 0xAB)}});  // DLT_USER0: unknown
  Bytes header_only = read_bytes(dir.file("user0.pcap"));
  header_only.resize(10);  // a cut file header
  write_bytes(dir.file("cuthdr.pcap"), header_only);
  write_pcap(dir.file("good.pcap"), DLT_EN10MB, tcp_conversation(eth, 5000, kBase));
  IngestReport r = ingest_captures({dir.path()}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(r.files_damaged, 4u);
  EXPECT_EQ(r.flows, 1u);
  EXPECT_TRUE(contains(r.warnings, "empty.pcap: empty file"));
  EXPECT_TRUE(contains(r.warnings, "text.pcap: not a pcap or pcapng capture"));
  EXPECT_TRUE(contains(r.warnings, "user0.pcap: unknown link type 147"));
  EXPECT_TRUE(contains(r.warnings, "cuthdr.pcap:"));
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_EQ(s.sources.size(), 5u);
  EXPECT_EQ(source_named(s, "good.pcap").status, "ok");
  EXPECT_EQ(source_named(s, "text.pcap").status.rfind("skipped: ", 0), 0u);
  EXPECT_EQ(source_named(s, "user0.pcap").flows, 0u);
  // Nothing usable at all is an error, and no store is written.
  EXPECT_THROW(ingest_captures({dir.file("missing.pcap")}, dir.file("t.h5"), quiet()), Error);
  try {
    ingest_captures({dir.file("text.pcap"), dir.file("empty.pcap")}, dir.file("t.h5"), quiet());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("none of the 2 files could be read (first: "), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(dir.file("t.h5")));
}

TEST(Ingest, SkippedPacketsAreCountedByReason) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase);
  pk.push_back({kBase + 1, arp()});
  pk.push_back({kBase + 2, ether_ip(ipv4("10.0.0.1", "10.0.0.9", 1, icmp_echo(56)))});
  pk.push_back({kBase + 3, ether_ip(ipv4("10.0.0.1", "10.0.0.9", 17, Bytes(100, 0), 0, 185))});
  pk.push_back({kBase + 4, Bytes(8, 0)});
  write_pcap(dir.file("mixed.pcap"), DLT_EN10MB, pk);
  IngestReport r = ingest_captures({dir.file("mixed.pcap")}, dir.file("s.h5"), quiet());
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_EQ(s.skipped,
            (std::map<std::string, uint64_t>{{"arp", 1}, {"icmp", 1}, {"ipv4_fragment", 1}, {"truncated_header", 1}}));
  EXPECT_EQ(r.skipped, s.skipped);
  EXPECT_EQ(s.sources[0].packets_read, pk.size());
  EXPECT_EQ(s.sources[0].packets_kept, pk.size() - 4);
}

TEST(Ingest, PacketsOver1500BytesAreKeptAsTheyAre) {
  TempDir dir;
  std::vector<TestPacket> pk = {
      {kBase, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 8972)))},                 // jumbo frame
      {kBase + 1000, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 100), 0, 0, 0))},  // TSO: length 0
  };
  // A 64 kB offloaded segment captured with a 128-byte snap length.
  Bytes big = ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 64000)));
  uint32_t wire = static_cast<uint32_t>(big.size());
  big.resize(128);
  pk.push_back({kBase + 2000, big, wire});
  write_pcap(dir.file("big.pcap"), DLT_EN10MB, pk);
  ingest_captures({dir.file("big.pcap")}, dir.file("s.h5"), quiet());
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_packets(), 3u);
  EXPECT_EQ(s.ip_length, (std::vector<uint32_t>{20 + 8 + 8972, 20 + 8 + 100, 20 + 8 + 64000}));
  EXPECT_EQ(s.payload_length, (std::vector<uint32_t>{8972, 100, 64000}));
}

TEST(Ingest, OutOfOrderTimestampsInAFile) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase, 2);
  std::swap(pk[3].time_ns, pk[6].time_ns);  // swapped in time, not in the file
  write_pcap(dir.file("ooo.pcap"), DLT_EN10MB, pk, true);
  IngestReport r = ingest_captures({dir.file("ooo.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.packets_reordered, 3u);  // packets 4, 5, 6 came after the (later) packet 3
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_EQ(s.sources[0].packets_reordered, 3u);
  for (size_t i = 1; i < s.num_packets(); ++i) EXPECT_GE(s.time[i], s.time[i - 1]);
  // Sorted by time: the server's packet read 7th is now 4th, the client's read 4th is now 7th.
  EXPECT_EQ(s.direction[3], 1);
  EXPECT_EQ(s.ip_length[3], 540u);
  EXPECT_EQ(s.direction[6], 0);
  EXPECT_EQ(s.ip_length[6], 140u);
  EXPECT_NEAR(s.time[3], 3e-6, 1e-12);
}

TEST(Ingest, IdleTimeoutAndLingerOptionsApply) {
  TempDir dir;
  std::vector<TestPacket> pk;
  for (int i = 0; i < 6; ++i)
    pk.push_back({kBase + i * 40 * kSec, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1000, 2000, 10)))});
  write_pcap(dir.file("slow.pcap"), DLT_EN10MB, pk);
  IngestOptions o = quiet();
  EXPECT_EQ(ingest_captures({dir.file("slow.pcap")}, dir.file("a.h5"), o).flows, 1u);
  o.flow.idle_timeout_s = 30;
  EXPECT_EQ(ingest_captures({dir.file("slow.pcap")}, dir.file("b.h5"), o).flows, 6u);
  PacketStore s = read_packet_store(dir.file("b.h5"));
  EXPECT_NE(s.flow_options.find("\"idle_timeout_s\":30"), std::string::npos) << s.flow_options;
}

TEST(Ingest, FlowsNeverSpanFiles) {
  TempDir dir;
  std::vector<TestPacket> pk = tcp_conversation(eth, 5000, kBase, 4);
  std::vector<TestPacket> first(pk.begin(), pk.begin() + 6), second(pk.begin() + 6, pk.end());
  write_pcap(dir.file("part1.pcap"), DLT_EN10MB, first);
  write_pcap(dir.file("part2.pcap"), DLT_EN10MB, second);
  IngestReport r = ingest_captures({dir.file("part1.pcap"), dir.file("part2.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.flows, 2u);
}

TEST(Ingest, LabelsUnmatchedOverlappingAndFilters) {
  TempDir dir;
  std::string map = write_label_map(dir);
  make_dirs(dir.file("caps"));
  auto conv = tcp_conversation(eth, 5000, kBase);
  auto dns = std::vector<TestPacket>{{kBase + 5, ether_ip(ipv4("10.0.0.1", "8.8.8.8", 17, udp(3333, 53, 40)))},
                                     {kBase + 6, ether_ip(ipv4("8.8.8.8", "10.0.0.1", 17, udp(53, 3333, 120)))}};
  auto with_dns = conv;
  with_dns.insert(with_dns.end(), dns.begin(), dns.end());
  write_pcap(dir.file("caps/alpha1.pcap"), DLT_EN10MB, with_dns);
  write_pcap(dir.file("caps/BETA.pcap"), DLT_EN10MB, conv);
  write_pcap(dir.file("caps/zzz.pcap"), DLT_EN10MB, conv);
  write_pcap(dir.file("caps/beta-2.pcap"), DLT_EN10MB, conv);  // a split file: "-2" dropped
  IngestOptions o = quiet();
  o.label_map_paths = {map};
  IngestReport r = ingest_captures({dir.file("caps")}, dir.file("s.h5"), o);
  EXPECT_TRUE(contains(r.warnings, "zzz.pcap: no label rule matches 'zzz'"));
  EXPECT_TRUE(contains(r.warnings, "alpha1.pcap: label rules overlap"));
  EXPECT_EQ(r.skipped.at("filter:dns"), 2u);
  EXPECT_EQ(r.flows_per_label.at("category=Alpha"), 1u);
  EXPECT_EQ(r.flows_per_label.at("category=Beta"), 2u);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_EQ(s.label_map_name, "test_map");
  EXPECT_NE(s.label_map_json.find("alpha"), std::string::npos);
  EXPECT_EQ(s.unmatched_sources, (std::vector<std::string>{"zzz"}));
  EXPECT_EQ(s.skipped.at("filter:dns"), 2u);
  ASSERT_EQ(s.num_flows(), 4u);  // the DNS flow is dropped
  std::map<std::string, std::string> category, encapsulation;
  for (size_t f = 0; f < s.num_flows(); ++f) {
    category[s.sources[s.source[f]].name] = s.label_of(f, "category");
    encapsulation[s.sources[s.source[f]].name] = s.label_of(f, "encapsulation");
  }
  EXPECT_EQ(category["alpha1.pcap"], "Alpha");
  EXPECT_EQ(category["BETA.pcap"], "Beta");
  EXPECT_EQ(category["beta-2.pcap"], "Beta");
  EXPECT_EQ(category["zzz.pcap"], "");
  EXPECT_EQ(encapsulation["alpha1.pcap"], "Non-VPN");
  EXPECT_EQ(encapsulation["BETA.pcap"], "VPN");
  EXPECT_EQ(source_named(s, "zzz.pcap").label_rule, "");
  EXPECT_NE(source_named(s, "alpha1.pcap").label_rule.find("alpha"), std::string::npos);
  EXPECT_EQ(s.label_of(0, "no such column"), "");
  EXPECT_EQ(s.label_column("encapsulation"), 1);
}

TEST(Ingest, ProjectLabelMapsLoadTogether) {
  TempDir dir;
  write_pcap(dir.file("vpn_skype_audio1.pcap"), DLT_EN10MB, tcp_conversation(eth, 5000, kBase));
  write_pcap(dir.file("VOIP_gate_Skype_Audio.pcap"), DLT_EN10MB, tcp_conversation(eth, 5001, kBase));
  IngestOptions o = quiet();
  o.label_map_paths = {std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/iscx_vpn_nonvpn.json",
                       std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/iscx_tor.json"};
  IngestReport r = ingest_captures({dir.path()}, dir.file("s.h5"), o);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_flows(), 2u);
  EXPECT_TRUE(s.unmatched_sources.empty());
  for (size_t f = 0; f < 2; ++f) EXPECT_EQ(s.label_of(f, "category"), "VoIP");
}
