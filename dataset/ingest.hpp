#pragma once
// Capture and CSV ingestion into a packet store (see packet_store.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flowpic {

struct FlowOptions {
  // A session with no packet for this long ends; the next packet starts a new one.
  double idle_timeout_s = 120.0;
  // After a TCP RST, or FINs from both sides, packets still join the session for this long
  // (the last ACKs); a SYN without ACK starts a new session at once.
  double tcp_close_linger_s = 1.0;
  // Memory bound: at most this many sessions are open at once (about 200 bytes each plus their
  // packets). A capture with more concurrent 5-tuples (a scan, a flood of tiny flows) ends the
  // least recently active session early to make room; such sessions are counted and reported
  // (IngestReport::sessions_ended_early), and the store's flow_options records the cap.
  size_t max_open_sessions = size_t{1} << 20;
};

struct IngestOptions {
  FlowOptions flow;
  std::vector<std::string> label_map_paths;  // JSON label maps consulted in order; none = no labels
  std::string command;                       // recorded in the store
  bool progress = true;                      // progress line on stderr
};

// What an ingestion did, also printed as the closing summary.
struct IngestReport {
  uint64_t files = 0, files_damaged = 0;
  uint64_t bytes = 0, packets_read = 0, packets_kept = 0, flows = 0;
  uint64_t packets_reordered = 0;  // packets older than one before them in their flow (sorted by time)
  uint64_t malformed_lines = 0;    // CSV import: lines skipped
  uint64_t sessions_ended_early = 0;  // ended to stay within FlowOptions::max_open_sessions
  std::map<std::string, uint64_t> skipped;                 // reason -> packets
  std::map<std::string, uint64_t> flows_per_label;         // "category=VoIP" -> flows
  std::vector<std::string> warnings;                       // one line each (damaged files, unmatched names, overlaps)
  double seconds = 0;
  std::string summary() const;  // multi-line human summary
};

// Files and folders -> capture files: a folder is scanned (not recursively) for *.pcap, *.pcapng
// and *.cap (any case), sorted by name; a file is taken as given. A missing path is an error.
std::vector<std::string> list_captures(const std::vector<std::string>& files_or_dirs);

// Reads pcap/pcapng captures (through libpcap) into a new store at `out_path`. A damaged or
// truncated file keeps its complete packets and is reported; a file that is not a capture, or
// has an unknown link type, is reported and skipped. Throws only when nothing usable was given
// or the store cannot be written.
IngestReport ingest_captures(const std::vector<std::string>& captures, const std::string& out_path,
                             const IngestOptions& options);

// Imports the authors' per-session CSV files (reference flowpic.md) into a new store.
// A malformed line is reported with its file and line number and skipped.
IngestReport import_authors_csv(const std::vector<std::string>& csv_files, const std::string& out_path,
                                const IngestOptions& options);

// Combines stores into one (label tables merged by name).
IngestReport merge_stores(const std::vector<std::string>& stores, const std::string& out_path,
                          const std::string& command, bool progress = true);

// The closing summary of an existing store (what `flowpic_data info` prints).
std::string describe_store(const std::string& path);

}  // namespace flowpic
