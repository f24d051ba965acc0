// run_experiment end to end on a tiny synthetic store: every field of the result file, the class
// sets and groups of each task, the flow-level split, and the program's errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "common/atomic_file.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/hash_mix.hpp"
#include "dataset/ingest.hpp"
#include "dataset/synth.hpp"
#include "experiments/image_batcher.hpp"
#include "experiments/runner.hpp"
#include "experiments/synthetic_store.hpp"
#include "kernels/augment.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "nn/backend.hpp"
#include "nn/weights.hpp"
#include "support/error_of.hpp"
#include "support/tiny_store.hpp"

using namespace flowpic;

namespace {

class Runner : public flowpic::testing::TinyStoreTest {
 protected:
  static ExperimentConfig config(const std::string& task, std::vector<std::string> sets = {}) {
    json j = parse_json(R"({
      "name": "t",
      "dataset": {"source": "store", "store": ")" +
                            store() + R"("},
      "representation": {"type": "flowpic", "resolution": 16, "transform": "clip255", "block_s": 15},
      "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "relu"}, {"type": "dense", "units": "classes"}]},
      "training": {"epochs": 2, "batch_size": 16, "seed": 5, "test_fraction": 0.25, "validation_fraction": 0.2},
      "device": "cpu",
      "output": ")" + dir() +
                            R"(/results",
      "task": )" + task + "}",
                        "test.json");
    for (const auto& s : sets) apply_override(j, s, "test.json");
    return parse_experiment(j, "test.json");
  }
};

std::set<uint32_t> flows_of(const PreparedExperiment& d, const SampleSet& s) {
  std::set<uint32_t> out;
  for (size_t i : s.samples) out.insert(d.index.samples[i].flow);
  return out;
}

}  // namespace

TEST_F(Runner, ResultFileHoldsEverything) {
  ExperimentConfig cfg = config(R"({"type": "category", "encapsulation": "Non-VPN"})");
  PreparedExperiment d = prepare_experiment(cfg, 5);
  TrainedRun run = run_once(cfg, d, 5, "run_experiment test.json");
  std::string path = dir() + "/results/t/seed5.h5";
  write_result(path, run.result, [&](hid_t f) { nn::write_weights(*run.model, f, "/model"); });

  RunResult r = read_result(path);
  EXPECT_EQ(r.experiment, "t");
  EXPECT_EQ(r.run, "seed5");
  EXPECT_EQ(r.data_source, "store");
  EXPECT_EQ(r.selection, "validation");
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.class_names, (std::vector<std::string>{"VoIP", "Video", "File Transfer", "Chat", "Browsing"}));
  EXPECT_EQ(r.config["training"]["epochs"], 2);
  EXPECT_EQ(r.config["task"]["type"], "category");
  for (const char* key :
       {"version", "git_commit", "host", "created", "command", "backend", "store", "store_hash", "seed"})
    EXPECT_TRUE(r.provenance.contains(key)) << key;
  {
    std::ifstream in(d.store_path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    char want[32];
    std::snprintf(want, sizeof want, "fnv1a64:%016llx", static_cast<unsigned long long>(fnv1a_64(bytes)));
    EXPECT_EQ(r.provenance["store_hash"].get<std::string>(), want);
  }
  EXPECT_TRUE(r.samples["sets"].contains("train"));
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_GE(r.best_epoch, 1);
  for (const auto& e : r.history) {
    EXPECT_TRUE(std::isfinite(e.train_loss));
    EXPECT_TRUE(std::isfinite(e.val_accuracy));
    EXPECT_GT(e.images_per_s, 0);
  }
  ASSERT_EQ(r.groups.size(), 1u);
  const GroupPredictions& g = r.groups[0];
  EXPECT_EQ(g.name, "test");
  EXPECT_EQ(g.truth.size(), d.evaluation[0].samples.size());
  EXPECT_EQ(g.probabilities.size(), g.truth.size() * 5);
  for (size_t i = 0; i < g.truth.size(); ++i) EXPECT_EQ(g.truth[i], d.sample_class[d.evaluation[0].samples[i]]);
  for (const char* t : {"train", "evaluate", "total"}) EXPECT_TRUE(r.timings.count(t)) << t;

  // The weights in the result file rebuild a model that predicts exactly what was evaluated.
  auto backend = nn::make_backend("cpu");
  nn::Model m = nn::load_model(path, *backend);
  ImageBatcher batcher(d.store, d.representation, d.index.samples, nn::DeviceKind::cpu, 16);
  const std::vector<size_t>& ids = d.evaluation[0].samples;
  size_t n = std::min<size_t>(ids.size(), 16);
  std::vector<float> p = m.predict(batcher.build(ids.data(), n));
  for (size_t i = 0; i < n * 5; ++i) EXPECT_NEAR(p[i], g.probabilities[i], 1e-6);
}

