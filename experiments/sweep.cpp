#include "experiments/sweep.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "experiments/distributed.hpp"
#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "kernels/sample_index.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn/weights.hpp"

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
  c.resolved["representation"] =
      RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
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
    if (it.key().empty() || it.key().front() == '.' || it.key().back() == '.' ||
        it.key().find("..") != std::string::npos)
      fail(origin, ": sweep: '", it.key(), "' is not a key path (e.g. optimizer.lr)");
    if (it.key() == "name" || it.key() == "output" || it.key().rfind("sweep", 0) == 0 ||
        it.key().rfind("training.repeats", 0) == 0 || it.key() == "training.seed")
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
      fail(origin, ": sweep: two points share the folder name '", points[i].label,
           "' (repeated or indistinguishable values)");

  // Check every point now: an unknown key or a bad value fails before the first run.
  auto backend = nn::make_backend("cpu");
  for (const auto& p : points) {
    try {
      ExperimentConfig c = point_config(raw, p, origin);
      RepresentationConfig rep = RepresentationConfig::from_json(c.representation, {c.file, "representation"});
      nn::Model m = build_model(c, rep, 2, *backend, 0);  // any class count and seed: only checked
      nn::make_optimizer(c.optimizer, {c.file, "optimizer"}, m);
    } catch (const Error& e) {
      std::string m = e.what();
      if (m.rfind(origin + ": ", 0) == 0) m = m.substr(origin.size() + 2);
      fail(origin, ": sweep point ", p.label, ": ", m);
    }
  }
  return points;
}

