#include "experiments/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "common/atomic_file.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "common/hash_mix.hpp"
#include "common/progress.hpp"
#include "experiments/image_batcher.hpp"
#include "experiments/sweep.hpp"
#include "experiments/synthetic_store.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn/weights.hpp"

namespace flowpic {

std::atomic<bool> g_stop_requested{false};

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

std::string resolve_config_path(const std::string& p) {
  if (file_exists(p) || p.rfind("configs/", 0) != 0) return p;
  return find_config_file(p.substr(8));
}

PreparedExperiment prepare_experiment(const ExperimentConfig& cfg, uint64_t seed) {
  // Before minutes of data generation or image building: a GPU run on a machine without one.
  if (cfg.device == "cuda" && !cuda_device_available())
    fail(cfg.file, ": device: the cuda backend was requested but ", cuda_device_description(), "; use cpu or auto");
  PreparedExperiment d;
  if (cfg.dataset.source == "synthetic") {
    d.store_path = ensure_synthetic_store(cfg.dataset.synthetic_dir, cfg.dataset.synthetic_seed, cfg.dataset.synthetic_preset,
                                          cfg.dataset.synthetic_scale);
    d.data_source = "synthetic";
  } else {
    d.store_path = cfg.dataset.store;
    d.data_source = "store";
    if (!file_exists(d.store_path))
      fail(cfg.file, ": dataset.store: ", d.store_path, " does not exist; ",
           cfg.dataset.store_hint.empty() ? std::string("build it with flowpic_data ingest (see README, 'Data')") : cfg.dataset.store_hint,
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
  std::vector<Split> split = split_samples(sample_unit, main_class, cfg.training.fractions, cfg.training.split_by_flow, seed);
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
           " samples in all, from too few flows to split by flow); use more data, a shorter representation.block_s, "
           "or training.split=window");
  d.train = {"train", balance(by_split[kTrain], cfg, d.sample_class, sample_sub, seed ^ 0x1111)};
  d.validation = {"validation", balance(by_split[kValidation], cfg, d.sample_class, sample_sub, seed ^ 0x2222)};
  SampleSet test{"test", balance(by_split[kTest], cfg, d.sample_class, sample_sub, seed ^ 0x3333)};
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
  if (d.train.samples.empty()) fail(cfg.file, ": no training samples: the task and representation select nothing (see --dry-run)");
  return d;
}

json PreparedExperiment::summary() const {
  json sets = json::object();
  auto add = [&](const SampleSet& s) {
    json per = json::object();
    for (const auto& c : assignment.class_names) per[c] = 0;
    for (size_t i : s.samples) per[assignment.class_names[static_cast<size_t>(sample_class[i])]] = per[assignment.class_names[static_cast<size_t>(sample_class[i])]].get<int64_t>() + 1;
    sets[s.name] = per;
  };
  add(train);
  add(validation);
  for (const auto& e : evaluation) add(e);
  return {{"store", store_path}, {"data_source", data_source}, {"sets", sets}, {"sample_index", index.stats.to_json()},
          {"flows_in_task", std::count_if(assignment.flow_class.begin(), assignment.flow_class.end(), [](int32_t c) { return c >= 0; })}};
}

std::string PreparedExperiment::summary_table() const {
  json s = summary();
  std::string out = "samples per class and set (" + std::string(data_source == "synthetic" ? "SYNTHETIC data" : "store " + store_path) + "):\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-16s", "class");
  out += buf;
  std::vector<std::string> names;
  for (auto it = s["sets"].begin(); it != s["sets"].end(); ++it) names.push_back(it.key());
  // json objects are sorted by key; show the sets in their natural order instead.
  std::vector<std::string> order = {train.name, validation.name};
  for (const auto& e : evaluation) order.push_back(e.name);
  for (const auto& n : order) {
    std::snprintf(buf, sizeof buf, " %12s", n.c_str());
    out += buf;
  }
  out += "\n";
  for (const auto& c : assignment.class_names) {
    std::snprintf(buf, sizeof buf, "  %-16s", c.c_str());
    out += buf;
    for (const auto& n : order) {
      std::snprintf(buf, sizeof buf, " %12lld", static_cast<long long>(s["sets"][n][c].get<int64_t>()));
      out += buf;
    }
    out += "\n";
  }
  out += "sample index: " + index.stats.to_json().dump() + "\n";
  return out;
}

namespace {

struct EvalOutcome {
  double loss = 0, accuracy = 0;
  std::vector<int32_t> predicted;
  std::vector<float> probabilities;
};

EvalOutcome evaluate(nn::Model& model, ImageBatcher& batcher, const PreparedExperiment& d, const std::vector<size_t>& ids,
                     int batch_size, size_t classes) {
  EvalOutcome out;
  out.predicted.reserve(ids.size());
  out.probabilities.reserve(ids.size() * classes);
  double loss = 0;
  size_t correct = 0;
  for (size_t b = 0; b < ids.size(); b += static_cast<size_t>(batch_size)) {
    size_t m = std::min(ids.size() - b, static_cast<size_t>(batch_size));
    const nn::Tensor& x = batcher.build(ids.data() + b, m);
    std::vector<float> p = model.predict(x);
    for (size_t i = 0; i < m; ++i) {
      const float* row = p.data() + i * classes;
      int32_t best = static_cast<int32_t>(std::max_element(row, row + classes) - row);
      int32_t truth = d.sample_class[ids[b + i]];
      out.predicted.push_back(best);
      correct += best == truth;
      loss -= std::log(std::max(row[truth], 1e-12f));
      out.probabilities.insert(out.probabilities.end(), row, row + classes);
    }
  }
  if (!ids.empty()) {
    out.loss = loss / double(ids.size());
    out.accuracy = double(correct) / double(ids.size());
  }
  return out;
}

// A copy of every parameter on the host: the best epoch's weights.
struct Snapshot {
  std::vector<std::vector<float>> values;
  void take(nn::Model& m) {
    values.clear();
    for (auto& p : m.named_params()) values.push_back(p.param->value.to_host());
  }
  void restore(nn::Model& m) const {
    size_t i = 0;
    for (auto& p : m.named_params()) p.param->value.copy_from_host(values.at(i++));
  }
};

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

}  // namespace

nn::Model build_model(const ExperimentConfig& cfg, const PreparedExperiment& d, nn::Backend& backend, uint64_t seed) {
  nn::ModelOptions mo;
  mo.input = {1, d.representation.channels(), d.representation.height(), d.representation.width()};
  mo.classes = static_cast<int>(d.assignment.class_names.size());
  mo.seed = seed;
  return cfg.model.is_string() ? nn::Model::from_file(resolve_config_path(cfg.model.get<std::string>()), mo, backend)
                               : nn::Model::from_json(cfg.model, cfg.file + ": model", mo, backend);
}

TrainedRun run_once(const ExperimentConfig& cfg, PreparedExperiment& d, uint64_t seed, const std::string& command) {
  const auto t_start = Clock::now();
  auto backend = std::shared_ptr<nn::Backend>(nn::make_backend(cfg.device));
  const size_t classes = d.assignment.class_names.size();
  auto model = std::make_shared<nn::Model>(build_model(cfg, d, *backend, seed));
  auto optimizer = nn::make_optimizer(cfg.optimizer, {cfg.file, "optimizer"}, *model);
  ImageBatcher batcher(d, backend->device(), cfg.training.batch_size);

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
  r.provenance["backend"] = backend->description();
  r.provenance["store"] = d.store_path;
  r.provenance["store_hash"] = file_hash(d.store_path);
  r.provenance["seed"] = seed;
  r.provenance["model_parameters"] = model->parameter_count();

  std::fprintf(stderr, "run %s/%s on %s: %zu training, %zu validation samples; model %zu parameters%s\n", cfg.name.c_str(),
               r.run.c_str(), backend->description().c_str(), d.train.samples.size(), d.validation.samples.size(),
               model->parameter_count(), d.data_source == "synthetic" ? " [SYNTHETIC data]" : "");

  const bool optimistic = cfg.training.selection == "test_optimistic";
  const std::vector<size_t>& select_ids = optimistic ? d.evaluation[0].samples : d.validation.samples;
  if (select_ids.empty())
    std::fprintf(stderr, "warning: %s: the %s set is empty (too few flows to split by flow?): no model selection, the last "
                 "epoch is kept\n", cfg.file.c_str(), optimistic ? "test" : "validation");
  SplitMix64 rng(seed ^ 0xABCDEF);
  std::vector<size_t> order = d.train.samples;
  size_t cursor = order.size();  // reshuffle on first use
  const size_t bs = static_cast<size_t>(cfg.training.batch_size);
  const size_t per_epoch = cfg.training.batches_per_epoch > 0
                               ? static_cast<size_t>(cfg.training.batches_per_epoch)
                               : (order.size() + bs - 1) / bs;
  Snapshot best;
  double best_score = -1, best_loss = INFINITY;
  int since_best = 0;
  std::vector<int32_t> labels;
  double train_seconds = 0;

  for (int epoch = 1; epoch <= cfg.training.epochs && !g_stop_requested; ++epoch) {
    const auto t_epoch = Clock::now();
    const size_t epoch_images = cfg.training.batches_per_epoch > 0 ? per_epoch * bs : order.size();
    Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.training.epochs), double(epoch_images),
                      "images", 30.0);
    double loss_sum = 0;
    size_t seen = 0, correct = 0;
    for (size_t b = 0; b < per_epoch && !g_stop_requested; ++b) {
      std::vector<size_t> ids;
      while (ids.size() < bs && !order.empty()) {
        if (cursor >= order.size()) {
          rng.shuffle(order);
          cursor = 0;
        }
        ids.push_back(order[cursor++]);
        if (cfg.training.batches_per_epoch == 0 && cursor == order.size()) break;  // one pass: last batch may be short
      }
      labels.clear();
      for (size_t i : ids) labels.push_back(d.sample_class[i]);
      const nn::Tensor& x = batcher.build(ids.data(), ids.size());
      const nn::Tensor& logits = model->forward(x, true);
      double loss = model->loss_and_grad(labels);
      model->backward();
      optimizer->step();
      std::vector<float> lg = logits.to_host();
      for (size_t i = 0; i < ids.size(); ++i) {
        const float* row = lg.data() + i * classes;
        correct += (std::max_element(row, row + classes) - row) == labels[i];
      }
      loss_sum += loss * double(ids.size());
      seen += ids.size();
      progress.update(double(seen), fmt("loss %.4f, accuracy %.2f%%", loss_sum / double(seen), 100.0 * double(correct) / double(seen)));
    }
    progress.clear();
    const double epoch_train_s = seconds_since(t_epoch);
    train_seconds += epoch_train_s;
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = seen ? loss_sum / double(seen) : NAN;
    rec.train_accuracy = seen ? double(correct) / double(seen) : NAN;
    rec.images_per_s = seen / std::max(epoch_train_s, 1e-9);
    rec.val_loss = rec.val_accuracy = NAN;
    if (!select_ids.empty()) {
      EvalOutcome v = evaluate(*model, batcher, d, select_ids, cfg.training.batch_size, classes);
      rec.val_loss = v.loss;
      rec.val_accuracy = v.accuracy;
    }
    rec.seconds = seconds_since(t_epoch);
    r.history.push_back(rec);

