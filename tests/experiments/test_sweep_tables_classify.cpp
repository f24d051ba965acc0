// Sweeps (grid, result paths, --resume, summary), make_tables on crafted result files, and
// classify on a generated capture against the predictions made during evaluation.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "dataset/ingest.hpp"
#include "dataset/synth.hpp"
#include "experiments/classify.hpp"
#include "experiments/runner.hpp"
#include "experiments/sweep.hpp"
#include "experiments/synthetic_store.hpp"
#include "experiments/tables.hpp"
#include "nn/weights.hpp"
#include "support/read_text.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_store.hpp"

using namespace flowpic;
using flowpic::testing::read_text;

namespace {

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The tiny synthetic store of tests/support/tiny_store.hpp, shared by the tests of this file.
class Tiny : public flowpic::testing::TinyStoreTest {
 protected:
  static std::string config_text(const std::string& extra) {
    return R"({
      "name": "sw",
      "dataset": {"source": "store", "store": ")" +
           store() + R"("},
      "representation": {"type": "flowpic", "resolution": 16, "transform": "clip255", "block_s": 15},
      "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 8}, {"type": "relu"}, {"type": "dense", "units": "classes"}]},
      "training": {"epochs": 1, "batch_size": 16, "seed": 5, "repeats": 2, "test_fraction": 0.25, "validation_fraction": 0.2},
      "task": {"type": "category", "encapsulation": "Non-VPN"},
      "device": "cpu",
      "output": ")" +
           dir() + R"(/results")" + extra + "}";
  }
  static std::string bin(const std::string& name) { return std::string(FLOWPIC_BINARY_DIR) + "/apps/" + name; }
};

}  // namespace

TEST_F(Tiny, SweepExpandsAndChecksEveryPoint) {
  json raw = parse_json(
      config_text(R"(, "sweep": {"optimizer.lr": [0.01, 0.001], "representation.resolution": [16, 32]})"), "s.json");
  std::vector<SweepPoint> p = expand_sweep(raw, "s.json");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].label, "lr=0.01,resolution=16");
  EXPECT_EQ(p[3].label, "lr=0.001,resolution=32");
  ExperimentConfig c = point_config(raw, p[3], "s.json");
  EXPECT_EQ(c.resolved["representation"]["resolution"], 32);
  EXPECT_DOUBLE_EQ(c.resolved["optimizer"]["lr"].get<double>(), 0.001);
  EXPECT_EQ(c.resolved["sweep_point"]["representation.resolution"], 32);
  EXPECT_FALSE(c.resolved.contains("sweep"));
  EXPECT_EQ(point_result_path(c, p[3], 6), dir() + "/results/sw/lr=0.001,resolution=32/seed6.h5");
  // No sweep: the old layout.
  json plain = parse_json(config_text(""), "p.json");
  std::vector<SweepPoint> one = expand_sweep(plain, "p.json");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(point_result_path(point_config(plain, one[0], "p.json"), one[0], 5), dir() + "/results/sw/seed5.h5");
  // Bad keys and values are errors naming them, before anything runs.
  auto error_of = [&](const std::string& sweep) {
    try {
      expand_sweep(parse_json(config_text(", \"sweep\": " + sweep), "s.json"), "s.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"training.epochz": [1, 2]})").find("training.epochz: unknown key"), std::string::npos);
  EXPECT_NE(error_of(R"({"optimizer.lrr": [1]})").find("optimizer.lrr"), std::string::npos);
  EXPECT_NE(error_of(R"({"representation.resolution": [16, 2]})").find("sweep point resolution=2"), std::string::npos);
  EXPECT_NE(error_of(R"({"optimizer.lr": 0.1})").find("sweep.optimizer.lr: expected a non-empty list"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"training.seed": [1, 2]})").find("cannot be swept"), std::string::npos);
  EXPECT_NE(error_of(R"([1])").find("sweep"), std::string::npos);
}

