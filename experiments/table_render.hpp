#pragma once
// make_tables' tables as text: Markdown (with the caption and notes), LaTeX and CSV. Each cell
// shows ours (mean ± std, runs, samples), the paper's number and the difference.
#include <string>

#include "experiments/table_cells.hpp"

namespace flowpic {

// A rendered table in the three formats.
struct RenderedTable {
  std::string id;  // file stem: "table3_summary", ...
  std::string markdown, latex, csv;
};

// Ends the caption: what the runs were (their provenance), then `note` (may be empty).
void finish_caption(Table& t, const TableProvenance& provenance, const std::string& note);

RenderedTable render_table(const Table& t);

}  // namespace flowpic