std::vector<PointRun> point_runs(const ExperimentConfig& c) {
  std::vector<PointRun> runs;
  for (int rep = 0; rep < c.training.repeats; ++rep) {
    const uint64_t seed = c.training.seed + static_cast<uint64_t>(rep);
    const int first = c.training.folds ? std::max(0, c.training.fold) : -1;
    const int last = c.training.folds ? (c.training.fold >= 0 ? c.training.fold : c.training.folds - 1) : -1;
    for (int fold = first; fold <= last; ++fold) {
      PointRun r;
      r.seed = seed;
      r.fold = fold;
      r.name = "seed" + std::to_string(seed) + (fold >= 0 ? "-fold" + std::to_string(fold) : "");
      r.config = c;
      if (fold >= 0) {
        r.config.training.fold = fold;
        r.config.resolved["training"]["fold"] = fold;
      }
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

std::string point_result_path(const ExperimentConfig& cfg, const SweepPoint& point, uint64_t seed, int fold) {
  std::string dir = cfg.output + "/" + cfg.name + "/";
  if (!point.label.empty()) dir += point.label + "/";
  return dir + "seed" + std::to_string(seed) + (fold >= 0 ? "-fold" + std::to_string(fold) : "") + ".h5";
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
  // Per point: the main group's test set (the first evaluation group, "test" or "leftover"), and
  // the accuracy of every other evaluation group (held_out, cross:<enc>, task.test_groups).
  struct PointStats {
    std::vector<double> acc, f1;
    std::map<std::string, std::vector<double>> other;
    std::string source, selection;
    size_t runs = 0;
  };
  std::vector<PointStats> stats(points.size());
  std::vector<std::string> others;  // the other groups' names, in the order first seen
  std::string sources, main_names;
  size_t interrupted = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const ExperimentConfig& c = point_configs[i];
    PointStats& st = stats[i];
    const std::vector<PointRun> runs = point_runs(c);
    st.runs = runs.size();
    for (const PointRun& run : runs) {
      std::string path = point_result_path(c, points[i], run.seed, run.fold);
      if (!file_exists(path)) continue;
      RunResult r = read_result(path);
      if (r.interrupted) {
        ++interrupted;  // holds a partly trained model: not averaged with the finished runs
        continue;
      }
      for (size_t g = 0; g < r.groups.size(); ++g) {
        const GroupPredictions& gp = r.groups[g];
        if (g == 0) {
          st.acc.push_back(gp.metrics.accuracy);
          st.f1.push_back(gp.metrics.macro_f1);
          if (main_names.find(gp.name) == std::string::npos) main_names += (main_names.empty() ? "" : ", ") + gp.name;
          continue;
        }
        if (gp.truth.empty()) continue;  // an empty set has no accuracy
        if (std::find(others.begin(), others.end(), gp.name) == others.end()) others.push_back(gp.name);
        st.other[gp.name].push_back(gp.metrics.accuracy);
      }
      st.source = r.data_source;
      st.selection = r.selection;
    }
    if (!st.source.empty() && sources.find(st.source) == std::string::npos)
      sources += (sources.empty() ? "" : ", ") + st.source;
  }
  std::ostringstream csv, md;
  csv << "point";
  for (const auto& k : keys) csv << "," << k;
  csv << ",runs,accuracy_mean,accuracy_std,macro_f1_mean,macro_f1_std,data_source,selection";
  for (const auto& g : others) csv << "," << g << "_accuracy_mean," << g << "_accuracy_std";
  csv << "\n";
  md << "# Sweep summary: " << base.name << "\n\n";
  md << "Test accuracy and macro F1 (%) on the main group's test set ("
     << (main_names.empty() ? std::string("test") : main_names) << ")"
     << (others.empty() ? "" : ", and the accuracy on the other evaluation groups")
     << ", mean and sample standard deviation over the " << (base.training.folds ? "seeds and folds" : "seeds")
     << " found; config " << base.file << ".\n\n";
  md << "| point |";
  for (const auto& k : keys) md << " " << k << " |";
  md << " runs | accuracy | macro F1 |";
  for (const auto& g : others) md << " " << g << " accuracy |";
  md << "\n|---|";
  for (size_t k = 0; k < keys.size() + 3 + others.size(); ++k) md << "---|";
  md << "\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const PointStats& st = stats[i];
    MeanStd a = mean_std(st.acc), f = mean_std(st.f1);
    const std::string label = points[i].label.empty() ? "(no sweep)" : points[i].label;
    csv << "\"" << label << "\"";
    for (const auto& kv : points[i].values)
      csv << ",\"" << (kv.second.is_string() ? kv.second.get<std::string>() : kv.second.dump()) << "\"";
    csv << "," << a.n;
    if (a.n)
      csv << "," << pct(a.mean) << "," << pct(a.std) << "," << pct(f.mean) << "," << pct(f.std);
    else
      csv << ",,,,";
    csv << "," << st.source << "," << st.selection;
    md << "| " << label << " |";
    for (const auto& kv : points[i].values)
      md << " " << (kv.second.is_string() ? kv.second.get<std::string>() : kv.second.dump()) << " |";
    md << " " << a.n << "/" << st.runs << " |";
    if (a.n)
      md << " " << pct(a.mean) << " ± " << pct(a.std) << " | " << pct(f.mean) << " ± " << pct(f.std) << " |";
    else
      md << " — | — |";
    for (const auto& g : others) {
      auto it = st.other.find(g);
      if (it == st.other.end()) {
        csv << ",,";
        md << " — |";
        continue;
      }
      MeanStd o = mean_std(it->second);
      csv << "," << pct(o.mean) << "," << pct(o.std);
      md << " " << pct(o.mean) << " ± " << pct(o.std) << " |";
    }
    csv << "\n";
    md << "\n";
  }
  md << "\nData: "
     << (sources.empty()          ? "none yet"
         : sources == "synthetic" ? "SYNTHETIC (built-in generated traffic, not ISCX)"
                                  : sources)
     << ". Standard deviation: sample (n - 1), 0 for a single run.\n";
  if (interrupted) md << interrupted << " interrupted run(s) left out; run again with --resume to finish them.\n";
  const std::string dir = base.output + "/" + base.name + "/";
  write_text_atomically(dir + "summary.csv", csv.str());
  write_text_atomically(dir + "summary.md", md.str());
  return md.str();
}

SweepPlan plan_sweep(const json& raw, const std::string& origin) {
  SweepPlan plan;
  plan.base = parse_experiment(raw, origin);
  ExperimentConfig& cfg = plan.base;
  // Check the representation before any data is read, and record it with every default.
  cfg.resolved["representation"] =
      RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"}).to_json();
  // A sweep is a grid of points, each checked now (an unknown key fails before any run).
  plan.points = expand_sweep(raw, origin);
  for (const auto& p : plan.points) plan.point_configs.push_back(point_config(raw, p, origin));
  return plan;
}

size_t SweepPlan::runs() const {
  size_t total = 0;
  for (const auto& c : point_configs) total += point_runs(c).size();
  return total;
}

std::vector<SweepRun> sweep_runs(const SweepPlan& plan) {
  std::vector<SweepRun> out;
  for (size_t pi = 0; pi < plan.points.size(); ++pi)
    for (PointRun& pr : point_runs(plan.point_configs[pi])) {
      SweepRun r;
      r.position = out.size();
      r.point = pi;
      r.path = point_result_path(pr.config, plan.points[pi], pr.seed, pr.fold);
      r.run = std::move(pr);
      out.push_back(std::move(r));
    }
  return out;
}

std::string SweepShare::text() const { return std::to_string(index) + "/" + std::to_string(count); }

SweepShare parse_share(const std::string& text, const std::string& source) {
  auto whole = [](const std::string& s, long long* v) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *v = std::stoll(s);
    return true;
  };
  const size_t slash = text.find('/');
  long long k = -1, n = -1;
  if (slash == std::string::npos || !whole(text.substr(0, slash), &k) || !whole(text.substr(slash + 1), &n) || n < 1 ||
      k >= n)
    fail(source, ": expected K/N with 0 <= K < N (e.g. 0/4: the first of 4 shares), got '", text, "'");
  SweepShare s;
  s.index = static_cast<int>(k);
  s.count = static_cast<int>(n);
  s.source = source;
  return s;
}

