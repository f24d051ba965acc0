// Shares of a sweep (run_experiment --shard K/N, Slurm array tasks, srun steps): the shares cover
// the grid exactly once, the environment is read as documented, and shards run one after another
// give the serial run's result files (the same weights and predictions, bit for bit) and summary.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.hpp"
#include "experiments/distributed.hpp"
#include "experiments/results.hpp"
#include "experiments/sweep.hpp"
#include "nn/backend.hpp"
#include "nn/weights.hpp"
#include "support/read_text.hpp"
#include "support/tiny_store.hpp"

using namespace flowpic;
using flowpic::testing::read_text;

namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class Shards : public flowpic::testing::TinyStoreTest {
 protected:
  // A sweep of `points` learning rates x 2 seeds (x `folds` folds when > 0).
  static std::string config_text(const std::string& output, int points = 2, int folds = 0) {
    std::string lrs = "0.01";
    for (int i = 1; i < points; ++i) lrs += ", 0.00" + std::to_string(i);
    return R"({
      "name": "sh",
      "dataset": {"source": "store", "store": ")" +
           store() + R"("},
      "representation": {"type": "flowpic", "resolution": 16, "transform": "clip255", "block_s": 15},
      "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 8}, {"type": "relu"},
                           {"type": "dropout", "rate": 0.25}, {"type": "dense", "units": "classes"}]},
      "training": {"epochs": 1, "batch_size": 16, "seed": 5, "repeats": 2, "test_fraction": 0.25,
                   "validation_fraction": 0.2)" +
           (folds ? ", \"split\": \"kfold\", \"folds\": " + std::to_string(folds) : std::string()) + R"(},
      "task": {"type": "category", "encapsulation": "Non-VPN"},
      "device": "cpu",
      "sweep": {"optimizer.lr": [)" +
           lrs + R"(]},
      "output": ")" +
           output + R"("})";
  }
  static std::string write_config(const std::string& name, const std::string& text) {
    const std::string path = dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static std::string bin() { return std::string(FLOWPIC_BINARY_DIR) + "/apps/run_experiment"; }
  // Runs the program with `args` (and `env` before it), its stderr and stdout into `log`.
  static int run(const std::string& args, const std::string& log, const std::string& env = "") {
    const int rc = std::system((env + " " + bin() + " " + args + " >" + log + " 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
};

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// Every run's weights (every parameter, in order) of a result file.
std::vector<std::vector<float>> weights_of(const std::string& path) {
  auto backend = nn::make_backend("cpu");
  nn::Model m = nn::load_model(path, *backend);
  std::vector<std::vector<float>> w;
  for (auto& p : m.named_params()) w.push_back(p.param->value.to_host());
  return w;
}

// Two result files of the same run hold the same model, predictions and training curve.
void expect_same_run(const std::string& a, const std::string& b) {
  SCOPED_TRACE(a + " vs " + b);
  const RunResult ra = read_result(a), rb = read_result(b);
  EXPECT_EQ(ra.run, rb.run);
  json ca = ra.config, cb = rb.config;  // the same but for the folder they were written to
  ca.erase("output");
  cb.erase("output");
  EXPECT_EQ(ca, cb);
  EXPECT_EQ(ra.best_epoch, rb.best_epoch);
  ASSERT_EQ(ra.history.size(), rb.history.size());
  for (size_t e = 0; e < ra.history.size(); ++e) {
    EXPECT_EQ(ra.history[e].train_loss, rb.history[e].train_loss);
    EXPECT_EQ(ra.history[e].val_loss, rb.history[e].val_loss);
  }
  ASSERT_EQ(ra.groups.size(), rb.groups.size());
  for (size_t g = 0; g < ra.groups.size(); ++g) {
    EXPECT_EQ(ra.groups[g].predicted, rb.groups[g].predicted);
    EXPECT_EQ(ra.groups[g].probabilities, rb.groups[g].probabilities);  // bit for bit
  }
  EXPECT_EQ(weights_of(a), weights_of(b));
}

}  // namespace

TEST_F(Shards, CoverTheGridExactlyOnce) {
  for (int folds : {0, 3}) {
    const std::string text = config_text(dir() + "/unused", 3, folds);
    const SweepPlan plan = plan_sweep(parse_json(text, "c.json"), "c.json");
    const std::vector<SweepRun> all = sweep_runs(plan);
    ASSERT_EQ(all.size(), folds ? 18u : 6u);
    std::set<std::string> paths;
    for (const auto& r : all) paths.insert(r.path);
    EXPECT_EQ(paths.size(), all.size()) << "two runs share a result file";
    for (int n = 1; n <= 4; ++n) {
      std::map<std::string, int> held;
      for (int k = 0; k < n; ++k) {
        const std::vector<SweepRun> mine = share_runs(plan, parse_share(std::to_string(k) + "/" + std::to_string(n)));
        for (size_t i = 0; i < mine.size(); ++i) {
          ++held[mine[i].path];
          EXPECT_EQ(mine[i].position % size_t(n), size_t(k));
          if (i) {
            EXPECT_LT(mine[i - 1].position, mine[i].position);
          }
        }
        // Round-robin: the shares differ in size by at most one run.
        EXPECT_LE(mine.size(), (all.size() + size_t(n) - 1) / size_t(n));
        EXPECT_GE(mine.size(), all.size() / size_t(n));
      }
      EXPECT_EQ(held.size(), all.size()) << n << " shares";
      for (const auto& [path, times] : held) EXPECT_EQ(times, 1) << path << " in " << n << " shares";
    }
    // Shares of shares (an array task's share split among its MPI ranks or srun tasks): each is
    // inside its outer share, and together they cover the sweep once.
    std::map<size_t, int> held;
    for (int k = 0; k < 2; ++k)
      for (int r = 0; r < 3; ++r) {
        const SweepShare outer = parse_share(std::to_string(k) + "/2");
        SweepShare inner{r, 3, "MPI rank"};
        for (const SweepRun& run : share_runs(plan, combine_shares(outer, inner))) {
          EXPECT_TRUE(outer.holds(run.position));
          ++held[run.position];
        }
      }
    EXPECT_EQ(held.size(), all.size());
    for (const auto& [pos, times] : held) EXPECT_EQ(times, 1) << pos;
  }
}

TEST(SweepShare, ParsesAndReadsTheEnvironment) {
  EXPECT_EQ(parse_share("2/4").text(), "2/4");
  EXPECT_TRUE(parse_share("0/1").whole());
  for (const char* bad : {"4/4", "a/2", "1", "-1/2", "1/0", "1/", "/2", "1/2/3", " 1/2"})
    EXPECT_NE(error_of([&] { parse_share(bad); }).find("--shard: expected K/N"), std::string::npos) << bad;

  EXPECT_TRUE(resolve_share("", env_of({})).whole());
  EXPECT_EQ(resolve_share("1/3", env_of({})).text(), "1/3");
  const auto array = env_of({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_EQ(resolve_share("", array).text(), "1/3");
  EXPECT_EQ(resolve_share("", array).source, "SLURM_ARRAY_TASK_ID");
  EXPECT_EQ(resolve_share("1/3", array).text(), "1/3");  // the same share twice: fine
  EXPECT_NE(error_of([&] {
              resolve_share("0/3", array);
            }).find("--shard 0/3 disagrees with the Slurm array task's share 1/3"),
            std::string::npos);
  // --array=1-3: ids from SLURM_ARRAY_TASK_MIN.
  EXPECT_EQ(
      resolve_share(
          "", env_of({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "3"}, {"SLURM_ARRAY_TASK_MIN", "1"}}))
          .text(),
      "2/3");
  EXPECT_NE(error_of([&] {
              resolve_share("", env_of({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}));
            }).find("does not name one of"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              resolve_share("", env_of({{"SLURM_ARRAY_TASK_ID", "1"}}));
            }).find("SLURM_ARRAY_TASK_COUNT"),
            std::string::npos);
  // An array of one task says nothing: --shard decides.
  EXPECT_EQ(resolve_share("2/4", env_of({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "1"}})).text(),
            "2/4");

  // srun tasks share only inside a step (a batch script sees SLURM_NTASKS without being one of them).
  std::map<std::string, std::string> step = {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}};
  EXPECT_TRUE(resolve_share("", env_of(step)).whole());
  step["SLURM_STEP_ID"] = "0";
  EXPECT_EQ(resolve_share("", env_of(step)).text(), "1/2");
  // An array task's share split among its srun tasks: 1/2 of 1/2 = positions 3, 7, ... of 4.
  step["SLURM_ARRAY_TASK_ID"] = "1";
  step["SLURM_ARRAY_TASK_COUNT"] = "2";
  EXPECT_EQ(resolve_share("", env_of(step)).text(), "3/4");
  // MPI ranks take the inner share (SLURM_PROCID describes the launcher then).
  EXPECT_EQ(resolve_share("", env_of(step), 0, 3).text(), "1/6");
  EXPECT_EQ(resolve_share("", env_of({}), 2, 3).text(), "2/3");
}