// The 2 x 2 sweep with 2 seeds through the program. The interruption is simulated, not a real
// signal: after a full run one result file is deleted (a run that never finished) and another is
// rewritten marked interrupted (what Ctrl-C leaves); --resume must run exactly those two again.
TEST_F(Tiny, SweepProgramResumesAndSummarises) {
  const std::string cfg = dir() + "/sweep.json";
  {
    std::ofstream f(cfg);
    f << config_text(R"(, "sweep": {"optimizer.lr": [0.01, 0.001], "representation.resolution": [16, 32]})");
  }
  const std::string log = dir() + "/sweep.log";
  ASSERT_EQ(std::system((bin("run_experiment") + " " + cfg + " >" + log + " 2>&1").c_str()), 0) << read_text(log);
  const std::string base = dir() + "/results/sw/";
  std::vector<std::string> files;
  for (const char* p :
       {"lr=0.01,resolution=16", "lr=0.01,resolution=32", "lr=0.001,resolution=16", "lr=0.001,resolution=32"})
    for (const char* s : {"seed5", "seed6"}) files.push_back(base + p + "/" + s + ".h5");
  for (const auto& f : files) ASSERT_TRUE(result_complete(f)) << f;
  RunResult r = read_result(files[3]);
  EXPECT_EQ(r.run, "lr=0.01,resolution=32/seed6");
  EXPECT_EQ(r.config["sweep_point"]["representation.resolution"], 32);
  EXPECT_EQ(r.config["representation"]["resolution"], 32);
  EXPECT_NE(read_text(log).find("run 8/8: point 4/4 (lr=0.001,resolution=32), seed 6"), std::string::npos);

  std::map<std::string, int64_t> before;
  for (const auto& f : files) before[f] = mtime_ns(f);
  std::filesystem::remove(files[2]);  // never written: the run was stopped before the end
  RunResult cut = read_result(files[5]);
  cut.interrupted = true;  // what Ctrl-C leaves behind
  write_result(files[5], cut, nullptr);
  EXPECT_FALSE(result_complete(files[5]));
  const int64_t cut_time = mtime_ns(files[5]);

  ASSERT_EQ(std::system((bin("run_experiment") + " " + cfg + " --resume >" + log + " 2>&1").c_str()), 0)
      << read_text(log);
  const std::string out = read_text(log);
  EXPECT_NE(out.find("(6 finished runs skipped)"), std::string::npos) << out;
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_TRUE(result_complete(files[i])) << files[i];
    if (i == 2) continue;
    if (i == 5)
      EXPECT_NE(mtime_ns(files[i]), cut_time) << "the interrupted run was not run again";
    else
      EXPECT_EQ(mtime_ns(files[i]), before[files[i]]) << files[i] << " was run again";
  }

  // The summary: one row per point, both seeds, mean and standard deviation.
  const std::string csv = read_text(base + "summary.csv");
  EXPECT_EQ(
      csv.rfind(
          "point,optimizer.lr,representation.resolution,runs,accuracy_mean,accuracy_std,macro_f1_mean,macro_f1_std", 0),
      0u)
      << csv;
  std::vector<double> acc;
  for (const auto& f : {files[0], files[1]}) acc.push_back(100 * read_result(f).groups[0].metrics.accuracy);
  MeanStd m = mean_std(acc);
  char row[256];
  std::snprintf(row, sizeof row, "\"lr=0.01,resolution=16\",\"0.01\",\"16\",2,%.2f,%.2f,", m.mean, m.std);
  EXPECT_NE(csv.find(row), std::string::npos) << row << "\n" << csv;
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  EXPECT_EQ(lines, 5u);
  EXPECT_NE(read_text(base + "summary.md").find("| lr=0.001,resolution=32 | 0.001 | 32 | 2/2 |"), std::string::npos);

  // A file made from another config is not skipped.
  ASSERT_EQ(
      std::system((bin("run_experiment") + " " + cfg + " --resume --set training.epochs=2 >" + log + " 2>&1").c_str()),
      0);
  EXPECT_NE(read_text(log).find("made with a different config: running it again"), std::string::npos) << read_text(log);
  EXPECT_EQ(read_result(files[0]).config["training"]["epochs"], 2);

  // A bad sweep key fails at once, naming it, and runs nothing.
  EXPECT_NE(
      std::system(
          (bin("run_experiment") + " " + cfg + " --set 'sweep={\"training.epochz\":[1]}' >" + log + " 2>&1").c_str()),
      0);
  EXPECT_NE(read_text(log).find("training.epochz"), std::string::npos);
}

