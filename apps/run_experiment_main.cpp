// run_experiment CONFIG.json [--set key=value]... [--resume] [--dry-run]: trains and evaluates
// what a config describes (experiments/runner.hpp, experiments/sweep.hpp).
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "experiments/runner.hpp"
#include "experiments/sweep.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace flowpic {

namespace {

void on_sigint(int) {
  g_stop_requested = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: run_experiment CONFIG.json [--set key.path=value]... [--resume] [--dry-run]\n\n"
               "Trains and evaluates the experiment CONFIG describes; writes one HDF5 result file per\n"
               "repeat under <output>/<name>/ (layout: docs/results.md). A config's \"sweep\"\n"
               "({\"optimizer.lr\": [0.001, 0.0001], ...}) runs every point of the grid into\n"
               "<output>/<name>/<point>/seed<N>.h5 and writes summary.csv and summary.md there.\n\n"
               "  --set key.path=value  override a config value (JSON value or bare string), e.g.\n"
               "                        --set training.epochs=3 --set dataset.source=synthetic\n"
               "  --resume              skip runs whose result file is already complete (after an interruption)\n"
               "  --dry-run             print the resolved config and the samples per class and set, then stop\n");
}

// --dry-run: the resolved config, the grid, the samples per class and set, and the model.
void dry_run(const SweepPlan& plan) {
  const ExperimentConfig& cfg = plan.base;
  std::printf("%s\n", cfg.resolved.dump(2).c_str());
  if (plan.points.size() > 1) {
    std::printf("sweep: %zu points x %d seeds\n", plan.points.size(), cfg.training.repeats);
    for (size_t i = 0; i < plan.points.size(); ++i)
      std::printf("  %zu/%zu %s -> %s\n", i + 1, plan.points.size(), plan.points[i].label.c_str(),
                  point_result_path(plan.point_configs[i], plan.points[i], cfg.training.seed).c_str());
  }
  PreparedExperiment d = prepare_experiment(plan.point_configs[0], cfg.training.seed);
  std::printf("%s", d.summary_table().c_str());
  // The model and optimizer are checked too (on the CPU: nothing is trained).
  auto backend = nn::make_backend("cpu");
  nn::Model model = build_model(cfg, d, *backend, cfg.training.seed);
  nn::make_optimizer(cfg.optimizer, {cfg.file, "optimizer"}, model);
  std::printf("model: %zu parameters\n%s", model.parameter_count(), model.summary().c_str());
}

int run_experiment_main(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> sets;
  bool dry = false, resume = false;
  std::string command = "run_experiment";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--dry-run") {
      dry = true;
    } else if (a == "--resume") {
      resume = true;
    } else if (a == "--set") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "run_experiment: --set needs key.path=value\n");
        return 2;
      }
      sets.push_back(argv[++i]);
    } else if (a.rfind("--set=", 0) == 0) {
      sets.push_back(a.substr(6));
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "run_experiment: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      std::fprintf(stderr, "run_experiment: one config at a time ('%s' and '%s')\n", config_path.c_str(), a.c_str());
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(stderr);
    return 2;
  }
  try {
    json raw = load_json_file(config_path);
    for (const auto& o : sets) apply_override(raw, o, config_path);
    const SweepPlan plan = plan_sweep(raw, config_path);
    if (dry) {
      dry_run(plan);
      return 0;
    }
    std::signal(SIGINT, on_sigint);
    const SweepOutcome outcome = run_sweep(plan, resume, command);
    return outcome.interrupted ? 130 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "run_experiment: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::run_experiment_main(argc, argv); }