// The same 2-point x 2-seed sweep serially and as three shards run one after another: the same
// result files (weights, predictions, training curve, bit for bit) and the same summary; the last
// shard writes the summary, the others say why they do not. Then a share with a result missing is
// redone by --resume, running that run alone.
TEST_F(Shards, OneAfterAnotherGiveTheSerialRun) {
  const std::string serial_out = dir() + "/serial", shard_out = dir() + "/sharded";
  // One config file (the summary names it), written to two folders.
  const std::string cfg = write_config("shards.json", config_text(dir() + "/unused"));
  const std::string cfg_serial = cfg + " --set output=" + serial_out, cfg_shard = cfg + " --set output=" + shard_out;
  const std::string log = dir() + "/shards.log";
  ASSERT_EQ(run(cfg_serial, log), 0) << read_text(log);

  json raw = load_json_file(cfg);
  raw["output"] = shard_out;
  const SweepPlan plan = plan_sweep(raw, cfg);
  const std::vector<SweepRun> runs = sweep_runs(plan);
  ASSERT_EQ(runs.size(), 4u);
  for (int k = 0; k < 3; ++k) {
    ASSERT_EQ(run(cfg_shard + " --shard " + std::to_string(k) + "/3", log), 0) << read_text(log);
    const std::string out = read_text(log);
    EXPECT_NE(
        out.find("share " + std::to_string(k) + "/3 (--shard): " + (k == 0 ? "2" : "1") + " of the sweep's 4 runs"),
        std::string::npos)
        << out;
    EXPECT_EQ(count_of(out, "\nwrote " + shard_out + "/sh/lr="), k == 0 ? 2u : 1u) << out;
    if (k < 2) {
      EXPECT_NE(out.find("summary not written: " + std::to_string(k == 0 ? 2 : 3) + " of the sweep's 4 runs"),
                std::string::npos)
          << out;
      EXPECT_FALSE(file_exists(shard_out + "/sh/summary.csv"));
    }
  }
  for (const SweepRun& r : runs) {
    const std::string serial_path = serial_out + r.path.substr(shard_out.size());
    expect_same_run(serial_path, r.path);
  }
  EXPECT_EQ(read_text(shard_out + "/sh/summary.csv"), read_text(serial_out + "/sh/summary.csv"));
  EXPECT_EQ(read_text(shard_out + "/sh/summary.md"), read_text(serial_out + "/sh/summary.md"));
  EXPECT_NE(read_text(shard_out + "/sh/summary.md").find("| 2/2 |"), std::string::npos);

  // Share 1/3 holds positions 1 (point 1, seed 6) ; remove its file: --resume redoes it alone.
  std::filesystem::remove(runs[1].path);
  std::filesystem::remove(shard_out + "/sh/summary.csv");
  ASSERT_EQ(run(cfg_shard + " --summary-only", log), 0) << read_text(log);
  EXPECT_NE(read_text(log).find("3 of 4 runs complete"), std::string::npos) << read_text(log);
  EXPECT_NE(read_text(shard_out + "/sh/summary.md").find("| 1/2 |"), std::string::npos);
  ASSERT_EQ(run(cfg_shard + " --shard 1/3 --resume", log), 0) << read_text(log);
  std::string out = read_text(log);
  EXPECT_NE(out.find("run 2/4: point 1/2 (lr=0.01), seed 6 -> " + runs[1].path), std::string::npos) << out;
  EXPECT_EQ(count_of(out, "\nwrote " + shard_out + "/sh/lr="), 1u) << out;
  expect_same_run(serial_out + runs[1].path.substr(shard_out.size()), runs[1].path);
  EXPECT_EQ(read_text(shard_out + "/sh/summary.csv"), read_text(serial_out + "/sh/summary.csv"));
  // With every result there, each share's --resume skips everything.
  ASSERT_EQ(run(cfg_shard + " --shard 0/3 --resume", log), 0) << read_text(log);
  EXPECT_EQ(count_of(read_text(log), "is complete, skipped (--resume)"), 2u) << read_text(log);

  // The Slurm array task's share, and --shard disagreeing with it.
  ASSERT_EQ(run(cfg_shard + " --list-runs", log, "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3"), 0);
  out = read_text(log);
  EXPECT_NE(out.find("2 " + runs[2].path + " *\n"), std::string::npos) << out;
  EXPECT_NE(out.find("1 " + runs[1].path + "\n"), std::string::npos) << out;
  EXPECT_EQ(count_of(out, " *\n"), 1u) << out;
  EXPECT_EQ(run(cfg_shard + " --shard 1/3", log, "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3"), 1);
  EXPECT_NE(read_text(log).find("--shard 1/3 disagrees with the Slurm array task's share 2/3"), std::string::npos)
      << read_text(log);
  EXPECT_EQ(run(cfg_shard + " --shard 3/3", log), 2);
  EXPECT_NE(read_text(log).find("--shard: expected K/N"), std::string::npos) << read_text(log);
}