namespace {

// A result with given test accuracy (correct out of 20) and optional cross groups.
RunResult crafted(const std::string& config, uint64_t seed, int correct, const std::map<std::string, int>& extra = {},
                  const std::string& selection = "validation") {
  ExperimentConfig c = load_experiment(find_config_file(config + ".json"));
  RunResult r;
  r.experiment = config;
  r.run = "seed" + std::to_string(seed);
  r.config = c.resolved;
  r.config["representation"] = RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
  r.config["training"]["seed"] = seed;
  r.config["dataset"]["source"] = "synthetic";
  r.provenance = {{"seed", seed}};
  r.samples = json::object();
  r.class_names = {"A", "B"};
  r.selection = selection;
  r.data_source = "synthetic";
  r.best_epoch = 1;
  r.history.push_back({1, 0.5, 0.5, 0.5, 0.5, 1, 1});
  std::map<std::string, int> groups = extra;
  groups["test"] = correct;
  for (const auto& [name, k] : groups) {
    GroupPredictions g;
    g.name = name;
    for (int i = 0; i < 20; ++i) {
      g.flow.push_back(uint32_t(i));
      g.direction.push_back(0);
      g.window_start.push_back(0);
      g.truth.push_back(i % 2);
      g.predicted.push_back(i < k ? i % 2 : 1 - i % 2);
      g.probabilities.insert(g.probabilities.end(), {0.5f, 0.5f});
    }
    g.metrics = compute_metrics(g.truth, g.predicted, r.class_names);
    r.groups.push_back(g);
  }
  return r;
}

}  // namespace

