#include "experiments/tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "experiments/config.hpp"
#include "experiments/results.hpp"
#include "kernels/sample_index.hpp"
#include "experiments/sweep.hpp"
#include "experiments/synthetic_store.hpp"

namespace flowpic {

// ---------------------------------------------------------------------------------------------
// The papers' numbers, in percent. FlowPic: Shapira & Shavitt, INFOCOM workshops 2019 (Tables III
// and IV and the text); payload images: He & Li, DSC 2020 (abstract). Nowhere else in the code.
const std::vector<PaperNumber>& paper_numbers() {
  static const std::vector<PaperNumber> numbers = {
      // Table III summary.
      {"nonvpn_category", "test", "accuracy", 85.0, "FlowPic Table III"},
      {"vpn_category", "test", "accuracy", 98.4, "FlowPic Table III"},
      {"tor_category", "test", "accuracy", 67.8, "FlowPic Table III"},
      {"encapsulation", "test", "accuracy", 88.4, "FlowPic Table III"},
      {"encapsulation", "test", "recall:Tor", 97.7, "FlowPic text"},
      {"encapsulation", "test", "precision:Tor", 100.0, "FlowPic text"},
      {"application", "test", "accuracy", 99.7, "FlowPic Table III"},
      {"application", "test", "recall:VoIP:Skype", 99.7, "FlowPic text"},
      {"application", "test", "recall:Video:Vimeo", 99.4, "FlowPic text"},
      {"application", "test", "recall:Video:YouTube", 98.9, "FlowPic text"},
      {"class_vs_all_average_nonvpn", "test", "accuracy", 97.0, "FlowPic Table III"},
      {"class_vs_all_average_vpn", "test", "accuracy", 99.7, "FlowPic Table III"},
      {"class_vs_all_average_tor", "test", "accuracy", 85.7, "FlowPic Table III"},
      // Table IV: class vs all, trained on one encapsulation, tested on each.
      {"class_vs_all_voip_nonvpn", "test", "accuracy", 99.6, "FlowPic Table IV"},
      {"class_vs_all_voip_nonvpn", "cross:VPN", "accuracy", 99.4, "FlowPic Table IV"},
      {"class_vs_all_voip_nonvpn", "cross:Tor", "accuracy", 48.2, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "cross:Non-VPN", "accuracy", 95.8, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "cross:Tor", "accuracy", 58.1, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "cross:Non-VPN", "accuracy", 52.1, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "cross:VPN", "accuracy", 35.8, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "test", "accuracy", 93.3, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "cross:VPN", "accuracy", 98.8, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "cross:Tor", "accuracy", 83.8, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "cross:Non-VPN", "accuracy", 54.0, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "cross:Tor", "accuracy", 57.8, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "cross:Non-VPN", "accuracy", 55.3, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "cross:VPN", "accuracy", 86.1, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "test", "accuracy", 98.8, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "cross:VPN", "accuracy", 79.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "cross:Tor", "accuracy", 60.6, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "cross:Non-VPN", "accuracy", 65.1, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "cross:Tor", "accuracy", 54.5, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "cross:Non-VPN", "accuracy", 63.1, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "cross:VPN", "accuracy", 35.8, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "test", "accuracy", 55.8, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "test", "accuracy", 96.2, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "cross:VPN", "accuracy", 78.9, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "cross:Tor", "accuracy", 70.3, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "cross:Non-VPN", "accuracy", 71.7, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "test", "accuracy", 99.2, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "cross:Tor", "accuracy", 69.4, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "cross:Non-VPN", "accuracy", 85.8, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "cross:VPN", "accuracy", 93.1, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "test", "accuracy", 89.0, "FlowPic Table IV"},
      {"class_vs_all_browsing_nonvpn", "test", "accuracy", 90.6, "FlowPic Table IV"},
      {"class_vs_all_browsing_nonvpn", "cross:Tor", "accuracy", 57.2, "FlowPic Table IV"},
      {"class_vs_all_browsing_tor", "cross:Non-VPN", "accuracy", 76.1, "FlowPic Table IV"},
      {"class_vs_all_browsing_tor", "test", "accuracy", 90.6, "FlowPic Table IV"},
      // Unseen applications (held out of training; class vs all).
      {"unseen_video_no_vimeo_youtube", "held_out", "accuracy", 83.1, "FlowPic text"},
      {"unseen_video_no_facebook", "held_out", "accuracy", 99.9, "FlowPic text"},
      {"unseen_voip_no_facebook", "held_out", "accuracy", 96.3, "FlowPic text"},
      // Payload-size images (He & Li): F1.
      {"payload_conventional", "test", "macro_f1", 97.73, "He & Li abstract"},
      {"payload_vpn", "test", "macro_f1", 99.55, "He & Li abstract"},
  };
  return numbers;
}

std::optional<double> paper_number(const std::string& config, const std::string& group, const std::string& metric) {
  for (const auto& p : paper_numbers())
    if (config == p.config && group == p.group && metric == p.metric) return p.percent;
  return std::nullopt;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Results of one config: every complete seed<N>.h5 directly under <results_dir>/<config>/.
struct RunSet {
  std::vector<RunResult> runs;
  std::vector<std::string> damaged;  // files that could not be read
};

class ResultsDir {
 public:
  explicit ResultsDir(std::string dir) : dir_(std::move(dir)) {}
  const RunSet& get(const std::string& config) {
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
      if (!e.is_regular_file() || name.size() < 8 || name.rfind("seed", 0) != 0 || e.path().extension() != ".h5") continue;
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

 private:
  std::string dir_;
  std::map<std::string, RunSet> cache_;
};

// A value inside a result's config by key path; null when any part is missing (older or foreign files).
json config_at(const json& j, std::initializer_list<const char*> path) {
  const json* node = &j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return json();
    node = &(*node)[key];
  }
  return *node;
}

std::string json_text(const json& v) { return v.is_null() ? "?" : v.is_string() ? v.get<std::string>() : v.dump(); }

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

struct Cell {
  std::optional<double> paper;
  bool applicable = true;  // false: the paper has no such experiment (shown as n/a)
  MeanStd ours;
  bool have = false;
  std::string gap;         // why there is no number: "run configs/X.json", ...
  bool optimistic = false, interrupted = false, averaged = false;
  int decimals = 1;
  double samples = 0;      // evaluation samples per run (mean over runs): how much the number rests on
};

struct Row {
  std::vector<std::string> labels;
  std::vector<Cell> cells;
};

struct Table {
  std::string id, title;
  std::vector<std::string> label_headers;
  std::vector<std::string> columns;  // each: ours | paper | difference
  std::vector<Row> rows;
  std::vector<std::string> caption;  // sentences
};

// Collects what the runs of a table were: data sources, settings, and departures from the shipped configs.
class Provenance {
 public:
  explicit Provenance(std::string configs_dir) : configs_dir_(std::move(configs_dir)) {}
  void add(const std::string& config, const RunResult& r) {
    if (r.data_source == "synthetic")
      sources_.insert("SYNTHETIC (the built-in generated traffic, preset " + json_text(config_at(r.config, {"dataset", "synthetic", "preset"})) +
                      "; not ISCX: not comparable with the paper's numbers)");
    else
      sources_.insert("ISCX (packet store " + json_text(config_at(r.provenance, {"store"})) + ")");
    const json rep = config_at(r.config, {"representation"});
    std::string setting = json_text(config_at(rep, {"type"}));
    for (const char* size : {"resolution", "side"}) {
      const json v = config_at(rep, {size});
      if (!v.is_null()) setting += " " + json_text(v) + "x" + json_text(v);
    }
    const json model = config_at(r.config, {"model"});
    setting += ", model " + (model.is_string() ? model.get<std::string>() : std::string("inline model")) + ", " +
               json_text(config_at(r.config, {"training", "epochs"})) + " epochs";
    settings_.insert(setting);
    // Departure from the shipped config (the paper's setting).
    auto it = shipped_.find(config);
    if (it == shipped_.end()) {
      json shipped;
      try {
        std::string path = configs_dir_.empty() ? find_config_file(config + ".json") : configs_dir_ + "/" + config + ".json";
        ExperimentConfig c = load_experiment(path);
        shipped = c.resolved;
        shipped["representation"] = RepresentationConfig::from_json(c.representation, {c.file, "representation"}).to_json();
      } catch (const std::exception&) {
      }
      it = shipped_.emplace(config, shipped).first;
    }
    const json& s = it->second;
    if (s.is_null()) return;
    auto differs = [&](const json& a, const json& b, const std::string& what) {
      if (a != b) departures_.insert(what + " " + json_text(a) + " instead of " + json_text(b));
    };
    for (const char* size : {"resolution", "side"})
      if (!config_at(rep, {size}).is_null() && !config_at(s, {"representation", size}).is_null())
        differs(config_at(rep, {size}), config_at(s, {"representation", size}), size);
    differs(model, config_at(s, {"model"}), "model");
    differs(config_at(r.config, {"training", "epochs"}), config_at(s, {"training", "epochs"}), "epochs");
    differs(config_at(r.config, {"training", "batches_per_epoch"}), config_at(s, {"training", "batches_per_epoch"}), "batches per epoch");
  }
  std::vector<std::string> sentences() const {
    std::vector<std::string> out;
    if (sources_.empty()) return {"No result files yet."};
    out.push_back("Data: " + join(sources_) + ".");
    out.push_back("Runs: " + join(settings_) + ".");
    if (!departures_.empty())
      out.push_back("REDUCED or changed setting, not the paper's: " + join(departures_) + " (the shipped configs hold the paper setting).");
    return out;
  }

 private:
  static std::string join(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : "; ") + x;
    return out;
  }
  std::string configs_dir_;
  std::map<std::string, json> shipped_;
  std::set<std::string> sources_, settings_, departures_;
};

class Builder {
 public:
  Builder(ResultsDir& results, Provenance& prov) : results_(results), prov_(prov) {}

