// The packet store: round trip of every column, atomic writing, read errors, merge; the authors'
// CSV import; the flowpic_data subcommands' exit codes.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "support/error_of.hpp"
#include "support/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

// A store with random flows written through PacketStoreWriter, kept in memory to compare against.
PacketStore write_random_store(const std::string& path, unsigned seed, int flows,
                               const std::vector<std::string>& columns = {"category", "app"}) {
  std::mt19937 rng(seed);
  PacketStore m;
  PacketStoreWriter w(path, columns);
  for (const auto& c : columns) m.labels.push_back({c, {}, {}});
  const std::vector<std::string> cats = {"VoIP", "Video", ""}, apps = {"Skype", "Zoom", "YouTube"};
  for (int s = 0; s < 3; ++s) {
    SourceInfo info;
    info.name = "src" + std::to_string(s) + ".pcap";
    info.path = "/captures/" + info.name;
    info.size_bytes = 1000 + s;
    info.packets_read = 50 + s;
    info.label_rule = s == 2 ? "" : "map.json: rules[" + std::to_string(s) + "]";
    info.status = s == 1 ? "truncated after 3 packets: x" : "ok";
    m.sources.push_back(info);
    EXPECT_EQ(w.add_source(info), static_cast<uint32_t>(s));
  }
  for (int f = 0; f < flows; ++f) {
    std::vector<std::string> values = {cats[rng() % 3], apps[rng() % 3]};
    values.resize(columns.size());
    w.set_current_labels(values);
    FlowRecord r;
    r.key.ip_version = (rng() & 1) ? 4 : 6;
    r.key.protocol = (rng() & 1) ? 6 : 17;
    r.key.port_a = static_cast<uint16_t>(rng());
    r.key.port_b = static_cast<uint16_t>(rng());
    for (int i = 0; i < (r.key.ip_version == 4 ? 4 : 16); ++i) {
      r.key.addr_a[i] = static_cast<uint8_t>(rng());
      r.key.addr_b[i] = static_cast<uint8_t>(rng());
    }
    r.start_time = 1.7e9 + rng() % 100000 * 1e-3;
    r.source = rng() % 3;
    r.view = (rng() % 4 == 0) ? FlowView::kUnidirectional : FlowView::kSession;
    size_t n = rng() % 3000;  // some flows cross the 65536-row append chunks, some are empty
    double t = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i) t += (rng() % 1000) * 1e-4;
      r.time.push_back(t);
      r.ip_length.push_back(40 + rng() % 9000);
      r.payload_length.push_back(rng() % 5 == 0 ? kUnknownPayload : rng() % 1460);
      r.direction.push_back(rng() & 1);
      r.tcp_flags.push_back(static_cast<uint8_t>(rng() & 0x3F));
    }
    w.add_flow(r);
    m.offsets.push_back(m.offsets.back() + n);
    m.keys.push_back(r.key);
    m.start_time.push_back(r.start_time);
    m.source.push_back(r.source);
    m.view.push_back(r.view);
    m.time.insert(m.time.end(), r.time.begin(), r.time.end());
    m.ip_length.insert(m.ip_length.end(), r.ip_length.begin(), r.ip_length.end());
    m.payload_length.insert(m.payload_length.end(), r.payload_length.begin(), r.payload_length.end());
    m.direction.insert(m.direction.end(), r.direction.begin(), r.direction.end());
    m.tcp_flags.insert(m.tcp_flags.end(), r.tcp_flags.begin(), r.tcp_flags.end());
    for (size_t c = 0; c < columns.size(); ++c) {
      LabelColumn& lc = m.labels[c];
      int32_t id = values[c].empty() ? -1 : lc.id_of(values[c]);
      if (!values[c].empty() && id < 0) {
        lc.values.push_back(values[c]);
        id = static_cast<int32_t>(lc.values.size() - 1);
      }
      lc.ids.push_back(id);
    }
  }
  w.add_skipped("arp", 7);
  w.add_skipped("filter:dns", 3);
  w.add_unmatched_source("src2");
  w.set_label_map("test", "{\"name\": \"test\"}");
  w.set_flow_options("{\"idle_timeout_s\": 120}");
  w.set_command("test command");
  EXPECT_EQ(w.flows(), static_cast<size_t>(flows));
  EXPECT_EQ(w.packets(), m.offsets.back());
  w.commit();
  m.skipped = {{"arp", 7}, {"filter:dns", 3}};
  m.unmatched_sources = {"src2"};
  return m;
}

