// classify MODEL.h5 CAPTURE... | --interface IF: a trained model applied to captures or to live
// traffic (experiments/classify.hpp). Exit status: 0 done (also --duration reached), 1 a run error,
// 2 a usage error, 130 stopped by SIGINT or SIGTERM after writing every record completed so far
// and the summary (the project's rule for an interrupted run, as run_experiment's Ctrl-C).
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/command_line.hpp"
#include "common/atomic_file.hpp"
#include "experiments/classify.hpp"

namespace flowpic {

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second one stops at once
}

}  // namespace

int classify_main(int argc, char** argv) {
  // The capture thread shares the cores with the inference threads' OpenMP workers: workers that
  // spin between parallel regions take its time (1 GB capture, 2 cores, one runner of 2 threads:
  // 9.8 s of CPU instead of 6.5 s). libgomp reads OMP_WAIT_POLICY once, when it is loaded, before
  // main: a setenv here reaches only a fresh image of the program, so classify starts itself again
  // with it set (Linux; elsewhere, or if that fails, it runs on with OpenMP's default).
  // Likewise OpenBLAS: every GEMM here runs single-threaded (nn::cpu::gemm), yet the pthreads
  // build starts a server thread when it is loaded, which spins in sched_yield after each GEMM
  // (2.3% of the CPU on the 1 GB capture); OPENBLAS_NUM_THREADS=1 keeps it from starting.
  if (!std::getenv("OMP_WAIT_POLICY") || !std::getenv("OPENBLAS_NUM_THREADS")) {
    setenv("OMP_WAIT_POLICY", "passive", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
#ifdef __linux__
    char self[4096];  // the program's own path (not /proc/self/exe: ps would call it "exe")
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
      self[len] = '\0';
      execv(self, argv);  // returns only if it failed
    }
#endif
  }
  auto app = cli::make_app(
      "classify",
      "Applies a trained model (a run_experiment result file, or a weights file from export_weights)\n"
      "to pcap/pcapng captures (files or folders), or to live traffic on --interface: flows are assembled\n"
      "as in training, cut into the windows of the model's representation and classified as each window\n"
      "completes (streaming: memory is bounded by the open sessions, not the input). One record per flow\n"
      "window (predicted class, confidence, 5-tuple, every class's probability) on stdout or --out; a\n"
      "per-class summary on stderr. Live: records flushed one by one, a stats line every --stats seconds;\n"
      "SIGINT/SIGTERM stop cleanly (summary, exit status 130).");
  ClassifyOptions o;
  std::string format = "csv", out_path;
  size_t max_open = o.flow.max_open_sessions;
  app->add_option("MODEL_OR_RESULT.h5", o.model_path, "a run_experiment result file or an export_weights weights file")
      ->required()
      ->type_name("");
  app->add_option("CAPTURE", o.captures, "pcap/pcapng captures, or folders of them (or --interface)")
      ->take_all()
      ->type_name("");
  app->add_option("--interface", o.interface,
                  "capture live on this interface (libpcap; needs root or cap_net_raw,cap_net_admin)")
      ->type_name("IF");
  app->add_option("--filter", o.filter, "live: a BPF capture filter (man pcap-filter), e.g. 'tcp port 443'")
      ->type_name("BPF");
  app->add_option("--duration", o.duration_s, "live: stop after S seconds (default: at SIGINT/SIGTERM)")
      ->type_name("S")
      ->check(cli::seconds());
  app->add_flag("--promisc", o.promiscuous, "live: put the interface in promiscuous mode (default: not)");
  app->add_option("--stats", o.stats_s, "live: a stats line on stderr every S seconds (default 10; 0: none)")
      ->type_name("S")
      ->check(cli::seconds());
  app->add_option("--max-open-sessions", max_open,
                  "memory bound: at most N sessions open at once; beyond it the least recently\n"
                  "active one ends early (counted; default 1048576; 1 to 4294967296)")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32).description(""));
  app->add_option("--config", o.config_path,
                  "take the representation from this experiment config (needed for weights files\n"
                  "that do not record it)")
      ->type_name("FILE");
  app->add_option("--labels", o.label_maps,
                  "label map(s) to label the flows as training did (shown beside the predictions;\n"
                  "repeatable; captures only)")
      ->type_name("FILE")
      ->take_all();
  app->add_option("--format", format, "csv (default), json (captures only) or jsonl (one object per line)")
      ->type_name("F")
      ->check(CLI::IsMember({"csv", "json", "jsonl"}));
  app->add_option("--out", out_path, "write there (atomically) instead of stdout")->type_name("FILE");
  app->add_option("--device", o.device, "cpu, cuda or auto (default auto)")
      ->type_name("D")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app->add_option("--runners", o.runners,
                  "batches classified at once, each on a thread of its own with a copy of the model\n"
                  "(cpu; default 2, or 1 on one core; the OpenMP threads are shared among them)")
      ->type_name("N")
      ->check(CLI::Range(1, 256).description(""));
  app->add_option("--batch", o.batch_size, "images per forward pass (default 128; 1 to 65536)")
      ->type_name("N")
      ->check(CLI::Range(1, 65536).description(""));
  return cli::run_command_line(*app, argc, argv, [&] {
    const bool live = !o.interface.empty();
    if (!live && o.captures.empty()) cli::usage_error("CAPTURE is required (or --interface IF for live traffic)");
    if (live && !o.captures.empty()) cli::usage_error("give captures or --interface, not both");
    if (live && !o.label_maps.empty()) cli::usage_error("--labels labels captures by file name; not with --interface");
    if (live && format == "json") cli::usage_error("--format json is one document; live records need csv or jsonl");
    if (!live && (!o.filter.empty() || o.duration_s > 0 || o.promiscuous))
      cli::usage_error("--filter, --duration and --promisc are for --interface");
    o.flow.max_open_sessions = max_open;
    o.stop = &g_stop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::unique_ptr<AtomicFile> file;
    FILE* out = stdout;
    if (!out_path.empty()) {
      make_dirs(parent_dir(out_path));
      file = std::make_unique<AtomicFile>(out_path);
      out = std::fopen(file->temp_path().c_str(), "wb");
      if (!out) throw std::runtime_error("cannot write " + file->temp_path());
    }
    ClassifyRun run;
    try {
      run = live ? classify_live(o, format, out) : classify_captures_to(o, format, out);
    } catch (...) {
      if (file) std::fclose(out);
      throw;
    }
    if (file) {
      if (std::fclose(out) != 0) throw std::runtime_error("cannot write " + file->temp_path());
      file->commit();
    }
    std::fprintf(stderr, "%s", run.summary.c_str());
    if (!out_path.empty()) std::fprintf(stderr, "classify: wrote %s\n", out_path.c_str());
    if (run.interrupted) {
      std::fprintf(stderr, "classify: stopped by a signal; every window completed before it was classified\n");
      return 130;
    }
    return 0;
  });
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::classify_main(argc, argv); }
