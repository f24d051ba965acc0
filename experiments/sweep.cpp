#include "experiments/sweep.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "experiments/sample_index.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace flowpic {

namespace {

// A value as it appears in a folder name: strings bare (a path keeps its last part), numbers and
// other JSON compact; characters outside [A-Za-z0-9._+-] become '_'.
std::string value_text(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (v.is_string()) {
    size_t slash = s.find_last_of('/');
    if (slash != std::string::npos) s = s.substr(slash + 1);
    if (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0) s.resize(s.size() - 5);
  }
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-')) c = '_';
  return s.empty() ? "_" : s;
}

std::string last_part(const std::string& path) {
  size_t dot = path.find_last_of('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

}  // namespace

json SweepPoint::to_json() const {
  json j = json::object();
  for (const auto& [k, v] : values) j[k] = v;
  return j;
}

ExperimentConfig point_config(const json& raw, const SweepPoint& point, const std::string& origin) {
  json j = raw;
  j.erase("sweep");
  // parse_experiment's default optimizer, so "optimizer.lr" can be swept without writing one out.
  if (!j.contains("optimizer")) j["optimizer"] = {{"type", "adam"}};
  for (const auto& [key, value] : point.values) apply_override(j, key + "=" + value.dump(), origin);
  ExperimentConfig c = parse_experiment(j, origin);
  c.resolved["representation"] = RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
  if (!point.values.empty()) c.resolved["sweep_point"] = point.to_json();
  return c;
}

std::vector<SweepPoint> expand_sweep(const json& raw, const std::string& origin) {
  if (!raw.contains("sweep") || (raw["sweep"].is_object() && raw["sweep"].empty())) return {SweepPoint{}};
  const json& sweep = raw["sweep"];
  if (!sweep.is_object())
    fail(origin, ": sweep: expected an object of \"key.path\": [values], e.g. {\"optimizer.lr\": [0.001, 0.0001]}");
  std::vector<std::string> keys;
  std::vector<std::vector<json>> values;
  for (auto it = sweep.begin(); it != sweep.end(); ++it) {
    if (!it.value().is_array() || it.value().empty())
      fail(origin, ": sweep.", it.key(), ": expected a non-empty list of values");
    if (it.key().empty() || it.key().front() == '.' || it.key().back() == '.' || it.key().find("..") != std::string::npos)
      fail(origin, ": sweep: '", it.key(), "' is not a key path (e.g. optimizer.lr)");
    if (it.key() == "name" || it.key() == "output" || it.key().rfind("sweep", 0) == 0 || it.key().rfind("training.repeats", 0) == 0 ||
        it.key() == "training.seed")
      fail(origin, ": sweep: '", it.key(), "' cannot be swept (seeds come from training.seed and training.repeats)");
    keys.push_back(it.key());
    values.push_back(std::vector<json>(it.value().begin(), it.value().end()));
  }
  // Short names in labels (last part of the path) unless two keys share one.
  std::map<std::string, int> short_count;
  for (const auto& k : keys) ++short_count[last_part(k)];
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(short_count[last_part(k)] > 1 ? k : last_part(k));

  std::vector<SweepPoint> points;
  std::vector<size_t> at(keys.size(), 0);
  while (true) {
    SweepPoint p;
    for (size_t k = 0; k < keys.size(); ++k) {
      p.values.emplace_back(keys[k], values[k][at[k]]);
      p.label += (k ? "," : "") + names[k] + "=" + value_text(values[k][at[k]]);
    }
    points.push_back(std::move(p));
    size_t k = keys.size();
    while (k > 0 && ++at[k - 1] == values[k - 1].size()) at[--k] = 0;
    if (k == 0) break;
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < points.size(); ++i)
    if (!seen.emplace(points[i].label, i).second)
      fail(origin, ": sweep: two points share the folder name '", points[i].label, "' (repeated or indistinguishable values)");

  // Check every point now: an unknown key or a bad value fails before the first run.
  auto backend = nn::make_backend("cpu");
  for (const auto& p : points) {
    try {
      ExperimentConfig c = point_config(raw, p, origin);
      RepresentationConfig rep = RepresentationConfig::from_json(c.representation, {c.file, "representation"});
      nn::ModelOptions mo;
      mo.input = {1, rep.channels(), rep.height(), rep.width()};
      mo.classes = 2;
      nn::Model m = c.model.is_string() ? nn::Model::from_file(resolve_config_path(c.model.get<std::string>()), mo, *backend)
                                        : nn::Model::from_json(c.model, c.file + ": model", mo, *backend);
      nn::make_optimizer(c.optimizer, {c.file, "optimizer"}, m);
    } catch (const Error& e) {
      std::string m = e.what();
      if (m.rfind(origin + ": ", 0) == 0) m = m.substr(origin.size() + 2);
      fail(origin, ": sweep point ", p.label, ": ", m);
    }
  }
  return points;
}

std::string point_result_path(const ExperimentConfig& cfg, const SweepPoint& point, uint64_t seed) {
  std::string dir = cfg.output + "/" + cfg.name + "/";
  if (!point.label.empty()) dir += point.label + "/";
  return dir + "seed" + std::to_string(seed) + ".h5";
}

bool result_complete(const std::string& path, const json* expected_config, std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  if (!file_exists(path)) return no("not written yet");
  try {
    RunResult r = read_result(path);
    if (r.interrupted) return no("interrupted");
    if (expected_config && r.config != *expected_config) return no("made with a different config");
    return true;
  } catch (const std::exception& e) {
    return no(std::string("unreadable: ") + e.what());
  }
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  m.n = v.size();
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= double(v.size());
  if (v.size() > 1) {
    double s = 0;
    for (double x : v) s += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(s / double(v.size() - 1));
  }
  return m;
}

std::string write_sweep_summary(const ExperimentConfig& base, const std::vector<SweepPoint>& points,
                                const std::vector<ExperimentConfig>& point_configs) {
  std::vector<std::string> keys;
  if (!points.empty())
    for (const auto& kv : points[0].values) keys.push_back(kv.first);
  auto pct = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", 100.0 * x);
    return std::string(b);
  };
  std::ostringstream csv, md;
  csv << "point";
  for (const auto& k : keys) csv << "," << k;
  csv << ",runs,accuracy_mean,accuracy_std,macro_f1_mean,macro_f1_std,data_source,selection\n";
  std::string sources;
  size_t interrupted = 0;
  md << "# Sweep summary: " << base.name << "\n\n";
  md << "Test accuracy and macro F1 (%), mean and sample standard deviation over the seeds found; config "
     << base.file << ".\n\n";
  md << "| point |";
  for (const auto& k : keys) md << " " << k << " |";
  md << " runs | accuracy | macro F1 |\n|---|";
  for (size_t k = 0; k < keys.size(); ++k) md << "---|";
  md << "---|---|---|\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const ExperimentConfig& c = point_configs[i];
    std::vector<double> acc, f1;
    std::string source, selection;
    for (int rep = 0; rep < c.training.repeats; ++rep) {
      std::string path = point_result_path(c, points[i], c.training.seed + static_cast<uint64_t>(rep));
      if (!file_exists(path)) continue;
      RunResult r = read_result(path);
      if (r.interrupted) {
        ++interrupted;  // holds a partly trained model: not averaged with the finished runs
        continue;
      }
      for (const auto& g : r.groups)
        if (g.name == "test") {
          acc.push_back(g.metrics.accuracy);
          f1.push_back(g.metrics.macro_f1);
        }
      source = r.data_source;
      selection = r.selection;
    }
    if (!source.empty() && sources.find(source) == std::string::npos) sources += (sources.empty() ? "" : ", ") + source;
    MeanStd a = mean_std(acc), f = mean_std(f1);
    const std::string label = points[i].label.empty() ? "(no sweep)" : points[i].label;
    csv << "\"" << label << "\"";
    for (const auto& kv : points[i].values) csv << ",\"" << (kv.second.is_string() ? kv.second.get<std::string>() : kv.second.dump()) << "\"";
    csv << "," << a.n;
    if (a.n) csv << "," << pct(a.mean) << "," << pct(a.std) << "," << pct(f.mean) << "," << pct(f.std);
    else csv << ",,,,";
    csv << "," << source << "," << selection << "\n";
    md << "| " << label << " |";
    for (const auto& kv : points[i].values) md << " " << (kv.second.is_string() ? kv.second.get<std::string>() : kv.second.dump()) << " |";
    md << " " << a.n << "/" << c.training.repeats << " |";
    if (a.n) md << " " << pct(a.mean) << " ± " << pct(a.std) << " | " << pct(f.mean) << " ± " << pct(f.std) << " |\n";
    else md << " — | — |\n";
  }
  md << "\nData: " << (sources.empty() ? "none yet" : sources == "synthetic" ? "SYNTHETIC (built-in generated traffic, not ISCX)" : sources)
     << ". Standard deviation: sample (n - 1), 0 for a single run.\n";
  if (interrupted) md << interrupted << " interrupted run(s) left out; run again with --resume to finish them.\n";
  const std::string dir = base.output + "/" + base.name + "/";
  write_text_atomically(dir + "summary.csv", csv.str());
  write_text_atomically(dir + "summary.md", md.str());
  return md.str();
}

}  // namespace flowpic