void expect_same_flows(const PacketStore& a, const PacketStore& b) {
  EXPECT_EQ(a.offsets, b.offsets);
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (size_t f = 0; f < a.keys.size(); ++f) ASSERT_TRUE(a.keys[f] == b.keys[f]) << f;
  EXPECT_EQ(a.start_time, b.start_time);
  EXPECT_EQ(a.view, b.view);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.ip_length, b.ip_length);
  EXPECT_EQ(a.payload_length, b.payload_length);
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.tcp_flags, b.tcp_flags);
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  return v;
}

}  // namespace

TEST(PacketStore, RoundTripEveryColumn) {
  TempDir dir;
  std::string path = dir.file("s.h5");
  PacketStore m = write_random_store(path, 1, 200);
  ASSERT_GT(m.num_packets(), 65536u * 2);
  PacketStore s = read_packet_store(path);
  expect_same_flows(m, s);
  EXPECT_EQ(s.source, m.source);
  ASSERT_EQ(s.labels.size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(s.labels[c].name, m.labels[c].name);
    EXPECT_EQ(s.labels[c].values, m.labels[c].values);
    EXPECT_EQ(s.labels[c].ids, m.labels[c].ids);
  }
  ASSERT_EQ(s.sources.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.sources[i].name, m.sources[i].name);
    EXPECT_EQ(s.sources[i].path, m.sources[i].path);
    EXPECT_EQ(s.sources[i].size_bytes, m.sources[i].size_bytes);
    EXPECT_EQ(s.sources[i].packets_read, m.sources[i].packets_read);
    EXPECT_EQ(s.sources[i].label_rule, m.sources[i].label_rule);
    EXPECT_EQ(s.sources[i].status, m.sources[i].status);
  }
  EXPECT_EQ(s.skipped, m.skipped);
  EXPECT_EQ(s.unmatched_sources, m.unmatched_sources);
  EXPECT_EQ(s.label_map_name, "test");
  EXPECT_EQ(s.label_map_json, "{\"name\": \"test\"}");
  EXPECT_EQ(s.flow_options, "{\"idle_timeout_s\": 120}");
  EXPECT_EQ(s.command, "test command");
  EXPECT_EQ(s.created.size(), 20u);  // 2026-01-02T03:04:05Z
  // label_of agrees with the ids.
  for (size_t f = 0; f < s.num_flows(); ++f) {
    int32_t id = m.labels[0].ids[f];
    EXPECT_EQ(s.label_of(f, "category"), id < 0 ? "" : m.labels[0].values[static_cast<size_t>(id)]);
  }
  // A range of flows read on its own.
  PacketStoreReader reader(path);
  PacketStore part;
  reader.read_packets(50, 20, part);
  ASSERT_EQ(part.offsets.size(), 21u);
  EXPECT_EQ(part.offsets.back(), m.offsets[70] - m.offsets[50]);
  EXPECT_EQ(part.time, std::vector<double>(m.time.begin() + static_cast<long>(m.offsets[50]),
                                           m.time.begin() + static_cast<long>(m.offsets[70])));
  EXPECT_THROW(reader.read_packets(190, 20, part), Error);
}

TEST(PacketStore, EmptyStoreRoundTrips) {
  TempDir dir;
  {
    PacketStoreWriter w(dir.file("e.h5"), {});
    w.commit();
  }
  PacketStore s = read_packet_store(dir.file("e.h5"));
  EXPECT_EQ(s.num_flows(), 0u);
  EXPECT_EQ(s.num_packets(), 0u);
  EXPECT_EQ(s.offsets, std::vector<uint64_t>{0});
}

TEST(PacketStore, WriterWithoutCommitLeavesNoFile) {
  TempDir dir;
  {
    PacketStoreWriter w(dir.file("s.h5"), {"category"});
    w.add_source(SourceInfo{});
    w.set_current_labels({"VoIP"});
    FlowRecord r;
    r.time = {0, 1};
    r.ip_length = {60, 60};
    r.payload_length = {0, 0};
    r.direction = {0, 1};
    r.tcp_flags = {2, 18};
    w.add_flow(r);
    // Enough packets that blocks are queued to (and written by) the background writer.
    FlowRecord big;
    big.time.assign(300000, 0.5);
    big.ip_length.assign(300000, 1500);
    big.payload_length.assign(300000, 1460);
    big.direction.assign(300000, 1);
    big.tcp_flags.assign(300000, 16);
    w.add_flow(big);
    w.add_flow(big);
    EXPECT_EQ(dir_entries(dir.path()).size(), 1u);  // the temporary file, while writing
    EXPECT_FALSE(file_exists(dir.file("s.h5")));
  }
  EXPECT_TRUE(dir_entries(dir.path()).empty());
}

