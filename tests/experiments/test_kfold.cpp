// k-fold cross-validation (training.split "kfold"): every flow tested exactly once, no flow on two
// sides, classes stratified; the config keys; and the runs on a store (one result per fold, the
// summary over folds, --resume).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "experiments/config.hpp"
#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "experiments/split.hpp"
#include "experiments/sweep.hpp"
#include "support/error_of.hpp"
#include "support/tiny_store.hpp"

using namespace flowpic;
using flowpic::testing::error_of;

namespace {

// Samples of `units` flows over `classes` classes, 1 to 6 samples per flow.
struct Samples {
  std::vector<int64_t> unit;
  std::vector<int32_t> cls;
};
Samples random_samples(int units, int classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Samples s;
  for (int u = 0; u < units; ++u) {
    const int32_t c = static_cast<int32_t>(rng() % static_cast<uint64_t>(classes));
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      s.unit.push_back(u * 7 + 3);  // unit ids need not be dense
      s.cls.push_back(c);
    }
  }
  s.unit.push_back(999);  // a sample outside the task
  s.cls.push_back(-1);
  return s;
}

TEST(KFold, EveryFlowTestedOnceNeverOnTwoSidesStratified) {
  for (int folds : {2, 3, 5, 10}) {
    SCOPED_TRACE("folds " + std::to_string(folds));
    const Samples s = random_samples(137, 4, 11 + folds);
    std::map<int64_t, int> tested;                  // unit -> folds it was tested in
    std::map<int32_t, std::vector<int>> per_class;  // class -> test units per fold
    for (int k = 0; k < folds; ++k) {
      const std::vector<Split> split = split_kfold(s.unit, s.cls, folds, k, 0.2, 42);
      ASSERT_EQ(split.size(), s.unit.size());
      std::map<int64_t, std::set<int>> sides;
      std::map<int32_t, int> test_units;
      size_t val = 0;
      for (size_t i = 0; i < split.size(); ++i) {
        if (s.cls[i] < 0) continue;
        sides[s.unit[i]].insert(split[i]);
        val += split[i] == kValidation;
      }
      for (const auto& [u, set] : sides) {
        ASSERT_EQ(set.size(), 1u) << "unit " << u << " is on two sides in fold " << k;
        if (*set.begin() == kTest) ++tested[u];
      }
      for (size_t i = 0; i < split.size(); ++i)
        if (s.cls[i] >= 0 && split[i] == kTest && (i == 0 || s.unit[i - 1] != s.unit[i])) ++test_units[s.cls[i]];
      for (int32_t c = 0; c < 4; ++c) per_class[c].push_back(test_units[c]);
      EXPECT_GT(val, 0u) << "no validation flows";
      // The same seed gives the same fold; the partition does not depend on the fold asked for.
      EXPECT_EQ(split, split_kfold(s.unit, s.cls, folds, k, 0.2, 42));
    }
    std::set<int64_t> all(s.unit.begin(), s.unit.end() - 1);
    ASSERT_EQ(tested.size(), all.size()) << "some flow was never tested";
    for (const auto& [u, n] : tested) EXPECT_EQ(n, 1) << "unit " << u << " tested in " << n << " folds";
    for (const auto& [c, v] : per_class) {
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      EXPECT_LE(*hi - *lo, 1) << "class " << c << " is not stratified over the folds";
    }
  }
  // Another seed, another partition.
  const Samples s = random_samples(60, 3, 5);
  EXPECT_NE(split_kfold(s.unit, s.cls, 5, 0, 0.1, 1), split_kfold(s.unit, s.cls, 5, 0, 0.1, 2));
  EXPECT_NE(error_of([&] { split_kfold(s.unit, s.cls, 5, 5, 0.1, 1); }).find("fold 5 of 5"), std::string::npos);
  EXPECT_NE(error_of([&] { split_kfold(s.unit, s.cls, 1, 0, 0.1, 1); }).find("folds >= 2"), std::string::npos);
}

json quickstart_with(const json& training) {
  json j = load_json_file(std::string(FLOWPIC_SOURCE_DIR) + "/configs/quickstart.json");
  for (auto it = training.begin(); it != training.end(); ++it) j["training"][it.key()] = it.value();
  return j;
}

