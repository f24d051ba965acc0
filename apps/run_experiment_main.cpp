// run_experiment CONFIG.json [--set key=value]... [--resume] [--dry-run] [--shard K/N] [--summary-only]
// [--list-runs]: trains and evaluates what a config describes (experiments/runner.hpp,
// experiments/sweep.hpp); a share of a sweep's runs under --shard, a Slurm array or mpirun.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/command_line.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"
#include "experiments/distributed.hpp"
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
  if (cfg.training.folds)
    std::printf("k-fold: %zu runs per point (seeds x folds); the samples below are fold %d's\n",
                point_runs(plan.point_configs[0]).size(), std::max(0, cfg.training.fold));
  PreparedExperiment d = prepare_experiment(plan.point_configs[0], cfg.training.seed);
  std::printf("%s", d.summary_table().c_str());
  // The model and optimizer are checked too (on the CPU: nothing is trained).
  auto backend = nn::make_backend("cpu");
  nn::Model model = build_model(cfg, d, *backend, cfg.training.seed);
  nn::make_optimizer(cfg.optimizer, {cfg.file, "optimizer"}, model);
  std::printf("model: %zu parameters\n%s", model.parameter_count(), model.summary().c_str());
}

int run_experiment_main(int argc, char** argv) {
  auto app = cli::make_app("run_experiment",
                           "Trains and evaluates the experiment CONFIG describes; writes one HDF5 result file per\n"
                           "repeat under <output>/<name>/ (layout: docs/results.md). A config's \"sweep\"\n"
                           "({\"optimizer.lr\": [0.001, 0.0001], ...}) runs every point of the grid into\n"
                           "<output>/<name>/<point>/seed<N>.h5 and writes summary.csv and summary.md there.");
  std::string config_path;
  std::vector<std::string> sets;
  bool dry = false, resume = false, summary_only = false, list_runs = false;
  std::string shard;
  app->add_option("CONFIG.json", config_path, "the experiment config")->required()->type_name("");
  app->add_option("--set", sets,
                  "override a config value (JSON value or bare string; repeatable), e.g.\n"
                  "--set training.epochs=3 --set dataset.source=synthetic")
      ->type_name("key.path=value")
      ->take_all();
  app->add_flag("--resume", resume, "skip runs whose result file is already complete (after an interruption)");
  app->add_flag("--dry-run", dry, "print the resolved config and the samples per class and set, then stop");
  app->add_option("--shard", shard,
                  "run only share K of N (0 <= K < N) of the sweep's runs (round-robin over points x seeds x\n"
                  "folds); default: the Slurm array task's (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT),\n"
                  "else the whole sweep. Under mpirun -np M each rank takes share rank/M of that. The summary\n"
                  "is written by the share that finds every run complete (under MPI: rank 0, after all ranks)")
      ->type_name("K/N");
  app->add_flag("--summary-only", summary_only,
                "write summary.csv and summary.md from the complete result files there are (any share's), run "
                "nothing");
  app->add_flag("--list-runs", list_runs,
                "print the sweep's folder, then its runs, one a line (position, result file; '*' marks this "
                "process's share); run nothing");
  std::string command = "run_experiment";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  return cli::run_command_line(*app, argc, argv, [&] {
    json raw = load_json_file(config_path);
    for (const auto& o : sets) apply_override(raw, o, config_path);
    if (!shard.empty()) {
      try {
        parse_share(shard);
      } catch (const Error& e) {
        cli::usage_error(e.what());
      }
    }
    if (int(dry) + int(summary_only) + int(list_runs) > 1)
      cli::usage_error("--dry-run, --summary-only and --list-runs exclude each other");
    const SweepPlan plan = plan_sweep(raw, config_path);
    SweepOptions options;
    options.resume = resume;
    options.command = command;
    const int ranks = dist::size();
    // Data-parallel training: every rank trains every run of the share with the others (rank 0
    // writes); otherwise ranks split the sweep.
    const bool data_parallel = plan.base.training.distributed == "mpi";
    options.share = resolve_share(
        shard, [](const char* v) { return std::getenv(v); }, data_parallel ? 0 : dist::rank(),
        data_parallel ? 1 : ranks);
    if (data_parallel && dist::rank() != 0) options.write_results = false;
    if (!options.share.whole()) options.summary = SummaryPolicy::kWhenComplete;
    if (ranks > 1 && dist::rank() > 0 && (dry || list_runs || summary_only)) return 0;  // rank 0 answers
    if (dry) {
      dry_run(plan);
      return 0;
    }
    if (list_runs) {
      const std::vector<SweepRun> mine = share_runs(plan, options.share);
      std::printf("# %s/%s/ (%zu runs; this process's share %s: %zu)\n", plan.base.output.c_str(),
                  plan.base.name.c_str(), plan.runs(), options.share.text().c_str(), mine.size());
      for (const SweepRun& r : sweep_runs(plan))
        std::printf("%zu %s%s\n", r.position, r.path.c_str(), options.share.holds(r.position) ? " *" : "");
      return 0;
    }
    if (summary_only) {
      summarise_sweep(plan);
      return 0;
    }
    std::signal(SIGINT, on_sigint);
    if (ranks > 1 && !data_parallel) return run_sweep_on_ranks(plan, options);  // mpirun -np N: a share per rank
    const SweepOutcome outcome = run_sweep(plan, options);
    return outcome.interrupted ? 130 : 0;  // 130: stopped by Ctrl-C, what is done kept
  });
}

}  // namespace

}  // namespace flowpic

int main(int argc, char** argv) {
  flowpic::dist::Launch launch(&argc, &argv);  // MPI when started by mpirun; else a group of one
  return flowpic::run_experiment_main(argc, argv);
}
