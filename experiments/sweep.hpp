#pragma once
// Sweeps: a config's "sweep" object, {"optimizer.lr": [1e-3, 1e-4], "representation.resolution":
// [32, 64]}, is a grid; each point is the config with those values set (as --set would set them,
// after any --set), run for every repeat seed into its own result file
// <output>/<name>/<point>/seed<N>.h5 (docs/results.md). A config without a sweep is one point
// whose files are <output>/<name>/seed<N>.h5, as before.
#include <cstdint>
#include <functional>
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

// Every run of the plan in one order that all shares agree on: points in grid order, within a
// point its seeds and within a seed its folds (point_runs). `position` is the run's place in it.
struct SweepRun {
  size_t position = 0, point = 0;
  PointRun run;
  std::string path;  // point_result_path
};
std::vector<SweepRun> sweep_runs(const SweepPlan& plan);

// A share of a sweep's runs: those at positions p with p % count == index (round-robin over
// sweep_runs). The `count` shares 0..count-1 are disjoint and cover every run once; each is a
// function of the config alone, so any process computes the same shares.
struct SweepShare {
  int index = 0, count = 1;
  std::string source;  // what chose it ("--shard", "SLURM_ARRAY_TASK_ID", "MPI rank"); "" for the whole sweep
  bool whole() const { return count == 1; }
  bool holds(size_t position) const { return static_cast<int>(position % static_cast<size_t>(count)) == index; }
  std::string text() const;  // "K/N"
  bool operator==(const SweepShare& o) const { return index == o.index && count == o.count; }
};
// "K/N" with 0 <= K < N (0-based, as Slurm array task ids and MPI ranks are); errors name `source`.
SweepShare parse_share(const std::string& text, const std::string& source = "--shard");
// Share `inner` of share `outer`: index inner.index * outer.count + outer.index of
// outer.count * inner.count, a subset of `outer`; the inner shares of all outer ones partition the sweep.
SweepShare combine_shares(const SweepShare& outer, const SweepShare& inner);
// The runs of `share`, in order.
std::vector<SweepRun> share_runs(const SweepPlan& plan, const SweepShare& share);

// The share of this process. Outer share: `shard_flag` ("K/N", --shard) or, without it, the Slurm
// array task (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT); both given and
// different is an error. Inner share: the MPI rank of `mpi_size` when mpi_size > 1, else, inside
// an srun step (SLURM_STEP_ID set), SLURM_PROCID of SLURM_NTASKS. An environment share of one task
// says nothing (the whole sweep). `env` looks a variable up (std::getenv; tests pass their own).
using EnvLookup = std::function<const char*(const char*)>;
SweepShare resolve_share(const std::string& shard_flag, const EnvLookup& env, int mpi_rank = 0, int mpi_size = 1);

// How many runs of the plan have a complete result file (result_complete with the run's config),
// whoever wrote them; `missing` lists the other paths.
struct SweepProgress {
  size_t complete = 0, total = 0;
  std::vector<std::string> missing;
};
SweepProgress sweep_progress(const SweepPlan& plan);

// When run_sweep writes summary.csv and summary.md (whenever the sweep has more than one run):
// kAlways (a whole sweep in one process: also after an interruption, partial), kWhenComplete (a
// share: only once every run of the sweep, of every share, is complete), kNever (MPI ranks: rank
// 0 writes it after all ranks are done).
enum class SummaryPolicy { kAlways, kWhenComplete, kNever };
struct SweepOptions {
  bool resume = false;
  std::string command;  // recorded in the results
  SweepShare share;     // the runs to do; the whole sweep by default
  SummaryPolicy summary = SummaryPolicy::kAlways;
  // False on the ranks other than 0 of data-parallel training (training.distributed "mpi"): they
  // train every run with rank 0 and write nothing.
  bool write_results = true;
};

// Runs the share's runs of the plan, one result file per run (written atomically). With `resume`,
// runs whose result file is complete are skipped. Stops after the current batch once
// g_stop_requested is set (the run in progress is still written, marked interrupted). Progress
// lines go to stderr, numbered by position in the whole sweep.
struct SweepOutcome {
  size_t runs = 0, skipped = 0;
  bool interrupted = false;
  bool summary_written = false;
};
SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options);
SweepOutcome run_sweep(const SweepPlan& plan, bool resume, const std::string& command);  // the whole sweep

// The sweep over the processes of an MPI launch (experiments/distributed.hpp): each rank runs
// options.share (its rank's share, from resolve_share), errors caught; rank 0 gathers every
// rank's outcome once all are done, reports each failed rank ("error: rank R of N failed: ...")
// and, when none failed, writes the summary. Returns the exit status: 1 when any rank failed
// (at rank 0; the failed rank too), 130 when interrupted, else 0. No rank returns before rank 0
// has reported.
int run_sweep_on_ranks(const SweepPlan& plan, SweepOptions options);

// Writes the summary from every complete result there is (any share's) and prints it on stderr
// with how many runs are complete (run_experiment --summary-only). Returns the progress.
SweepProgress summarise_sweep(const SweepPlan& plan);

}  // namespace flowpic
