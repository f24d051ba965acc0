// make_tables RESULTS_DIR: the papers' tables from result files (experiments/tables.hpp).
#include <cstdio>
#include <filesystem>
#include <string>

#include "apps/command_line.hpp"
#include "common/error.hpp"
#include "experiments/tables.hpp"

namespace flowpic {

int make_tables_main(int argc, char** argv) {
  auto app =
      cli::make_app("make_tables",
                    "Rebuilds the papers' tables (FlowPic Table III and IV, unseen applications, application\n"
                    "identification; He & Li payload-image F1; tcbench's Table 3 on UC Davis ICDM'19) from\n"
                    "RESULTS_DIR/<config>/seed<N>.h5 (tcbench: RESULTS_DIR/tcbench/<config>/), as Markdown, LaTeX\n"
                    "and CSV in DIR (default RESULTS_DIR/tables). A config without results is a gap naming it.");
  TableOptions o;
  app->add_option("RESULTS_DIR", o.results_dir, "the results folder run_experiment wrote")->required()->type_name("");
  app->add_option("--out", o.out_dir, "where the tables go")->type_name("DIR");
  app->add_option("--configs", o.configs_dir,
                  "the configs the runs came from (default: the shipped configs/), to flag changed settings")
      ->type_name("DIR");
  app->add_option("--note", o.note, "a sentence added to every caption (e.g. the command that made the runs)")
      ->type_name("TEXT");
  return cli::run_command_line(*app, argc, argv, [&] {
    if (!std::filesystem::is_directory(o.results_dir))
      fail(o.results_dir, ": no such folder (give the results folder run_experiment wrote)");
    if (o.out_dir.empty()) o.out_dir = o.results_dir + "/tables";
    std::vector<RenderedTable> tables = make_tables(o);
    write_tables(tables, o.out_dir);
    std::fprintf(stderr, "make_tables: wrote %zu tables (.md, .tex, .csv) and all.md to %s\n", tables.size(),
                 o.out_dir.c_str());
    return 0;
  });
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::make_tables_main(argc, argv); }
