#pragma once
// The cells of make_tables' tables from result files: the runs of each config, one metric of one
// evaluation group as mean and standard deviation over seeds beside the paper's number, a gap
// naming the config to run where there is no number, and what the runs were (data, settings,
// departures from the shipped configs) for the caption.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "experiments/results.hpp"
#include "experiments/sweep.hpp"

namespace flowpic {

// Results of one config: every readable seed<N>.h5 directly under <results_dir>/<config>/, by seed.
struct RunSet {
  std::vector<RunResult> runs;
  std::vector<std::string> damaged;  // files that could not be read, with why
};

// The result files under a folder, read once per config.
class ResultsDir {
 public:
  explicit ResultsDir(std::string dir) : dir_(std::move(dir)) {}
  const RunSet& get(const std::string& config);  // empty when the config has no folder

 private:
  std::string dir_;
  std::map<std::string, RunSet> cache_;
};

struct TableCell {
  std::optional<double> paper;
  std::optional<double> paper_std;  // the published ± where the paper gives one
  bool applicable = true;           // false: the paper has no such experiment (shown as n/a)
  MeanStd ours;
  bool have = false;
  std::string gap;  // why there is no number: "run configs/X.json", ...
  bool optimistic = false, interrupted = false, averaged = false;
  int decimals = 1;
  double samples = 0;  // evaluation samples per run (mean over runs): how much the number rests on
};

struct TableRow {
  std::vector<std::string> labels;
  std::vector<TableCell> cells;
};

struct Table {
  std::string id, title;
  std::vector<std::string> label_headers;
  std::vector<std::string> columns;  // each: ours | paper | difference
  std::vector<TableRow> rows;
  std::vector<std::string> caption;  // sentences
};

// Collects what the runs of a table were: data sources, settings, and departures from the
// shipped configs (the paper's setting), so a caption says what its numbers rest on.
class TableProvenance {
 public:
  // configs_dir: where the shipped configs are; "" for those found by find_config_file.
  // real_data: what a table's non-synthetic stores hold, for the caption ("ISCX", "UC Davis ICDM'19").
  explicit TableProvenance(std::string configs_dir, std::string real_data = "ISCX")
      : configs_dir_(std::move(configs_dir)), real_data_(std::move(real_data)) {}
  void add(const std::string& config, const RunResult& r);
  std::vector<std::string> sentences() const;  // for the caption

 private:
  const json& shipped(const std::string& config);  // the resolved shipped config; null when unreadable
  std::string configs_dir_, real_data_;
  std::map<std::string, json> shipped_;
  std::set<std::string> sources_, settings_, departures_;
};

// Makes cells from the results, noting every run used in the table's provenance.
class CellBuilder {
 public:
  CellBuilder(ResultsDir& results, TableProvenance& provenance) : results_(results), provenance_(provenance) {}

  // One config's `metric` ("accuracy", "macro_f1", "recall:<class>", ...) on `group`, in percent.
  TableCell cell(const std::string& config, const std::string& group, const std::string& metric, int decimals = 1);
  // The same cell read from the first of `folders` (under the results folder: the config's own,
  // a sweep point's "<config>/<point>") that holds runs; the paper's number, the setting check and
  // a gap name `config` (a gap also names `alternative`, another config that makes the runs).
  TableCell cell_in(const std::vector<std::string>& folders, const std::string& config, const std::string& group,
                    const std::string& metric, int decimals, const std::string& alternative);
  // The mean test accuracy over `configs`, per seed found in every one of them (std over those
  // seeds), beside the paper's number for `paper_key`.
  TableCell average(const std::string& paper_key, const std::vector<std::string>& configs);
  const RunSet& runs(const std::string& config) { return results_.get(config); }

 private:
  ResultsDir& results_;
  TableProvenance& provenance_;
};

}  // namespace flowpic
