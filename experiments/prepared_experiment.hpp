#pragma once
// The data of one run once prepare_experiment (experiments/runner.hpp) has chosen it: the packet
// store, the sample index of the task's flows, each sample's class, and the sets of samples to
// train on, select the model on and evaluate. Its own module so the trainer can read it without
// depending on the runner that composes both.
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/packet_store.hpp"
#include "experiments/task.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic {

// Samples of one evaluation set, as indices into PreparedExperiment::index.samples.
struct SampleSet {
  std::string name;  // "train", "validation", "test", "held_out", "cross:Tor"
  std::vector<size_t> samples;
};

struct PreparedExperiment {
  std::string store_path;
  std::string data_source;  // "synthetic" or "store"
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

}  // namespace flowpic
