#pragma once
// run_experiment: from a config to result files. prepare_experiment() selects and splits the
// samples (shared by --dry-run); run_once() trains one model with the trainer
// (experiments/trainer.hpp) and evaluates it.
#include <cstdint>
#include <memory>
#include <string>

#include "experiments/config.hpp"
#include "experiments/prepared_experiment.hpp"
#include "experiments/results.hpp"
#include "experiments/trainer.hpp"  // g_stop_requested and build_model, which the programs use with the runner
#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic {

// Loads (or, for synthetic data, generates and ingests) the store, builds the sample index of the
// task's flows, splits by flow (or window) and balances. Deterministic for `seed`.
PreparedExperiment prepare_experiment(const ExperimentConfig& cfg, uint64_t seed);

// Trains and evaluates one model (one seed) and returns its result; writes nothing.
struct TrainedRun {
  RunResult result;
  std::shared_ptr<nn::Backend> backend;  // the model's backend must outlive it
  std::shared_ptr<nn::Model> model;      // the selected (best-epoch) weights
};
TrainedRun run_once(const ExperimentConfig& cfg, PreparedExperiment& data, uint64_t seed, const std::string& command);

}  // namespace flowpic
