#pragma once
// What an ingestion (captures, CSV import, merge) did: counts, skip reasons, warnings.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flowpic {

// What an ingestion did, also printed as the closing summary.
struct IngestReport {
  uint64_t files = 0, files_damaged = 0;
  uint64_t bytes = 0, packets_read = 0, packets_kept = 0, flows = 0;
  uint64_t packets_reordered = 0;                   // packets older than one before them in their flow (sorted by time)
  uint64_t malformed_lines = 0;                     // CSV import: lines skipped
  uint64_t sessions_ended_early = 0;                // ended to stay within FlowOptions::max_open_sessions
  bool decapsulate = false;                         // captures: IP-in-IP tunnels decapsulated (--decapsulate)
  uint64_t packets_decapsulated = 0;                // decoded from inside such tunnels (before flow filters)
  std::map<std::string, uint64_t> skipped;          // reason -> packets
  std::map<std::string, uint64_t> flows_per_label;  // "category=VoIP" -> flows
  std::vector<std::string> warnings;                // one line each (damaged files, unmatched names, overlaps)
  double seconds = 0;
  std::string summary() const;  // multi-line human summary
};

}  // namespace flowpic
