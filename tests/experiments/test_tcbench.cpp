// tcbench's protocol (IMC'23): the per_class split (N flows per class drawn for training and
// validation, the rest of the main group the "leftover" test set), task.where and
// task.test_groups on a store with UC Davis's label columns, the shipped configs, and Table 3 in
// make_tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"
#include "experiments/config.hpp"
#include "experiments/metrics.hpp"
#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "experiments/split.hpp"
#include "experiments/sweep.hpp"
#include "experiments/synthetic_store.hpp"
#include "experiments/tables.hpp"
#include "experiments/task.hpp"
#include "support/error_of.hpp"
#include "support/read_text.hpp"
#include "support/temp_dir.hpp"
#include "support/ucdavis_like_store.hpp"

using namespace flowpic;
using flowpic::testing::error_of;
using flowpic::testing::read_text;

namespace {

// `per_class` flows of each of `classes` classes, 1 to 3 samples per flow, unit ids sparse; one
// sample outside the task.
struct Samples {
  std::vector<int64_t> unit;
  std::vector<int32_t> cls;
};
Samples samples(const std::vector<int>& per_class) {
  Samples s;
  int64_t u = 5;
  for (size_t c = 0; c < per_class.size(); ++c)
    for (int f = 0; f < per_class[c]; ++f, u += 3)
      for (int k = 0; k <= f % 3; ++k) {
        s.unit.push_back(u);
        s.cls.push_back(static_cast<int32_t>(c));
      }
  s.unit.push_back(1);
  s.cls.push_back(-1);
  return s;
}

// Per class, the units in each set; fails when a unit is in two sets.
std::map<int32_t, std::map<Split, std::set<int64_t>>> units_by_set(const Samples& s, const std::vector<Split>& split) {
  std::map<int64_t, Split> side;
  std::map<int32_t, std::map<Split, std::set<int64_t>>> out;
  for (size_t i = 0; i < split.size(); ++i) {
    if (s.cls[i] < 0) continue;
    auto [it, fresh] = side.emplace(s.unit[i], split[i]);
    EXPECT_EQ(it->second, split[i]) << "unit " << s.unit[i] << " is in two sets";
    out[s.cls[i]][split[i]].insert(s.unit[i]);
  }
  return out;
}

}  // namespace

TEST(SplitPerClass, NPerClassStratifiedEveryFlowInOneSet) {
  const Samples s = samples({130, 100, 250});
  const std::vector<Split> split = split_per_class(s.unit, s.cls, 100, 0.2, 1);
  ASSERT_EQ(split.size(), s.unit.size());
  auto by = units_by_set(s, split);
  const std::vector<size_t> totals = {130, 100, 250};
  for (int32_t c = 0; c < 3; ++c) {
    EXPECT_EQ(by[c][kTrain].size(), 80u) << "class " << c;
    EXPECT_EQ(by[c][kValidation].size(), 20u) << "class " << c;
    EXPECT_EQ(by[c][kTest].size(), totals[static_cast<size_t>(c)] - 100) << "class " << c;
  }
  // Deterministic for a seed; another seed draws other flows.
  EXPECT_EQ(split, split_per_class(s.unit, s.cls, 100, 0.2, 1));
  const std::vector<Split> other = split_per_class(s.unit, s.cls, 100, 0.2, 2);
  EXPECT_NE(split, other);
  auto by2 = units_by_set(s, other);
  EXPECT_NE(by[0][kTrain], by2[0][kTrain]);
  EXPECT_EQ(by2[2][kTrain].size() + by2[2][kValidation].size(), 100u);
}