// Training with augmentation: the loading mode trains on the originals and their copies, the epoch
// mode on each sample once per epoch; both record what they did; the batcher's augmented images
// differ from the plain ones only where the draw says, and evaluation never augments.
TEST_F(Runner, AugmentationsTrainAndAreRecorded) {
  const std::string task = R"({"type": "category", "encapsulation": "Non-VPN"})";
  for (const char* aug : {R"({"type": "change_rtt", "copies": 3})", R"({"type": "rotate", "mode": "epoch"})",
                          R"({"type": "colour_jitter", "copies": 2, "keep_original": false})"}) {
    SCOPED_TRACE(aug);
    ExperimentConfig cfg = config(task, {std::string("training.augment=") + aug});
    PreparedExperiment d = prepare_experiment(cfg, 5);
    TrainedRun run = run_once(cfg, d, 5, "run_experiment test.json");
    const AugmentConfig& a = cfg.training.augment;
    const size_t per_sample =
        a.mode == AugmentMode::kEpoch ? 1 : static_cast<size_t>(a.copies) + (a.keep_original ? 1 : 0);
    const json& p = run.result.provenance["augmentation"];
    EXPECT_EQ(p["type"], a.type_name());
    EXPECT_EQ(p["seed"], 5);
    EXPECT_EQ(p["training_images_per_pass"].get<size_t>(), d.train.samples.size() * per_sample);
    EXPECT_EQ(run.result.config["training"]["augment"], a.to_json());
    ASSERT_EQ(run.result.history.size(), 2u);
    for (const auto& e : run.result.history) EXPECT_TRUE(std::isfinite(e.train_loss));
    // The batcher: kNoAugmentation (and no keys) build the plain images; a draw key changes them.
    Augmenter augmenter(a, d.store, d.representation, 5);
    ImageBatcher plain(d.store, d.representation, d.index.samples, nn::DeviceKind::cpu, 16);
    ImageBatcher augmented(d.store, d.representation, d.index.samples, nn::DeviceKind::cpu, 16, &augmenter);
    const std::vector<size_t>& ids = d.train.samples;
    const size_t n = std::min<size_t>(ids.size(), 16);
    const std::vector<float> x = plain.build(ids.data(), n).to_host();
    EXPECT_EQ(augmented.build(ids.data(), n).to_host(), x);
    std::vector<uint64_t> none(n, kNoAugmentation), keys(n, 1);
    EXPECT_EQ(augmented.build(ids.data(), n, none.data()).to_host(), x);
    const std::vector<float> y = augmented.build(ids.data(), n, keys.data()).to_host();
    EXPECT_NE(y, x);
    const size_t floats = d.representation.image_floats();
    for (size_t i = 0; i < n; ++i) {  // image i is the batcher's draw for sample ids[i], key 1
      std::vector<float> one(floats);
      const AugmentDraw draw = augmenter.draw(d.index.samples[ids[i]], 1);
      if (!a.on_packets()) continue;
      build_flowpic_cpu(host_columns(d.store), std::get<FlowPicSpec>(d.representation.image_spec()), &draw.window, 1,
                        one.data());
      EXPECT_TRUE(std::equal(one.begin(), one.end(), y.begin() + i * floats)) << "image " << i;
    }
  }
  // Refused before any data work: a packet augmentation of payload images.
  const std::string m = flowpic::testing::error_of([&] {
    config(task, {R"(representation={"type": "payload_image"})", R"(training.augment={"type": "time_shift"})"});
  });
  EXPECT_NE(m.find("test.json: training.augment.type: \"time_shift\" changes packet times"), std::string::npos) << m;
}