namespace {

// "mpirun --oversubscribe --allow-run-as-root -np N" when this build has MPI and mpirun is on
// the PATH; else "" and `why` says which is missing.
std::string mpirun(int n, std::string* why) {
  if (dist::mpi_library().empty()) {
    *why = "this build has no MPI (FLOWPIC_MPI=OFF or libopenmpi-dev missing)";
    return "";
  }
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) {
    *why = "mpirun is not on the PATH (Debian: openmpi-bin)";
    return "";
  }
  // One OpenMP thread per rank: two ranks share this machine's cores, as the serial run does below.
  return "mpirun --oversubscribe --allow-run-as-root -np " + std::to_string(n) + " -x OMP_NUM_THREADS=1";
}

}  // namespace

// The 2-point x 2-seed sweep under mpirun -np 2: each rank runs its share, rank 0 writes the
// summary after both; the result files and summary are the serial run's. Then a rank that fails
// (its result file cannot be written) is reported by rank 0 and the exit status is non-zero.
TEST_F(Shards, MpiRanksGiveTheSerialRun) {
  std::string why;
  const std::string launcher = mpirun(2, &why);
  if (launcher.empty()) GTEST_SKIP() << why;
  const std::string serial_out = dir() + "/mpi-serial", mpi_out = dir() + "/mpi";
  const std::string cfg = write_config("mpi.json", config_text(dir() + "/unused"));
  const std::string log = dir() + "/mpi.log";
  ASSERT_EQ(run(cfg + " --set output=" + serial_out, log, "OMP_NUM_THREADS=1"), 0) << read_text(log);
  const int rc =
      std::system((launcher + " " + bin() + " " + cfg + " --set output=" + mpi_out + " >" + log + " 2>&1").c_str());
  ASSERT_EQ(rc, 0) << read_text(log);
  std::string out = read_text(log);
  EXPECT_NE(out.find("share 0/2 (MPI rank): 2 of the sweep's 4 runs"), std::string::npos) << out;
  EXPECT_NE(out.find("share 1/2 (MPI rank): 2 of the sweep's 4 runs"), std::string::npos) << out;
  EXPECT_NE(out.find("summary.csv and summary.md (rank 0, after all 2 ranks)"), std::string::npos) << out;
  EXPECT_EQ(count_of(out, "\nwrote " + mpi_out + "/sh/lr="), 4u) << out;
  json raw = load_json_file(cfg);
  raw["output"] = mpi_out;
  const std::vector<SweepRun> runs = sweep_runs(plan_sweep(raw, cfg));
  for (const SweepRun& r : runs) expect_same_run(serial_out + r.path.substr(mpi_out.size()), r.path);
  EXPECT_EQ(read_text(mpi_out + "/sh/summary.csv"), read_text(serial_out + "/sh/summary.csv"));
  EXPECT_EQ(read_text(mpi_out + "/sh/summary.md"), read_text(serial_out + "/sh/summary.md"));

  // Rank 1 holds positions 1 and 3: a folder where its first result file goes makes it fail.
  const std::string failing_out = dir() + "/mpi-failing";
  raw["output"] = failing_out;
  const std::vector<SweepRun> failing = sweep_runs(plan_sweep(raw, cfg));
  std::filesystem::create_directories(failing[1].path + "/in-the-way");
  const int bad =
      std::system((launcher + " " + bin() + " " + cfg + " --set output=" + failing_out + " >" + log + " 2>&1").c_str());
  out = read_text(log);
  EXPECT_TRUE(WIFEXITED(bad) && WEXITSTATUS(bad) != 0) << out;
  EXPECT_NE(out.find("error: rank 1 of 2 failed: "), std::string::npos) << out;
  EXPECT_NE(out.find("summary not written: 1 of 2 ranks failed"), std::string::npos) << out;
  EXPECT_FALSE(file_exists(failing_out + "/sh/summary.csv"));
  EXPECT_TRUE(result_complete(failing[0].path));  // rank 0's runs are kept
  EXPECT_TRUE(result_complete(failing[2].path));
}