TEST(SplitPerClass, ValidationKeepsOneFlowToTrainAndFewFlowsFail) {
  const Samples s = samples({3, 4});
  auto by = units_by_set(s, split_per_class(s.unit, s.cls, 1, 0.5, 3));
  EXPECT_EQ(by[0][kTrain].size(), 1u);
  EXPECT_EQ(by[0][kValidation].size(), 0u) << "the one drawn flow trains";
  EXPECT_EQ(by[1][kTest].size(), 3u);
  by = units_by_set(s, split_per_class(s.unit, s.cls, 3, 0.9, 3));
  EXPECT_EQ(by[0][kTrain].size(), 1u);
  EXPECT_EQ(by[0][kValidation].size(), 2u);
  EXPECT_TRUE(by[0][kTest].empty());

  const std::string e = error_of([&] { split_per_class(s.unit, s.cls, 4, 0.2, 1, {"google-doc", "youtube"}); });
  EXPECT_NE(e.find("training.train_flows_per_class: class 'google-doc' has 3 flows"), std::string::npos) << e;
  EXPECT_NE(e.find("fewer than the 4"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // A class of the task with no flows at all is named too.
  const std::string none = error_of([&] {
    split_per_class(s.unit, s.cls, 1, 0.2, 1, {"google-doc", "youtube", "google-music"});
  });
  EXPECT_NE(none.find("class 'google-music' has 0 flows"), std::string::npos) << none;
}

namespace {

const char* kBase = R"({
  "name": "t", "dataset": {"store": "STORE"},
  "representation": {"type": "flowpic", "resolution": 32, "transform": "clip255", "flow_view": "bidirectional",
                     "blocks": "first", "block_s": 15, "block_end": "open", "oversize": "clip",
                     "size_bins": "scaled", "packets_more_than": 0},
  "model": "configs/models/lenet5.json",
  "training": {"epochs": 1, "batch_size": 8, "split": "per_class", "train_flows_per_class": 4,
               "validation_fraction": 0.25, "balance": false, "seed": 3},
  "task": {"type": "category", "label_column": "app", "encapsulation": "any", "categories": ["a", "b"],
           "where": {"partition": ["pretraining"]},
           "test_groups": [{"name": "script", "where": {"partition": ["retraining-script-triggered"]}},
                           {"name": "human", "where": {"partition": ["retraining-human-triggered"]}}]},
  "device": "cpu", "output": "OUT"
})";

json base_config(const std::string& store, const std::string& out) {
  std::string text = kBase;
  text.replace(text.find("STORE"), 5, store);
  text.replace(text.find("OUT"), 3, out);
  return parse_json(text, "t.json");
}

ExperimentConfig config_with(const json& j, const std::vector<std::string>& sets = {}) {
  json c = j;
  for (const auto& s : sets) apply_override(c, s, "t.json");
  return parse_experiment(c, "t.json");
}

class TcbenchStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new flowpic::testing::TempDir();
    flowpic::testing::write_ucdavis_like_store(store(), {{"pretraining", {{"a", 9}, {"b", 7}, {"c", 2}}},
                                                         {"retraining-script-triggered", {{"a", 3}, {"b", 2}}},
                                                         {"retraining-human-triggered", {{"a", 2}, {"b", 2}}}});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string store() { return dir_->file("store.h5"); }
  static std::string dir() { return dir_->path(); }

 private:
  static inline flowpic::testing::TempDir* dir_ = nullptr;
};

}  // namespace

TEST(TcbenchConfig, PerClassKeys) {
  const json j = base_config("s.h5", "o");
  EXPECT_EQ(config_with(j).training.train_flows_per_class, 4);
  json d = j;
  d["training"].erase("train_flows_per_class");
  ExperimentConfig c = parse_experiment(d, "t.json");
  EXPECT_EQ(c.training.train_flows_per_class, 100) << "the default";
  EXPECT_EQ(c.resolved["training"]["split"], "per_class");
  EXPECT_EQ(c.resolved["training"]["train_flows_per_class"], 100);
  EXPECT_EQ(c.resolved["task"]["test_groups"][1]["name"], "human");
  EXPECT_EQ(c.resolved["task"]["where"]["partition"][0], "pretraining");

  std::string e = error_of([&] { config_with(j, {"training.split=flow"}); });
  EXPECT_NE(e.find("training.train_flows_per_class: only with \"split\": \"per_class\""), std::string::npos) << e;
  e = error_of([&] { config_with(j, {"training.train_flows_per_class=0"}); });
  EXPECT_NE(e.find("training.train_flows_per_class"), std::string::npos) << e;
  e = error_of([&] { config_with(j, {"training.split=perclass"}); });
  EXPECT_NE(e.find("allowed: flow, window, kfold, per_class"), std::string::npos) << e;
}