  // A cell from one config's runs.
  Cell cell(const std::string& config, const std::string& group, const std::string& metric, int decimals = 1) {
    Cell c;
    c.decimals = decimals;
    c.paper = paper_number(config, group, metric);
    const RunSet& rs = results_.get(config);
    if (rs.runs.empty()) {
      c.gap = "run configs/" + config + ".json";
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
      prov_.add(config, r);
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

  // The mean over configs, per seed found in every one of them (std over those seeds).
  Cell average(const std::string& paper_key, const std::vector<std::string>& configs) {
    Cell c;
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
        prov_.add(cfg, r);
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

 private:
  ResultsDir& results_;
  Provenance& prov_;
};

const std::vector<std::pair<std::string, std::string>> kClasses = {
    {"VoIP", "voip"}, {"Video", "video"}, {"File Transfer", "file_transfer"}, {"Chat", "chat"}, {"Browsing", "browsing"}};
const std::vector<std::pair<std::string, std::string>> kEncaps = {{"Non-VPN", "nonvpn"}, {"VPN", "vpn"}, {"Tor", "tor"}};

bool paper_has_class_vs_all(const std::string& cls, const std::string& enc) { return !(cls == "browsing" && enc == "vpn"); }

// ---------------------------------------------------------------------------------------------
// Rendering.
std::string number(double x, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, x);
  return b;
}

std::string signed_number(double x, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%+.*f", decimals, x);
  return b;
}

struct CellText {
  std::string ours, paper, diff;
};

CellText cell_text(const Cell& c, bool latex) {
  CellText t;
  const std::string dash = latex ? "---" : "—";
  if (!c.applicable) return {"n/a", "n/a", dash};
  t.paper = c.paper ? number(*c.paper, c.decimals) : dash;
  if (!c.have) {
    t.ours = dash + " (" + c.gap + ")";
    t.diff = dash;
    return t;
  }
  const std::string pm = latex ? " $\\pm$ " : " ± ";
  // One run has no spread to show: "97.9 (n=1)", not "97.9 ± 0.0".
  t.ours = number(c.ours.mean, c.decimals) + (c.ours.n > 1 ? pm + number(c.ours.std, c.decimals) : std::string()) + " (n=" +
           std::to_string(c.ours.n) + (c.averaged ? "" : "; " + number(c.samples, 0) + " samples") + ")";
  if (c.optimistic) t.ours += latex ? "$^\\dagger$" : " †";
  if (c.interrupted) t.ours += latex ? "$^\\ddagger$" : " ‡";
  t.diff = c.paper ? signed_number(c.ours.mean - *c.paper, c.decimals) : dash;
  return t;
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (s.compare(i, 2, "±") == 0) { out += "$\\pm$"; i += 1; continue; }
    if (s.compare(i, 3, "—") == 0) { out += "---"; i += 2; continue; }
    if (s.compare(i, 3, "†") == 0) { out += "$^\\dagger$"; i += 2; continue; }
    if (s.compare(i, 3, "‡") == 0) { out += "$^\\ddagger$"; i += 2; continue; }
    if (s.compare(i, 2, "Δ") == 0) { out += "$\\Delta$"; i += 1; continue; }
    if (s.compare(i, 3, "−") == 0) { out += "$-$"; i += 2; continue; }
    switch (ch) {
      case '%': case '&': case '#': case '_': case '$': case '{': case '}': out += '\\'; out += ch; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '<': out += "\\textless{}"; break;
      case '>': out += "\\textgreater{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += ch;
    }
  }
  return out;
}

// Escapes a cell's text for LaTeX while keeping the math that cell_text(latex=true) put in.
std::string latex_cell(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t m = s.find('$', i);
    if (m == std::string::npos) {
      out += latex_escape(s.substr(i));
      break;
    }
    size_t e = s.find('$', m + 1);
    if (e == std::string::npos) e = s.size() - 1;
    out += latex_escape(s.substr(i, m - i)) + s.substr(m, e - m + 1);
    i = e + 1;
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> table_notes(const Table& t) {
  bool opt = false, intr = false, avg = false;
  for (const auto& r : t.rows)
    for (const auto& c : r.cells) {
      opt |= c.have && c.optimistic;
      intr |= c.have && c.interrupted;
      avg |= c.averaged;
    }
  std::vector<std::string> notes;
  if (opt) notes.push_back("† model chosen on the reported test split (the authors' optimistic protocol), not on a validation split.");
  if (intr) notes.push_back("‡ a run was interrupted (Ctrl-C); its file holds the best model so far.");
  if (avg) notes.push_back("Averages: the mean over the class-vs-all configs of one encapsulation (test on the training encapsulation), per seed; ± over seeds.");
  notes.push_back("Cells: ours = mean ± sample standard deviation over repeats (n runs; no ± for a single run; samples: the evaluation set's size per run), paper = the published number, Δ = ours − paper (percentage points).");
  return notes;
}

RenderedTable render(const Table& t) {
  RenderedTable out;
  out.id = t.id;
  std::vector<std::string> notes = table_notes(t);
  std::string caption;
  for (const auto& s : t.caption) caption += (caption.empty() ? "" : " ") + s;

  std::ostringstream md;
  md << "## " << t.title << "\n\n" << caption << "\n\n|";
  for (const auto& h : t.label_headers) md << " " << h << " |";
  for (const auto& c : t.columns) md << " " << c << ": ours | " << c << ": paper | " << c << ": Δ |";
  md << "\n|";
  for (size_t i = 0; i < t.label_headers.size(); ++i) md << "---|";
  for (size_t i = 0; i < t.columns.size(); ++i) md << "---:|---:|---:|";
  md << "\n";
  for (const auto& r : t.rows) {
    md << "|";
    for (const auto& l : r.labels) md << " " << l << " |";
    for (const auto& c : r.cells) {
      CellText x = cell_text(c, false);
      md << " " << x.ours << " | " << x.paper << " | " << x.diff << " |";
    }
    md << "\n";
  }
  md << "\n";
  for (const auto& n : notes) md << n << "\n";
  out.markdown = md.str();

  std::ostringstream tex;
  tex << "% " << t.title << " (generated by make_tables)\n\\begin{table}[t]\n\\centering\n\\caption{" << latex_escape(t.title) << ". "
      << latex_escape(caption) << "}\n\\label{tab:" << t.id << "}\n\\begin{tabular}{";
  for (size_t i = 0; i < t.label_headers.size(); ++i) tex << "l";
  for (size_t i = 0; i < t.columns.size(); ++i) tex << "rrr";
  tex << "}\n\\hline\n";
  std::vector<std::string> head;
  for (const auto& h : t.label_headers) head.push_back(latex_escape(h));
  for (const auto& c : t.columns) {
    head.push_back(latex_escape(c) + " ours");
    head.push_back("paper");
    head.push_back("$\\Delta$");
  }
  for (size_t i = 0; i < head.size(); ++i) tex << (i ? " & " : "") << head[i];
  tex << " \\\\\n\\hline\n";
  for (const auto& r : t.rows) {
    std::vector<std::string> f;
    for (const auto& l : r.labels) f.push_back(latex_escape(l));
    for (const auto& c : r.cells) {
      CellText x = cell_text(c, true);
      f.push_back(latex_cell(x.ours));
      f.push_back(latex_cell(x.paper));
      f.push_back(latex_cell(x.diff));
    }
    for (size_t i = 0; i < f.size(); ++i) tex << (i ? " & " : "") << f[i];
    tex << " \\\\\n";
  }
  tex << "\\hline\n\\end{tabular}\n\\par\\smallskip\\footnotesize ";
  for (const auto& n : notes) tex << latex_escape(n) << " ";
  tex << "\n\\end{table}\n";
  out.latex = tex.str();

  std::ostringstream csv;
  csv << "table";
  for (const auto& h : t.label_headers) csv << "," << csv_field(h);
  csv << ",column,ours_mean,ours_std,runs,samples,paper,difference,optimistic,interrupted,note\n";
  for (const auto& r : t.rows)
    for (size_t k = 0; k < r.cells.size(); ++k) {
      const Cell& c = r.cells[k];
      csv << t.id;
      for (const auto& l : r.labels) csv << "," << csv_field(l);
      csv << "," << csv_field(t.columns[k]);
      if (c.have)
        csv << "," << number(c.ours.mean, c.decimals + 2) << "," << (c.ours.n > 1 ? number(c.ours.std, c.decimals + 2) : "") << ","
            << c.ours.n << "," << (c.averaged ? "" : number(c.samples, 0));
      else csv << ",,,0,";
      csv << "," << (c.paper ? number(*c.paper, c.decimals) : "");
      csv << "," << (c.have && c.paper ? number(c.ours.mean - *c.paper, c.decimals + 2) : "");
      csv << "," << (c.have && c.optimistic ? 1 : 0) << "," << (c.have && c.interrupted ? 1 : 0);
      csv << "," << csv_field(!c.applicable ? "not in the paper" : c.have ? "" : c.gap) << "\n";
    }
  csv << "# " << csv_field(caption) << "\n";
  out.csv = csv.str();
  return out;
}

void finish_caption(Table& t, const Provenance& p, const std::string& what, const std::string& note) {
  t.caption.insert(t.caption.begin(), what);
  for (const auto& s : p.sentences()) t.caption.push_back(s);
  if (!note.empty()) t.caption.push_back(note);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
std::vector<RenderedTable> make_tables(const TableOptions& o) {
  ResultsDir results(o.results_dir);
  std::vector<RenderedTable> out;
  auto progress = [&](const std::string& id) {
    if (o.progress) std::fprintf(stderr, "make_tables: %s (%zu/5)\n", id.c_str(), out.size() + 1);
  };

  {  // FlowPic Table III.
    Provenance prov(o.configs_dir);
    Builder b(results, prov);
    Table t;
    t.id = "table3_summary";
    t.title = "FlowPic Table III: summary (accuracy, %)";
    progress(t.id);
    t.label_headers = {"Task"};
    t.columns = {"accuracy"};
    t.rows.push_back({{"Non-VPN traffic categorization"}, {b.cell("nonvpn_category", "test", "accuracy")}});
    t.rows.push_back({{"VPN traffic categorization"}, {b.cell("vpn_category", "test", "accuracy")}});
    t.rows.push_back({{"Tor traffic categorization"}, {b.cell("tor_category", "test", "accuracy")}});
    for (const auto& [enc, e] : kEncaps) {
      std::vector<std::string> configs;
      for (const auto& [cls, c] : kClasses)
        if (paper_has_class_vs_all(c, e)) configs.push_back("class_vs_all_" + c + "_" + e);
      t.rows.push_back({{"Class vs all, average, " + enc}, {b.average("class_vs_all_average_" + e, configs)}});
    }
    t.rows.push_back({{"Encryption technique (Non-VPN / VPN / Tor)"}, {b.cell("encapsulation", "test", "accuracy")}});
    t.rows.push_back({{"Encryption technique: Tor recall"}, {b.cell("encapsulation", "test", "recall:Tor")}});
    t.rows.push_back({{"Encryption technique: Tor precision"}, {b.cell("encapsulation", "test", "precision:Tor")}});
    t.rows.push_back({{"Application identification (10 VoIP and Video apps, Non-VPN)"}, {b.cell("application", "test", "accuracy")}});
    finish_caption(t, prov, "Test accuracy per task.", o.note);
    out.push_back(render(t));
  }
  {  // FlowPic Table IV.
    Provenance prov(o.configs_dir);
    Builder b(results, prov);
    Table t;
    t.id = "table4_class_vs_all";
    t.title = "FlowPic Table IV: class vs all (accuracy, %)";
    progress(t.id);
    t.label_headers = {"Class", "Trained on"};
    for (const auto& [enc, e] : kEncaps) t.columns.push_back("test " + enc);
    for (const auto& [cls, c] : kClasses)
      for (const auto& [enc, e] : kEncaps) {
        if (!paper_has_class_vs_all(c, e)) continue;
        Row r;
        r.labels = {cls, enc};
        const std::string config = "class_vs_all_" + c + "_" + e;
        for (const auto& [test_enc, te] : kEncaps) {
          if (!paper_has_class_vs_all(c, te)) {
            Cell na;
            na.applicable = false;
            r.cells.push_back(na);
            continue;
          }
          r.cells.push_back(b.cell(config, te == e ? "test" : "cross:" + test_enc, "accuracy"));
        }
        t.rows.push_back(r);
      }
    finish_caption(t, prov,
                   "Rows: class and training encapsulation; columns: the encapsulation tested on (the training one: its "
                   "test split; the others: the config's cross:<encapsulation> evaluation groups). Browsing has no VPN "
                   "captures (n/a).",
                   o.note);
    out.push_back(render(t));
  }
  {  // Unseen applications.
    Provenance prov(o.configs_dir);
    Builder b(results, prov);
    Table t;
    t.id = "unseen_applications";
    t.title = "FlowPic: unseen applications (accuracy, %)";
    progress(t.id);
    t.label_headers = {"Experiment"};
    t.columns = {"held-out applications", "test (seen applications)"};
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"Video without Vimeo and YouTube", "unseen_video_no_vimeo_youtube"},
        {"Video without Facebook", "unseen_video_no_facebook"},
        {"VoIP without Facebook", "unseen_voip_no_facebook"}};
    for (const auto& [label, config] : rows)
      t.rows.push_back({{label}, {b.cell(config, "held_out", "accuracy"), b.cell(config, "test", "accuracy")}});
    finish_caption(t, prov,
                   "Class vs all (Non-VPN) with the named applications held out of training; 'held-out applications' "
                   "is the evaluation group of their samples against the test split's negatives.",
                   o.note);
    out.push_back(render(t));
  }
  {  // Application identification.
    Provenance prov(o.configs_dir);
    Builder b(results, prov);
    Table t;
    t.id = "application_identification";
    t.title = "FlowPic: application identification (%)";
    progress(t.id);
    t.label_headers = {"Measure"};
    t.columns = {"value"};
    t.rows.push_back({{"accuracy (10 applications)"}, {b.cell("application", "test", "accuracy")}});
    const RunSet& rs = results.get("application");
    std::vector<std::string> classes = {"VoIP:Hangouts", "VoIP:Facebook", "VoIP:VoipBuster", "VoIP:Skype", "Video:Hangouts",
                                        "Video:Facebook", "Video:Netflix", "Video:Vimeo", "Video:YouTube", "Video:Skype"};
    if (!rs.runs.empty()) classes = rs.runs.front().class_names;
    for (const auto& c : classes) t.rows.push_back({{"recall " + c}, {b.cell("application", "test", "recall:" + c)}});
    finish_caption(t, prov,
                   "Non-VPN VoIP and Video applications; per application our recall (the 2019 text gives per-application "
                   "numbers for Skype VoIP, Vimeo and YouTube without naming the measure).",
                   o.note);
    out.push_back(render(t));
  }
  {  // He & Li payload images.
    Provenance prov(o.configs_dir);
    Builder b(results, prov);
    Table t;
    t.id = "payload_images";
    t.title = "Payload-size images (He & Li): F1 and accuracy (%)";
    progress(t.id);
    t.label_headers = {"Experiment"};
    t.columns = {"macro F1", "accuracy"};
    t.rows.push_back({{"conventional encrypted traffic (6 Non-VPN traffic types)"},
                      {b.cell("payload_conventional", "test", "macro_f1", 2), b.cell("payload_conventional", "test", "accuracy", 2)}});
    t.rows.push_back({{"VPN traffic (6 VPN traffic types)"},
                      {b.cell("payload_vpn", "test", "macro_f1", 2), b.cell("payload_vpn", "test", "accuracy", 2)}});
    finish_caption(t, prov, "Macro F1 over the traffic types (the paper reports F1; its accuracy is not in the abstract).", o.note);
    out.push_back(render(t));
  }
  return out;
}

void write_tables(const std::vector<RenderedTable>& tables, const std::string& out_dir) {
  std::string all = "# Reproduced tables\n\nGenerated by make_tables from result files; one section per table "
                    "(also as .tex and .csv beside this file).\n\n";
  for (const auto& t : tables) {
    write_text_atomically(out_dir + "/" + t.id + ".md", t.markdown);
    write_text_atomically(out_dir + "/" + t.id + ".tex", t.latex);
    write_text_atomically(out_dir + "/" + t.id + ".csv", t.csv);
    all += t.markdown + "\n";
  }
  write_text_atomically(out_dir + "/all.md", all);
}

}  // namespace flowpic
