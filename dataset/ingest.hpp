#pragma once
// Capture and CSV ingestion into a packet store (see packet_store.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataset/decode.hpp"
#include "dataset/flow_assembler.hpp"
#include "dataset/ingest_report.hpp"

namespace flowpic {

struct IngestOptions {
  FlowOptions flow;
  DecodeOptions decode;                      // --decapsulate: IP-in-IP tunnels' inner packets become the flows
  std::vector<std::string> label_map_paths;  // JSON label maps consulted in order; none = no labels
  std::string command;                       // recorded in the store
  bool progress = true;                      // progress line on stderr
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