TEST(TcbenchConfig, TaskWhereAndTestGroupsParseStrictly) {
  const json j = base_config("s.h5", "o");
  auto err = [&](const std::string& set) { return error_of([&] { config_with(j, {set}); }); };
  std::string e = err(R"(task.test_groups=[{"name": "x", "where": {"partition": ["p"]}, "wher": 1}])");
  EXPECT_NE(e.find("task.test_groups.0"), std::string::npos) << e;
  EXPECT_NE(e.find("wher"), std::string::npos) << e;
  e = err(R"(task.test_groups=[{"name": "x"}])");
  EXPECT_NE(e.find("where"), std::string::npos) << e;
  e = err(R"(task.test_groups=[{"name": "leftover", "where": {"partition": ["p"]}}])");
  EXPECT_NE(e.find("'leftover' names another set of the run"), std::string::npos) << e;
  e = err(R"(task.test_groups=[{"name": "x", "where": {"p": ["a"]}}, {"name": "x", "where": {"p": ["b"]}}])");
  EXPECT_NE(e.find("'x' names two test groups"), std::string::npos) << e;
  e = err(R"(task.where={"partition": []})");
  EXPECT_NE(e.find("task.where.partition: list at least one value"), std::string::npos) << e;
  e = err(R"(task.where={})");
  EXPECT_NE(e.find("task.where: expected an object"), std::string::npos) << e;
  e = err(R"(task.where={"partition": "pretraining"})");
  EXPECT_NE(e.find("task.where.partition"), std::string::npos) << e;
  for (const std::string& s : {e}) EXPECT_EQ(s.find('\n'), std::string::npos);
}

TEST_F(TcbenchStore, AssignFlowsByWhereAndTestGroups) {
  const PacketStore st = read_packet_store(store());
  TaskConfig t = config_with(base_config(store(), dir())).task;
  FlowAssignment a = assign_flows(st, t, "t.json");
  EXPECT_EQ(a.group_names, (std::vector<std::string>{"main", "held_out", "script", "human"}));
  std::map<std::string, std::map<int32_t, int>> count;  // partition -> group -> flows
  for (size_t f = 0; f < st.num_flows(); ++f) {
    const std::string app = st.label_of(f, "app"), part = st.label_of(f, "partition");
    if (app == "c") {
      EXPECT_EQ(a.flow_class[f], -1) << "not a class of the task";
      continue;
    }
    EXPECT_EQ(a.flow_class[f], app == "a" ? 0 : 1);
    ++count[part][a.flow_group[f]];
  }
  EXPECT_EQ(count["pretraining"][kGroupMain], 16);
  EXPECT_EQ(count["retraining-script-triggered"][kGroupCrossFirst], 5);
  EXPECT_EQ(count["retraining-human-triggered"][kGroupCrossFirst + 1], 4);
  // Without test groups, flows outside task.where are not part of the task.
  TaskConfig only_main = t;
  only_main.test_groups.clear();
  a = assign_flows(st, only_main, "t.json");
  for (size_t f = 0; f < st.num_flows(); ++f) {
    if (st.label_of(f, "partition") != "pretraining") {
      EXPECT_EQ(a.flow_class[f], -1);
    }
  }

  auto err = [&](const TaskConfig& task) { return error_of([&] { assign_flows(st, task, "t.json"); }); };
  TaskConfig bad = t;
  bad.where = {{"partitoin", {"pretraining"}}};
  std::string e = err(bad);
  EXPECT_NE(e.find("t.json: task.where.partitoin: the packet store has no label column 'partitoin'; its columns: app, "
                   "partition, flow_id"),
            std::string::npos)
      << e;
  bad = t;
  bad.test_groups[1].where = {{"partition", {"retraining-human"}}};
  e = err(bad);
  EXPECT_NE(e.find("task.test_groups.1.where.partition: no flow of the store has partition 'retraining-human'"),
            std::string::npos)
      << e;
  bad = t;
  bad.test_groups[1].where = {{"partition", {"retraining-human-triggered", "retraining-script-triggered"}}};
  e = err(bad);
  EXPECT_NE(e.find("is also in test group 'script'; a flow may be in one group only"), std::string::npos) << e;
  EXPECT_NE(e.find("flow_id '"), std::string::npos) << e;
  bad = t;
  bad.test_groups[0].where = {{"app", {"a"}}};
  e = err(bad);
  EXPECT_NE(e.find("task.test_groups.0 ('script'): flow"), std::string::npos) << e;
  EXPECT_NE(e.find("is also in the main group (task.where)"), std::string::npos) << e;
  for (const std::string& s : {e}) EXPECT_EQ(s.find('\n'), std::string::npos);
}

