#pragma once
// make_tables: the papers' tables (FlowPic Table III, Table IV, unseen applications, application
// identification; He & Li's payload-image F1; tcbench's Table 3 on UC Davis ICDM'19) rebuilt from result files, each
// cell our mean and standard deviation over repeats beside the paper's number and the difference. Composes the papers'
// numbers (experiments/paper_numbers.hpp), the cells from result files (experiments/table_cells.hpp) and their
// rendering (experiments/table_render.hpp).
#include <string>
#include <vector>

#include "experiments/table_render.hpp"

namespace flowpic {

struct TableOptions {
  std::string results_dir;  // holds <config>/seed<N>.h5
  std::string out_dir;      // default <results_dir>/tables
  std::string configs_dir;  // where "run configs/X.json" points; for the setting check (default: shipped configs)
  std::string note;         // added to every table (e.g. the command that made the runs)
  bool progress = true;
};

// Builds every table from the result files; a config without results gives gap cells.
std::vector<RenderedTable> make_tables(const TableOptions& options);
// Writes <out_dir>/<id>.md/.tex/.csv for each table and <out_dir>/all.md, atomically.
void write_tables(const std::vector<RenderedTable>& tables, const std::string& out_dir);

}  // namespace flowpic
