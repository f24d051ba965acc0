// scripts/slurm_sweep.sh: the job scripts it writes (--dry-run), and, where a Slurm cluster
// answers (scripts/slurm_localhost.sh start; never in CI), the array job and summary job for real.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/atomic_file.hpp"
#include "experiments/results.hpp"
#include "experiments/sweep.hpp"
#include "support/read_text.hpp"
#include "support/tiny_store.hpp"

using namespace flowpic;
using flowpic::testing::read_text;

namespace {

class SlurmSweep : public flowpic::testing::TinyStoreTest {
 protected:
  // A 3-point x 2-seed sweep (6 runs) on the tiny store.
  static std::string config() {
    const std::string path = dir() + "/slurm.json";
    std::ofstream(path) << R"({
      "name": "sl",
      "dataset": {"source": "store", "store": ")" +
                               store() + R"("},
      "representation": {"type": "flowpic", "resolution": 16, "transform": "clip255", "block_s": 15},
      "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": "classes"}]},
      "training": {"epochs": 1, "batch_size": 16, "seed": 5, "repeats": 2, "test_fraction": 0.25, "validation_fraction": 0.2},
      "task": {"type": "category", "encapsulation": "Non-VPN"},
      "device": "cpu",
      "sweep": {"optimizer.lr": [0.01, 0.001, 0.0001]},
      "output": ")" + dir() + R"(/results"})";
    return path;
  }
  static std::string script() { return std::string(FLOWPIC_SOURCE_DIR) + "/scripts/slurm_sweep.sh"; }
  static std::string program() { return std::string(FLOWPIC_BINARY_DIR) + "/apps/run_experiment"; }
  static int run(const std::string& args, const std::string& log) {
    const int rc = std::system(("bash " + script() + " " + args + " >" + log + " 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
};

}  // namespace

TEST_F(SlurmSweep, DryRunWritesTheJobScripts) {
  const std::string cfg = config(), log = dir() + "/dry.log", jobs = dir() + "/jobs";
  ASSERT_EQ(run(cfg + " --program " + program() + " --dir " + jobs + " --dry-run --partition=gpu --time=01:00:00", log),
            0)
      << read_text(log);
  const std::string out = read_text(log);
  const std::string array = read_text(jobs + "/array.sbatch"), summary = read_text(jobs + "/summary.sbatch");
  EXPECT_NE(out.find(array), std::string::npos) << "--dry-run prints the scripts";
  EXPECT_NE(out.find(summary), std::string::npos);
  // One task per run, one GPU each, every task resuming its share.
  EXPECT_NE(array.find("#SBATCH --array=0-5\n"), std::string::npos) << array;
  EXPECT_NE(array.find("#SBATCH --gres=gpu:1\n"), std::string::npos) << array;
  EXPECT_NE(array.find("#SBATCH --output=" + jobs + "/array-%A_%a.out\n"), std::string::npos) << array;
  EXPECT_NE(array.find("exec " + program() + " " + cfg + " --resume\n"), std::string::npos) << array;
  EXPECT_NE(summary.find("exec " + program() + " " + cfg + " --summary-only\n"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("--gres"), std::string::npos) << summary;
  // The commands: sbatch options passed on, the summary after the whole array succeeded.
  EXPECT_NE(out.find("sbatch --parsable --partition=gpu --time=01:00:00 " + jobs + "/array.sbatch\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("sbatch --parsable --partition=gpu --time=01:00:00 --dependency=afterok:<array job id> " + jobs +
                     "/summary.sbatch\n"),
            std::string::npos)
      << out;
  EXPECT_FALSE(file_exists(dir() + "/results/sl/summary.md")) << "a dry run runs nothing";

  // --tasks 4 --cpu: four shares of the six runs, no GPU; --set reaches both jobs.
  ASSERT_EQ(
      run(cfg + " --program " + program() + " --dir " + jobs + " --dry-run --tasks 4 --cpu --set training.epochs=2",
          log),
      0)
      << read_text(log);
  const std::string array4 = read_text(jobs + "/array.sbatch");
  EXPECT_NE(array4.find("#SBATCH --array=0-3\n"), std::string::npos) << array4;
  EXPECT_EQ(array4.find("--gres"), std::string::npos) << array4;
  EXPECT_NE(array4.find(cfg + " --set training.epochs=2 --resume\n"), std::string::npos) << array4;
  EXPECT_NE(read_text(jobs + "/summary.sbatch").find("--set training.epochs=2 --summary-only"), std::string::npos);
  // More tasks than runs: one run each.
  ASSERT_EQ(run(cfg + " --program " + program() + " --dir " + jobs + " --dry-run --tasks 50", log), 0);
  EXPECT_NE(read_text(jobs + "/array.sbatch").find("#SBATCH --array=0-5\n"), std::string::npos);
  EXPECT_EQ(run(cfg + " --program " + program() + " --dry-run --tasks 0", log), 2);
  EXPECT_EQ(run(dir() + "/missing.json --dry-run", log), 2);
}

// Needs a running cluster: scripts/slurm_localhost.sh start, then SLURM_CONF exported.
TEST_F(SlurmSweep, RunsOnARealCluster) {
  if (std::system("command -v sbatch >/dev/null 2>&1 && sinfo -h >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no Slurm cluster answers (sbatch/sinfo missing or no controller; start one with "
                    "scripts/slurm_localhost.sh start and export SLURM_CONF)";
  const std::string cfg = config(), log = dir() + "/real.log";
  // sbatch --wait: each submission returns when its job has ended.
  ASSERT_EQ(run(cfg + " --program " + program() + " --tasks 3 --cpu --wait", log), 0) << read_text(log);
  const SweepPlan plan = plan_sweep(load_json_file(cfg), cfg);
  EXPECT_EQ(sweep_progress(plan).complete, 6u);
  EXPECT_NE(read_text(dir() + "/results/sl/summary.md").find("| lr=0.0001 | 0.0001 | 2/2 |"), std::string::npos);
}
