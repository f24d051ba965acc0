#include "experiments/table_cells.hpp"

#include <algorithm>
#include <filesystem>
#include <initializer_list>

#include "experiments/config.hpp"
#include "experiments/paper_numbers.hpp"
#include "experiments/synthetic_store.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic {

namespace {

// A value inside a result's config by key path; null when any part is missing (older or foreign files).
json config_at(const json& j, std::initializer_list<const char*> path) {
  const json* node = &j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return json();
    node = &(*node)[key];
  }
  return *node;
}

// A config value as a caption shows it: strings bare, "?" when missing.
std::string setting_text(const json& v) { return v.is_null() ? "?" : v.is_string() ? v.get<std::string>() : v.dump(); }

// One metric of one run's group, in percent; nullopt when the group or class is absent.
std::optional<double> metric_of(const RunResult& r, const std::string& group, const std::string& metric) {
  for (const auto& g : r.groups) {
    if (g.name != group) continue;
    if (g.truth.empty()) return std::nullopt;  // an empty set has no accuracy (not 0 %)
    if (metric == "accuracy") return 100.0 * g.metrics.accuracy;
    if (metric == "macro_f1") return 100.0 * g.metrics.macro_f1;
    size_t colon = metric.find(':');
    if (colon == std::string::npos) return std::nullopt;
    const std::string kind = metric.substr(0, colon), cls = metric.substr(colon + 1);
    for (const auto& c : g.metrics.classes)
      if (c.name == cls) {
        if (kind == "recall") return 100.0 * c.recall;
        if (kind == "precision") return 100.0 * c.precision;
        if (kind == "f1") return 100.0 * c.f1;
      }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : "; ") + x;
  return out;
}

}  // namespace

const RunSet& ResultsDir::get(const std::string& config) {
  auto it = cache_.find(config);
  if (it != cache_.end()) return it->second;
  RunSet& s = cache_[config];
  namespace fs = std::filesystem;
  const fs::path d = fs::path(dir_) / config;
  std::error_code ec;
  if (!fs::is_directory(d, ec)) return s;
  std::vector<std::pair<long, std::string>> files;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.size() < 8 || name.rfind("seed", 0) != 0 || e.path().extension() != ".h5")
      continue;
    const std::string digits = name.substr(4, name.size() - 7);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    files.emplace_back(std::stol(digits), e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& [seed, path] : files) {
    try {
      s.runs.push_back(read_result(path));
    } catch (const std::exception& e) {
      s.damaged.push_back(path + " (" + e.what() + ")");
    }
  }
  return s;
}

const json& TableProvenance::shipped(const std::string& config) {
  auto it = shipped_.find(config);
  if (it != shipped_.end()) return it->second;
  json shipped;
  try {
    std::string path =
        configs_dir_.empty() ? find_config_file(config + ".json") : configs_dir_ + "/" + config + ".json";
    ExperimentConfig c = load_experiment(path);
    shipped = c.resolved;
    shipped["representation"] = RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
  } catch (const std::exception&) {
    // Not a shipped config (or an unreadable one): no departures to name.
  }
  return shipped_.emplace(config, shipped).first->second;
}

void TableProvenance::add(const std::string& config, const RunResult& r) {
  if (r.data_source == "synthetic")
    sources_.insert("SYNTHETIC (the built-in generated traffic, preset " +
                    setting_text(config_at(r.config, {"dataset", "synthetic", "preset"})) +
                    "; not ISCX: not comparable with the paper's numbers)");
  else
    sources_.insert(real_data_ + " (packet store " + setting_text(config_at(r.provenance, {"store"})) + ")");
  const json rep = config_at(r.config, {"representation"});
  std::string setting = setting_text(config_at(rep, {"type"}));
  for (const char* size : {"resolution", "side"}) {
    const json v = config_at(rep, {size});
    if (!v.is_null()) setting += " " + setting_text(v) + "x" + setting_text(v);
  }
  const json model = config_at(r.config, {"model"});
  setting += ", model " + (model.is_string() ? model.get<std::string>() : std::string("inline model")) + ", " +
             setting_text(config_at(r.config, {"training", "epochs"})) + " epochs";
  settings_.insert(setting);
  // Departure from the shipped config (the paper's setting).
  const json& s = shipped(config);
  if (s.is_null()) return;
  auto differs = [&](const json& a, const json& b, const std::string& what) {
    if (a != b) departures_.insert(what + " " + setting_text(a) + " instead of " + setting_text(b));
  };
  for (const char* size : {"resolution", "side"})
    if (!config_at(rep, {size}).is_null() && !config_at(s, {"representation", size}).is_null())
      differs(config_at(rep, {size}), config_at(s, {"representation", size}), size);
  differs(model, config_at(s, {"model"}), "model");
  differs(config_at(r.config, {"training", "epochs"}), config_at(s, {"training", "epochs"}), "epochs");
  differs(config_at(r.config, {"training", "batches_per_epoch"}), config_at(s, {"training", "batches_per_epoch"}),
          "batches per epoch");
  differs(config_at(r.config, {"training", "train_flows_per_class"}),
          config_at(s, {"training", "train_flows_per_class"}), "training flows per class");
  differs(config_at(r.config, {"training", "repeats"}), config_at(s, {"training", "repeats"}), "repeats");
}

