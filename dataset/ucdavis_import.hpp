#pragma once
// Import of the UC Davis ICDM'19 QUIC dataset (Rezaei & Liu, ICDM 2019; the main dataset of
// tcbench, Finamore et al., IMC 2023) into a packet store.
//
// The dataset is one text file per flow, one line per packet, four whitespace-separated columns:
//   absolute time (Unix seconds)   time since the flow's first packet (s)   packet size (bytes)   direction (0/1)
// in class folders ("Google Doc", "Google Drive", "Google Music", "Google Search", "Youtube")
// inside partition folders ("pretraining", "Retraining(script-triggered)",
// "Retraining(human-triggered)"). Each file becomes one flow with both directions (view kSession,
// direction as in column 4, which this importer does not reinterpret), its times from column 2
// (sorted when out of order, counted), its start from column 1 of its first line, its sizes from
// column 3 (stored as ip_length; payload sizes are unknown). Labels: `app` (google-doc,
// google-drive, google-music, google-search, youtube), `partition` (pretraining,
// retraining-script-triggered, retraining-human-triggered, or the --partition name) and `flow_id`
// (the file name). The 5-tuple is not in the dataset: keys are empty.
#include <string>
#include <string_view>
#include <vector>

#include "dataset/flow_record.hpp"
#include "dataset/ingest_report.hpp"

namespace flowpic {

struct UcdavisImportOptions {
  // The partition of folders of class folders given directly (neither the dataset root nor a
  // partition folder); required for them, ignored otherwise.
  std::string partition;
  std::string command;   // recorded in the store
  bool progress = true;  // progress line on stderr
};

// The label columns of a UC Davis store, in order.
const std::vector<std::string>& ucdavis_label_columns();

// "Google Doc" -> "google-doc", "Youtube" -> "youtube" (tcbench's names); another folder name is
// lower-cased with spaces as '-' (and the import warns about it).
std::string ucdavis_app_name(const std::string& class_folder, bool* known = nullptr);
// "pretraining" -> "pretraining", "Retraining(script-triggered)" -> "retraining-script-triggered",
// "Retraining(human-triggered)" -> "retraining-human-triggered"; "" for another name.
std::string ucdavis_partition_name(const std::string& folder);

// One packet line; "" on success, else one line saying what is wrong with it.
struct UcdavisPacket {
  double absolute_time = 0, time = 0;
  uint32_t size = 0;
  uint8_t direction = 0;
};
std::string parse_ucdavis_line(std::string_view line, UcdavisPacket& out);

// Imports every flow file under `dirs` (each the dataset root, one partition folder, or a folder
// of class folders) into a new store at `out_path`. Damaged lines are skipped and counted with
// their file and line; a file with no packet left is reported and stored as a source without
// flows. Throws when nothing usable was found or the store cannot be written.
IngestReport import_ucdavis(const std::vector<std::string>& dirs, const std::string& out_path,
                            const UcdavisImportOptions& options);

}  // namespace flowpic