    // Model selection: best accuracy on the selection set, ties broken by lower loss; without a
    // selection set, the last epoch.
    double score = select_ids.empty() ? double(epoch) : rec.val_accuracy;
    bool improved = score > best_score || (score == best_score && rec.val_loss < best_loss);
    if (improved) {
      best_score = score;
      best_loss = rec.val_loss;
      r.best_epoch = epoch;
      best.take(*model);
      since_best = 0;
    } else {
      ++since_best;
    }
    const double eta = r.history.empty() ? 0 : seconds_since(t_start) / epoch * (cfg.training.epochs - epoch);
    std::fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.2f%% | %s loss %.4f acc %.2f%%%s | %.0f images/s | %.1f s | ETA %.0f s\n",
                 epoch, cfg.training.epochs, rec.train_loss, 100 * rec.train_accuracy, optimistic ? "test (optimistic)" : "val",
                 rec.val_loss, 100 * rec.val_accuracy, improved ? " *" : "", rec.images_per_s, rec.seconds, eta);
    if (cfg.training.patience > 0 && since_best >= cfg.training.patience) {
      std::fprintf(stderr, "early stop: no improvement for %d epochs; best epoch %d\n", since_best, r.best_epoch);
      break;
    }
  }
  r.interrupted = g_stop_requested;
  if (r.interrupted) std::fprintf(stderr, "interrupted: evaluating the best model so far (epoch %d)\n", r.best_epoch);
  if (r.best_epoch > 0) best.restore(*model);

  const auto t_eval = Clock::now();
  for (const auto& set : d.evaluation) {
    EvalOutcome e = evaluate(*model, batcher, d, set.samples, cfg.training.batch_size, classes);
    GroupPredictions g;
    g.name = set.name;
    for (size_t k = 0; k < set.samples.size(); ++k) {
      const Sample& s = d.index.samples[set.samples[k]];
      g.flow.push_back(s.flow);
      g.direction.push_back(s.direction);
      g.window_start.push_back(s.start);
      g.truth.push_back(d.sample_class[set.samples[k]]);
    }
    g.predicted = e.predicted;
    g.probabilities = e.probabilities;
    g.metrics = compute_metrics(g.truth, g.predicted, r.class_names);
    std::fprintf(stderr, "%s (%s%s):\n%s", set.name.c_str(), d.data_source == "synthetic" ? "SYNTHETIC data" : d.store_path.c_str(),
                 optimistic && set.name == "test" ? ", optimistic: epoch chosen on this set" : "", g.metrics.table().c_str());
    r.groups.push_back(std::move(g));
  }
  r.timings["train"] = train_seconds;
  r.timings["evaluate"] = seconds_since(t_eval);
  r.timings["total"] = seconds_since(t_start);

  TrainedRun out;
  out.result = std::move(r);
  out.backend = backend;
  out.model = model;
  return out;
}

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

}  // namespace

