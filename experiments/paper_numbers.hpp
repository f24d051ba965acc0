#pragma once
// The papers' published numbers, each keyed by the config, evaluation group and metric it
// corresponds to (copied from ../shared/reference/flowpic.md and payload_image.md; tcbench's from
// its docs' paper tables). make_tables puts them beside ours; nowhere else in the code holds them.
#include <optional>
#include <string>
#include <vector>

namespace flowpic {

// One published number: what config, evaluation group and metric it corresponds to.
struct PaperNumber {
  const char* config;  // configs/<config>.json ("tcbench/ucdavis_32_none": configs/tcbench/...)
  const char* group;   // "test", "held_out", "cross:VPN", "leftover", "script", "human"
  const char* metric;  // "accuracy", "macro_f1", "recall:<class>", "precision:<class>"
  double percent;
  const char* where;        // "FlowPic Table III", ...
  double std_percent = -1;  // the published ± (standard deviation over the paper's runs); < 0 when none
};
const std::vector<PaperNumber>& paper_numbers();
// The number published for (config, group, metric), in percent; nullopt when the paper has none.
std::optional<double> paper_number(const std::string& config, const std::string& group, const std::string& metric);
// The published ± of that number, in percent; nullopt when the paper gives none.
std::optional<double> paper_number_std(const std::string& config, const std::string& group, const std::string& metric);

}  // namespace flowpic
