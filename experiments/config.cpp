#include "experiments/config.hpp"

#include <cmath>

#include "common/error.hpp"
#include "experiments/distributed.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic {

void apply_override(json& j, const std::string& assignment, const std::string& origin) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(origin, ": --set '", printable(assignment), "' should look like key.path=value (e.g. training.epochs=3)");
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception&) {  // parse_error, or out_of_range for "1e999"
    value = text;                     // a bare word: a string
    try {
      (void)value.dump();  // the config is stored with the results: it must be valid UTF-8
    } catch (const json::type_error&) {
      fail(origin, ": --set '", printable(assignment), "': the value is not valid UTF-8 text");
    }
  }
  json* node = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) fail(origin, ": --set '", printable(assignment), "': empty key in '", printable(path), "'");
    if (!node->is_object())
      fail(origin, ": --set '", printable(assignment), "': '", printable(path.substr(0, start ? start - 1 : 0)),
           "' is not an object");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    node = &(*node)[key];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

namespace {

DatasetConfig parse_dataset(const json& j, const JsonWhere& w) {
  check_keys(j, w, {"source", "store", "store_hint", "synthetic"});
  DatasetConfig d;
  if (j.contains("source")) d.source = json_string(j, "source", w);
  if (d.source != "store" && d.source != "synthetic")
    fail(w.at("source").str(), ": '", d.source, "' is not a data source; allowed: store, synthetic");
  if (j.contains("store")) d.store = json_string(j, "store", w);
  if (j.contains("store_hint")) d.store_hint = json_string(j, "store_hint", w);
  if (d.source == "store" && d.store.empty())
    fail(w.at("store").str(), ": name the packet store to read, or set dataset.source to synthetic");
  if (j.contains("synthetic")) {
    const json& s = j["synthetic"];
    JsonWhere sw = w.at("synthetic");
    check_keys(s, sw, {"seed", "preset", "scale", "dir"});
    if (s.contains("seed")) {
      int64_t seed = json_int(s, "seed", sw);
      if (seed < 0) fail(sw.at("seed").str(), ": must be >= 0");
      d.synthetic_seed = static_cast<uint64_t>(seed);
    }
    if (s.contains("preset")) d.synthetic_preset = json_string(s, "preset", sw);
    if (d.synthetic_preset != "small" && d.synthetic_preset != "paper")
      fail(sw.at("preset").str(), ": '", d.synthetic_preset, "' is not a preset; allowed: small, paper");
    if (s.contains("scale")) {
      d.synthetic_scale = json_number(s, "scale", sw);
      if (!(d.synthetic_scale >= 0.01 && d.synthetic_scale <= 100))
        fail(sw.at("scale").str(), ": must be in [0.01, 100]");
    }
    if (s.contains("dir")) d.synthetic_dir = json_string(s, "dir", sw);
  }
  return d;
}

int positive_int(const json& j, const std::string& key, const JsonWhere& w, int64_t lo, int64_t hi) {
  int64_t v = json_int(j, key, w);
  if (v < lo || v > hi) fail(w.at(key).str(), ": ", v, " is outside ", lo, "..", hi);
  return static_cast<int>(v);
}

TrainingConfig parse_training(const json& j, const JsonWhere& w) {
  check_keys(j, w,
             {"epochs", "batch_size", "batches_per_epoch", "patience", "seed", "repeats", "validation_fraction",
              "test_fraction", "split", "folds", "fold", "train_flows_per_class", "selection", "balance", "early_stop",
              "min_delta", "augment", "distributed"});
  TrainingConfig t;
  if (j.contains("epochs")) t.epochs = positive_int(j, "epochs", w, 1, 100000);
  if (j.contains("batch_size")) t.batch_size = positive_int(j, "batch_size", w, 1, 65536);
  if (j.contains("batches_per_epoch")) t.batches_per_epoch = positive_int(j, "batches_per_epoch", w, 0, 100000000);
  if (j.contains("patience")) t.patience = positive_int(j, "patience", w, 0, 100000);
  if (j.contains("seed")) {
    int64_t s = json_int(j, "seed", w);
    if (s < 0) fail(w.at("seed").str(), ": must be >= 0");
    t.seed = static_cast<uint64_t>(s);
  }
  if (j.contains("repeats")) t.repeats = positive_int(j, "repeats", w, 1, 1000);
  if (j.contains("validation_fraction")) t.fractions.validation = json_number(j, "validation_fraction", w);
  if (j.contains("test_fraction")) t.fractions.test = json_number(j, "test_fraction", w);
  if (t.fractions.validation < 0 || t.fractions.test <= 0 || t.fractions.validation + t.fractions.test >= 1)
    fail(w.str(), ": validation_fraction (", t.fractions.validation, ") must be >= 0, test_fraction (",
         t.fractions.test, ") > 0, and together below 1");
  if (j.contains("split")) {
    std::string s = json_string(j, "split", w);
    if (s != "flow" && s != "window" && s != "kfold" && s != "per_class")
      fail(w.at("split").str(), ": '", s, "' is not a split; allowed: flow, window, kfold, per_class");
    t.split_by_flow = s != "window";
    if (s == "kfold") t.folds = 5;
    if (s == "per_class") t.train_flows_per_class = 100;
  }
  if (j.contains("train_flows_per_class")) {
    if (t.train_flows_per_class == 0) fail(w.at("train_flows_per_class").str(), ": only with \"split\": \"per_class\"");
    t.train_flows_per_class = positive_int(j, "train_flows_per_class", w, 1, 100000000);
  }
  if (j.contains("folds") || (j.contains("fold") && !j["fold"].is_null())) {
    const char* key = j.contains("folds") ? "folds" : "fold";
    if (t.folds == 0) fail(w.at(key).str(), ": only with \"split\": \"kfold\"");
    if (j.contains("folds")) t.folds = positive_int(j, "folds", w, 2, 1000);
    if (j.contains("fold") && !j["fold"].is_null()) t.fold = positive_int(j, "fold", w, 0, t.folds - 1);
  }
  if (j.contains("selection")) t.selection = json_string(j, "selection", w);
  if (t.selection != "validation" && t.selection != "test_optimistic")
    fail(w.at("selection").str(), ": '", t.selection,
         "' is not a model selection; allowed: validation, test_optimistic");
  if (t.selection == "validation" && t.fractions.validation <= 0)
    fail(w.at("validation_fraction").str(), ": model selection on validation needs validation_fraction > 0");
  if (j.contains("balance")) t.balance = json_bool(j, "balance", w);
  if (j.contains("early_stop")) {
    t.early_stop = json_string(j, "early_stop", w);
    if (t.early_stop != "selection" && t.early_stop != "val_loss")
      fail(w.at("early_stop").str(), ": '", t.early_stop,
           "' is not an early-stopping rule; allowed: selection, val_loss");
  }
  if (j.contains("min_delta")) {
    if (t.early_stop != "val_loss") fail(w.at("min_delta").str(), ": only with \"early_stop\": \"val_loss\"");
    t.min_delta = json_number(j, "min_delta", w);
    if (!(t.min_delta >= 0) || !std::isfinite(t.min_delta)) fail(w.at("min_delta").str(), ": must be a number >= 0");
  }
  if (j.contains("augment")) t.augment = AugmentConfig::from_json(j["augment"], w.at("augment"));
  if (j.contains("distributed")) {
    t.distributed = json_string(j, "distributed", w);
    if (t.distributed != "none" && t.distributed != "mpi")
      fail(w.at("distributed").str(), ": '", t.distributed, "' is not a distribution; allowed: none, mpi");
    if (t.distributed == "mpi" && dist::mpi_library().empty())
      fail(w.at("distributed").str(),
           ": \"mpi\" needs a build with MPI (Debian libopenmpi-dev, then configure with FLOWPIC_MPI=AUTO or ON); "
           "this build has none");
  }
  if (t.early_stop == "val_loss" && t.fractions.validation <= 0)
    fail(w.at("early_stop").str(), ": stopping on the validation loss needs validation_fraction > 0");
  return t;
}

json to_json(const DatasetConfig& d) {
  return {{"source", d.source},
          {"store", d.store},
          {"store_hint", d.store_hint},
          {"synthetic",
           {{"seed", d.synthetic_seed},
            {"preset", d.synthetic_preset},
            {"scale", d.synthetic_scale},
            {"dir", d.synthetic_dir}}}};
}

json to_json(const TrainingConfig& t) {
  json j = {{"epochs", t.epochs},
            {"batch_size", t.batch_size},
            {"batches_per_epoch", t.batches_per_epoch},
            {"patience", t.patience},
            {"seed", t.seed},
            {"repeats", t.repeats},
            {"validation_fraction", t.fractions.validation},
            {"test_fraction", t.fractions.test},
            {"split", t.folds                   ? "kfold"
                      : t.train_flows_per_class ? "per_class"
                      : t.split_by_flow         ? "flow"
                                                : "window"},
            {"selection", t.selection},
            {"balance", t.balance}};
  if (t.early_stop != "selection") {  // recorded when not the default, so older results still match
    j["early_stop"] = t.early_stop;
    j["min_delta"] = t.min_delta;
  }
  if (t.augment.active()) j["augment"] = t.augment.to_json();  // likewise
  if (t.distributed != "none") j["distributed"] = t.distributed;
  if (t.train_flows_per_class) j["train_flows_per_class"] = t.train_flows_per_class;
  if (t.folds) {
    j["folds"] = t.folds;
    j["fold"] = t.fold >= 0 ? json(t.fold) : json(nullptr);
  }
  return j;
}

// One batch of images is held on the host and the device at once: refuse a batch size and image
// shape whose product would need more than kMaxBatchImageBytes, before any data is read.
void check_batch_memory(const ExperimentConfig& c, const JsonWhere& w) {
  const RepresentationConfig r = RepresentationConfig::from_json(c.representation, w.at("representation"));
  const double bytes = static_cast<double>(r.image_floats()) * sizeof(float) * c.training.batch_size;
  if (bytes > static_cast<double>(kMaxBatchImageBytes))
    fail(w.at("training").at("batch_size").str(), ": ", c.training.batch_size, " images of ", r.channels(), "x",
         r.height(), "x", r.width(), " need ", static_cast<int64_t>(bytes / (1 << 20)),
         " MiB per batch, over the limit of ", kMaxBatchImageBytes >> 20,
         " MiB; use a smaller batch_size or resolution");
  c.training.augment.check(r, w.at("training").at("augment"));
}

}  // namespace

