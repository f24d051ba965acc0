// make_tables RESULTS_DIR: the papers' tables from result files (experiments/tables.hpp).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "experiments/tables.hpp"

namespace flowpic {

namespace {
void tables_usage(FILE* out) {
  std::fprintf(out,
               "usage: make_tables RESULTS_DIR [--out DIR] [--configs DIR] [--note TEXT]\n\n"
               "Rebuilds the papers' tables (FlowPic Table III and IV, unseen applications, application\n"
               "identification; He & Li payload-image F1) from RESULTS_DIR/<config>/seed<N>.h5, as Markdown,\n"
               "LaTeX and CSV in DIR (default RESULTS_DIR/tables). A config without results is a gap naming it.\n\n"
               "  --out DIR      where the tables go\n"
               "  --configs DIR  the configs the runs came from (default: the shipped configs/), to flag changed settings\n"
               "  --note TEXT    a sentence added to every caption (e.g. the command that made the runs)\n");
}
}  // namespace

int make_tables_main(int argc, char** argv) {
  TableOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* opt) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "make_tables: %s needs a value\n", opt);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      tables_usage(stdout);
      return 0;
    } else if (a == "--out") {
      o.out_dir = value("--out");
    } else if (a == "--configs") {
      o.configs_dir = value("--configs");
    } else if (a == "--note") {
      o.note = value("--note");
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "make_tables: unknown option '%s'\n", a.c_str());
      tables_usage(stderr);
      return 2;
    } else if (o.results_dir.empty()) {
      o.results_dir = a;
    } else {
      std::fprintf(stderr, "make_tables: one results folder at a time ('%s' and '%s')\n", o.results_dir.c_str(), a.c_str());
      return 2;
    }
  }
  if (o.results_dir.empty()) {
    tables_usage(stderr);
    return 2;
  }
  try {
    if (!std::filesystem::is_directory(o.results_dir)) fail(o.results_dir, ": no such folder (give the results folder run_experiment wrote)");
    if (o.out_dir.empty()) o.out_dir = o.results_dir + "/tables";
    std::vector<RenderedTable> tables = make_tables(o);
    write_tables(tables, o.out_dir);
    std::fprintf(stderr, "make_tables: wrote %zu tables (.md, .tex, .csv) and all.md to %s\n", tables.size(), o.out_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tables: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::make_tables_main(argc, argv); }