TEST(MakeTables, CellsGapsAndCaptions) {
  flowpic::testing::TempDir tmp;
  const std::string dir = tmp.path();
  auto put = [&](const RunResult& r) { write_result(dir + "/" + r.experiment + "/" + r.run + ".h5", r, nullptr); };
  put(crafted("nonvpn_category", 1, 16));  // 80 %
  put(crafted("nonvpn_category", 2, 18));  // 90 %
  put(crafted("class_vs_all_voip_vpn", 1, 20, {{"cross:Non-VPN", 19}, {"cross:Tor", 10}}, "test_optimistic"));
  put(crafted("payload_vpn", 1, 20));
  RunResult empty = crafted("unseen_voip_no_facebook", 1, 20);  // a test set with no samples: a gap, not 0 %
  empty.groups[0] = GroupPredictions{};
  empty.groups[0].name = "test";
  empty.groups[0].metrics = compute_metrics({}, {}, empty.class_names);
  put(empty);

  TableOptions o;
  o.results_dir = dir;
  o.note = "Made by: a test.";
  o.progress = false;
  std::vector<RenderedTable> tables = make_tables(o);
  ASSERT_EQ(tables.size(), 6u);
  std::map<std::string, RenderedTable> by_id;
  for (auto& t : tables) by_id[t.id] = t;

  const std::string& t3 = by_id["table3_summary"].markdown;
  // 80 and 90: mean 85.0, sample std 7.1, paper 85.0, difference +0.0.
  EXPECT_NE(t3.find("| Non-VPN traffic categorization | 85.0 ± 7.1 (n=2; 20 samples) | 85.0 | +0.0 |"),
            std::string::npos)
      << t3;
  EXPECT_NE(t3.find("| Tor traffic categorization | — (run configs/tor_category.json) | 67.8 | — |"), std::string::npos)
      << t3;
  EXPECT_NE(t3.find("— (run configs/class_vs_all_voip_nonvpn.json, configs/class_vs_all_video_nonvpn.json"),
            std::string::npos)
      << t3;
  EXPECT_NE(t3.find("SYNTHETIC"), std::string::npos);
  EXPECT_NE(t3.find("Made by: a test."), std::string::npos);
  EXPECT_EQ(t3.find("REDUCED"), std::string::npos) << "crafted runs use the shipped configs' setting";

  const std::string& t4 = by_id["table4_class_vs_all"].markdown;
  // VoIP trained on VPN: Non-VPN 95 % (cross group), VPN 100 % (test), Tor 50 %; optimistic.
  EXPECT_NE(t4.find("| VoIP | VPN | 95.0 (n=1; 20 samples) † | 95.8 | -0.8 | 100.0 (n=1; 20 samples) † | 99.9 | +0.1 | "
                    "50.0 (n=1; 20 samples) † | 58.1 | -8.1 |"),
            std::string::npos)
      << t4;
  EXPECT_NE(t4.find("† model chosen on the reported test split"), std::string::npos);
  EXPECT_NE(
      t4.find("| Browsing | Non-VPN | — (run configs/class_vs_all_browsing_nonvpn.json) | 90.6 | — | n/a | n/a |"),
      std::string::npos)
      << t4;
  EXPECT_EQ(t4.find("| Browsing | VPN |"), std::string::npos) << "the paper has no Browsing VPN row";

  const std::string& unseen = by_id["unseen_applications"].markdown;
  EXPECT_NE(unseen.find("— (the 'test' set of configs/unseen_voip_no_facebook.json is empty: too few flows to split)"),
            std::string::npos)
      << unseen;
  const std::string& pay = by_id["payload_images"].markdown;
  EXPECT_NE(pay.find("| VPN traffic (6 VPN traffic types) | 100.00 (n=1; 20 samples) | 99.55 | +0.45 |"),
            std::string::npos)
      << pay;
  EXPECT_NE(pay.find("run configs/payload_conventional.json"), std::string::npos);

  const std::string& csv = by_id["table3_summary"].csv;
  EXPECT_NE(csv.find("table3_summary,Non-VPN traffic categorization,accuracy,85.000,7.071,2,20,85.0,0.000,0,0,"),
            std::string::npos)
      << csv;
  EXPECT_NE(by_id["table3_summary"].latex.find("85.0 $\\pm$ 7.1 (n=2; 20 samples)"), std::string::npos);
  EXPECT_NE(by_id["table4_class_vs_all"].latex.find("cross:\\textless{}encapsulation\\textgreater{}"),
            std::string::npos);
  EXPECT_NE(by_id["table4_class_vs_all"].latex.find("\\begin{tabular}"), std::string::npos);

  // A reduced setting is named in the caption.
  RunResult reduced = crafted("tor_category", 1, 10);
  reduced.config["representation"]["resolution"] = 64;
  reduced.config["training"]["epochs"] = 2;
  put(reduced);
  tables = make_tables(o);
  EXPECT_NE(tables[0].markdown.find(
                "REDUCED or changed setting, not the paper's: epochs 2 instead of 40; resolution 64 instead of 1500"),
            std::string::npos)
      << tables[0].markdown;

  // The program writes every format under RESULTS_DIR/tables.
  const std::string log = dir + "/log";
  ASSERT_EQ(std::system((std::string(FLOWPIC_BINARY_DIR) + "/apps/make_tables " + dir + " >" + log + " 2>&1").c_str()),
            0);
  for (const char* f : {"table3_summary.md", "table3_summary.tex", "table3_summary.csv", "table4_class_vs_all.md",
                        "unseen_applications.csv", "application_identification.tex", "payload_images.md", "all.md"})
    EXPECT_TRUE(file_exists(dir + "/tables/" + f)) << f;
  EXPECT_NE(std::system((std::string(FLOWPIC_BINARY_DIR) + "/apps/make_tables /nonexistent >" + log + " 2>&1").c_str()),
            0);
  EXPECT_NE(read_text(log).find("/nonexistent: no such folder"), std::string::npos);
}

