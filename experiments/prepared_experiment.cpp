#include "experiments/prepared_experiment.hpp"

#include <algorithm>
#include <cstdio>

namespace flowpic {

json PreparedExperiment::summary() const {
  json sets = json::object();
  auto add = [&](const SampleSet& s) {
    json per = json::object();
    for (const auto& c : assignment.class_names) per[c] = 0;
    for (size_t i : s.samples)
      per[assignment.class_names[static_cast<size_t>(sample_class[i])]] =
          per[assignment.class_names[static_cast<size_t>(sample_class[i])]].get<int64_t>() + 1;
    sets[s.name] = per;
  };
  add(train);
  add(validation);
  for (const auto& e : evaluation) add(e);
  return {{"store", store_path},
          {"data_source", data_source},
          {"sets", sets},
          {"sample_index", index.stats.to_json()},
          {"flows_in_task", std::count_if(assignment.flow_class.begin(), assignment.flow_class.end(),
                                          [](int32_t c) { return c >= 0; })}};
}

std::string PreparedExperiment::summary_table() const {
  json s = summary();
  std::string out = "samples per class and set (" +
                    std::string(data_source == "synthetic" ? "SYNTHETIC data" : "store " + store_path) + "):\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-16s", "class");
  out += buf;
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

}  // namespace flowpic