// The sparse input path (the images' cells into a sparse-input first convolution) trains like the
// dense one: the same loss curve within fp32 tolerance, the same predictions; auto chooses it for
// large sparse FlowPics only; the choice is recorded.
TEST_F(Runner, SparseInputTrainsLikeDense) {
  const std::string task = R"({"type": "category", "encapsulation": "Non-VPN"})";
  const std::vector<std::string> big = {
      R"(representation={"type": "flowpic", "resolution": 300, "block_s": 15})",
      R"(model={"layers": [{"type": "conv2d", "filters": 4, "kernel_size": 10, "strides": 5, "padding": "same"}, {"type": "relu"}, {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"}, {"type": "dense", "units": "classes"}]})"};
  std::vector<RunResult> runs;
  for (const char* input : {"dense", "sparse", "auto"}) {
    std::vector<std::string> sets = big;
    sets.push_back(std::string("input=") + input);
    ExperimentConfig cfg = config(task, sets);
    PreparedExperiment d = prepare_experiment(cfg, 5);
    runs.push_back(run_once(cfg, d, 5, "run_experiment test.json").result);
    EXPECT_EQ(runs.back().config["input"], input);
  }
  EXPECT_EQ(runs[0].provenance["input"]["path"], "dense");
  EXPECT_EQ(runs[1].provenance["input"]["path"], "sparse");
  EXPECT_EQ(runs[2].provenance["input"]["path"], "sparse") << runs[2].provenance["input"].dump();
  for (int k : {1, 2}) {
    ASSERT_EQ(runs[k].history.size(), runs[0].history.size());
    for (size_t e = 0; e < runs[0].history.size(); ++e) {
      EXPECT_NEAR(runs[k].history[e].train_loss, runs[0].history[e].train_loss, 1e-4 * runs[0].history[e].train_loss);
      EXPECT_NEAR(runs[k].history[e].val_loss, runs[0].history[e].val_loss, 1e-4 * runs[0].history[e].val_loss);
    }
    ASSERT_EQ(runs[k].groups.size(), 1u);
    EXPECT_EQ(runs[k].groups[0].predicted, runs[0].groups[0].predicted);
    for (size_t i = 0; i < runs[0].groups[0].probabilities.size(); ++i)
      EXPECT_NEAR(runs[k].groups[0].probabilities[i], runs[0].groups[0].probabilities[i], 1e-4);
  }
  // auto decides by density, not size: these 32x32 windows hold more packets than 2% of their
  // pixels, so dense (and it says why) ...
  ExperimentConfig small =
      config(task, {R"(representation={"type": "flowpic", "resolution": 32, "block_s": 15})", big[1]});
  PreparedExperiment d = prepare_experiment(small, 5);
  const RunResult r = run_once(small, d, 5, "run_experiment test.json").result;
  EXPECT_EQ(r.provenance["input"]["path"], "dense");
  EXPECT_NE(r.provenance["input"]["reason"].get<std::string>().find("dense images"), std::string::npos)
      << r.provenance["input"].dump();
  // ... while windows of 3 packets (classify's usual ones on a capture) go sparse at 32x32 too: the
  // sparse first layer costs less CPU there (results/bench/classify.md).
  {
    const RepresentationConfig rep = RepresentationConfig::from_json(small.representation, {"test.json", ""});
    auto backend = nn::make_backend("cpu");
    nn::ModelOptions mo;
    mo.input = {1, 1, 32, 32};
    mo.classes = 3;
    const json arch = parse_json(
        R"({"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 5}, {"type": "flatten"},
                       {"type": "dense", "units": "classes"}]})",
        "m.json");
    const nn::Model m = nn::Model::from_json(arch, "m.json", mo, *backend);
    std::vector<Sample> tiny(10);
    for (Sample& t : tiny) t.packets = 3;
    const InputChoice c = choose_batch_input("auto", m, rep, false, tiny, "classify");
    EXPECT_EQ(c.input, BatchInput::kSparse) << c.reason;
    EXPECT_NE(c.reason.find("auto: sparse, 3 packets per image of 1024 pixels"), std::string::npos) << c.reason;
    tiny[0].packets = 200;  // mean 22.7 packets: 2.2% of the pixels
    EXPECT_EQ(choose_batch_input("auto", m, rep, false, tiny, "classify").input, BatchInput::kDense);
  }
  // "sparse" where it cannot run: one line naming the reason.
  std::string m = flowpic::testing::error_of([&] {
    ExperimentConfig c = config(task, {"input=sparse"});
    PreparedExperiment p = prepare_experiment(c, 5);
    run_once(c, p, 5, "x");
  });
  EXPECT_NE(m.find("test.json: input: input \"sparse\" is not possible: the model's first layer is not a conv2d"),
            std::string::npos)
      << m;
  m = flowpic::testing::error_of([&] {
    std::vector<std::string> sets = big;
    sets.push_back("input=sparse");
    sets.push_back(R"(training.augment={"type": "rotate"})");
    ExperimentConfig c = config(task, sets);
    PreparedExperiment p = prepare_experiment(c, 5);
    run_once(c, p, 5, "x");
  });
  EXPECT_NE(m.find("an image augmentation changes the built images"), std::string::npos) << m;
  EXPECT_NE(flowpic::testing::error_of([&] {
              config(task, {"input=spars"});
            }).find("test.json: input: 'spars' is not an input path; allowed: auto, dense, sparse"),
            std::string::npos);
}

