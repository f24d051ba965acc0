// flowpic_data: everything about data, from captures to images.
#include <cstdio>
#include <cstring>
#include <exception>

#include "common/build_info.hpp"
#include "common/error.hpp"
#include "apps/cli.hpp"

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const flowpic::cli::Args&);
};

const Subcommand kSubcommands[] = {
    {"ingest", "read pcap/pcapng captures into a packet store", flowpic::cli::ingest},
    {"import-csv", "import the FlowPic authors' per-session CSV files into a packet store", flowpic::cli::import_csv},
    {"info", "summarise a packet store", flowpic::cli::info},
    {"merge", "combine packet stores into one", flowpic::cli::merge},
    {"synth", "generate the built-in synthetic traffic (labelled pcap captures)", flowpic::cli::synth},
    {"images", "build the images a representation config yields, into an HDF5 file", flowpic::cli::images},
    {"render", "draw samples as a PNG (FlowPics on a log colour scale, one per class on request)", flowpic::cli::render},
};

void usage(FILE* out) {
  std::fprintf(out, "flowpic_data %s (%s): data for flowpic\n\nusage: flowpic_data <command> [options]\n\ncommands:\n",
               flowpic::kVersion, flowpic::kGitCommit);
  for (const auto& s : kSubcommands) std::fprintf(out, "  %-12s %s\n", s.name, s.summary);
  std::fprintf(out, "\n'flowpic_data <command> --help' describes a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("flowpic_data %s (%s)\n", flowpic::kVersion, flowpic::kGitCommit);
    return 0;
  }
  for (const auto& s : kSubcommands) {
    if (std::strcmp(argv[1], s.name) != 0) continue;
    try {
      return s.run(flowpic::cli::Args(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "flowpic_data %s: error: %s\n", s.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "flowpic_data: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
