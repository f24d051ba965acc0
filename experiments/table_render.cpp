#include "experiments/table_render.hpp"

#include <cstdio>
#include <sstream>

namespace flowpic {

namespace {

std::string number(double x, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, x);
  return b;
}

std::string signed_number(double x, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%+.*f", decimals, x);
  return b;
}

// A cell's three columns (ours, paper, Δ) as Markdown or LaTeX text.
struct CellText {
  std::string ours, paper, diff;
};

CellText cell_text(const TableCell& c, bool latex) {
  CellText t;
  const std::string dash = latex ? "---" : "—";
  if (!c.applicable) return {"n/a", "n/a", dash};
  t.paper = c.paper ? number(*c.paper, c.decimals) : dash;
  if (c.paper && c.paper_std) t.paper += (latex ? " $\\pm$ " : " ± ") + number(*c.paper_std, c.decimals);
  if (!c.have) {
    t.ours = dash + " (" + c.gap + ")";
    t.diff = dash;
    return t;
  }
  const std::string pm = latex ? " $\\pm$ " : " ± ";
  // One run has no spread to show: "97.9 (n=1)", not "97.9 ± 0.0".
  t.ours = number(c.ours.mean, c.decimals) + (c.ours.n > 1 ? pm + number(c.ours.std, c.decimals) : std::string()) +
           " (n=" + std::to_string(c.ours.n) + (c.averaged ? "" : "; " + number(c.samples, 0) + " samples") + ")";
  if (c.optimistic) t.ours += latex ? "$^\\dagger$" : " †";
  if (c.interrupted) t.ours += latex ? "$^\\ddagger$" : " ‡";
  t.diff = c.paper ? signed_number(c.ours.mean - *c.paper, c.decimals) : dash;
  return t;
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (s.compare(i, 2, "±") == 0) {
      out += "$\\pm$";
      i += 1;
      continue;
    }
    if (s.compare(i, 3, "—") == 0) {
      out += "---";
      i += 2;
      continue;
    }
    if (s.compare(i, 3, "†") == 0) {
      out += "$^\\dagger$";
      i += 2;
      continue;
    }
    if (s.compare(i, 3, "‡") == 0) {
      out += "$^\\ddagger$";
      i += 2;
      continue;
    }
    if (s.compare(i, 2, "Δ") == 0) {
      out += "$\\Delta$";
      i += 1;
      continue;
    }
    if (s.compare(i, 3, "−") == 0) {
      out += "$-$";
      i += 2;
      continue;
    }
    switch (ch) {
      case '%':
      case '&':
      case '#':
      case '_':
      case '$':
      case '{':
      case '}':
        out += '\\';
        out += ch;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '<': out += "\\textless{}"; break;
      case '>': out += "\\textgreater{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += ch;
    }
  }
  return out;
}