TEST(PacketStore, ReadErrorsNameThePathAndTheProblem) {
  TempDir dir;
  std::string good = dir.file("good.h5");
  write_random_store(good, 2, 5);
  EXPECT_NE(error_of([&] { read_packet_store(dir.file("none.h5")); }).find("none.h5: no such file"), std::string::npos);
  std::ofstream(dir.file("text.h5")) << "hello";
  EXPECT_NE(error_of([&] { read_packet_store(dir.file("text.h5")); }).find("not an HDF5 file"), std::string::npos);
  {
    h5::Id f = h5::create_file(dir.file("other.h5"));
    h5::set_attr(f, "x", int64_t{1});
  }
  std::string e = error_of([&] { read_packet_store(dir.file("other.h5")); });
  EXPECT_NE(e.find("other.h5: not a flowpic packet store"), std::string::npos) << e;

  auto copy = [&](const std::string& name) {
    std::filesystem::copy_file(good, dir.file(name));
    return dir.file(name);
  };
  std::string newer = copy("newer.h5");
  {
    h5::Id f = h5::open_file(newer, true);
    h5::set_attr(f, "format_version", int64_t{3});
  }
  e = error_of([&] { read_packet_store(newer); });
  EXPECT_NE(e.find("newer.h5: packet store format version 3 is newer than this program's 2"), std::string::npos) << e;
  std::string older = copy("older.h5");
  {
    h5::Id f = h5::open_file(older, true);
    h5::set_attr(f, "format_version", int64_t{1});
  }
  e = error_of([&] { read_packet_store(older); });
  EXPECT_NE(e.find("older.h5: packet store format version 1 was written by an older flowpic"), std::string::npos) << e;

  std::string missing = copy("missing.h5");
  {
    h5::Id f = h5::open_file(missing, true);
    H5Ldelete(f, "/packets/time", H5P_DEFAULT);
  }
  e = error_of([&] { read_packet_store(missing); });
  EXPECT_NE(e.find("missing.h5"), std::string::npos) << e;
  EXPECT_NE(e.find("/packets/time"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  std::string sizes = copy("sizes.h5");
  {
    h5::Id f = h5::open_file(sizes, true);
    h5::write<double>(f, "/flows/start_time", {1.0, 2.0});
  }
  e = error_of([&] { read_packet_store(sizes); });
  EXPECT_NE(e.find("sizes.h5: inconsistent packet store: flows/start_time has 2 entries for 5 flows"),
            std::string::npos)
      << e;

  std::string offsets = copy("offsets.h5");
  {
    h5::Id f = h5::open_file(offsets, true);
    auto o = h5::read<uint64_t>(f, "/flows/offsets");
    o.back() += 1;
    h5::write(f, "/flows/offsets", o);
  }
  e = error_of([&] { read_packet_store(offsets); });
  EXPECT_NE(e.find("offsets.h5: inconsistent packet store: flows/offsets ends at"), std::string::npos) << e;
}

TEST(PacketStore, MergeRemapsLabelsByNameAndConcatenatesSources) {
  TempDir dir;
  PacketStore a = write_random_store(dir.file("a.h5"), 3, 40, {"category", "app"});
  PacketStore b = write_random_store(dir.file("b.h5"), 4, 30, {"app", "encapsulation"});
  IngestReport r = merge_stores({dir.file("a.h5"), dir.file("b.h5")}, dir.file("m.h5"), "merge test", false);
  EXPECT_EQ(r.flows, 70u);
  PacketStore m = read_packet_store(dir.file("m.h5"));
  ASSERT_EQ(m.num_flows(), 70u);
  ASSERT_EQ(m.labels.size(), 3u);
  EXPECT_EQ(m.labels[0].name, "category");
  EXPECT_EQ(m.labels[1].name, "app");
  EXPECT_EQ(m.labels[2].name, "encapsulation");
  const PacketStore ra = read_packet_store(dir.file("a.h5")), rb = read_packet_store(dir.file("b.h5"));
  for (size_t f = 0; f < 40; ++f) {
    EXPECT_EQ(m.label_of(f, "app"), ra.label_of(f, "app"));
    EXPECT_EQ(m.label_of(f, "category"), ra.label_of(f, "category"));
    EXPECT_EQ(m.label_of(f, "encapsulation"), "");
    EXPECT_EQ(m.source[f], ra.source[f]);
    EXPECT_EQ(m.flow_end(f) - m.flow_begin(f), ra.flow_end(f) - ra.flow_begin(f));
  }
  for (size_t f = 0; f < 30; ++f) {
    EXPECT_EQ(m.label_of(40 + f, "app"), rb.label_of(f, "app"));
    EXPECT_EQ(m.label_of(40 + f, "encapsulation"), rb.label_of(f, "encapsulation"));
    EXPECT_EQ(m.label_of(40 + f, "category"), "");
    EXPECT_EQ(m.source[40 + f], rb.source[f] + 3);
    EXPECT_TRUE(m.keys[40 + f] == rb.keys[f]);
  }
  std::vector<double> times = ra.time;
  times.insert(times.end(), rb.time.begin(), rb.time.end());
  EXPECT_EQ(m.time, times);
  EXPECT_EQ(m.sources.size(), 6u);
  EXPECT_EQ(m.skipped.at("arp"), 14u);
  EXPECT_EQ(m.unmatched_sources, std::vector<std::string>{"src2"});
  EXPECT_EQ(m.command, "merge test");
  EXPECT_THROW(merge_stores({dir.file("a.h5")}, dir.file("a.h5"), "x", false), Error);
}

TEST(AuthorsCsv, ImportsRowsAndReportsMalformedLinesWithTheirNumber) {
  TempDir dir;
  std::string map = dir.file("labels.json");
  std::ofstream(map) << R"({"name": "m", "columns": ["category"],
    "rules": [{"match": "vpn_skype_audio\\d*", "labels": {"category": "VoIP"}}]})";
  std::string csv = dir.file("sessions.csv");
  std::ofstream(csv)
      << "vpn_skype_audio1,10.8.8.178,52436,192.168.1.1,443,TCP,1458324575.123456,3,0.0,0.5,1.25,,60,1400,52\r\n"
         "vpn_skype_audio1,10.8.8.178,oops,192.168.1.1,443,TCP,1458324575.1,1,0.0,,60\r\n"
         "vpn_skype_audio1,2001:db8::1,5353,2001:db8::2,53,UDP,1458324580.5,3,0.0,-0.25,2.0,,100,200,300\r\n"
         "\r\n"
         "unknown_capture,1.2.3.4,1,5.6.7.8,2,udp,1458324590,2,0,1,,10,20,\r\n"
         "vpn_skype_audio1,1.2.3.4,1,5.6.7.8,2,TCP,1458324590,3,0,1,,10,20\r\n";
  IngestOptions o;
  o.progress = false;
  o.label_map_paths = {map};
  IngestReport r = import_authors_csv({csv}, dir.file("s.h5"), o);
  EXPECT_EQ(r.malformed_lines, 2u);
  ASSERT_GE(r.warnings.size(), 2u);
  EXPECT_NE(r.warnings[0].find("sessions.csv:2: field 3 (port_src) is not a port number: 'oops'"), std::string::npos)
      << r.warnings[0];
  bool line6 = false;
  for (auto& w : r.warnings)
    line6 |= w.find("sessions.csv:6: length says 3 packets, so 15 fields, but the line has 13") != std::string::npos;
  EXPECT_TRUE(line6);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  ASSERT_EQ(s.num_flows(), 3u);
  EXPECT_EQ(s.keys[0].to_string(), "10.8.8.178:52436 -> 192.168.1.1:443 TCP");
  EXPECT_EQ(s.view[0], FlowView::kUnidirectional);
  EXPECT_DOUBLE_EQ(s.start_time[0], 1458324575.123456);
  EXPECT_EQ(std::vector<double>(s.time.begin(), s.time.begin() + 3), (std::vector<double>{0.0, 0.5, 1.25}));
  EXPECT_EQ(std::vector<uint32_t>(s.ip_length.begin(), s.ip_length.begin() + 3), (std::vector<uint32_t>{60, 1400, 52}));
  EXPECT_EQ(s.payload_length[0], kUnknownPayload);
  EXPECT_EQ(s.direction[1], 0);
  // Out-of-order times: sorted, earliest is 0, start moved back by 0.25 s.
  EXPECT_EQ(s.keys[1].to_string(), "[2001:db8::1]:5353 -> [2001:db8::2]:53 UDP");
  EXPECT_EQ(std::vector<double>(s.time.begin() + 3, s.time.begin() + 6), (std::vector<double>{0.0, 0.25, 2.25}));
  EXPECT_EQ(std::vector<uint32_t>(s.ip_length.begin() + 3, s.ip_length.begin() + 6),
            (std::vector<uint32_t>{200, 100, 300}));
  EXPECT_DOUBLE_EQ(s.start_time[1], 1458324580.25);
  EXPECT_EQ(s.label_of(0, "category"), "VoIP");
  EXPECT_EQ(s.label_of(2, "category"), "");  // unknown_capture (trailing comma accepted)
  EXPECT_EQ(s.unmatched_sources, std::vector<std::string>{"unknown_capture"});
  EXPECT_EQ(s.sources.size(), 2u);
  EXPECT_EQ(s.sources[0].name, "vpn_skype_audio1");
  EXPECT_EQ(s.sources[0].flows, 2u);
  EXPECT_EQ(s.sources[0].packets_reordered, 1u);
  EXPECT_NE(s.sources[0].status.find("2 malformed lines skipped (first at line 2)"), std::string::npos);
}

