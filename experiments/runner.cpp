#include "experiments/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "common/hash_mix.hpp"
#include "experiments/split.hpp"
#include "experiments/synthetic_store.hpp"

namespace flowpic {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// FNV-1a over the file's bytes: identifies the exact store a result was trained on.
std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read ", path);
  uint64_t h = kFnv1a64Offset;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a_64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
  }
  char out[32];
  std::snprintf(out, sizeof out, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return out;
}

// Chooses the samples of one set: balanced undersampling (multi-class tasks) or the class-vs-all
// ratio sampling, when the config asks for balance.
std::vector<size_t> balance(const std::vector<size_t>& candidates, const ExperimentConfig& cfg,
                            const std::vector<int32_t>& sample_class, const std::vector<int32_t>& sample_subclass,
                            uint64_t seed) {
  if (!cfg.training.balance) return candidates;
  if (cfg.task.type == TaskType::kClassVsAll || cfg.task.type == TaskType::kUnseenApplication)
    return sample_target_vs_others(candidates, sample_class, sample_subclass, cfg.task.others_ratio, seed);
  return undersample_balanced(candidates, sample_class, seed);
}

}  // namespace

PreparedExperiment prepare_experiment(const ExperimentConfig& cfg, uint64_t seed) {
  // Before minutes of data generation or image building: a GPU run on a machine without one.
  if (cfg.device == "cuda" && !cuda_device_available())
    fail(cfg.file, ": device: the cuda backend was requested but ", cuda_device_description(), "; use cpu or auto");
  PreparedExperiment d;
  if (cfg.dataset.source == "synthetic") {
    d.store_path = ensure_synthetic_store(cfg.dataset.synthetic_dir, cfg.dataset.synthetic_seed,
                                          cfg.dataset.synthetic_preset, cfg.dataset.synthetic_scale);
    d.data_source = "synthetic";
  } else {
    d.store_path = cfg.dataset.store;
    d.data_source = "store";
    if (!file_exists(d.store_path))
      fail(cfg.file, ": dataset.store: ", d.store_path, " does not exist; ",
           cfg.dataset.store_hint.empty() ? std::string("build it with flowpic_data ingest (see README, 'Data')")
                                          : cfg.dataset.store_hint,
           ", or run on the built-in data with --set dataset.source=synthetic");
  }
  d.store = read_packet_store(d.store_path);
  d.representation = RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"});
  d.assignment = assign_flows(d.store, cfg.task, cfg.file);

  std::vector<uint32_t> flows;
  for (size_t f = 0; f < d.assignment.flow_class.size(); ++f)
    if (d.assignment.flow_class[f] >= 0) flows.push_back(static_cast<uint32_t>(f));
  d.index = build_sample_index(d.store, d.representation, &flows);

  const size_t n = d.index.samples.size();
  d.sample_class.resize(n);
  std::vector<int32_t> sample_sub(n), sample_group(n);
  std::vector<int64_t> sample_unit(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t f = d.index.samples[i].flow;
    d.sample_class[i] = d.assignment.flow_class[f];
    sample_sub[i] = d.assignment.flow_subclass[f];
    sample_group[i] = d.assignment.flow_group[f];
    sample_unit[i] = f;  // a session: both directions of it stay on one side of the split
  }

  // Train / validation / test inside the main group.
  std::vector<int32_t> main_class(n, -1);
  for (size_t i = 0; i < n; ++i)
    if (sample_group[i] == kGroupMain) main_class[i] = d.sample_class[i];
  // k-fold: the configured fold (fold 0 where none is set, e.g. for --dry-run).
  std::vector<Split> split;
  if (cfg.training.folds) {
    split = split_kfold(sample_unit, main_class, cfg.training.folds, std::max(0, cfg.training.fold),
                        cfg.training.fractions.validation, seed);
  } else if (cfg.training.train_flows_per_class) {
    try {
      split = split_per_class(sample_unit, main_class, cfg.training.train_flows_per_class,
                              cfg.training.fractions.validation, seed, d.assignment.class_names);
    } catch (const Error& e) {
      fail(cfg.file, ": ", e.what());
    }
  } else {
    split = split_samples(sample_unit, main_class, cfg.training.fractions, cfg.training.split_by_flow, seed);
  }
  std::vector<size_t> by_split[3];
  for (size_t i = 0; i < n; ++i)
    if (main_class[i] >= 0) by_split[split[i]].push_back(i);

  // A class without training samples cannot be learnt (and would empty the balanced set).
  std::vector<size_t> per_class(d.assignment.class_names.size(), 0), per_class_all(per_class.size(), 0);
  for (size_t i : by_split[kTrain]) ++per_class[static_cast<size_t>(d.sample_class[i])];
  for (size_t i = 0; i < n; ++i)
    if (main_class[i] >= 0) ++per_class_all[static_cast<size_t>(main_class[i])];
  for (size_t c = 0; c < per_class.size(); ++c)
    if (per_class[c] == 0)
      fail(cfg.file, ": class '", d.assignment.class_names[c], "' has no training samples (", per_class_all[c],
           " samples in all, ",
           cfg.training.folds
               ? "every flow of it in the test set of fold " + std::to_string(std::max(0, cfg.training.fold)) +
                     ": k-fold needs at least two flows per class); use more data or fewer folds"
               : std::string("from too few flows to split by flow); use more data, a shorter "
                             "representation.block_s, or training.split=window"));
  d.train = {"train", balance(by_split[kTrain], cfg, d.sample_class, sample_sub, seed ^ 0x1111)};
  d.validation = {"validation", balance(by_split[kValidation], cfg, d.sample_class, sample_sub, seed ^ 0x2222)};
  // tcbench calls the main group's flows not drawn for training its "leftover" set.
  SampleSet test{cfg.training.train_flows_per_class ? "leftover" : "test",
                 balance(by_split[kTest], cfg, d.sample_class, sample_sub, seed ^ 0x3333)};
  d.evaluation.push_back(test);

  // Held-out applications: their samples are the positives; the negatives are the test split's.
  if (cfg.task.type == TaskType::kUnseenApplication) {
    std::vector<size_t> cand;
    for (size_t i = 0; i < n; ++i)
      if (sample_group[i] == kGroupHeldOut) cand.push_back(i);
    for (size_t i : by_split[kTest])
      if (d.sample_class[i] == 1) cand.push_back(i);
    std::sort(cand.begin(), cand.end());
    d.evaluation.push_back({"held_out", balance(cand, cfg, d.sample_class, sample_sub, seed ^ 0x4444)});
  }
  for (size_t e = 0; e < cfg.task.test_encapsulations.size(); ++e) {
    std::vector<size_t> cand;
    for (size_t i = 0; i < n; ++i)
      if (sample_group[i] == kGroupCrossFirst + static_cast<int32_t>(e)) cand.push_back(i);
    d.evaluation.push_back({"cross:" + cfg.task.test_encapsulations[e],
                            balance(cand, cfg, d.sample_class, sample_sub, seed ^ (0x5555 + e))});
  }
  // task.test_groups: test-only sets after the cross groups.
  const int32_t first_test = kGroupCrossFirst + static_cast<int32_t>(cfg.task.test_encapsulations.size());
  for (size_t g = 0; g < cfg.task.test_groups.size(); ++g) {
    std::vector<size_t> cand;
    for (size_t i = 0; i < n; ++i)
      if (sample_group[i] == first_test + static_cast<int32_t>(g)) cand.push_back(i);
    d.evaluation.push_back(
        {cfg.task.test_groups[g].name, balance(cand, cfg, d.sample_class, sample_sub, seed ^ (0x6666 + g))});
  }
  if (d.train.samples.empty())
    fail(cfg.file, ": no training samples: the task and representation select nothing (see --dry-run)");
  return d;
}