// Escapes a cell's text for LaTeX while keeping the math that cell_text(latex=true) put in.
std::string latex_cell(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t m = s.find('$', i);
    if (m == std::string::npos) {
      out += latex_escape(s.substr(i));
      break;
    }
    size_t e = s.find('$', m + 1);
    if (e == std::string::npos) e = s.size() - 1;
    out += latex_escape(s.substr(i, m - i)) + s.substr(m, e - m + 1);
    i = e + 1;
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The notes under a table: the marks its cells use, and how to read a cell.
std::vector<std::string> table_notes(const Table& t) {
  bool opt = false, intr = false, avg = false;
  for (const auto& r : t.rows)
    for (const auto& c : r.cells) {
      opt |= c.have && c.optimistic;
      intr |= c.have && c.interrupted;
      avg |= c.averaged;
    }
  std::vector<std::string> notes;
  if (opt)
    notes.push_back(
        "† model chosen on the reported test split (the authors' optimistic protocol), not on a validation split.");
  if (intr) notes.push_back("‡ a run was interrupted (Ctrl-C); its file holds the best model so far.");
  if (avg)
    notes.push_back(
        "Averages: the mean over the class-vs-all configs of one encapsulation (test on the training encapsulation), "
        "per seed; ± over seeds.");
  notes.push_back(
      "Cells: ours = mean ± sample standard deviation over repeats (n runs; no ± for a single run; samples: the "
      "evaluation set's size per run), paper = the published number (± its published standard deviation where given), "
      "Δ = ours − paper (percentage "
      "points).");
  return notes;
}

// The caption's sentences as one paragraph.
std::string caption_text(const Table& t) {
  std::string caption;
  for (const auto& s : t.caption) caption += (caption.empty() ? "" : " ") + s;
  return caption;
}

std::string render_markdown(const Table& t, const std::string& caption, const std::vector<std::string>& notes) {
  std::ostringstream md;
  md << "## " << t.title << "\n\n" << caption << "\n\n|";
  for (const auto& h : t.label_headers) md << " " << h << " |";
  for (const auto& c : t.columns) md << " " << c << ": ours | " << c << ": paper | " << c << ": Δ |";
  md << "\n|";
  for (size_t i = 0; i < t.label_headers.size(); ++i) md << "---|";
  for (size_t i = 0; i < t.columns.size(); ++i) md << "---:|---:|---:|";
  md << "\n";
  for (const auto& r : t.rows) {
    md << "|";
    for (const auto& l : r.labels) md << " " << l << " |";
    for (const auto& c : r.cells) {
      CellText x = cell_text(c, false);
      md << " " << x.ours << " | " << x.paper << " | " << x.diff << " |";
    }
    md << "\n";
  }
  md << "\n";
  for (const auto& n : notes) md << n << "\n";
  return md.str();
}

std::string render_latex(const Table& t, const std::string& caption, const std::vector<std::string>& notes) {
  std::ostringstream tex;
  tex << "% " << t.title << " (generated by make_tables)\n\\begin{table}[t]\n\\centering\n\\caption{"
      << latex_escape(t.title) << ". " << latex_escape(caption) << "}\n\\label{tab:" << t.id << "}\n\\begin{tabular}{";
  for (size_t i = 0; i < t.label_headers.size(); ++i) tex << "l";
  for (size_t i = 0; i < t.columns.size(); ++i) tex << "rrr";
  tex << "}\n\\hline\n";
  std::vector<std::string> head;
  for (const auto& h : t.label_headers) head.push_back(latex_escape(h));
  for (const auto& c : t.columns) {
    head.push_back(latex_escape(c) + " ours");
    head.push_back("paper");
    head.push_back("$\\Delta$");
  }
  for (size_t i = 0; i < head.size(); ++i) tex << (i ? " & " : "") << head[i];
  tex << " \\\\\n\\hline\n";
  for (const auto& r : t.rows) {
    std::vector<std::string> f;
    for (const auto& l : r.labels) f.push_back(latex_escape(l));
    for (const auto& c : r.cells) {
      CellText x = cell_text(c, true);
      f.push_back(latex_cell(x.ours));
      f.push_back(latex_cell(x.paper));
      f.push_back(latex_cell(x.diff));
    }
    for (size_t i = 0; i < f.size(); ++i) tex << (i ? " & " : "") << f[i];
    tex << " \\\\\n";
  }
  tex << "\\hline\n\\end{tabular}\n\\par\\smallskip\\footnotesize ";
  for (const auto& n : notes) tex << latex_escape(n) << " ";
  tex << "\n\\end{table}\n";
  return tex.str();
}

// One line per cell, its numbers with two more decimals than the Markdown shows; the caption last, as a comment line.
std::string render_csv(const Table& t, const std::string& caption) {
  std::ostringstream out;
  out << "table";
  for (const auto& h : t.label_headers) out << "," << csv_field(h);
  out << ",column,ours_mean,ours_std,runs,samples,paper,difference,optimistic,interrupted,note,paper_std\n";
  for (const auto& r : t.rows)
    for (size_t k = 0; k < r.cells.size(); ++k) {
      const TableCell& c = r.cells[k];
      out << t.id;
      for (const auto& l : r.labels) out << "," << csv_field(l);
      out << "," << csv_field(t.columns[k]);
      if (c.have)
        out << "," << number(c.ours.mean, c.decimals + 2) << ","
            << (c.ours.n > 1 ? number(c.ours.std, c.decimals + 2) : "") << "," << c.ours.n << ","
            << (c.averaged ? "" : number(c.samples, 0));
      else
        out << ",,,0,";
      out << "," << (c.paper ? number(*c.paper, c.decimals) : "");
      out << "," << (c.have && c.paper ? number(c.ours.mean - *c.paper, c.decimals + 2) : "");
      out << "," << (c.have && c.optimistic ? 1 : 0) << "," << (c.have && c.interrupted ? 1 : 0);
      out << "," << csv_field(!c.applicable ? "not in the paper" : c.have ? "" : c.gap);
      out << "," << (c.paper && c.paper_std ? number(*c.paper_std, c.decimals) : "") << "\n";
    }
  out << "# " << csv_field(caption) << "\n";
  return out.str();
}

}  // namespace

void finish_caption(Table& t, const TableProvenance& provenance, const std::string& note) {
  for (const auto& s : provenance.sentences()) t.caption.push_back(s);
  if (!note.empty()) t.caption.push_back(note);
}

RenderedTable render_table(const Table& t) {
  const std::vector<std::string> notes = table_notes(t);
  const std::string caption = caption_text(t);
  return {t.id, render_markdown(t, caption, notes), render_latex(t, caption, notes), render_csv(t, caption)};
}

}  // namespace flowpic