TEST_F(Runner, FlowsNeverStraddleTheSplit) {
  ExperimentConfig cfg = config(R"({"type": "category", "encapsulation": "Non-VPN"})");
  PreparedExperiment d = prepare_experiment(cfg, 5);
  std::set<uint32_t> train = flows_of(d, d.train), val = flows_of(d, d.validation), test = flows_of(d, d.evaluation[0]);
  for (uint32_t f : test) {
    EXPECT_EQ(train.count(f), 0u) << "flow " << f << " is in train and test";
    EXPECT_EQ(val.count(f), 0u) << "flow " << f << " is in validation and test";
  }
  for (uint32_t f : val) EXPECT_EQ(train.count(f), 0u);
  // Balanced: every class has the same number of training samples.
  std::map<int32_t, size_t> per;
  for (size_t i : d.train.samples) ++per[d.sample_class[i]];
  ASSERT_EQ(per.size(), 5u);
  for (auto& [c, k] : per) EXPECT_EQ(k, per.begin()->second);
}

TEST_F(Runner, HeldOutApplicationsOnlyInTheirGroup) {
  ExperimentConfig cfg =
      config(R"({"type": "unseen_application", "target": "Video", "held_out": ["Vimeo", "YouTube"]})");
  PreparedExperiment d = prepare_experiment(cfg, 5);
  const LabelColumn& app = d.store.labels[static_cast<size_t>(d.store.label_column("application"))];
  auto app_of = [&](size_t sample) { return app.values[static_cast<size_t>(app.ids[d.index.samples[sample].flow])]; };
  for (const SampleSet* s : {&d.train, &d.validation, &d.evaluation[0]})
    for (size_t i : s->samples)
      if (d.sample_class[i] == 0) {
        EXPECT_TRUE(app_of(i) != "Vimeo" && app_of(i) != "YouTube") << s->name;
      }
  ASSERT_EQ(d.evaluation.size(), 2u);
  EXPECT_EQ(d.evaluation[1].name, "held_out");
  size_t positives = 0;
  for (size_t i : d.evaluation[1].samples)
    if (d.sample_class[i] == 0) {
      ++positives;
      EXPECT_TRUE(app_of(i) == "Vimeo" || app_of(i) == "YouTube");
    }
  EXPECT_GT(positives, 0u);
}

TEST_F(Runner, ClassVsAllTestsOnOtherEncapsulations) {
  ExperimentConfig cfg =
      config(R"({"type": "class_vs_all", "encapsulation": "VPN", "target": "VoIP", "test_encapsulations": ["Tor"]})");
  PreparedExperiment d = prepare_experiment(cfg, 5);
  EXPECT_EQ(d.assignment.class_names, (std::vector<std::string>{"VoIP", "other"}));
  ASSERT_EQ(d.evaluation.size(), 2u);
  EXPECT_EQ(d.evaluation[1].name, "cross:Tor");
  const LabelColumn& enc = d.store.labels[static_cast<size_t>(d.store.label_column("encapsulation"))];
  for (size_t i : d.evaluation[1].samples)
    EXPECT_EQ(enc.values[static_cast<size_t>(enc.ids[d.index.samples[i].flow])], "Tor");
  for (size_t i : d.train.samples) EXPECT_EQ(enc.values[static_cast<size_t>(enc.ids[d.index.samples[i].flow])], "VPN");
}