SweepShare combine_shares(const SweepShare& outer, const SweepShare& inner) {
  if (inner.whole()) return outer;
  if (outer.whole()) return inner;
  SweepShare s;
  s.index = inner.index * outer.count + outer.index;
  s.count = outer.count * inner.count;
  s.source = outer.source + " " + outer.text() + ", " + inner.source + " " + inner.text();
  return s;
}

std::vector<SweepRun> share_runs(const SweepPlan& plan, const SweepShare& share) {
  std::vector<SweepRun> out;
  for (SweepRun& r : sweep_runs(plan))
    if (share.holds(r.position)) out.push_back(std::move(r));
  return out;
}

namespace {

// An environment share "<id_var> of <count_var>" (ids from <min_var> when set); whole when unset.
SweepShare env_share(const EnvLookup& env, const char* id_var, const char* count_var, const char* min_var) {
  const char* id = env(id_var);
  if (!id || !*id) return {};
  const char* count = env(count_var);
  if (!count || !*count) fail(id_var, " is set (", id, ") but ", count_var, " is not");
  auto number = [&](const char* var, const char* v) {
    const std::string s = v;
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      fail(var, ": expected a whole number, got '", s, "'");
    return std::stoll(s);
  };
  long long k = number(id_var, id), n = number(count_var, count);
  const char* first = min_var ? env(min_var) : nullptr;
  if (first && *first) k -= number(min_var, first);
  if (n < 1 || k < 0 || k >= n)
    fail(id_var, "=", id, " does not name one of ", count_var, "=", count, " shares",
         first && *first ? std::string(" (from ") + min_var + "=" + first + ")" : std::string());
  SweepShare s;
  s.index = static_cast<int>(k);
  s.count = static_cast<int>(n);
  s.source = id_var;
  return s;
}

}  // namespace