TEST_F(TcbenchStore, PrepareAndRunGiveLeftoverAndTestGroups) {
  const ExperimentConfig c = config_with(base_config(store(), dir() + "/results"));
  PreparedExperiment d = prepare_experiment(c, 3);
  ASSERT_EQ(d.evaluation.size(), 3u);
  EXPECT_EQ(d.evaluation[0].name, "leftover");
  EXPECT_EQ(d.evaluation[1].name, "script");
  EXPECT_EQ(d.evaluation[2].name, "human");
  EXPECT_EQ(d.train.samples.size(), 6u) << "3 of the 4 flows per class train";
  EXPECT_EQ(d.validation.samples.size(), 2u);
  EXPECT_EQ(d.evaluation[0].samples.size(), 5u + 3u) << "the 9 + 7 pretraining flows less the 8 drawn";
  EXPECT_EQ(d.evaluation[1].samples.size(), 5u) << "not balanced: balance is false";
  EXPECT_EQ(d.evaluation[2].samples.size(), 4u);
  std::set<uint32_t> seen;
  for (const SampleSet* s : {&d.train, &d.validation, &d.evaluation[0], &d.evaluation[1], &d.evaluation[2]})
    for (size_t i : s->samples) EXPECT_TRUE(seen.insert(d.index.samples[i].flow).second) << "a flow in two sets";
  EXPECT_EQ(seen.size(), 16u + 5u + 4u);
  // Each seed is another draw.
  PreparedExperiment d4 = prepare_experiment(c, 4);
  EXPECT_NE(d4.train.samples, d.train.samples);

  const std::string e = error_of(
      [&] { prepare_experiment(config_with(base_config(store(), dir()), {"training.train_flows_per_class=8"}), 3); });
  EXPECT_NE(e.find("t.json: training.train_flows_per_class: class 'b' has 7 flows"), std::string::npos) << e;

  TrainedRun run = run_once(c, d, 3, "test");
  ASSERT_EQ(run.result.groups.size(), 3u);
  EXPECT_EQ(run.result.groups[0].name, "leftover");
  EXPECT_EQ(run.result.groups[2].name, "human");
  EXPECT_EQ(run.result.provenance["split_seed"], 3);
  EXPECT_TRUE(run.result.samples["sets"].contains("script"));

  // Through a sweep's summary: the main group's set whatever its name, and the test groups beside it.
  json raw = base_config(store(), dir() + "/results");
  raw["training"]["repeats"] = 2;
  const SweepPlan plan = plan_sweep(raw, "t.json");
  run_sweep(plan, false, "test");
  const std::string md = read_text(dir() + "/results/t/summary.md");
  EXPECT_NE(md.find("main group's test set (leftover)"), std::string::npos) << md;
  EXPECT_NE(md.find("| script accuracy | human accuracy |"), std::string::npos) << md;
  EXPECT_NE(md.find("| (no sweep) | 2/2 |"), std::string::npos) << md;
  EXPECT_NE(read_text(dir() + "/results/t/summary.csv").find("script_accuracy_mean,script_accuracy_std"),
            std::string::npos);
}

TEST(TcbenchConfig, ShippedSweepsParseEveryPoint) {
  for (const char* name : {"ucdavis_32_sweep", "ucdavis_64_sweep", "ucdavis_1500_sweep"}) {
    SCOPED_TRACE(name);
    const std::string path = find_config_file(std::string("tcbench/") + name + ".json");
    const SweepPlan plan = plan_sweep(load_json_file(path), path);
    ASSERT_EQ(plan.points.size(), 7u);
    EXPECT_EQ(plan.points[1].label, "type=change_rtt");
    EXPECT_EQ(plan.point_configs[6].training.augment.type_name(), "colour_jitter");
    EXPECT_FALSE(plan.point_configs[0].training.augment.active());
    EXPECT_EQ(plan.point_configs[3].training.augment.copies, 10);
    EXPECT_EQ(plan.base.training.train_flows_per_class, 100);
    EXPECT_EQ(plan.base.training.repeats, 5);
  }
  for (const char* aug :
       {"none", "change_rtt", "time_shift", "packet_loss", "horizontal_flip", "rotate", "colour_jitter"}) {
    ExperimentConfig c = load_experiment(find_config_file(std::string("tcbench/ucdavis_32_") + aug + ".json"));
    EXPECT_EQ(c.training.augment.type_name(), aug);
    EXPECT_EQ(c.output, "results/tcbench") << "make_tables reads results/tcbench/<config>/";
    EXPECT_EQ(c.task.test_groups.size(), 2u);
    EXPECT_DOUBLE_EQ(c.training.fractions.validation, 0.2);
  }
}