TEST(KFold, ConfigKeys) {
  ExperimentConfig c = parse_experiment(quickstart_with({{"split", "kfold"}}), "q.json");
  EXPECT_EQ(c.training.folds, 5);
  EXPECT_EQ(c.training.fold, -1);
  EXPECT_EQ(c.resolved["training"]["split"], "kfold");
  EXPECT_EQ(c.resolved["training"]["folds"], 5);
  EXPECT_TRUE(c.resolved["training"]["fold"].is_null());
  c = parse_experiment(quickstart_with({{"split", "kfold"}, {"folds", 3}, {"fold", 2}}), "q.json");
  EXPECT_EQ(c.training.folds, 3);
  EXPECT_EQ(c.training.fold, 2);
  ASSERT_EQ(point_runs(c).size(), 1u);  // only the fold asked for
  EXPECT_EQ(point_runs(c)[0].name, "seed1-fold2");
  // Without k-fold nothing changes in the resolved config.
  c = parse_experiment(quickstart_with({}), "q.json");
  EXPECT_FALSE(c.resolved["training"].contains("folds"));
  ASSERT_EQ(point_runs(c).size(), 1u);
  EXPECT_EQ(point_runs(c)[0].name, "seed1");

  auto e = error_of([] { parse_experiment(quickstart_with({{"folds", 4}}), "q.json"); });
  EXPECT_NE(e.find("training.folds"), std::string::npos) << e;
  EXPECT_NE(e.find("kfold"), std::string::npos) << e;
  e = error_of([] { parse_experiment(quickstart_with({{"split", "kfold"}, {"folds", 3}, {"fold", 3}}), "q.json"); });
  EXPECT_NE(e.find("training.fold"), std::string::npos) << e;
  e = error_of([] { parse_experiment(quickstart_with({{"split", "kfold"}, {"folds", 1}}), "q.json"); });
  EXPECT_NE(e.find("training.folds"), std::string::npos) << e;
  e = error_of([] { parse_experiment(quickstart_with({{"split", "fold"}}), "q.json"); });
  EXPECT_NE(e.find("flow, window, kfold"), std::string::npos) << e;
}

TEST(EarlyStopConfig, ValLossRuleKeys) {
  ExperimentConfig c = parse_experiment(quickstart_with({{"early_stop", "val_loss"}, {"min_delta", 0.01}}), "q.json");
  EXPECT_EQ(c.training.early_stop, "val_loss");
  EXPECT_EQ(c.training.min_delta, 0.01);
  EXPECT_EQ(c.resolved["training"]["early_stop"], "val_loss");
  c = parse_experiment(quickstart_with({}), "q.json");  // the default is not recorded: older results still match
  EXPECT_FALSE(c.resolved["training"].contains("early_stop"));
  auto e = error_of([] { parse_experiment(quickstart_with({{"min_delta", 0.01}}), "q.json"); });
  EXPECT_NE(e.find("training.min_delta"), std::string::npos) << e;
  e = error_of([] { parse_experiment(quickstart_with({{"early_stop", "loss"}}), "q.json"); });
  EXPECT_NE(e.find("selection, val_loss"), std::string::npos) << e;
  e = error_of([] { parse_experiment(quickstart_with({{"early_stop", "val_loss"}, {"min_delta", -1}}), "q.json"); });
  EXPECT_NE(e.find(">= 0"), std::string::npos) << e;
}

class KFoldRuns : public flowpic::testing::TinyStoreTest {};

// Three folds of a small experiment through run_sweep: one result per fold, each flow of the task
// in exactly one test set, the summary over the three, --resume skipping all.
TEST_F(KFoldRuns, OneResultPerFoldAndASummaryOverThem) {
  json raw = parse_json(R"({
      "name": "kf",
      "dataset": {"source": "store", "store": ")" +
                            store() + R"("},
      "representation": {"type": "flowpic", "resolution": 16, "transform": "clip255", "block_s": 15},
      "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": "classes"}]},
      "training": {"epochs": 1, "batch_size": 16, "seed": 3, "split": "kfold", "folds": 3, "validation_fraction": 0.2},
      "task": {"type": "category", "encapsulation": "Non-VPN"},
      "device": "cpu",
      "output": ")" + dir() +
                            R"(/kfold"})",
                        "kf.json");
  const SweepPlan plan = plan_sweep(raw, "kf.json");
  EXPECT_EQ(plan.runs(), 3u);
  SweepOutcome o = run_sweep(plan, false, "test");
  EXPECT_EQ(o.runs, 3u);
  std::map<uint32_t, int> tested;  // flow -> test sets it was in
  for (int k = 0; k < 3; ++k) {
    const std::string path = dir() + "/kfold/kf/seed3-fold" + std::to_string(k) + ".h5";
    ASSERT_TRUE(result_complete(path)) << path;
    const RunResult r = read_result(path);
    EXPECT_EQ(r.run, "seed3-fold" + std::to_string(k));
    EXPECT_EQ(r.config["training"]["fold"], k);
    ExperimentConfig c = point_runs(plan.point_configs[0])[static_cast<size_t>(k)].config;
    PreparedExperiment d = prepare_experiment(c, 3);
    std::set<uint32_t> train, test;
    for (size_t i : d.train.samples) train.insert(d.index.samples[i].flow);
    for (size_t i : d.validation.samples) train.insert(d.index.samples[i].flow);
    for (size_t i : d.evaluation[0].samples) test.insert(d.index.samples[i].flow);
    for (uint32_t f : test) {
      EXPECT_EQ(train.count(f), 0u) << "flow " << f << " on both sides in fold " << k;
      ++tested[f];
    }
  }
  for (const auto& [f, n] : tested) EXPECT_EQ(n, 1) << "flow " << f;
  EXPECT_GT(tested.size(), 6u);
  std::ifstream in(dir() + "/kfold/kf/summary.md");
  std::stringstream md;
  md << in.rdbuf();
  EXPECT_NE(md.str().find("| (no sweep) | 3/3 |"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("seeds and folds"), std::string::npos) << md.str();
  o = run_sweep(plan, true, "test");
  EXPECT_EQ(o.runs, 0u);
  EXPECT_EQ(o.skipped, 3u);
}

}  // namespace