namespace {

// The result's description of a run, before training: what was run, on which data and backend.
RunResult describe_run(const ExperimentConfig& cfg, const PreparedExperiment& d, uint64_t seed,
                       const std::string& command, const Trainer& trainer) {
  RunResult r;
  r.experiment = cfg.name;
  r.run = "seed" + std::to_string(seed);
  r.config = cfg.resolved;
  r.config["training"]["seed"] = seed;
  r.data_source = d.data_source;
  r.class_names = d.assignment.class_names;
  r.selection = cfg.training.selection;
  r.samples = d.summary();
  r.provenance = base_provenance(command);
  r.provenance["backend"] = trainer.backend()->description();
  r.provenance["store"] = d.store_path;
  r.provenance["store_hash"] = file_hash(d.store_path);
  r.provenance["seed"] = seed;
  r.provenance["split_seed"] = seed;  // the seed the train / validation / test split was drawn with
  r.provenance["model_parameters"] = trainer.model()->parameter_count();
  const InputChoice& in = trainer.input();
  r.provenance["input"] = {{"path", batch_input_name(in.input)},
                           {"reason", in.reason},
                           {"packets_per_image", in.cells_per_image},
                           {"density", in.density}};
  if (cfg.training.augment.active()) {
    // The draws are a function of the run's seed, each sample and its key (copy or epoch).
    r.provenance["augmentation"] = {{"type", cfg.training.augment.type_name()},
                                    {"seed", seed},
                                    {"training_images_per_pass", trainer.training_images_per_pass()}};
  }
  return r;
}

// An evaluation set's metrics on stderr, naming the data and, with test_optimistic, the set the
// epoch was chosen on (its number is optimistic).
// `optimistic` is true for the main group's test set (the first evaluation set) under test_optimistic.
void print_metrics(const GroupPredictions& g, const PreparedExperiment& d, bool optimistic) {
  std::fprintf(stderr, "%s (%s%s):\n%s", g.name.c_str(),
               d.data_source == "synthetic" ? "SYNTHETIC data" : d.store_path.c_str(),
               optimistic ? ", optimistic: epoch chosen on this set" : "", g.metrics.table().c_str());
}

}  // namespace

