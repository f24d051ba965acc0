#pragma once
// classify: a trained model applied to new captures or to a live interface, with the training
// pipeline's own code: the same decoder and flow assembly as ingestion (optional label maps), the
// same windows as the sample index and the same image builders, using the representation recorded
// with the model (a result file's config attribute, an exported weights file's representation
// attribute, or --config). It streams (experiments/classify_stream.hpp): packets -> sessions ->
// windows as they complete -> batched inference on a thread of its own -> records, so memory is
// bounded by the open sessions, not by the size of the input.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/flow_assembler.hpp"
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
  // Inference threads and OpenMP threads of each (StreamOptions::runners, runner_threads; 0: auto).
  int runners = 0, runner_threads = 0;
  bool progress = true;
  FlowOptions flow;  // idle timeout, linger, max_open_sessions (as ingestion's defaults)

  // Live capture (classify_live).
  std::string interface;  // capture on this interface instead of reading captures
  std::string filter;     // BPF expression
  double duration_s = 0;  // stop after this long (0: until stop is set)
  bool promiscuous = false;
  double stats_s = 10;            // a stats line on stderr this often (0: none)
  double batch_deadline_s = 0.1;  // a partial batch runs this long after its first window
  // Set (by a signal handler) to stop: reading ends, every open session closes, the windows complete
  // so far are classified and written, and the run returns with `interrupted`.
  const std::atomic<bool>* stop = nullptr;
};

struct Classification {
  std::vector<std::string> class_names;
  json representation;          // the resolved representation used
  PacketStore store;            // the flows (keys, start times, labels, sources; no packets)
  std::vector<Sample> samples;  // one per image, in flow, direction, window order
  std::vector<int32_t> predicted;
  std::vector<float> probabilities;  // samples x classes, row-major
  std::string backend;               // what ran the model
  std::string input;                 // its input path and why (StreamClassifier::input_reason())
  SampleIndexStats stats;
};

// Classifies captures and keeps every record in memory (for tests and small inputs).
Classification classify_captures(const ClassifyOptions& options);

// Record formats: "csv" (a header line, one row per window), "json" (one document, classes,
// representation, backend and the rows under "windows"), "jsonl" (one JSON object per line).
struct ClassifyRun {
  std::string summary;  // what classification_summary says, for stderr
  bool interrupted = false;
  uint64_t windows = 0, flows = 0, packets = 0;
};
// Captures -> records on `out` as flows end (their windows in flow, direction, window order: the
// order and bytes classify_captures + classification_csv/json give).
ClassifyRun classify_captures_to(const ClassifyOptions& options, const std::string& format, FILE* out);
// A live interface -> one record per window as soon as it is complete and classified, flushed per
// record; "time" (when it was classified) first; `flow` is the session number (opening order).
// Stats lines on stderr every stats_s seconds. Returns at duration_s or when stop is set.
ClassifyRun classify_live(const ClassifyOptions& options, const std::string& format, FILE* out);

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