SweepShare resolve_share(const std::string& shard_flag, const EnvLookup& env, int mpi_rank, int mpi_size) {
  SweepShare outer;
  const SweepShare array = env_share(env, "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN");
  if (!shard_flag.empty()) {
    outer = parse_share(shard_flag, "--shard");
    if (!array.whole() && !(array == outer))
      fail("--shard ", outer.text(), " disagrees with the Slurm array task's share ", array.text(),
           " (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT); give one of them");
  } else {
    outer = array;
  }
  SweepShare inner;
  if (mpi_size > 1) {
    inner.index = mpi_rank;
    inner.count = mpi_size;
    inner.source = "MPI rank";
  } else {
    const char* step = env("SLURM_STEP_ID");
    if (step && *step) inner = env_share(env, "SLURM_PROCID", "SLURM_NTASKS", nullptr);
  }
  return combine_shares(outer, inner);
}

SweepProgress sweep_progress(const SweepPlan& plan) {
  SweepProgress p;
  for (const SweepRun& r : sweep_runs(plan)) {
    ++p.total;
    json expected = r.run.config.resolved;
    expected["training"]["seed"] = r.run.seed;
    if (result_complete(r.path, &expected))
      ++p.complete;
    else
      p.missing.push_back(r.path);
  }
  return p;
}

SweepProgress summarise_sweep(const SweepPlan& plan) {
  SweepProgress p = sweep_progress(plan);
  const std::string md = write_sweep_summary(plan.base, plan.points, plan.point_configs);
  std::fprintf(stderr, "%s\nwrote %s/%s/summary.csv and summary.md\n", md.c_str(), plan.base.output.c_str(),
               plan.base.name.c_str());
  std::fprintf(
      stderr, "%zu of %zu runs complete%s\n", p.complete, p.total,
      p.complete == p.total ? "" : " (the others are left out of the summary; run their shares with --resume)");
  return p;
}