// classify on one generated capture gives, for the windows the evaluation saw from it, the same
// flows (5-tuple), window starts, classes and probabilities as the evaluation.
TEST_F(Tiny, ClassifyReproducesEvaluation) {
  ExperimentConfig cfg = parse_experiment(parse_json(config_text(""), "c.json"), "c.json");
  cfg.resolved["representation"] =
      RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"}).to_json();
  PreparedExperiment d = prepare_experiment(cfg, 5);
  TrainedRun run = run_once(cfg, d, 5, "test");
  const std::string result = dir() + "/classify/seed5.h5";
  write_result(result, run.result, [&](hid_t f) { nn::write_weights(*run.model, f, "/model"); });
  const GroupPredictions& g = run.result.groups[0];
  ASSERT_FALSE(g.flow.empty());
  const std::string capture = d.store.sources[d.store.source[g.flow[0]]].path;

  auto check = [&](const std::string& model_file) {
    ClassifyOptions o;
    o.model_path = model_file;
    o.captures = {capture};
    o.device = "cpu";
    o.progress = false;
    Classification c = classify_captures(o);
    EXPECT_EQ(c.class_names, run.result.class_names);
    size_t matched = 0;
    for (size_t i = 0; i < g.flow.size(); ++i) {
      if (d.store.sources[d.store.source[g.flow[i]]].path != capture) continue;
      const FlowKey& key = d.store.keys[g.flow[i]];
      bool found = false;
      for (size_t j = 0; j < c.samples.size() && !found; ++j) {
        const Sample& s = c.samples[j];
        if (!(c.store.keys[s.flow] == key) || s.direction != g.direction[i] || s.start != g.window_start[i]) continue;
        found = true;
        EXPECT_EQ(c.predicted[j], g.predicted[i]);
        for (size_t k = 0; k < c.class_names.size(); ++k)
          EXPECT_NEAR(c.probabilities[j * c.class_names.size() + k], g.probabilities[i * c.class_names.size() + k],
                      1e-6);
      }
      EXPECT_TRUE(found) << "window " << g.window_start[i] << " of " << key.to_string() << " not classified";
      ++matched;
    }
    EXPECT_GT(matched, 0u);
    // The CSV names the 5-tuple and the class.
    const std::string csv = classification_csv(c);
    EXPECT_EQ(csv.rfind("capture,flow,src,src_port,dst,dst_port,protocol,direction,window,window_start_s,start_time,"
                        "packets,predicted,confidence,p_VoIP",
                        0),
              0u);
    EXPECT_EQ(classification_json(c)["windows"].size(), c.samples.size());
  };
  check(result);
  // Streaming the records to a file gives the collected records' text with any number of runners
  // (batches of 7: several in flight at once, flows ending while their windows are in flight), and
  // every number in it is printf's text of the value.
  {
    ClassifyOptions o;
    o.model_path = result;
    o.captures = {capture};
    o.device = "cpu";
    o.progress = false;
    o.batch_size = 7;
    o.runners = 1;
    o.runner_threads = 1;
    const Classification ref = classify_captures(o);
    const std::string want = classification_csv(ref);
    ASSERT_GT(ref.samples.size(), 3u * 7) << "batches enough for 3 runners";
    for (int runners : {1, 2, 3}) {
      o.runners = runners;
      const std::string path = dir() + "/classify/stream" + std::to_string(runners) + ".csv";
      FILE* f = std::fopen(path.c_str(), "wb");
      ASSERT_NE(f, nullptr);
      const ClassifyRun streamed = classify_captures_to(o, "csv", f);
      std::fclose(f);
      EXPECT_EQ(read_text(path), want) << runners << " runners";
      EXPECT_EQ(streamed.windows, ref.samples.size());
    }
    std::istringstream lines(want);
    std::string line;
    std::getline(lines, line);  // the header
    const size_t k = ref.class_names.size();
    auto printf_of = [](const char* format, double x) {
      char b[64];
      std::snprintf(b, sizeof b, format, x);
      return std::string(b);
    };
    for (size_t i = 0; i < ref.samples.size(); ++i) {
      ASSERT_TRUE(std::getline(lines, line));
      std::vector<std::string> f;
      std::stringstream fields(line);
      for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
      ASSERT_EQ(f.size(), 14 + k) << line;
      const Sample& smp = ref.samples[i];
      const float* p = ref.probabilities.data() + i * k;
      EXPECT_EQ(f[9], printf_of("%.6f", smp.start));
      EXPECT_EQ(f[10], printf_of("%.6f", ref.store.start_time[smp.flow] + smp.start));
      EXPECT_EQ(f[13], printf_of("%.6f", p[ref.predicted[i]]));
      for (size_t j = 0; j < k; ++j) EXPECT_EQ(f[14 + j], printf_of("%.7g", p[j])) << line;
      // The records' order: by flow (numbered in the order flows end), then direction, then window.
      if (i > 0) {
        const Sample& prev = ref.samples[i - 1];
        EXPECT_LT(std::make_tuple(prev.flow, prev.direction, prev.index),
                  std::make_tuple(smp.flow, smp.direction, smp.index))
            << line;
      }
    }
    std::set<uint32_t> flows;
    for (const Sample& smp : ref.samples) flows.insert(smp.flow);
    EXPECT_LT(flows.size(), ref.samples.size()) << "flows with several windows, whose records the collector holds";
  }
  // The exported weights file carries the class names and representation: classify needs nothing else.
  const std::string exported = dir() + "/classify/exported.h5";
  const std::string log = dir() + "/export.log";
  ASSERT_EQ(std::system((bin("export_weights") + " " + result + " " + exported + " >" + log + " 2>&1").c_str()), 0)
      << read_text(log);
  check(exported);
  // The program: CSV on stdout, summary on stderr; bad options are one-line errors.
  const std::string out = dir() + "/classify.csv";
  ASSERT_EQ(
      std::system((bin("classify") + " " + result + " " + capture + " --device cpu --format json >" + out + " 2>" + log)
                      .c_str()),
      0)
      << read_text(log);
  EXPECT_NO_THROW(parse_json(read_text(out), out));
  EXPECT_NE(read_text(log).find("predicted class"), std::string::npos);
  // Which input path the CNN ran, and why (issue 16: results record the path).
  const std::string summary = read_text(log);
  EXPECT_TRUE(summary.find("\n  input: sparse (auto: sparse, ") != std::string::npos ||
              summary.find("\n  input: dense (auto: dense, ") != std::string::npos)
      << summary;
  EXPECT_NE(summary.find(", estimated on the first batch)\n"), std::string::npos) << summary;
  EXPECT_NE(
      std::system((bin("classify") + " " + result + " " + capture + " --format xml >" + out + " 2>" + log).c_str()), 0);
  EXPECT_NE(read_text(log).find("--format: xml not in {csv,json,jsonl}"), std::string::npos) << read_text(log);
  EXPECT_NE(std::system((bin("classify") + " /nonexistent.h5 " + capture + " >" + out + " 2>" + log).c_str()), 0);
  EXPECT_NE(read_text(log).find("/nonexistent.h5"), std::string::npos);
}
