#pragma once
// Experiment configs (configs/*.json): strict JSON, every unknown key or wrong type is an error
// naming the file and the key and listing what is allowed. `--set key.path=value` overrides are
// applied to the JSON before validation, so they are checked the same way.
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "experiments/split.hpp"
#include "experiments/task.hpp"
#include "kernels/augment.hpp"

namespace flowpic {

struct DatasetConfig {
  std::string source = "store";  // "store": the packet store below; "synthetic": the built-in traffic
  std::string store;             // packet store path (relative to the working directory)
  std::string store_hint;        // how to build the store when it is missing (one line, shown in the error)
  uint64_t synthetic_seed = 1;
  std::string synthetic_preset = "small";        // small | paper
  double synthetic_scale = 1.0;                  // multiplies every capture's duration (flowpic_data synth --scale)
  std::string synthetic_dir = "data/synthetic";  // where the built-in traffic and its store are cached
};

// A batch of images (batch_size x channels x height x width floats) may need at most this much
// memory; parse_experiment refuses more (the paper's 128 FlowPics of 1500 x 1500 need 1.1 GiB).
inline constexpr int64_t kMaxBatchImageBytes = int64_t{4} << 30;

struct TrainingConfig {
  int epochs = 40;
  int batch_size = 128;
  int batches_per_epoch = 0;  // 0 = one pass over the training samples (paper: 10 batches)
  int patience = 0;           // early stopping after this many epochs without improvement; 0 = off
  // What counts as improvement for early stopping: "selection" (a better model-selection score, the
  // default) or "val_loss" (tcbench: the validation loss falls by more than min_delta).
  std::string early_stop = "selection";
  double min_delta = 0.001;
  uint64_t seed = 1;
  int repeats = 1;  // runs with seeds seed, seed+1, ...
  SplitFractions fractions{0.1, 0.1};
  bool split_by_flow = true;  // false: the paper's window-level random split (recorded)
  int folds = 0;              // split "kfold": K folds by flow, stratified by class; 0 otherwise
  int fold = -1;              // with folds: the one fold to run (its flows are the test set); -1 = all
  // split "per_class" (tcbench): this many flows per class are drawn for training and validation
  // (validation_fraction of them validate), the rest of the main group is the test set "leftover";
  // 0 for the other splits.
  int train_flows_per_class = 0;
  std::string selection = "validation";  // "validation" or "test_optimistic" (authors' protocol: best epoch on test)
  bool balance = true;                   // balanced undersampling of the training classes (paper)
  AugmentConfig augment;                 // training-time augmentation (kernels/augment.hpp); none by default
  // "none", or "mpi": data-parallel over the ranks of mpirun (each takes its slice of every global
  // batch; gradients averaged with MPI_Allreduce; rank 0 writes the result).
  std::string distributed = "none";
};

struct ExperimentConfig {
  std::string file;  // the config's path, for messages
  std::string name;
  std::string description;
  DatasetConfig dataset;
  json representation;  // validated by the image builders' RepresentationConfig
  json model;           // validated by the CNN engine's model registry
  json optimizer;       // validated by the CNN engine
  TrainingConfig training;
  TaskConfig task;
  std::string device = "auto";  // auto | cpu | cuda
  std::string input = "auto";   // auto | dense | sparse: images or their non-zero cells (choose_batch_input)
  std::string output = "results";
  json resolved;  // the whole config after overrides and defaults, stored with the results
};

// Applies "a.b.c=value" to `j`: value is parsed as JSON when it parses (3, 0.5, true, [1,2],
// {"x":1}), else taken as a string. Intermediate objects must exist or are created.
void apply_override(json& j, const std::string& assignment, const std::string& origin);

ExperimentConfig parse_experiment(const json& j, const std::string& origin);
ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace flowpic
