// Hostile input for ingestion: captures claiming absurd sizes, floods of tiny flows, and a kill in
// the middle of writing a store. Findings of the fuzz targets (tests/fuzz) are kept here as
// regression cases.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <dirent.h>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"
#include "dataset/capture_reader.hpp"
#include "dataset/csv_row.hpp"
#include "dataset/flow_assembler.hpp"
#include "dataset/ingest.hpp"
#include "dataset/label_map.hpp"
#include "dataset/packet_store.hpp"
#include "support/capture_diff.hpp"
#include "support/deadline.hpp"
#include "support/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kBase = 1700000000LL * 1000000000LL;

IngestOptions quiet() {
  IngestOptions o;
  o.progress = false;
  return o;
}

// A classic pcap file header (little-endian, microseconds) with the given snap length.
Bytes pcap_header(uint32_t snaplen, uint32_t link = 1) {
  Bytes b;
  put32le(b, 0xa1b2c3d4);
  put16le(b, 2);
  put16le(b, 4);
  put32le(b, 0);
  put32le(b, 0);
  put32le(b, snaplen);
  put32le(b, link);
  return b;
}
// One record: header claiming `caplen` / `len`, followed by `data`.
Bytes pcap_record(uint32_t sec, uint32_t caplen, uint32_t len, const Bytes& data) {
  Bytes b;
  put32le(b, sec);
  put32le(b, 0);
  put32le(b, caplen);
  put32le(b, len);
  return cat(b, data);
}

Bytes udp_frame(uint16_t sport) { return ether_ip(ipv4("10.0.0.1", "10.0.0.2", 17, udp(sport, 53, 20))); }

// Reads every record of a capture given as bytes; returns the damage message ("" when clean).
// CaptureReader's own loop and libpcap's must agree on it, at the default chunk and a small one.
std::string read_all(const Bytes& bytes, uint64_t* records = nullptr) {
  for (size_t chunk : {CaptureReader::kDefaultChunk, size_t{61}})
    EXPECT_EQ(diff_capture_bytes(bytes.data(), bytes.size(), chunk).difference, "") << "chunk " << chunk;
  FILE* f = fmemopen(const_cast<uint8_t*>(bytes.data()), bytes.size(), "rb");
  CaptureReader r(f, "mem.pcap");
  CaptureRecord rec;
  while (r.next(rec)) {}
  if (records) *records = r.records();
  return r.damage();
}

std::vector<std::string> partials_in(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d))
    if (std::string(e->d_name).find(".partial-") != std::string::npos) out.push_back(e->d_name);
  closedir(d);
  return out;
}

}  // namespace

// ---- Captures claiming absurd sizes: refused with a message, nothing large allocated. ----

TEST(HostileCapture, AbsurdSnapLengthInTheFileHeaderIsHarmless) {
  // libpcap clamps a header snap length over its maximum (262144) instead of trusting it.
  Bytes b = cat(pcap_header(0xFFFFFFF0u), pcap_record(1, 0, 0, {}));
  Bytes frame = udp_frame(1);
  b = cat(b, pcap_record(1, static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()), frame));
  uint64_t records = 0;
  EXPECT_EQ(read_all(b, &records), "");
  EXPECT_EQ(records, 2u);
}

TEST(HostileCapture, RecordClaimingGigabytesIsDamageNotAnAllocation) {
  Bytes frame = udp_frame(1);
  Bytes b = cat(pcap_header(65535),
                pcap_record(1, static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()), frame));
  b = cat(b, pcap_record(2, 0xFFFFFFF0u, 0xFFFFFFF0u, frame));  // caplen 4 GiB
  uint64_t records = 0;
  std::string damage = read_all(b, &records);
  EXPECT_EQ(records, 1u) << "the good packet before the damage is read";
  EXPECT_NE(damage.find("4294967280"), std::string::npos) << damage;
  EXPECT_EQ(damage.find('\n'), std::string::npos);
}