int run_experiment_main(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> sets;
  bool dry_run = false, resume = false;
  std::string command = "run_experiment";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--dry-run") {
      dry_run = true;
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
    ExperimentConfig cfg = parse_experiment(raw, config_path);
    // Check the representation before any data is read, and record it with every default.
    cfg.resolved["representation"] = RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"}).to_json();
    // A sweep is a grid of points, each checked now (an unknown key fails before any run).
    const std::vector<SweepPoint> points = expand_sweep(raw, config_path);
    std::vector<ExperimentConfig> point_cfgs;
    for (const auto& p : points) point_cfgs.push_back(point_config(raw, p, config_path));
    if (dry_run) {
      std::printf("%s\n", cfg.resolved.dump(2).c_str());
      if (points.size() > 1) {
        std::printf("sweep: %zu points x %d seeds\n", points.size(), cfg.training.repeats);
        for (size_t i = 0; i < points.size(); ++i)
          std::printf("  %zu/%zu %s -> %s\n", i + 1, points.size(), points[i].label.c_str(),
                      point_result_path(point_cfgs[i], points[i], cfg.training.seed).c_str());
      }
      PreparedExperiment d = prepare_experiment(point_cfgs[0], cfg.training.seed);
      std::printf("%s", d.summary_table().c_str());
      // The model and optimizer are checked too (on the CPU: nothing is trained).
      auto backend = nn::make_backend("cpu");
      nn::Model model = build_model(cfg, d, *backend, cfg.training.seed);
      nn::make_optimizer(cfg.optimizer, {cfg.file, "optimizer"}, model);
      std::printf("model: %zu parameters\n%s", model.parameter_count(), model.summary().c_str());
      return 0;
    }
    std::signal(SIGINT, on_sigint);
    size_t total = 0, done = 0, skipped = 0;
    for (const auto& c : point_cfgs) total += static_cast<size_t>(c.training.repeats);
    for (size_t pi = 0; pi < points.size() && !g_stop_requested; ++pi) {
      const ExperimentConfig& pc = point_cfgs[pi];
      for (int rep = 0; rep < pc.training.repeats && !g_stop_requested; ++rep) {
        const uint64_t seed = pc.training.seed + static_cast<uint64_t>(rep);
        const std::string path = point_result_path(pc, points[pi], seed);
        ++done;
        std::string where = "run " + std::to_string(done) + "/" + std::to_string(total);
        if (points.size() > 1)
          where += ": point " + std::to_string(pi + 1) + "/" + std::to_string(points.size()) + " (" + points[pi].label + ")";
        where += ", seed " + std::to_string(seed);
        if (resume) {
          json expected = pc.resolved;
          expected["training"]["seed"] = seed;
          std::string why;
          if (result_complete(path, &expected, &why)) {
            ++skipped;
            std::fprintf(stderr, "%s: %s is complete, skipped (--resume)\n", where.c_str(), path.c_str());
            continue;
          }
          if (file_exists(path)) std::fprintf(stderr, "%s: %s is there but %s: running it again\n", where.c_str(), path.c_str(), why.c_str());
        }
        std::fprintf(stderr, "%s -> %s\n", where.c_str(), path.c_str());
        const auto t0 = Clock::now();
        PreparedExperiment d = prepare_experiment(pc, seed);
        const double prep_s = seconds_since(t0);
        TrainedRun run = run_once(pc, d, seed, command);
        if (!points[pi].label.empty()) run.result.run = points[pi].label + "/" + run.result.run;
        run.result.timings["prepare"] = prep_s;
        run.result.timings["total"] += prep_s;
        write_result(path, run.result, [&](hid_t f) { nn::write_weights(*run.model, f, "/model"); });
        std::fprintf(stderr, "wrote %s%s\n", path.c_str(), run.result.interrupted ? " (interrupted: holds what was done)" : "");
      }
    }
    if (points.size() > 1 || cfg.training.repeats > 1) {
      std::string md = write_sweep_summary(cfg, points, point_cfgs);
      std::fprintf(stderr, "%s%s\nwrote %s/%s/summary.csv and summary.md%s\n", g_stop_requested ? "(interrupted: partial) " : "",
                   md.c_str(), cfg.output.c_str(), cfg.name.c_str(),
                   skipped ? (" (" + std::to_string(skipped) + " finished runs skipped)").c_str() : "");
    }
    return g_stop_requested ? 130 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "run_experiment: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace flowpic
