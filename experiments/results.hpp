#pragma once
// One HDF5 result file per run (results/<experiment>/<run>.h5), written atomically. The layout
// is documented in docs/results.md; read_result gives it back (make_tables, classify, tests).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/h5.hpp"
#include "common/json_util.hpp"
#include "experiments/metrics.hpp"

namespace flowpic {

inline constexpr int kResultFormatVersion = 2;  // 2: fixed-length strings, HDF5 1.10 format

struct EpochRecord {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;  // NaN when there is no validation split
  double seconds = 0, images_per_s = 0;
};

// Predictions of one evaluation group ("test", "held_out", "cross:Tor", ...).
struct GroupPredictions {
  std::string name;
  std::vector<uint32_t> flow;        // store flow index
  std::vector<uint8_t> direction;    // 0, 1, or 2 = both
  std::vector<double> window_start;  // seconds since the flow's first packet
  std::vector<int32_t> truth, predicted;
  std::vector<float> probabilities;  // n x classes, row-major
  Metrics metrics;
};

struct RunResult {
  std::string experiment, run;  // run: "seed1", "lr=0.001_seed2", ...
  json config;                  // the resolved config
  json provenance;  // program version, git commit, host, device, CUDA/cuDNN, store paths and hashes, seeds, command
  json samples;     // samples per class per split, sample-index statistics
  std::vector<std::string> class_names;
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  std::string selection;  // "validation", or "test_optimistic" (labelled so in the file)
  std::vector<GroupPredictions> groups;
  std::map<std::string, double> timings;  // seconds: "sample_index", "train", "evaluate", "total"
  bool interrupted = false;               // Ctrl-C: the file holds what was done
  std::string data_source;                // "synthetic" or "iscx"/"store": shown wherever results are shown
};

// Writes the result to `path` through a temporary file; `write_weights` (may be empty) adds the
// trained weights under /weights in the CNN engine's format.
void write_result(const std::string& path, const RunResult& r, const std::function<void(hid_t file)>& write_weights);

// Reads everything but the weights.
RunResult read_result(const std::string& path);

// Facts about this process for provenance: host, program version and commit, time.
json base_provenance(const std::string& command);

}  // namespace flowpic
