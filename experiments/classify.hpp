#pragma once
// classify: a trained model applied to new captures, with the training pipeline's own code:
// the captures are ingested into a temporary packet store (same flow assembly, optional label
// maps), cut into samples by the same sample index and imaged by the same builders, using the
// representation recorded with the model (a result file's config attribute, an exported weights
// file's representation attribute, or --config).
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic {

struct ClassifyOptions {
  std::string model_path;               // result file of run_experiment, or a weights file (export_weights)
  std::string config_path;              // experiment config whose representation to use ("" = the model file's)
  std::vector<std::string> captures;    // pcap/pcapng files or folders
  std::vector<std::string> label_maps;  // optional: label the flows as training did (shown beside predictions)
  std::string device = "auto";          // cpu | cuda | auto
  int batch_size = 128;
  bool progress = true;
};

struct Classification {
  std::vector<std::string> class_names;
  json representation;          // the resolved representation used
  PacketStore store;            // the ingested captures (keys, labels, sources)
  std::vector<Sample> samples;  // one per image, in flow, direction, window order
  std::vector<int32_t> predicted;
  std::vector<float> probabilities;  // samples x classes, row-major
  std::string backend;               // what ran the model
  SampleIndexStats stats;
};

Classification classify_captures(const ClassifyOptions& options);

// One row per sample: flow, 5-tuple in the sample's direction, window, predicted class,
// confidence, each class's probability (and the flow's labels when the store has them).
std::string classification_csv(const Classification& c);
json classification_json(const Classification& c);
// Samples and flows per predicted class, for stderr.
std::string classification_summary(const Classification& c);

// The trained model of a result file as a weights file (docs/weights.md), with the class names
// and the representation as attributes so that classify and other frameworks can use it alone.
// Written atomically.
struct ExportedWeights {
  size_t parameters = 0, classes = 0;
};
ExportedWeights export_weights(const std::string& result_path, const std::string& out_path);

}  // namespace flowpic