std::vector<std::string> TableProvenance::sentences() const {
  std::vector<std::string> out;
  if (sources_.empty()) return {"No result files yet."};
  out.push_back("Data: " + join(sources_) + ".");
  out.push_back("Runs: " + join(settings_) + ".");
  if (!departures_.empty())
    out.push_back("REDUCED or changed setting, not the paper's: " + join(departures_) +
                  " (the shipped configs hold the paper setting).");
  return out;
}

TableCell CellBuilder::cell(const std::string& config, const std::string& group, const std::string& metric,
                            int decimals) {
  return cell_in({config}, config, group, metric, decimals, "");
}

TableCell CellBuilder::cell_in(const std::vector<std::string>& folders, const std::string& config,
                               const std::string& group, const std::string& metric, int decimals,
                               const std::string& alternative) {
  TableCell c;
  c.decimals = decimals;
  c.paper = paper_number(config, group, metric);
  c.paper_std = paper_number_std(config, group, metric);
  const RunSet* found = &results_.get(folders.front());
  for (const auto& f : folders) {
    const RunSet& rs = results_.get(f);
    if (!rs.runs.empty()) {
      found = &rs;
      break;
    }
  }
  const RunSet& rs = *found;
  if (rs.runs.empty()) {
    c.gap = "run configs/" + config + ".json";
    if (!alternative.empty()) c.gap += " or configs/" + alternative + ".json";
    if (!rs.damaged.empty()) c.gap = "unreadable: " + rs.damaged.front() + "; " + c.gap;
    return c;
  }
  std::vector<double> v;
  for (const auto& r : rs.runs) {
    std::optional<double> x = metric_of(r, group, metric);
    if (!x) continue;
    v.push_back(*x);
    for (const auto& g : r.groups)
      if (g.name == group) c.samples += double(g.truth.size());
    provenance_.add(config, r);
    c.optimistic |= r.selection == "test_optimistic";
    c.interrupted |= r.interrupted;
  }
  if (v.empty()) {
    bool empty_group = false;
    for (const auto& r : rs.runs)
      for (const auto& g : r.groups) empty_group |= g.name == group && g.truth.empty();
    c.gap = empty_group ? "the '" + group + "' set of configs/" + config + ".json is empty: too few flows to split"
                        : "no '" + group + "' " + metric + " in the results of configs/" + config + ".json";
    return c;
  }
  c.ours = mean_std(v);
  c.samples /= double(v.size());
  c.have = true;
  return c;
}

TableCell CellBuilder::average(const std::string& paper_key, const std::vector<std::string>& configs) {
  TableCell c;
  c.averaged = true;
  c.paper = paper_number(paper_key, "test", "accuracy");
  std::vector<std::string> missing;
  std::map<uint64_t, std::vector<double>> per_seed;
  for (const auto& cfg : configs) {
    const RunSet& rs = results_.get(cfg);
    if (rs.runs.empty()) missing.push_back("configs/" + cfg + ".json");
    for (const auto& r : rs.runs) {
      std::optional<double> x = metric_of(r, "test", "accuracy");
      if (!x) continue;
      const json seed = config_at(r.config, {"training", "seed"});
      per_seed[seed.is_number_unsigned() ? seed.get<uint64_t>() : 0].push_back(*x);
      provenance_.add(cfg, r);
      c.optimistic |= r.selection == "test_optimistic";
      c.interrupted |= r.interrupted;
    }
  }
  if (!missing.empty()) {
    c.gap = "run " + missing.front();
    for (size_t i = 1; i < missing.size(); ++i) c.gap += ", " + missing[i];
    return c;
  }
  std::vector<double> v;
  for (const auto& [seed, xs] : per_seed)
    if (xs.size() == configs.size()) {
      double s = 0;
      for (double x : xs) s += x;
      v.push_back(s / double(xs.size()));
    }
  if (v.empty()) {
    std::string which;
    for (const auto& cfg : configs)
      for (const auto& r : results_.get(cfg).runs)
        if (!metric_of(r, "test", "accuracy")) which += (which.empty() ? "" : ", ") + cfg;
    c.gap = which.empty() ? "the class-vs-all runs share no seed" : "no test accuracy (empty test set) in " + which;
    return c;
  }
  c.ours = mean_std(v);
  c.have = true;
  return c;
}

}  // namespace flowpic
