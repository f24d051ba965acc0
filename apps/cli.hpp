#pragma once
// Subcommands of the flowpic_data program, each in its own file; the table is in
// flowpic_data_main.cpp. Each takes the arguments after the subcommand name and returns the exit code.
#include <string>
#include <vector>

namespace flowpic::cli {

using Args = std::vector<std::string>;

int ingest(const Args& args);      // dataset/cli_ingest.cpp
int import_csv(const Args& args);  // dataset/cli_ingest.cpp
int info(const Args& args);        // dataset/cli_ingest.cpp
int merge(const Args& args);       // dataset/cli_ingest.cpp
int synth(const Args& args);       // dataset/cli_synth.cpp
int images(const Args& args);      // kernels/cli_images.cpp
int render(const Args& args);      // kernels/cli_images.cpp

}  // namespace flowpic::cli