ExperimentConfig parse_experiment(const json& j, const std::string& origin) {
  JsonWhere w{origin, ""};
  check_keys(j, w,
             {"name", "description", "dataset", "representation", "model", "optimizer", "training", "task", "device",
              "input", "output", "sweep", "sweep_point"},
             {"name", "dataset", "representation", "model", "task"});
  ExperimentConfig c;
  c.file = origin;
  c.name = json_string(j, "name", w);
  if (c.name.empty() || c.name.find_first_of("/\\ ") != std::string::npos)
    fail(w.at("name").str(), ": '", c.name,
         "' must be a non-empty name without spaces or slashes (it names the results folder)");
  if (j.contains("description")) c.description = json_string(j, "description", w);
  c.dataset = parse_dataset(j["dataset"], w.at("dataset"));
  c.representation = j["representation"];
  if (!c.representation.is_object()) fail(w.at("representation").str(), ": expected an object with a \"type\"");
  c.model = j["model"];
  if (!c.model.is_object() && !c.model.is_string())
    fail(w.at("model").str(), ": expected a model object or the path of a model JSON file");
  c.optimizer = j.contains("optimizer") ? j["optimizer"] : json{{"type", "adam"}};
  if (j.contains("training")) c.training = parse_training(j["training"], w.at("training"));
  c.task = TaskConfig::parse(j["task"], w.at("task"));
  if (j.contains("device")) c.device = json_string(j, "device", w);
  if (c.device != "auto" && c.device != "cpu" && c.device != "cuda")
    fail(w.at("device").str(), ": '", c.device, "' is not a device; allowed: auto, cpu, cuda");
  if (j.contains("input")) c.input = json_string(j, "input", w);
  if (c.input != "auto" && c.input != "dense" && c.input != "sparse")
    fail(w.at("input").str(), ": '", c.input, "' is not an input path; allowed: auto, dense, sparse");
  if (j.contains("output")) c.output = json_string(j, "output", w);
  // The grid itself is expanded and checked point by point by expand_sweep (experiments/sweep.hpp).
  if (j.contains("sweep") && !j["sweep"].is_object())
    fail(w.at("sweep").str(),
         ": expected an object of \"key.path\": [values], e.g. {\"optimizer.lr\": [0.001, 0.0001]}");
  if (j.contains("sweep_point") && !j["sweep_point"].is_object())
    fail(w.at("sweep_point").str(), ": expected an object (the values of one sweep point, written by run_experiment)");
  check_batch_memory(c, w);
  // The resolved config: every default written out, so a result says exactly what ran.
  c.resolved = j;
  c.resolved["dataset"] = to_json(c.dataset);
  c.resolved["training"] = to_json(c.training);
  c.resolved["task"] = c.task.to_json();
  c.resolved["optimizer"] = c.optimizer;
  c.resolved["device"] = c.device;
  c.resolved["input"] = c.input;
  c.resolved["output"] = c.output;
  return c;
}

ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  json j = load_json_file(path);
  for (const auto& o : overrides) apply_override(j, o, path);
  return parse_experiment(j, path);
}

}  // namespace flowpic
