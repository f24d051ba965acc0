// flowpic_data: everything about data, from captures to images. The subcommands' table.
#include <string>

#include "apps/cli.hpp"
#include "apps/command_line.hpp"
#include "common/build_info.hpp"

namespace flowpic::cli {

namespace {

// In the order `flowpic_data --help` lists them.
Action (*const kSubcommands[])(CLI::App&) = {add_ingest, add_import_csv, add_import_ucdavis, add_info,
                                             add_merge,  add_synth,      add_images,         add_render};

int run_one(const char* name, const Args& args) {
  Args all{name};
  all.insert(all.end(), args.begin(), args.end());
  return flowpic_data(all);
}

}  // namespace

int flowpic_data(const Args& args) {
  const std::string version = std::string(kVersion) + " (" + kGitCommit + ")";
  auto app = make_app("flowpic_data", "flowpic_data " + version + ": data for flowpic");
  app->set_version_flag("--version", "flowpic_data " + version, "the version and the commit it was built from");
  app->require_subcommand(1);
  std::vector<std::pair<CLI::App*, Action>> actions;
  for (auto add : kSubcommands) {
    Action action = add(*app);
    actions.emplace_back(app->get_subcommands({}).back(), std::move(action));
  }
  app->footer("'flowpic_data <command> --help' describes a command.");
  return run_command_line(*app, args, [&] {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action(command_string("flowpic_data", args));
    return 2;  // not reached: require_subcommand(1)
  });
}

int ingest(const Args& args) { return run_one("ingest", args); }
int import_csv(const Args& args) { return run_one("import-csv", args); }
int import_ucdavis(const Args& args) { return run_one("import-ucdavis", args); }
int info(const Args& args) { return run_one("info", args); }
int merge(const Args& args) { return run_one("merge", args); }
int synth(const Args& args) { return run_one("synth", args); }
int images(const Args& args) { return run_one("images", args); }
int render(const Args& args) { return run_one("render", args); }

}  // namespace flowpic::cli
