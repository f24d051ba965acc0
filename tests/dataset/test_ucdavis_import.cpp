// The UC Davis ICDM'19 import: the five real sample flows of ../shared/data (counts, times,
// directions, sizes and labels exactly as in the files), the three folder layouts, and damaged,
// empty and out-of-order files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/ucdavis_import.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

namespace fs = std::filesystem;

const std::string kSample = std::string(FLOWPIC_SOURCE_DIR) + "/../shared/data/ucdavis-icdm19-sample";

UcdavisImportOptions quiet(const std::string& partition = "") {
  UcdavisImportOptions o;
  o.partition = partition;
  o.progress = false;
  o.command = "test";
  return o;
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// The flow of `store` whose flow_id is `id` (-1 when none).
int flow_with_id(const PacketStore& s, const std::string& id) {
  for (size_t f = 0; f < s.num_flows(); ++f)
    if (s.label_of(f, "flow_id") == id) return static_cast<int>(f);
  return -1;
}

struct Line {
  double absolute, time;
  uint32_t size;
  int direction;
};

std::vector<Line> read_lines(const fs::path& p) {
  std::vector<Line> v;
  std::ifstream in(p);
  std::string s;
  while (std::getline(in, s)) {
    if (s.empty()) continue;
    std::istringstream ls(s);
    Line l{};
    ls >> l.absolute >> l.time >> l.size >> l.direction;
    v.push_back(l);
  }
  return v;
}

TEST(UcdavisImport, TheFiveRealSampleFlowsAsInTheirFiles) {
  if (!fs::is_directory(kSample)) GTEST_SKIP() << "no " << kSample << " (the shared data folder beside the repository)";
  TempDir tmp;
  const std::string out = tmp.file("store.h5");
  IngestReport r = import_ucdavis({kSample}, out, quiet("retraining-human-triggered"));
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(r.flows, 5u);
  EXPECT_EQ(r.files_damaged, 0u);
  EXPECT_EQ(r.malformed_lines, 0u);
  EXPECT_EQ(r.flows_per_label["app=youtube"], 1u);
  EXPECT_EQ(r.flows_per_label["partition=retraining-human-triggered"], 5u);

  PacketStore s = read_packet_store(out);
  ASSERT_EQ(s.num_flows(), 5u);
  const std::map<std::string, std::string> files = {{"google-doc", "Google Doc/GoogleDoc-3.txt"},
                                                    {"google-drive", "Google Drive/GoogleDrive-test1.txt"},
                                                    {"google-music", "Google Music/GoogleMusic-8.txt"},
                                                    {"google-search", "Google Search/GoogleSearch-7.txt"},
                                                    {"youtube", "Youtube/Youtube-20.txt"}};
  uint64_t packets = 0;
  for (const auto& [app, rel] : files) {
    SCOPED_TRACE(rel);
    const fs::path path = fs::path(kSample) / rel;
    const int f = flow_with_id(s, path.filename().string());
    ASSERT_GE(f, 0);
    EXPECT_EQ(s.label_of(f, "app"), app);
    EXPECT_EQ(s.label_of(f, "partition"), "retraining-human-triggered");
    EXPECT_EQ(s.view[f], FlowView::kSession);
    const std::vector<Line> lines = read_lines(path);
    ASSERT_EQ(s.flow_end(f) - s.flow_begin(f), lines.size());
    packets += lines.size();
    EXPECT_DOUBLE_EQ(s.start_time[f], lines[0].absolute);
    size_t both[2] = {0, 0};
    for (size_t i = 0; i < lines.size(); ++i) {
      const uint64_t p = s.flow_begin(f) + i;
      ASSERT_DOUBLE_EQ(s.time[p], lines[i].time) << "packet " << i;
      ASSERT_EQ(s.ip_length[p], lines[i].size) << "packet " << i;
      ASSERT_EQ(s.direction[p], lines[i].direction) << "packet " << i;
      ASSERT_EQ(s.payload_length[p], kUnknownPayload);
      ++both[s.direction[p] & 1];
    }
    EXPECT_GT(both[0], 0u);  // both directions of the flow
    EXPECT_GT(both[1], 0u);
  }
  EXPECT_EQ(r.packets_kept, packets);
  EXPECT_EQ(packets, 1642u + 13709u + 4388u + 903u + 25480u);  // the files' line counts
}

TEST(UcdavisImport, RootPartitionAndClassFolderLayouts) {
  TempDir tmp;
  const fs::path root = tmp.file("UCDavis-ICDM19");
  write_file(root / "pretraining/Google Doc/GoogleDoc-1.txt", "100.5\t0\t300\t1\n100.6\t0.1\t80\t0\n");
  write_file(root / "pretraining/Youtube/Youtube-1.txt", "200\t0\t1412\t1\n200.2\t0.2\t1412\t1\n");
  write_file(root / "Retraining(script-triggered)/Google Search/GoogleSearch-1.txt", "300\t0\t60\t0\n");
  write_file(root / "Retraining(human-triggered)/Google Music/GoogleMusic-1.txt", "400\t0\t90\t0\n");
  write_file(root / "notes/readme.txt", "not a partition\n");

  // The dataset root: every partition, named as tcbench names them.
  PacketStore all = read_packet_store([&] {
    import_ucdavis({root.string()}, tmp.file("all.h5"), quiet());
    return tmp.file("all.h5");
  }());
  ASSERT_EQ(all.num_flows(), 4u);
  std::map<std::string, std::string> partition_of;
  for (size_t f = 0; f < all.num_flows(); ++f) partition_of[all.label_of(f, "flow_id")] = all.label_of(f, "partition");
  EXPECT_EQ(partition_of["GoogleDoc-1.txt"], "pretraining");
  EXPECT_EQ(partition_of["Youtube-1.txt"], "pretraining");
  EXPECT_EQ(partition_of["GoogleSearch-1.txt"], "retraining-script-triggered");
  EXPECT_EQ(partition_of["GoogleMusic-1.txt"], "retraining-human-triggered");

  // One partition folder.
  IngestReport r = import_ucdavis({(root / "Retraining(script-triggered)").string()}, tmp.file("script.h5"), quiet());
  EXPECT_EQ(r.flows, 1u);
  EXPECT_EQ(read_packet_store(tmp.file("script.h5")).label_of(0, "partition"), "retraining-script-triggered");

  // A folder of class folders needs --partition.
  const std::string classes = (root / "pretraining").string() + "-copy";
  fs::copy(root / "pretraining", classes, fs::copy_options::recursive);
  const std::string e = error_of([&] { import_ucdavis({classes}, tmp.file("x.h5"), quiet()); });
  EXPECT_NE(e.find(classes), std::string::npos) << e;
  EXPECT_NE(e.find("--partition"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(tmp.file("x.h5")));
  r = import_ucdavis({classes}, tmp.file("named.h5"), quiet("my-partition"));
  EXPECT_EQ(r.flows, 2u);
  EXPECT_EQ(read_packet_store(tmp.file("named.h5")).label_of(1, "partition"), "my-partition");

  EXPECT_NE(error_of([&] { import_ucdavis({tmp.file("missing")}, tmp.file("y.h5"), quiet()); }).find("no such folder"),
            std::string::npos);
}

TEST(UcdavisImport, DamagedEmptyAndOutOfOrderFiles) {
  TempDir tmp;
  const fs::path dir = tmp.file("part");
  write_file(dir / "Google Doc/damaged.txt",
             "10\t0\t100\t0\n"
             "10.1\t0.1\t200\n"        // 3 columns
             "10.2\t0.2\t300\t2\n"     // direction 2
             "10.3\tx\t300\t1\n"       // not a number
             "10.4\t0.4\t0\t1\n"       // size 0
             "10.5\t-0.5\t100\t1\n"    // negative time
             "10.6\t0.6\t70000\t1\n"   // size over 65535
             "\n"                      // blank: ignored
             "10.7\t0.7\t400\t1\t9\n"  // 5 columns
             "10.8\t0.8\t500\t1\n");
  write_file(dir / "Google Doc/empty.txt", "");
  write_file(dir / "Google Doc/all-bad.txt", "garbage\nmore garbage here\n");
  write_file(dir / "Google Drive/late.txt", "50.2\t0.2\t10\t0\n50\t0\t20\t1\n50.1\t0.1\t30\t0\n");
  write_file(dir / "Hangouts/h.txt", "1\t0\t40\t0\n");

  IngestReport r = import_ucdavis({dir.string()}, tmp.file("s.h5"), quiet("p"));
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(r.flows, 3u);
  EXPECT_EQ(r.files_damaged, 3u);      // damaged, empty, all-bad
  EXPECT_EQ(r.malformed_lines, 9u);    // 7 in damaged.txt, 2 in all-bad.txt
  EXPECT_EQ(r.packets_reordered, 2u);  // 0 and 0.1 both arrive after 0.2 (older than one before them)
  auto warned = [&](const std::string& what) {
    for (const auto& w : r.warnings)
      if (w.find(what) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(warned("damaged.txt:2: expected 4 columns"));
  EXPECT_TRUE(warned("damaged.txt:3: direction '2' is not 0 or 1"));
  EXPECT_TRUE(warned("damaged.txt:4: time since the first packet 'x'"));
  EXPECT_TRUE(warned("damaged.txt:5: packet size '0'"));
  EXPECT_TRUE(warned("damaged.txt:6: time since the first packet '-0.5'"));
  EXPECT_TRUE(warned("damaged.txt:7: packet size '70000'"));
  EXPECT_TRUE(warned("damaged.txt:9: expected 4 columns"));
  EXPECT_TRUE(warned("empty.txt: no packet left"));
  EXPECT_TRUE(warned("all-bad.txt: no packet left"));
  EXPECT_TRUE(warned("Hangouts: not one of the dataset's five classes"));
  for (const auto& w : r.warnings) EXPECT_EQ(w.find('\n'), std::string::npos) << w;

  PacketStore s = read_packet_store(tmp.file("s.h5"));
  ASSERT_EQ(s.num_flows(), 3u);
  ASSERT_EQ(s.sources.size(), 5u);  // the files without flows are listed with what went wrong
  std::map<std::string, std::string> status;
  for (const auto& src : s.sources) status[src.name] = src.status;
  EXPECT_EQ(status["empty.txt"], "empty: no packets");
  EXPECT_EQ(status["all-bad.txt"], "2 malformed lines skipped (first at line 1)");
  EXPECT_EQ(status["damaged.txt"], "7 malformed lines skipped (first at line 2)");
  EXPECT_EQ(status["late.txt"], "ok");
  const int d = flow_with_id(s, "damaged.txt");
  ASSERT_GE(d, 0);
  ASSERT_EQ(s.flow_end(d) - s.flow_begin(d), 2u);  // the good lines are kept
  EXPECT_EQ(s.ip_length[s.flow_begin(d) + 1], 500u);
  EXPECT_DOUBLE_EQ(s.time[s.flow_begin(d) + 1], 0.8);

  const int late = flow_with_id(s, "late.txt");
  ASSERT_GE(late, 0);
  const uint64_t b = s.flow_begin(late);
  EXPECT_DOUBLE_EQ(s.start_time[late], 50.0);  // the earliest packet's absolute time
  EXPECT_DOUBLE_EQ(s.time[b], 0.0);
  EXPECT_DOUBLE_EQ(s.time[b + 1], 0.1);
  EXPECT_DOUBLE_EQ(s.time[b + 2], 0.2);
  EXPECT_EQ(s.ip_length[b], 20u);
  EXPECT_EQ(s.ip_length[b + 2], 10u);
  EXPECT_EQ(s.direction[b], 1);

  const int h = flow_with_id(s, "h.txt");
  ASSERT_GE(h, 0);
  EXPECT_EQ(s.label_of(h, "app"), "hangouts");

  // Nothing usable: an error, and no store.
  const fs::path bad = tmp.file("bad");
  write_file(bad / "Youtube/a.txt", "nothing here\n");
  const std::string e = error_of([&] { import_ucdavis({bad.string()}, tmp.file("none.h5"), quiet("p")); });
  EXPECT_NE(e.find("no usable flow"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(tmp.file("none.h5")));
}

TEST(UcdavisImport, LineParser) {
  UcdavisPacket p;
  EXPECT_EQ(parse_ucdavis_line("1600000000.123456000\t0.000318250\t517\t1", p), "");
  EXPECT_DOUBLE_EQ(p.absolute_time, 1600000000.123456);
  EXPECT_DOUBLE_EQ(p.time, 0.00031825);
  EXPECT_EQ(p.size, 517u);
  EXPECT_EQ(p.direction, 1);
  EXPECT_EQ(parse_ucdavis_line("1 2 3 0", p), "");       // spaces separate columns too
  EXPECT_EQ(parse_ucdavis_line("1\t2\t3\t0\t", p), "");  // a trailing tab is fine
  EXPECT_NE(parse_ucdavis_line("nan\t0\t3\t0", p), "");
  EXPECT_NE(parse_ucdavis_line("1\tinf\t3\t0", p), "");
  EXPECT_NE(parse_ucdavis_line("1\t0\t3.5\t0", p), "");
  EXPECT_EQ(ucdavis_app_name("Google Drive"), "google-drive");
  EXPECT_EQ(ucdavis_app_name("YouTube"), "youtube");
  EXPECT_EQ(ucdavis_partition_name("Retraining(human-triggered)"), "retraining-human-triggered");
  EXPECT_EQ(ucdavis_partition_name("Google Doc"), "");
}

}  // namespace
