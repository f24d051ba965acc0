#pragma once
// Shared by capture ingestion and CSV import: labels the flows of each source by its file name,
// drops flows a label-map filter names, writes the rest, and keeps the report's counts.
#include <map>
#include <string>
#include <vector>

#include "dataset/flow_assembler.hpp"
#include "dataset/ingest_report.hpp"
#include "dataset/label_map.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

class FlowSink {
 public:
  // `labels` may be null (no label map: no label columns, nothing filtered).
  FlowSink(PacketStoreWriter& writer, const LabelMap* labels, IngestReport& report);

  // Makes `source` current: its flows get the labels of `match_name` (a file name; folders and
  // extension are ignored). Unmatched names and overlapping rules are warned about once per name.
  void begin_source(uint32_t source, const std::string& match_name);
  // Stores one completed flow of the current source, or counts its packets as "filter:<name>".
  void add(FlowRecord& flow);
  // Copies the skipped counts into the writer; call once, before commit.
  void finish();

 private:
  struct Labels {
    bool matched = false;
    std::string rule;                      // "origin: pattern", "" when unmatched
    std::vector<std::string> values;       // one per column
    std::vector<std::string> report_keys;  // "category=VoIP", ...
  };
  const Labels& labels_of(const std::string& match_name);

  PacketStoreWriter& writer_;
  const LabelMap* map_;
  IngestReport& report_;
  std::map<std::string, Labels> cache_;
  const Labels* current_ = nullptr;
  uint32_t source_ = 0;
};

// The flow options as the JSON text recorded in a store; `decode` (captures only) adds
// "decapsulate" and, when on, "max_tunnel_depth".
std::string flow_options_json(const FlowOptions& options, const LabelMap* labels, const std::string& kind,
                              const DecodeOptions* decode = nullptr);

// Warnings beyond this many per file are counted, not listed.
inline constexpr int kMaxWarningsPerFile = 20;

}  // namespace flowpic
