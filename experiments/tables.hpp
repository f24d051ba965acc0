#pragma once
// make_tables: the papers' tables (FlowPic Table III, Table IV, unseen applications, application
// identification; He & Li's payload-image F1) rebuilt from result files, each cell our mean and
// standard deviation over repeats beside the paper's number and the difference. The papers'
// numbers live in one table in tables.cpp, keyed by config name (copied from
// ../shared/reference/flowpic.md and payload_image.md).
#include <optional>
#include <string>
#include <vector>

namespace flowpic {

// One published number: what config, evaluation group and metric it corresponds to.
struct PaperNumber {
  const char* config;  // configs/<config>.json
  const char* group;   // "test", "held_out", "cross:VPN"
  const char* metric;  // "accuracy", "macro_f1", "recall:<class>", "precision:<class>"
  double percent;
  const char* where;   // "FlowPic Table III", ...
};
const std::vector<PaperNumber>& paper_numbers();
std::optional<double> paper_number(const std::string& config, const std::string& group, const std::string& metric);

struct TableOptions {
  std::string results_dir;   // holds <config>/seed<N>.h5
  std::string out_dir;       // default <results_dir>/tables
  std::string configs_dir;   // where "run configs/X.json" points; for the setting check (default: shipped configs)
  std::string note;          // added to every table (e.g. the command that made the runs)
  bool progress = true;
};

// A rendered table in the three formats.
struct RenderedTable {
  std::string id;  // file stem: "table3_summary", ...
  std::string markdown, latex, csv;
};

// Builds every table from the result files; a config without results gives gap cells.
std::vector<RenderedTable> make_tables(const TableOptions& options);
// Writes <out_dir>/<id>.md/.tex/.csv for each table and <out_dir>/all.md, atomically.
void write_tables(const std::vector<RenderedTable>& tables, const std::string& out_dir);

}  // namespace flowpic