TEST(HostileCapture, IngestKeepsThePacketsBeforeAnAbsurdRecord) {
  TempDir dir;
  Bytes frame = udp_frame(1);
  Bytes b = cat(pcap_header(65535),
                pcap_record(1, static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()), frame));
  b = cat(b, pcap_record(2, 300000, 300000, frame));  // over libpcap's 262144 maximum
  write_bytes(dir.file("bad.pcap"), b);
  IngestReport r = ingest_captures({dir.file("bad.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.packets_kept, 1u);
  EXPECT_EQ(r.files_damaged, 1u);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  EXPECT_NE(s.sources[0].status.find("after 1 packets"), std::string::npos) << s.sources[0].status;
}

TEST(HostileCapture, PcapngBlockClaimingGigabytesIsDamage) {
  std::vector<TestPacket> pk = {{kBase, udp_frame(1)}, {kBase + 1000, udp_frame(1)}};
  Bytes b = pcapng_bytes(1, pk);
  // The second enhanced packet block starts where the first ends: make its total length absurd.
  Bytes good = pcapng_bytes(1, {pk[0]});
  ASSERT_LT(good.size() + 8, b.size());
  for (int i = 0; i < 4; ++i) b[good.size() + 4 + i] = 0xF0;
  uint64_t records = 0;
  std::string damage = read_all(b, &records);
  EXPECT_EQ(records, 1u);
  EXPECT_FALSE(damage.empty());
}

TEST(HostileCapture, PcapngTimePastTheYear2262IsDamage) {
  // fuzz_capture input: a pcapng time whose nanoseconds do not fit in int64_t overflowed in
  // CaptureReader::next (undefined behaviour, reported by the UBSan build).
  Bytes b = pcapng_bytes(1, {{kBase, udp_frame(1)}, {kBase, udp_frame(1)}});
  const size_t second = pcapng_bytes(1, {{kBase, udp_frame(1)}}).size();  // where the second packet's block starts
  ASSERT_EQ(b[second], 6);
  for (int i = 0; i < 4; ++i) b[second + 12 + i] = 0xFF;  // the timestamp's high word
  uint64_t records = 0;
  std::string damage = read_all(b, &records);
  EXPECT_EQ(damage.rfind("time stamp 1844674407", 0), 0u) << damage;
  EXPECT_NE(damage.find(" s is past the year 2262"), std::string::npos) << damage;
  EXPECT_EQ(records, 1u);
}

TEST(HostileCapture, PcapngSectionHeaderClaimingGigabytesIsRefused) {
  Bytes b = pcapng_bytes(1, {{kBase, udp_frame(1)}});
  for (int i = 0; i < 4; ++i) b[4 + i] = 0xF0;  // section header block total length
  FILE* f = fmemopen(b.data(), b.size(), "rb");
  try {
    CaptureReader r(f, "mem.pcapng");
    CaptureRecord rec;
    EXPECT_FALSE(r.next(rec));
    FAIL() << "opened a pcapng whose first block claims 4 GiB";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mem.pcapng"), std::string::npos) << e.what();
  }
}

// ---- Millions of tiny flows: memory bounded by FlowOptions::max_open_sessions. ----

TEST(HostileFlows, OpenSessionsStayUnderTheCap) {
  FlowOptions opt;
  opt.max_open_sessions = 1000;
  uint64_t packets = 0, flows = 0;
  FlowAssembler a(opt, [&](FlowRecord& r) {
    packets += r.size();
    ++flows;
  });
  DecodedPacket p;
  p.ip_version = 4;
  p.protocol = 17;
  p.dst_port = 53;
  p.ip_length = 60;
  // 200000 distinct 5-tuples inside one second, none of them idle long enough to expire.
  for (uint32_t i = 0; i < 200000; ++i) {
    p.src = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    p.src_port = static_cast<uint16_t>(1024 + i % 60000);
    a.add(p, kBase + i * 5000);
  }
  EXPECT_LE(a.peak_open_sessions(), 1000u);
  EXPECT_EQ(a.sessions_ended_early(), 199000u);
  a.finish();
  EXPECT_EQ(packets, 200000u) << "no packet is lost by ending sessions early";
  EXPECT_EQ(flows, 200000u);
}

TEST(HostileFlows, TheCapIsReportedAndRecorded) {
  TempDir dir;
  std::vector<TestPacket> pk;
  for (uint16_t i = 0; i < 300; ++i) pk.push_back({kBase + i * 1000, udp_frame(static_cast<uint16_t>(2000 + i))});
  write_pcap(dir.file("flood.pcap"), DLT_EN10MB, pk);
  IngestOptions o = quiet();
  o.flow.max_open_sessions = 50;
  IngestReport r = ingest_captures({dir.file("flood.pcap")}, dir.file("s.h5"), o);
  EXPECT_EQ(r.flows, 300u);
  EXPECT_EQ(r.sessions_ended_early, 250u);
  bool warned = false;
  for (const auto& w : r.warnings) warned = warned || w.find("250 sessions were ended early") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_NE(read_packet_store(dir.file("s.h5")).flow_options.find("\"max_open_sessions\":50"), std::string::npos);
  o.flow.max_open_sessions = 0;
  EXPECT_THROW(ingest_captures({dir.file("flood.pcap")}, dir.file("t.h5"), o), Error);
}

// ---- The authors' CSV: lines that must be refused, not stored. ----

TEST(HostileCsv, RefusedLinesSayWhyOnOneLine) {
  AuthorsCsvRowParser p;
  FlowRecord f;
  std::string name;
  uint64_t reordered = 0;
  for (const char* line : {
           "a,1.2.3.4,1,5.6.7.8,2,TCP,1e308,1,1e308,,1",             // start time + offset overflows
           "a,1.2.3.4,1,5.6.7.8,2,TCP,0,2,1e308,-1e308,,1,2",        // the span overflows
           "a,1.2.3.4,1,5.6.7.8,2,TCP,0,2,0,nan,,1,2",               // not a number
           "a,1.2.3.4,1,5.6.7.8,2,TCP,0,18446744073709551615,0,,1",  // absurd length
           "a,1.2.3.4,99999,5.6.7.8,2,TCP,0,1,0,,1",                 // port out of range
       }) {
    std::string err = p.parse(line, f, name, reordered);
    EXPECT_FALSE(err.empty()) << line;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

// ---- Atomic files: a run killed while writing leaves no complete-looking store. ----

TEST(AtomicWrite, IngestKilledMidWriteLeavesNoStoreAndARerunSucceeds) {
  const char* bin_dir = std::getenv("FLOWPIC_BIN_DIR");
  const std::string bin = std::string(bin_dir ? bin_dir : FLOWPIC_BINARY_DIR) + "/apps/flowpic_data";
  if (!file_exists(bin)) GTEST_SKIP() << "flowpic_data not built";
  TempDir dir;
  // A capture big enough that ingesting it takes a while: 600000 packets over 20000 flows.
  {
    std::vector<TestPacket> pk;
    pk.reserve(600000);
    for (uint32_t i = 0; i < 600000; ++i)
      pk.push_back({kBase + int64_t{i} * 100000, udp_frame(static_cast<uint16_t>(1024 + i % 20000))});
    write_pcap(dir.file("big.pcap"), DLT_EN10MB, pk);
  }
  const std::string out = dir.file("store.h5");
  auto start = [&] {
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(bin.c_str(), bin.c_str(), "ingest", dir.file("big.pcap").c_str(), "--out", out.c_str(), "--quiet", nullptr);
      _exit(127);
    }
    return pid;
  };
  pid_t pid = start();
  ASSERT_GT(pid, 0);
  // Wait until the temporary store exists (the writer has started), then kill without warning.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (partials_in(dir.path()).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(file_exists(out)) << "the ingest finished before it could be killed; make the capture bigger";
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(file_exists(out)) << "a killed ingest must not leave a store under the final name";
  EXPECT_EQ(partials_in(dir.path()).size(), 1u) << "the partial file is under a hidden temporary name";

  pid = start();
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  PacketStore s = read_packet_store(out);
  EXPECT_EQ(s.num_packets(), 600000u);
  EXPECT_TRUE(partials_in(dir.path()).empty()) << "the rerun removes the killed run's temporary file";
}

// ---- Inputs the fuzz targets found (tests/data/fuzz/), replayed through the same code. ----

// fuzz_store inputs: a damaged global heap (variable-length strings, store format 1) made libhdf5
// 1.10.8 loop forever or read out of bounds in H5HG_read. Strings are now written fixed-length
// and variable-length ones refused before the heap is read. Each replay runs in a child process
// with a deadline, so a regression fails the test instead of hanging or crashing the suite.
TEST(FuzzRegressions, StoresWithADamagedGlobalHeapAreRefusedQuickly) {
  for (const char* name : {"store_global_heap_hang.h5", "store_global_heap_segv.h5"}) {
    const std::string path = std::string(FLOWPIC_TEST_DATA_DIR) + "/fuzz/" + name;
    for (auto read :
         std::vector<std::function<void()>>{[&] { read_packet_store(path); }, [&] { PacketStoreReader r(path); },
                                            [&] { (void)describe_store(path); }}) {
      std::string outcome = outcome_in_child(read, 30);
      EXPECT_EQ(outcome.rfind("error: ", 0), 0u) << name << ": " << outcome;
      EXPECT_NE(outcome.find("variable-length string"), std::string::npos) << name << ": " << outcome;
    }
  }
}

TEST(FuzzRegressions, LabelMapWithANumberTooLargeForADouble) {
  // fuzz_label_map input: first line the capture name, the rest the map. json::out_of_range
  // escaped parse_json and terminated the program.
  Bytes in = read_bytes(std::string(FLOWPIC_TEST_DATA_DIR) + "/fuzz/label_map_number_overflow.txt");
  ASSERT_FALSE(in.empty());
  std::string text(in.begin(), in.end());
  std::string map = text.substr(text.find('\n') + 1);
  try {
    LabelMap::parse(map, "fuzz.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fuzz.json: JSON error"), std::string::npos) << e.what();
  }
}

namespace {

// A map with one rule per pattern (built with nlohmann::json: no escaping by hand).
LabelMap map_of(const std::vector<std::string>& patterns, const std::string& origin = "p.json") {
  json rules = json::array();
  for (const auto& p : patterns) rules.push_back({{"match", p}, {"labels", {{"c", "x"}}}});
  return LabelMap::parse(json{{"name", "m"}, {"columns", {"c"}}, {"rules", rules}}.dump(), origin);
}
std::string error_of(const std::vector<std::string>& patterns) {
  try {
    map_of(patterns);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(FuzzRegressions, LabelMapPatternsThatBrokeTheOldEnginesAreQuick) {
  // fuzz_label_map findings: "vpn_sk*****...ype_files\d+[ab]?" against "vpn_skype_audio1" ran for
  // minutes in std::regex (backtracking), and "e++++...+" made glibc's regcomp allocate
  // gigabytes. Patterns are now RE2's, in whose syntax a quantifier may not follow another: both
  // are refused by RE2's parser at once, with one line. Replayed in a child with a deadline.
  for (const char* name : {"label_map_backtracking.txt", "label_map_stacked_plus.txt"}) {
    Bytes in = read_bytes(std::string(FLOWPIC_TEST_DATA_DIR) + "/fuzz/" + name);
    ASSERT_FALSE(in.empty()) << name;
    std::string text(in.begin(), in.end());
    const auto t0 = std::chrono::steady_clock::now();
    std::string outcome = outcome_in_child(
        [&] {
          (void)LabelMap::parse(text.substr(text.find('\n') + 1), "fuzz.json").match(text.substr(0, text.find('\n')));
        },
        10);
    EXPECT_LT(seconds_since(t0), 1.0) << name;
    EXPECT_EQ(outcome.rfind("error: fuzz.json: rules[", 0), 0u) << name << ": " << outcome;
    EXPECT_NE(outcome.find("bad repetition operator"), std::string::npos) << name << ": " << outcome;
  }
}

TEST(LabelMapPatterns, WhatTheHandLimitsRefusedIsAcceptedAndQuick) {
  // Before RE2, counts over 255 and nested counts were refused by hand (the engines expanded
  // them while compiling) and the classic exponential patterns needed a linear engine. RE2
  // accepts counts up to 1000 (nested ones multiplied) and matches in time linear in the name.
  // Names built to make a backtracking engine explode: the longest file name (255), and longer.
  std::string outcome = outcome_in_child(
      [&] {
        const auto t0 = std::chrono::steady_clock::now();
        LabelMap m = map_of({"(a+)+b", "(a|aa)*c", "(a*)*b", "(a|a?)+y", "(a{30}){30}", "((a{10}){10}){10}y", "a{256}",
                             "a{1000}", "(?:a{2,}b?){1,20}z", "(x+x+)+y"});
        for (size_t n : {254, 1001, 5000})
          if (m.match(std::string(n, 'a') + "x.pcap").matched()) fail("matched ", n);
        if (!m.match(std::string(900, 'a')).matched() || !m.match(std::string(1000, 'A')).matched()) fail("no match");
        if (seconds_since(t0) > 1.0) fail("took ", seconds_since(t0), " s");
      },
      30);
  EXPECT_EQ(outcome, "returned without an error");
}

TEST(LabelMapPatterns, AProgramOverRe2sMemoryLimitIsOneLine) {
  // Unicode classes compile into many instructions: 1000 copies of \pL are over RE2's 8 MiB.
  const auto t0 = std::chrono::steady_clock::now();
  std::string e = error_of({"a", "\\pL{1000}"});
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_EQ(
      e,
      "p.json: rules[1].match: '\\pL{1000}' cannot be used: its compiled program is over RE2's 8 MiB limit (max_mem)");
  EXPECT_NO_THROW(map_of({"\\pL{100}"}));
}

TEST(LabelMapPatterns, WholeNameCaseInsensitive) {
  LabelMap m = map_of({"Skype_Chat\\d+[ab]?"});
  EXPECT_TRUE(m.match("skype_chat1a.pcap").matched());
  EXPECT_TRUE(m.match("SKYPE_CHAT12B.pcapng").matched());
  EXPECT_TRUE(m.match("/data/sKyPe_cHaT3").matched());
  EXPECT_FALSE(m.match("skype_chat").matched());
  EXPECT_FALSE(m.match("xskype_chat1").matched()) << "anchored at the start";
  EXPECT_FALSE(m.match("skype_chat1c").matched()) << "anchored at the end";
  EXPECT_TRUE(map_of({"[A-C]+"}).match("abcCBA").matched()) << "ranges fold too";
  EXPECT_TRUE(map_of({"a|b"}).match("B").matched()) << "an alternation is anchored as a whole";
  EXPECT_FALSE(map_of({"a|b"}).match("ab").matched());
  EXPECT_TRUE(map_of({"^a$"}).match("a").matched()) << "explicit anchors are harmless";
}

TEST(LabelMapPatterns, Re2SyntaxKeepsTheDocumentedFeatures) {
  EXPECT_TRUE(map_of({"scp\\d+[ab]?"}).match("SCP12b").matched()) << "case-insensitive, \\d";
  EXPECT_FALSE(map_of({"scp\\d+"}).match("scp12x").matched()) << "whole name";
  EXPECT_TRUE(map_of({"(?:a|b)\\w*?"}).match("a_z9").matched()) << "non-capturing group, lazy quantifier";
  EXPECT_TRUE(map_of({"x[\\d-]+"}).match("x1-2").matched()) << "escapes in a bracket expression";
  EXPECT_TRUE(map_of({"x[[:digit:]]\\s?\\.y"}).match("x1 .Y.pcap").matched()) << "POSIX class, \\s, escaped dot";
  EXPECT_TRUE(map_of({"tor_p2p_vuze(-\\d+)*"}).match("tor_p2p_vuze-1-2").matched());
  EXPECT_TRUE(map_of({"scp\\d+"}).match("scp1-2").matched()) << "split-file suffix removed";
  EXPECT_FALSE(map_of({"x"}).match(std::string(100000, 'x') + "-1").matched()) << "a long name";
  EXPECT_TRUE(map_of({"x+"}).match(std::string(100000, 'x')).matched());
  EXPECT_TRUE(map_of({"a+?b{2}c*"}).match("aabbc").matched()) << "lazy and counted quantifiers";
}

TEST(LabelMapPatterns, WhatRe2RefusesIsOneLineNamingTheRule) {
  struct Case {
    std::string pattern, says;
  };
  for (const Case& c : std::vector<Case>{
           {"b(", "'b(' is not a valid regular expression: missing ): b("},
           {"(a)\\1",
            "'(a)\\1' is not a valid regular expression: invalid escape sequence: \\1; backreferences are not "
            "supported"},
           {"a(?=b)", "lookaround is not supported"},
           {"(?<!a)b", "lookaround is not supported"},
           {"a**", "bad repetition operator: **; a quantifier may not follow another one"},
           {"a++", "bad repetition operator: ++"},
           {"a{2}*", "bad repetition operator: {2}*"},
           {"a{1001}", "invalid repetition size: {1001}; counts go up to 1000"},
           {"(a{200}){200}", "invalid repetition size: {200}; counts go up to 1000, nested counts multiplied"},
           {"[z-a]", "invalid character class range: z-a"},
       }) {
    std::string e = error_of({"ok\\d", c.pattern});
    EXPECT_EQ(e.rfind("p.json: rules[1].match: ", 0), 0u) << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  // The 1000-character limit stays, before RE2 sees the pattern.
  EXPECT_NO_THROW(map_of({std::string(1000, 'a')}));
  EXPECT_EQ(error_of({std::string(1001, 'a')}), "p.json: rules[0].match: the pattern is longer than 1000 characters");
}

TEST(LabelMapPatterns, Re2NeverWritesToStderr) {
  // RE2 logs refused patterns to stderr unless told not to; the one-line error is the only output.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fds[1], 2);
  for (const char* bad : {"(", "(a)\\1", "a**", "\\pL{1000}"}) (void)error_of({bad});
  (void)map_of({"(a|b)*c", ".{0,1000}(a|b){999}"}).match(std::string(100000, 'a'));  // RE2's DFA runs out
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buf[4096];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  EXPECT_LE(n, 0) << std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}
