// Every program's command line, through the built programs (apps/command_line.hpp): --help on stdout
// with exit status 0, a usage error as one line on stderr with exit status 2, an error while running as
// one line with exit status 1.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace ft = flowpic::testing;

namespace {

struct Outcome {
  int status = -1;  // the exit status, or 128 + the signal
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs build/<mode>/apps/<program> with `args` (no shell), stdout and stderr kept apart.
Outcome run(const std::string& program, const std::vector<std::string>& args) {
  ft::TempDir dir;
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/" + program;
  const std::string out = dir.file("out"), err = dir.file("err");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Outcome o;
  int status = 0;
  waitpid(pid, &status, 0);
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = read_file(out);
  o.err = read_file(err);
  return o;
}

bool one_line(const std::string& s) {
  return !s.empty() && s.back() == '\n' && std::count(s.begin(), s.end(), '\n') == 1;
}

std::string show(const Outcome& o) {
  return "exit " + std::to_string(o.status) + "\nstdout:\n" + o.out + "stderr:\n" + o.err;
}

// A usage error: exit status 2 and one line on stderr, "<program>: error: ..." containing every one of `words`.
void expect_usage_error(const std::string& program, const std::vector<std::string>& args,
                        const std::vector<std::string>& words) {
  std::string cmd = program;
  for (const auto& a : args) cmd += " " + a;
  SCOPED_TRACE(cmd);
  const Outcome o = run(program.substr(0, program.find(' ')), args);
  EXPECT_EQ(o.status, 2) << show(o);
  EXPECT_TRUE(one_line(o.err)) << show(o);
  EXPECT_EQ(o.err.rfind(program + ": error: ", 0), 0u) << show(o);
  for (const auto& w : words) EXPECT_NE(o.err.find(w), std::string::npos) << "'" << w << "' missing: " << show(o);
  EXPECT_TRUE(o.out.empty()) << show(o);
}

// --help: exit status 0, the usage on stdout naming every one of `words`, nothing on stderr.
void expect_help(const std::string& program, std::vector<std::string> args, const std::vector<std::string>& words) {
  args.push_back("--help");
  for (const char* help : {"--help", "-h"}) {
    args.back() = help;
    SCOPED_TRACE(program + " " + help);
    const Outcome o = run(program, args);
    EXPECT_EQ(o.status, 0) << show(o);
    EXPECT_EQ(o.out.rfind("usage: ", 0), 0u) << show(o);
    for (const auto& w : words) EXPECT_NE(o.out.find(w), std::string::npos) << "'" << w << "' missing: " << show(o);
    EXPECT_TRUE(o.err.empty()) << show(o);
  }
}

}  // namespace

TEST(CommandLines, HelpNamesEveryOption) {
  expect_help("flowpic_data", {},
              {"usage: flowpic_data [options] <command>", "--help", "--version", "ingest", "import-csv",
               "import-ucdavis", "info", "merge", "synth", "images", "render", "describes a command"});
  expect_help(
      "flowpic_data", {"ingest"},
      {"usage: flowpic_data ingest", "CAPTURES_OR_DIRS", "--out STORE.h5", "--labels MAP.json", "--idle-timeout S",
       "--linger S", "--max-open-sessions N", "--decapsulate", "--quiet", "docs/packet_store.md"});
  expect_help(
      "flowpic_data", {"import-csv"},
      {"usage: flowpic_data import-csv", "CSV_FILES", "--out STORE.h5", "--labels MAP.json", "--quiet", "pcap_name"});
  expect_help("flowpic_data", {"import-ucdavis"},
              {"usage: flowpic_data import-ucdavis", "DIRS", "--out STORE.h5", "--partition NAME", "--quiet",
               "Retraining(script-triggered)", "google-doc"});
  expect_help("flowpic_data", {"info"}, {"usage: flowpic_data info", "STORE.h5", "flows per label"});
  expect_help("flowpic_data", {"merge"}, {"usage: flowpic_data merge", "STORES", "--out STORE.h5", "--quiet"});
  expect_help("flowpic_data", {"synth"},
              {"usage: flowpic_data synth", "--out DIR", "--seed N", "--preset NAME", "small", "paper", "--scale X",
               "--quiet", "SYNTHETIC"});
  expect_help("flowpic_data", {"images"},
              {"usage: flowpic_data images", "STORE.h5", "--config REPR.json", "--out IMAGES.h5", "--device", "gpu",
               "--dtype", "uint16", "--threads N", "--batch N", "--deflate N", "--quiet"});
  expect_help("flowpic_data", {"render"},
              {"usage: flowpic_data render", "STORE.h5", "--config REPR.json", "--out PICTURE.png", "--sample N",
               "--per-class COLUMN", "--where COLUMN=VALUE", "--panel PX"});
  expect_help("run_experiment", {},
              {"usage: run_experiment", "CONFIG.json", "--set key.path=value", "repeatable", "--resume", "--dry-run"});
  expect_help("make_tables", {}, {"usage: make_tables", "RESULTS_DIR", "--out DIR", "--configs DIR", "--note TEXT"});
  expect_help("classify", {},
              {"usage: classify", "MODEL_OR_RESULT.h5", "CAPTURE", "--config FILE", "--labels FILE", "--format", "csv",
               "json", "--out FILE", "--device", "cuda", "--batch N"});
  expect_help("export_weights", {}, {"usage: export_weights", "RESULT.h5 OUT.h5", "docs/weights.md"});
}

TEST(CommandLines, VersionAndNoArguments) {
  Outcome o = run("flowpic_data", {"--version"});
  EXPECT_EQ(o.status, 0) << show(o);
  EXPECT_EQ(o.out.rfind("flowpic_data ", 0), 0u) << show(o);
  EXPECT_TRUE(one_line(o.out)) << show(o);
  // Nothing given: the whole usage, on stderr.
  for (const char* program : {"flowpic_data", "run_experiment", "make_tables", "classify", "export_weights"}) {
    SCOPED_TRACE(program);
    o = run(program, {});
    EXPECT_EQ(o.status, 2) << show(o);
    EXPECT_EQ(o.err.rfind(std::string("usage: ") + program, 0), 0u) << show(o);
    EXPECT_TRUE(o.out.empty()) << show(o);
  }
}

TEST(CommandLines, UnknownOptionsAndCommands) {
  for (const char* sub : {"ingest", "import-csv", "import-ucdavis", "info", "merge", "synth", "images", "render"})
    expect_usage_error(std::string("flowpic_data ") + sub, {sub, "x.h5", "--no-such-option"},
                       {"unknown option '--no-such-option'", std::string("flowpic_data ") + sub + " --help"});
  expect_usage_error("flowpic_data", {"--no-such-option"}, {"unknown option '--no-such-option'"});
  expect_usage_error("flowpic_data", {"frobnicate", "--out", "x"},
                     {"unknown command 'frobnicate'", "flowpic_data --help"});
  for (const char* program : {"run_experiment", "make_tables", "classify", "export_weights"}) {
    expect_usage_error(program, {"x", "--no-such-option"}, {"unknown option '--no-such-option'"});
    expect_usage_error(program, {"--no-such-option=3", "x"}, {"unknown option '--no-such-option=3'"});
  }
}

TEST(CommandLines, MissingValuesAndArguments) {
  expect_usage_error("flowpic_data ingest", {"ingest", "a.pcap", "--out"}, {"--out needs a value"});
  expect_usage_error("flowpic_data ingest", {"ingest", "a.pcap"}, {"--out STORE.h5 is required"});
  expect_usage_error("flowpic_data ingest", {"ingest", "--out", "s.h5"}, {"CAPTURES_OR_DIRS is required"});
  expect_usage_error("flowpic_data synth", {"synth", "--quiet"}, {"--out DIR is required"});
  expect_usage_error("flowpic_data synth", {"synth", "--out", "d", "--seed"}, {"--seed needs a value"});
  expect_usage_error("flowpic_data images", {"images", "s.h5", "--out", "i.h5", "--config"},
                     {"--config needs a value"});
  expect_usage_error("flowpic_data render", {"render", "s.h5", "--config", "r.json"},
                     {"--out PICTURE.png is required"});
  expect_usage_error("flowpic_data info", {"info", "a.h5", "b.h5"}, {"unexpected argument 'b.h5'"});
  expect_usage_error("run_experiment", {"c.json", "--set"}, {"--set needs a value"});
  expect_usage_error("run_experiment", {"a.json", "b.json"}, {"unexpected argument 'b.json'"});
  expect_usage_error("make_tables", {"results", "--note"}, {"--note needs a value"});
  expect_usage_error("classify", {"m.h5", "c.pcap", "--batch"}, {"--batch needs a value"});
  expect_usage_error("classify", {"m.h5"}, {"CAPTURE is required"});
  expect_usage_error("export_weights", {"r.h5"}, {"OUT.h5 is required"});
  expect_usage_error("export_weights", {"r.h5", "o.h5", "p.h5"}, {"unexpected argument 'p.h5'"});
}

TEST(CommandLines, NumbersAndChoicesOutsideTheirRange) {
  expect_usage_error("classify", {"m.h5", "c.pcap", "--batch", "0"}, {"--batch", "0", "1 to 65536"});
  expect_usage_error("classify", {"m.h5", "c.pcap", "--batch", "65537"}, {"--batch", "65537"});
  expect_usage_error("classify", {"m.h5", "c.pcap", "--batch=12x"}, {"--batch", "12x"});
  expect_usage_error("classify", {"m.h5", "c.pcap", "--format", "xml"}, {"--format", "xml", "csv", "json"});
  expect_usage_error("classify", {"m.h5", "c.pcap", "--device", "tpu"}, {"--device", "tpu", "cuda"});
  const std::vector<std::string> ingest{"ingest", "a.pcap", "--out", "s.h5"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  expect_usage_error("flowpic_data ingest", with(ingest, {"--idle-timeout", "x"}), {"--idle-timeout", "'x'", ">= 0"});
  expect_usage_error("flowpic_data ingest", with(ingest, {"--linger=-1"}), {"--linger", "'-1'"});
  expect_usage_error("flowpic_data ingest", with(ingest, {"--idle-timeout", "inf"}), {"--idle-timeout", "'inf'"});
  expect_usage_error("flowpic_data ingest", with(ingest, {"--max-open-sessions", "0"}), {"--max-open-sessions", "0"});
  expect_usage_error("flowpic_data ingest", with(ingest, {"--max-open-sessions", "4294967297"}),
                     {"--max-open-sessions", "4294967297"});
  const std::vector<std::string> synth{"synth", "--out", "d"};
  expect_usage_error("flowpic_data synth", with(synth, {"--seed", "-1"}), {"--seed", "'-1'", "18446744073709551615"});
  expect_usage_error("flowpic_data synth", with(synth, {"--seed", "18446744073709551616"}), {"--seed"});
  expect_usage_error("flowpic_data synth", with(synth, {"--scale", "0"}), {"--scale", "'0'", "> 0"});
  expect_usage_error("flowpic_data synth", with(synth, {"--preset", "huge"}), {"--preset", "huge", "small", "paper"});
  const std::vector<std::string> images{"images", "s.h5", "--config", "r.json", "--out", "i.h5"};
  expect_usage_error("flowpic_data images", with(images, {"--deflate", "10"}), {"--deflate", "10", "0 to 9"});
  expect_usage_error("flowpic_data images", with(images, {"--batch", "0"}), {"--batch", "0"});
  expect_usage_error("flowpic_data images", with(images, {"--threads", "-2"}), {"--threads", "-2"});
  expect_usage_error("flowpic_data images", with(images, {"--device", "tpu"}), {"--device", "tpu", "gpu"});
  expect_usage_error("flowpic_data images", with(images, {"--dtype", "int8"}), {"--dtype", "int8", "float32"});
  const std::vector<std::string> render{"render", "s.h5", "--config", "r.json", "--out", "p.png"};
  expect_usage_error("flowpic_data render", with(render, {"--sample", "1", "--sample", "-1"}), {"--sample", "-1"});
  expect_usage_error("flowpic_data render", with(render, {"--panel", "x"}), {"--panel", "x"});
  expect_usage_error("flowpic_data render", with(render, {"--per-class", "category", "--where", "Non-VPN"}),
                     {"--where", "COLUMN=VALUE", "'Non-VPN'"});
  expect_usage_error("flowpic_data render", with(render, {"--where", "encapsulation=VPN"}), {"--where", "--per-class"});
  expect_usage_error("flowpic_data render", with(render, {"--sample", "2", "--per-class", "category"}),
                     {"--sample", "--per-class"});
}

TEST(CommandLines, ErrorsWhileRunningAreOneLineWithStatus1) {
  ft::TempDir dir;
  auto expect_run_error = [&](const std::string& program, const std::vector<std::string>& args,
                              const std::string& word) {
    SCOPED_TRACE(program + " " + (args.empty() ? "" : args[0]));
    const Outcome o = run(program.substr(0, program.find(' ')), args);
    EXPECT_EQ(o.status, 1) << show(o);
    EXPECT_TRUE(one_line(o.err)) << show(o);
    EXPECT_EQ(o.err.rfind(program + ": error: ", 0), 0u) << show(o);
    EXPECT_NE(o.err.find(word), std::string::npos) << show(o);
  };
  expect_run_error("flowpic_data info", {"info", dir.file("none.h5")}, "none.h5");
  expect_run_error("make_tables", {dir.file("none")}, "no such folder");
  expect_run_error("export_weights", {dir.file("none.h5"), dir.file("w.h5")}, "none.h5");
  expect_run_error("classify", {dir.file("none.h5"), dir.file("c.pcap"), "--device", "cpu"}, "none.h5");
  // --set key=value and --set=key=value both reach the config (a key it does not have; a store that
  // does not exist: never the synthetic data, which would be generated).
  const std::string config = std::string(FLOWPIC_SOURCE_DIR) + "/configs/quickstart.json";
  expect_run_error("run_experiment", {config, "--dry-run", "--set", "training.epochz=1"}, "training.epochz");
  expect_run_error("run_experiment", {config, "--dry-run", "--set=training.epochz=1"}, "training.epochz");
  expect_run_error("run_experiment",
                   {config, "--set", "dataset.source=store", "--set=dataset.store=" + dir.file("none.h5"), "--dry-run"},
                   "none.h5 does not exist");
  // Repeated --labels: every map is read (the second one is missing).
  std::ofstream(dir.file("a.csv")) << "";
  const std::string first = std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/iscx_tor.json";
  expect_run_error("flowpic_data import-csv",
                   {"import-csv", dir.file("a.csv"), "--out", dir.file("s.h5"), "--labels", first, "--labels",
                    dir.file("second.json")},
                   "second.json");
  // import-ucdavis: a folder of class folders without --partition.
  std::filesystem::create_directories(dir.file("classes/Youtube"));
  std::ofstream(dir.file("classes/Youtube/a.txt")) << "1\t0\t100\t0\n";
  expect_run_error("flowpic_data import-ucdavis", {"import-ucdavis", dir.file("classes"), "--out", dir.file("u.h5")},
                   "--partition NAME");
}
