#pragma once
// Sweeps: a config's "sweep" object, {"optimizer.lr": [1e-3, 1e-4], "representation.resolution":
// [32, 64]}, is a grid; each point is the config with those values set (as --set would set them,
// after any --set), run for every repeat seed into its own result file
// <output>/<name>/<point>/seed<N>.h5 (docs/results.md). A config without a sweep is one point
// whose files are <output>/<name>/seed<N>.h5, as before.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/json_util.hpp"
#include "experiments/config.hpp"

namespace flowpic {

struct SweepPoint {
  std::vector<std::pair<std::string, json>> values;  // key path -> value, in the sweep's key order
  std::string label;     // "lr=0.001,resolution=32" (folder name); "" for the single point of no sweep
  json to_json() const;  // {"optimizer.lr": 0.001, ...}: recorded as "sweep_point" in the resolved config
};

// The grid of `raw` (a config's JSON after --set) in row-major order (the last key varies
// fastest). Every point is parsed and checked up front (config keys, representation, model and
// optimizer), so a bad key or value fails before anything runs, with an error naming "sweep" and
// the key. No "sweep" (or an empty one): one point without values.
std::vector<SweepPoint> expand_sweep(const json& raw, const std::string& origin);

// The config of one point: `raw` without its "sweep", the point's values applied, parsed, and the
// representation resolved with every default; resolved["sweep_point"] records the values.
ExperimentConfig point_config(const json& raw, const SweepPoint& point, const std::string& origin);

// One run of a point: a repeat seed and, with k-fold cross-validation (training.split "kfold"),
// the fold it tests. `config` is the point's config for the run (training.fold set, recorded).
struct PointRun {
  uint64_t seed = 0;
  int fold = -1;     // -1: no k-fold
  std::string name;  // "seed1", "seed1-fold2"
  ExperimentConfig config;
};
// Every run of a point, seeds in order and within a seed its folds (all, or training.fold alone).
std::vector<PointRun> point_runs(const ExperimentConfig& point_config);

// <output>/<name>/[<label>/]seed<N>[-fold<K>].h5
std::string point_result_path(const ExperimentConfig& cfg, const SweepPoint& point, uint64_t seed, int fold = -1);

// True when `path` is a whole result file of a run that finished (not interrupted): what
// --resume skips. A damaged or unreadable file is not complete (it is run again). With
// `expected_config` (the run's resolved config), a file made from another config is not complete
// either, and `why` says so.
bool result_complete(const std::string& path, const json* expected_config = nullptr, std::string* why = nullptr);

// Mean and sample standard deviation (n - 1; 0 for one value) of `v`.
struct MeanStd {
  size_t n = 0;
  double mean = 0, std = 0;
};
MeanStd mean_std(const std::vector<double>& v);

// Reads every point's result files (the runs of point_runs that exist) and writes
// <output>/<name>/summary.csv and summary.md: per point, runs found, mean and standard deviation
// over seeds (and folds) of the test accuracy and macro F1. Returns the Markdown.
std::string write_sweep_summary(const ExperimentConfig& base, const std::vector<SweepPoint>& points,
                                const std::vector<ExperimentConfig>& point_configs);

// A config (its JSON after --set) checked whole before anything runs: the base config with its
// representation resolved, and every point of its grid with its own config.
struct SweepPlan {
  ExperimentConfig base;
  std::vector<SweepPoint> points;
  std::vector<ExperimentConfig> point_configs;  // one per point
  size_t runs() const;                          // points x repeats
};
SweepPlan plan_sweep(const json& raw, const std::string& origin);

// Runs every point of the plan for each repeat seed, one result file per run (written
// atomically), and writes the summary when there is more than one run. With `resume`, runs whose
// result file is complete are skipped. Stops after the current batch once g_stop_requested is set
// (the run in progress is still written, marked interrupted). Progress lines go to stderr.
struct SweepOutcome {
  size_t runs = 0, skipped = 0;
  bool interrupted = false;
};
SweepOutcome run_sweep(const SweepPlan& plan, bool resume, const std::string& command);

}  // namespace flowpic