SweepOutcome run_sweep(const SweepPlan& plan, bool resume, const std::string& command) {
  SweepOptions o;
  o.resume = resume;
  o.command = command;
  return run_sweep(plan, o);
}

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto& points = plan.points;
  const ExperimentConfig& cfg = plan.base;
  SweepOutcome out;
  const size_t total = plan.runs();
  const std::vector<SweepRun> mine = share_runs(plan, options.share);
  if (!options.share.whole())
    std::fprintf(stderr, "share %s (%s): %zu of the sweep's %zu runs\n", options.share.text().c_str(),
                 options.share.source.c_str(), mine.size(), total);
  for (const SweepRun& sr : mine) {
    if (g_stop_requested) break;
    const PointRun& pr = sr.run;
    const size_t pi = sr.point;
    const ExperimentConfig& rc = pr.config;
    const uint64_t seed = pr.seed;
    const std::string& path = sr.path;
    std::string where = "run " + std::to_string(sr.position + 1) + "/" + std::to_string(total);
    if (points.size() > 1)
      where +=
          ": point " + std::to_string(pi + 1) + "/" + std::to_string(points.size()) + " (" + points[pi].label + ")";
    where += ", seed " + std::to_string(seed);
    if (pr.fold >= 0) where += ", fold " + std::to_string(pr.fold + 1) + "/" + std::to_string(rc.training.folds);
    if (options.resume) {
      json expected = rc.resolved;
      expected["training"]["seed"] = seed;
      std::string why;
      if (result_complete(path, &expected, &why)) {
        ++out.skipped;
        std::fprintf(stderr, "%s: %s is complete, skipped (--resume)\n", where.c_str(), path.c_str());
        continue;
      }
      if (file_exists(path))
        std::fprintf(stderr, "%s: %s is there but %s: running it again\n", where.c_str(), path.c_str(), why.c_str());
    }
    std::fprintf(stderr, "%s -> %s\n", where.c_str(), path.c_str());
    const auto t0 = Clock::now();
    PreparedExperiment d = prepare_experiment(rc, seed);
    const double prep_s = std::chrono::duration<double>(Clock::now() - t0).count();
    TrainedRun run = run_once(rc, d, seed, options.command);
    run.result.run = (points[pi].label.empty() ? "" : points[pi].label + "/") + pr.name;
    run.result.timings["prepare"] = prep_s;
    run.result.timings["total"] += prep_s;
    ++out.runs;
    if (!options.write_results) continue;
    write_result(path, run.result, [&](hid_t f) { nn::write_weights(*run.model, f, "/model"); });
    std::fprintf(stderr, "wrote %s%s\n", path.c_str(),
                 run.result.interrupted ? " (interrupted: holds what was done)" : "");
  }
  out.interrupted = g_stop_requested;
  if (total <= 1 || options.summary == SummaryPolicy::kNever || !options.write_results) return out;
  const std::string skipped = out.skipped ? " (" + std::to_string(out.skipped) + " finished runs skipped)" : "";
  if (options.summary == SummaryPolicy::kWhenComplete) {
    const SweepProgress p = sweep_progress(plan);
    if (p.complete < p.total) {
      std::fprintf(stderr,
                   "summary not written: %zu of the sweep's %zu runs are complete (the rest belong to other shares, "
                   "or did not finish); the share that completes the sweep writes it, or run_experiment CONFIG "
                   "--summary-only%s\n",
                   p.complete, p.total, skipped.c_str());
      return out;
    }
  }
  const std::string md = write_sweep_summary(cfg, points, plan.point_configs);
  std::fprintf(stderr, "%s%s\nwrote %s/%s/summary.csv and summary.md%s\n",
               out.interrupted ? "(interrupted: partial) " : "", md.c_str(), cfg.output.c_str(), cfg.name.c_str(),
               skipped.c_str());
  out.summary_written = true;
  return out;
}

int run_sweep_on_ranks(const SweepPlan& plan, SweepOptions options) {
  const int me = dist::rank(), ranks = dist::size();
  options.summary = SummaryPolicy::kNever;  // rank 0 writes it below, once every rank is done
  int code = 0;
  std::string message;
  try {
    code = run_sweep(plan, options).interrupted ? 130 : 0;
  } catch (const std::exception& e) {
    code = 1;
    message = e.what();
  }
  const std::vector<std::string> outcomes = dist::gather_at_root(std::to_string(code) + " " + message);
  int status = code;
  if (me == 0) {
    int failed = 0, interrupted = 0;
    for (size_t r = 0; r < outcomes.size(); ++r) {
      const int c = std::atoi(outcomes[r].c_str());
      if (c == 130) ++interrupted;
      if (c != 0 && c != 130) {
        ++failed;
        std::fprintf(stderr, "error: rank %zu of %d failed: %s\n", r, ranks,
                     outcomes[r].substr(outcomes[r].find(' ') + 1).c_str());
      }
    }
    status = failed ? 1 : interrupted ? 130 : 0;
    if (failed) {
      std::fprintf(stderr,
                   "summary not written: %d of %d ranks failed; the other ranks' results are kept (run again with "
                   "--resume to finish, or --summary-only)\n",
                   failed, ranks);
    } else if (plan.runs() > 1) {
      const std::string md = write_sweep_summary(plan.base, plan.points, plan.point_configs);
      std::fprintf(stderr, "%s%s\nwrote %s/%s/summary.csv and summary.md (rank 0, after all %d ranks)\n",
                   interrupted ? "(interrupted: partial) " : "", md.c_str(), plan.base.output.c_str(),
                   plan.base.name.c_str(), ranks);
    }
  }
  dist::barrier();  // mpirun may end every rank at the first non-zero exit: rank 0 has reported by now
  return status;
}

}  // namespace flowpic
