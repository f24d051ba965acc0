#pragma once
// run_experiment: from a config to result files. prepare_experiment() selects and splits the
// samples (shared by --dry-run); run_once() trains one model and evaluates it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataset/packet_store.hpp"
#include "experiments/config.hpp"
#include "experiments/results.hpp"
#include "kernels/sample_index.hpp"
#include "experiments/split.hpp"
#include "experiments/task.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic {

// Samples of one evaluation set, as indices into PreparedExperiment::index.samples.
struct SampleSet {
  std::string name;            // "train", "validation", "test", "held_out", "cross:Tor"
  std::vector<size_t> samples;
};

struct PreparedExperiment {
  std::string store_path;
  std::string data_source;     // "synthetic" or "store"
  PacketStore store;
  RepresentationConfig representation;
  FlowAssignment assignment;
  SampleIndex index;
  std::vector<int32_t> sample_class;  // per sample of the index
  SampleSet train, validation;
  std::vector<SampleSet> evaluation;  // "test" first, then held-out and cross-encapsulation groups
  json summary() const;               // samples per class per set, sample-index statistics
  std::string summary_table() const;  // the same, for a terminal
};

// A path from a config: as given when it exists, else a shipped "configs/..." file found by
// find_config_file (so configs work from any working directory).
std::string resolve_config_path(const std::string& path);

// Loads (or, for synthetic data, generates and ingests) the store, builds the sample index of the
// task's flows, splits by flow (or window) and balances. Deterministic for `seed`.
PreparedExperiment prepare_experiment(const ExperimentConfig& cfg, uint64_t seed);

// Set by run_experiment's SIGINT handler: training stops after the current batch, the best
// model so far is evaluated and the result file is written, marked interrupted.
extern std::atomic<bool> g_stop_requested;

// Trains and evaluates one model (one seed) and returns its result; writes nothing.
struct TrainedRun {
  RunResult result;
  std::shared_ptr<nn::Backend> backend;  // the model's backend must outlive it
  std::shared_ptr<nn::Model> model;      // the selected (best-epoch) weights
};
// The config's model for the prepared data's input shape and classes.
nn::Model build_model(const ExperimentConfig& cfg, const PreparedExperiment& d, nn::Backend& backend, uint64_t seed);

TrainedRun run_once(const ExperimentConfig& cfg, PreparedExperiment& data, uint64_t seed, const std::string& command);

}  // namespace flowpic