TEST_F(Runner, EncapsulationAndApplicationClassSets) {
  PreparedExperiment e = prepare_experiment(config(R"({"type": "encapsulation"})"), 5);
  EXPECT_EQ(e.assignment.class_names, (std::vector<std::string>{"Non-VPN", "VPN", "Tor"}));
  PreparedExperiment a = prepare_experiment(
      config(R"({"type": "application", "applications": ["VoIP:Skype", "VoIP:Hangouts", "Video:YouTube"]})"), 5);
  EXPECT_EQ(a.assignment.class_names.size(), 3u);
  const LabelColumn& app = a.store.labels[static_cast<size_t>(a.store.label_column("application"))];
  for (size_t i : a.train.samples) {
    std::string v = app.values[static_cast<size_t>(app.ids[a.index.samples[i].flow])];
    EXPECT_TRUE(v == "Skype" || v == "Hangouts" || v == "YouTube") << v;
  }
}

TEST_F(Runner, MissingStoreSaysHowToBuildIt) {
  ExperimentConfig cfg =
      config(R"({"type": "category"})", {"dataset.store=/nonexistent/iscx.h5", "dataset.store_hint=build it with X"});
  try {
    prepare_experiment(cfg, 1);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent/iscx.h5 does not exist; build it with X"), std::string::npos) << m;
    EXPECT_NE(m.find("--set dataset.source=synthetic"), std::string::npos) << m;
  }
}

TEST_F(Runner, ProgramErrorsAndDryRun) {
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/run_experiment";
  auto run = [&](const std::string& args) { return std::system((bin + " " + args + " >/dev/null 2>&1").c_str()); };
  EXPECT_NE(run(""), 0);
  EXPECT_NE(run("--bogus x.json"), 0);
  EXPECT_NE(run("/nonexistent.json"), 0);
  const std::string q = std::string(FLOWPIC_SOURCE_DIR) + "/configs/quickstart.json";
  EXPECT_NE(run(q + " --set training.epochz=1"), 0);
  EXPECT_EQ(run(q + " --dry-run --set dataset.source=store --set dataset.store=" + store()), 0);
}

TEST(ShippedConfigs, EveryConfigIsValid) {
  size_t n = 0;
  // Experiment configs: configs/*.json and the protocol folders under it (configs/tcbench/); the
  // models, representations and label maps beside them are not experiments.
  const std::string root = std::string(FLOWPIC_SOURCE_DIR) + "/configs";
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".json") continue;
    const std::string folder = e.path().parent_path().filename().string();
    if (folder == "models" || folder == "representations" || folder == "labels") continue;
    ++n;
    SCOPED_TRACE(e.path().string());
    ExperimentConfig cfg = load_experiment(e.path().string());
    EXPECT_EQ(cfg.name + ".json", e.path().filename().string()) << "a config's name is its file name";
    RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"});
    ASSERT_TRUE(cfg.model.is_string());
    EXPECT_TRUE(file_exists(find_config_file(cfg.model.get<std::string>().substr(8))));
    if (cfg.name.rfind("ucdavis", 0) == 0) {  // real traffic the user imports; no synthetic twin
      EXPECT_EQ(cfg.dataset.store, "data/ucdavis/store.h5");
      EXPECT_NE(cfg.dataset.store_hint.find("import-ucdavis"), std::string::npos);
    } else if (cfg.name != "quickstart") {
      EXPECT_EQ(cfg.dataset.store, "data/iscx/store.h5");
      EXPECT_FALSE(cfg.dataset.store_hint.empty());
      // One --set moves a paper config onto the built-in data.
      EXPECT_EQ(load_experiment(e.path().string(), {"dataset.source=synthetic"}).dataset.source, "synthetic");
    }
  }
  EXPECT_EQ(n, 36u) << "quickstart, 5 Table III, 13 Table IV, 3 unseen-application, 2 payload-image, 1 UC Davis "
                       "configs; tcbench/: 7 augmentations at 32x32 and 3 sweeps";
}

