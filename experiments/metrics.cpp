#include "experiments/metrics.hpp"

#include <algorithm>
#include <cstdio>

#include "common/error.hpp"

namespace flowpic {

Metrics compute_metrics(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                        const std::vector<std::string>& class_names) {
  if (truth.size() != predicted.size())
    fail("metrics: ", truth.size(), " true labels but ", predicted.size(), " predictions");
  const size_t k = class_names.size();
  Metrics m;
  m.samples = static_cast<int64_t>(truth.size());
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || static_cast<size_t>(truth[i]) >= k || predicted[i] < 0 ||
        static_cast<size_t>(predicted[i]) >= k)
      fail("metrics: sample ", i, " has class ", truth[i], " / prediction ", predicted[i], ", outside 0..", k - 1);
    ++m.confusion[truth[i]][predicted[i]];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = m.samples ? double(correct) / double(m.samples) : 0.0;
  double f1_sum = 0;
  int with_support = 0;
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics cm;
    cm.name = class_names[c];
    for (size_t j = 0; j < k; ++j) {
      cm.support += m.confusion[c][j];
      cm.predicted += m.confusion[j][c];
    }
    int64_t tp = m.confusion[c][c];
    cm.precision = cm.predicted ? double(tp) / double(cm.predicted) : 0.0;
    cm.recall = cm.support ? double(tp) / double(cm.support) : 0.0;
    cm.f1 = (cm.precision + cm.recall) > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall) : 0.0;
    if (cm.support > 0) {
      f1_sum += cm.f1;
      ++with_support;
    }
    m.classes.push_back(cm);
  }
  m.macro_f1 = with_support ? f1_sum / with_support : 0.0;
  return m;
}

json Metrics::to_json() const {
  json j;
  j["samples"] = samples;
  j["accuracy"] = accuracy;
  j["macro_f1"] = macro_f1;
  j["classes"] = json::array();
  for (const auto& c : classes)
    j["classes"].push_back({{"name", c.name},
                            {"support", c.support},
                            {"predicted", c.predicted},
                            {"precision", c.precision},
                            {"recall", c.recall},
                            {"f1", c.f1}});
  j["confusion"] = confusion;
  return j;
}

std::string Metrics::table() const {
  size_t w = 5;
  for (const auto& c : classes) w = std::max(w, c.name.size());
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "accuracy %.2f %%, macro F1 %.2f %% over %lld samples\n", 100 * accuracy,
                100 * macro_f1, static_cast<long long>(samples));
  out += buf;
  std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %8s\n", int(w), "class", "precision", "recall", "F1", "support");
  out += buf;
  for (const auto& c : classes) {
    std::snprintf(buf, sizeof buf, "%-*s %8.2f%% %8.2f%% %8.2f%% %8lld\n", int(w), c.name.c_str(), 100 * c.precision,
                  100 * c.recall, 100 * c.f1, static_cast<long long>(c.support));
    out += buf;
  }
  out += "confusion (rows: true class, columns: predicted, in the order above)\n";
  for (size_t i = 0; i < confusion.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%-*s", int(w), classes[i].name.c_str());
    out += buf;
    for (int64_t v : confusion[i]) {
      std::snprintf(buf, sizeof buf, " %7lld", static_cast<long long>(v));
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace flowpic
