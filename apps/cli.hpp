#pragma once
// Subcommands of the flowpic_data program, each in its own file; the table is in apps/flowpic_data.cpp.
// Each add_* adds its subcommand (options, help) to the flowpic_data command line and returns what
// runs it once that is parsed; `command` is the whole command as typed, recorded in the files written.
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace flowpic::cli {

using Args = std::vector<std::string>;
using Action = std::function<int(const std::string& command)>;

Action add_ingest(CLI::App& flowpic_data);          // apps/cli_ingest.cpp
Action add_import_csv(CLI::App& flowpic_data);      // apps/cli_ingest.cpp
Action add_import_ucdavis(CLI::App& flowpic_data);  // apps/cli_ingest.cpp
Action add_info(CLI::App& flowpic_data);            // apps/cli_ingest.cpp
Action add_merge(CLI::App& flowpic_data);           // apps/cli_ingest.cpp
Action add_synth(CLI::App& flowpic_data);           // apps/cli_synth.cpp
Action add_images(CLI::App& flowpic_data);          // apps/cli_images.cpp
Action add_render(CLI::App& flowpic_data);          // apps/cli_images.cpp

// The flowpic_data program: `args` are the arguments after its name; returns the exit status
// (apps/command_line.hpp: 0, 2 for a usage error, 1 for an error while running).
int flowpic_data(const Args& args);

// One subcommand, as `flowpic_data <subcommand> args...` runs it.
int ingest(const Args& args);
int import_csv(const Args& args);
int import_ucdavis(const Args& args);
int info(const Args& args);
int merge(const Args& args);
int synth(const Args& args);
int images(const Args& args);
int render(const Args& args);

}  // namespace flowpic::cli
