#pragma once
// The built-in synthetic traffic: `flowpic_data synth` writes labelled pcap captures named like
// their ISCX counterparts, a ground-truth manifest and a note that the data is synthetic.
// The model is described in docs/synthetic_traffic.md; every byte follows from the seed.
//
//   OUT/captures/<name>.pcap   one capture per (category, application, encapsulation) file
//   OUT/manifest.json          seed, preset, generator version, and per capture its sessions
//                              (5-tuple, role, packets, bytes, first and last time)
//   OUT/README.md              what the data is (synthetic, not ISCX) and how it was made
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/synth_model.hpp"
#include "dataset/synth_pcap.hpp"

namespace flowpic::synth {

// Bumped whenever the same seed and preset would give different bytes.
inline constexpr int kGeneratorVersion = 1;

struct SynthOptions {
  std::string out_dir;
  uint64_t seed = 1;
  std::string preset = "small";
  double scale = 1.0;
  bool progress = true;
  std::string command;  // recorded in the manifest
};

struct SynthGroupTotals {
  uint64_t files = 0, sessions = 0, packets = 0, bytes = 0;
  double duration_s = 0;
};

struct SynthReport {
  std::string out_dir;
  uint64_t files = 0, packets = 0, bytes = 0, sessions = 0;
  std::map<std::pair<std::string, std::string>, SynthGroupTotals> groups;  // (category, encapsulation)
  std::vector<std::string> removed;  // captures of an earlier run in the folder, no longer produced
  double seconds = 0;
  std::string summary(const SynthOptions& options) const;
};

// The manifest entry of one capture (also used by tests on an in-memory trace).
json manifest_entry(const CaptureSpec& spec, const Trace& trace, const PcapWriteResult& written);

SynthReport generate_synthetic(const SynthOptions& options);

}  // namespace flowpic::synth