namespace {

// Runs `argv` with stderr on a pipe; calls on_line for each stderr line (it may signal the child).
// Returns the exit status as the shell reports it (128 + signal for a signal).
int run_program(const std::vector<std::string>& argv, const std::function<void(pid_t, const std::string&)>& on_line) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    close(fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  char line[4096];
  while (fgets(line, sizeof line, in)) on_line(pid, line);
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_F(Runner, CtrlCStopsCleanlyAndKeepsWhatIsDone) {
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/run_experiment";
  const std::string cfg = dir() + "/interrupt.json";
  {
    json j = config(R"({"type": "category", "encapsulation": "Non-VPN"})").resolved;
    j["name"] = "interrupt";
    j["training"]["epochs"] = 100000;
    j["training"]["patience"] = 0;
    std::ofstream(cfg) << j.dump(2);
  }
  bool signalled = false;
  std::string last;
  int rc = run_program({bin, cfg}, [&](pid_t pid, const std::string& line) {
    last = line;
    if (!signalled && line.rfind("epoch 2/", 0) == 0) {
      kill(pid, SIGINT);
      signalled = true;
    }
  });
  ASSERT_TRUE(signalled) << "training never reached epoch 2; last line: " << last;
  EXPECT_EQ(rc, 130);
  RunResult r = read_result(dir() + "/results/interrupt/seed5.h5");
  EXPECT_TRUE(r.interrupted);
  EXPECT_GE(r.history.size(), 2u);
  EXPECT_LT(r.history.size(), 100000u);
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_FALSE(r.groups[0].truth.empty()) << "the best model so far is evaluated";
}

TEST(Quickstart, TheReadmeMainCommandRuns) {
  // scripts/quickstart.sh runs exactly this program and config (here with 2 epochs, into a
  // temporary folder): synthetic data generated and ingested on first use, training, result file.
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/run_experiment";
  const std::string q = std::string(FLOWPIC_SOURCE_DIR) + "/configs/quickstart.json";
  const std::string tmp =
      (std::filesystem::temp_directory_path() / ("flowpic-quickstart-" + std::to_string(getpid()))).string();
  std::string script;
  {
    std::ifstream in(std::string(FLOWPIC_SOURCE_DIR) + "/scripts/quickstart.sh");
    script.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(script.find("/apps/run_experiment\" configs/quickstart.json"), std::string::npos);
  // `| head` closes the pipe early: under `set -o pipefail` the script would exit 141 after
  // printing its result.
  EXPECT_EQ(script.find("| head"), std::string::npos) << "scripts/quickstart.sh pipes into head";
  int rc = run_program({bin, q, "--set", "training.epochs=2", "--set", "dataset.synthetic.dir=" + tmp + "/data",
                        "--set", "output=" + tmp + "/results"},
                       [](pid_t, const std::string&) {});
  EXPECT_EQ(rc, 0);
  RunResult r = read_result(tmp + "/results/quickstart/seed1.h5");
  EXPECT_EQ(r.data_source, "synthetic");
  EXPECT_EQ(r.class_names.size(), 5u);
  EXPECT_EQ(r.history.size(), 2u);

  // A cached store that cannot be read (an older flowpic's format, or damage) is made again.
  const std::string cached = tmp + "/data/small-seed1/store.h5";
  ASSERT_TRUE(std::filesystem::exists(cached));
  std::ofstream(cached, std::ios::trunc) << "a store of an older format";
  rc = run_program({bin, q, "--set", "training.epochs=1", "--set", "dataset.synthetic.dir=" + tmp + "/data", "--set",
                    "output=" + tmp + "/results"},
                   [](pid_t, const std::string&) {});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(read_result(tmp + "/results/quickstart/seed1.h5").history.size(), 1u);
  EXPECT_NO_THROW(read_packet_store(cached));
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
}

TEST_F(Runner, CudaWithoutAGpuIsRefusedBeforeAnyDataWork) {
  if (cuda_device_available()) GTEST_SKIP() << "this machine has a GPU";
  // A synthetic source in a folder that does not exist yet: nothing may be generated there.
  ExperimentConfig cfg =
      config(R"({"type": "category", "encapsulation": "Non-VPN"})",
             {"device=cuda", "dataset.source=synthetic", "dataset.synthetic.dir=" + dir() + "/never"});
  std::string e = flowpic::testing::error_of([&] { prepare_experiment(cfg, 5); });
  EXPECT_NE(e.find("test.json: device: the cuda backend was requested but"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/never")) << "data was generated before the device check";
}