namespace {

// Runs flowpic_data with arguments; returns the exit status.
int run_cli(const std::string& args, std::string* output = nullptr) {
  const char* bin_dir = std::getenv("FLOWPIC_BIN_DIR");
  std::string bin = std::string(bin_dir ? bin_dir : FLOWPIC_BINARY_DIR) + "/apps/flowpic_data";
  if (!file_exists(bin)) return -1;
  std::string cmd = bin + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int st = pclose(p);
  if (output) *output = out;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

}  // namespace

TEST(Cli, SubcommandsExitCodesAndOutput) {
  TempDir dir;
  std::string out;
  if (run_cli("--version") < 0) GTEST_SKIP() << "flowpic_data not built";
  write_pcap(dir.file("a.pcap"), DLT_EN10MB,
             {{1700000000LL * 1000000000, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 10)))}});
  for (const char* sub : {"ingest", "import-csv", "info", "merge"}) {
    EXPECT_EQ(run_cli(std::string(sub) + " --help", &out), 0) << sub;
    EXPECT_NE(out.find("usage: flowpic_data"), std::string::npos) << sub;
    EXPECT_EQ(run_cli(std::string(sub) + " --no-such-option", &out), 2) << sub;
    EXPECT_NE(out.find("unknown option '--no-such-option'"), std::string::npos) << out;
  }
  EXPECT_EQ(run_cli("ingest " + dir.file("a.pcap"), &out), 2);  // no --out
  EXPECT_NE(out.find("--out STORE.h5 is required"), std::string::npos) << out;
  EXPECT_EQ(run_cli("ingest " + dir.file("a.pcap") + " --out " + dir.file("s.h5") + " --idle-timeout x", &out), 2);
  EXPECT_EQ(run_cli("ingest " + dir.file("a.pcap") + " --out " + dir.file("s.h5") + " --quiet --idle-timeout=60", &out),
            0)
      << out;
  EXPECT_NE(out.find("files: 1"), std::string::npos) << out;
  EXPECT_EQ(run_cli("info " + dir.file("s.h5"), &out), 0) << out;
  EXPECT_NE(out.find("1 flows, 1 packets, 1 sources"), std::string::npos) << out;
  EXPECT_EQ(
      run_cli("merge " + dir.file("s.h5") + " " + dir.file("s.h5") + " --out " + dir.file("m.h5") + " --quiet", &out),
      0)
      << out;
  EXPECT_EQ(run_cli("info " + dir.file("m.h5"), &out), 0);
  EXPECT_NE(out.find("2 flows, 2 packets, 2 sources"), std::string::npos) << out;
  EXPECT_EQ(run_cli("info " + dir.file("a.pcap"), &out), 1);
  EXPECT_NE(out.find("a.pcap: not an HDF5 file"), std::string::npos) << out;
}