namespace {

// A made-up tcbench result: `correct` of 20 samples right in each of leftover, script and human.
RunResult tcbench_result(const std::string& config, uint64_t seed, const std::map<std::string, int>& correct) {
  ExperimentConfig c = load_experiment(find_config_file(config + ".json"));
  RunResult r;
  r.experiment = c.name;
  r.run = "seed" + std::to_string(seed);
  r.config = c.resolved;
  r.config["representation"] = RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
  r.config["training"]["seed"] = seed;
  r.provenance = {{"seed", seed}, {"split_seed", seed}, {"store", "data/ucdavis/store.h5"}};
  r.samples = json::object();
  r.class_names = {"A", "B"};
  r.selection = "validation";
  r.data_source = "store";
  r.best_epoch = 1;
  r.history.push_back({1, 0.5, 0.5, 0.5, 0.5, 1, 1});
  for (const char* name : {"leftover", "script", "human"}) {
    GroupPredictions g;
    g.name = name;
    const int k = correct.at(name);
    for (int i = 0; i < 20; ++i) {
      g.flow.push_back(uint32_t(i));
      g.direction.push_back(2);
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

TEST(MakeTables, TcbenchTable3) {
  flowpic::testing::TempDir tmp;
  const std::string dir = tmp.path();
  auto put = [&](const std::string& folder, const RunResult& r) {
    write_result(dir + "/" + folder + "/" + r.run + ".h5", r, nullptr);
  };
  // No augmentation: script 90 and 100 %, human 70 % twice, leftover 95 %.
  put("tcbench/ucdavis_32_none",
      tcbench_result("tcbench/ucdavis_32_none", 1, {{"leftover", 19}, {"script", 18}, {"human", 14}}));
  put("tcbench/ucdavis_32_none",
      tcbench_result("tcbench/ucdavis_32_none", 2, {{"leftover", 19}, {"script", 20}, {"human", 14}}));
  // Change RTT only from the 32x32 sweep's point.
  put("tcbench/ucdavis_32_sweep/type=change_rtt",
      tcbench_result("tcbench/ucdavis_32_change_rtt", 1, {{"leftover", 20}, {"script", 20}, {"human", 15}}));

  TableOptions o;
  o.results_dir = dir;
  o.progress = false;
  const std::vector<RenderedTable> tables = make_tables(o);
  const RenderedTable* t = nullptr;
  for (const auto& x : tables)
    if (x.id == "tcbench_table3") t = &x;
  ASSERT_NE(t, nullptr);
  const std::string& md = t->markdown;
  EXPECT_NE(md.find("| Augmentation | script: ours | script: paper | script: Δ | human: ours |"), std::string::npos)
      << md;
  // 90 and 100: mean 95.00, sample std 7.07; tcbench 95.73 ± 0.27.
  EXPECT_NE(md.find("| No augmentation | 95.00 ± 7.07 (n=2; 20 samples) | 95.73 ± 0.27 | -0.73 | "
                    "70.00 ± 0.00 (n=2; 20 samples) | 69.48 ± 1.17 | +0.52 | 95.00 ± 0.00 (n=2; 20 samples) | "
                    "96.05 | -1.05 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Change RTT | 100.00 (n=1; 20 samples) | 97.33 | +2.67 | 75.00 (n=1; 20 samples) | 70.04 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Rotate | — (run configs/tcbench/ucdavis_32_rotate.json or configs/tcbench/ucdavis_32_sweep.json)"
                    " | — | — |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Colour jitter | — (run configs/tcbench/ucdavis_32_colour_jitter.json"), std::string::npos);
  EXPECT_NE(md.find("97.87"), std::string::npos);
  EXPECT_NE(md.find("Data: UC Davis ICDM'19 (packet store data/ucdavis/store.h5)."), std::string::npos) << md;
  EXPECT_EQ(md.find("REDUCED"), std::string::npos) << "the runs use the shipped configs' setting";
  EXPECT_NE(t->latex.find("95.73 $\\pm$ 0.27"), std::string::npos) << t->latex;
  EXPECT_NE(t->csv.find("tcbench_table3,No augmentation,script,95.0000,7.0711,2,20,95.73,-0.7300,0,0,,0.27\n"),
            std::string::npos)
      << t->csv;
  EXPECT_NE(t->csv.find("tcbench_table3,Rotate,human,,,0,,,,0,0,run configs/tcbench/ucdavis_32_rotate.json or "
                        "configs/tcbench/ucdavis_32_sweep.json,\n"),
            std::string::npos)
      << t->csv;
}