TrainedRun run_once(const ExperimentConfig& cfg, PreparedExperiment& d, uint64_t seed, const std::string& command) {
  const auto t_start = Clock::now();
  Trainer trainer(cfg, d, seed);
  RunResult r = describe_run(cfg, d, seed, command, trainer);
  std::fprintf(stderr, "run %s/%s on %s: %zu training, %zu validation samples; model %zu parameters%s\n",
               cfg.name.c_str(), r.run.c_str(), trainer.backend()->description().c_str(), d.train.samples.size(),
               d.validation.samples.size(), trainer.model()->parameter_count(),
               d.data_source == "synthetic" ? " [SYNTHETIC data]" : "");
  std::fprintf(stderr, "input: %s (%s)\n", batch_input_name(trainer.input().input), trainer.input().reason.c_str());
  if (cfg.training.augment.active())
    std::fprintf(stderr, "augmentation %s (%s): %zu training images per pass\n",
                 cfg.training.augment.type_name().c_str(),
                 cfg.training.augment.mode == AugmentMode::kLoading ? "copies drawn once" : "drawn afresh every epoch",
                 trainer.training_images_per_pass());

  TrainingOutcome training = trainer.fit();
  r.history = std::move(training.history);
  r.best_epoch = training.best_epoch;
  r.interrupted = training.interrupted;

  const auto t_eval = Clock::now();
  for (const auto& set : d.evaluation) {
    r.groups.push_back(trainer.evaluate_set(set));
    print_metrics(r.groups.back(), d, cfg.training.selection == "test_optimistic" && r.groups.size() == 1);
  }
  r.timings["train"] = training.train_seconds;
  r.timings["evaluate"] = seconds_since(t_eval);
  r.timings["total"] = seconds_since(t_start);
  return {std::move(r), trainer.backend(), trainer.model()};
}

}  // namespace flowpic