// Data-parallel training (training.distributed "mpi") on 2 ranks, each training on its half of
// every global batch of 16, equals the one-process run with the same global batch: the same loss
// curve and weights within fp32 tolerance (the gradient sums run in another order), dropout masks
// following the samples; rank 0 alone writes the result files and the summary. The config
// without MPI in the build is refused in one line.
TEST_F(Shards, DataParallelRanksTrainTheOneProcessModel) {
  std::string text = config_text(dir() + "/unused");
  text.replace(text.find("\"epochs\": 1"), 11, "\"epochs\": 3, \"distributed\": \"mpi\"");
  // SGD, whose steps scale with the gradient (Adam's hardly do): a wrong average shows.
  text.replace(text.find("\"device\""), 0, "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1},\n      ");
  const std::string cfg = write_config("dp.json", text);
  if (dist::mpi_library().empty()) {
    const std::string log = dir() + "/dp-nompi.log";
    EXPECT_EQ(run(cfg + " --dry-run", log), 1);
    EXPECT_NE(read_text(log).find("training.distributed: \"mpi\" needs a build with MPI"), std::string::npos)
        << read_text(log);
    GTEST_SKIP() << "this build has no MPI: the refusal is checked, the 2-rank run is not";
  }
  std::string why;
  const std::string launcher = mpirun(2, &why);
  if (launcher.empty()) GTEST_SKIP() << why;
  const std::string one_out = dir() + "/dp-one", two_out = dir() + "/dp-two", log = dir() + "/dp.log";
  ASSERT_EQ(run(cfg + " --set output=" + one_out, log, "OMP_NUM_THREADS=1"), 0) << read_text(log);
  const int rc =
      std::system((launcher + " " + bin() + " " + cfg + " --set output=" + two_out + " >" + log + " 2>&1").c_str());
  const std::string out = read_text(log);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(count_of(out, "\nwrote " + two_out + "/sh/lr="), 4u) << "rank 0 alone writes\n" << out;
  EXPECT_EQ(count_of(out, "summary.csv and summary.md"), 1u) << out;
  json raw = load_json_file(cfg);
  raw["output"] = two_out;
  for (const SweepRun& r : sweep_runs(plan_sweep(raw, cfg))) {
    const std::string a = one_out + r.path.substr(two_out.size());
    SCOPED_TRACE(a + " vs " + r.path);
    const RunResult ra = read_result(a), rb = read_result(r.path);
    EXPECT_EQ(rb.config["training"]["distributed"], "mpi");
    ASSERT_EQ(ra.history.size(), 3u);
    ASSERT_EQ(rb.history.size(), 3u);
    for (size_t e = 0; e < 3; ++e) {
      EXPECT_NEAR(rb.history[e].train_loss, ra.history[e].train_loss, 1e-4 * ra.history[e].train_loss) << e;
      EXPECT_NEAR(rb.history[e].val_loss, ra.history[e].val_loss, 1e-4 * ra.history[e].val_loss) << e;
      EXPECT_EQ(rb.history[e].train_accuracy, ra.history[e].train_accuracy) << e;
    }
    const auto wa = weights_of(a), wb = weights_of(r.path);
    ASSERT_EQ(wa.size(), wb.size());
    for (size_t p = 0; p < wa.size(); ++p)
      for (size_t i = 0; i < wa[p].size(); ++i) ASSERT_NEAR(wb[p][i], wa[p][i], 1e-4 + 1e-4 * std::fabs(wa[p][i]));
  }
}
