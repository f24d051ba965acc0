#pragma once
// Classification metrics from predictions: accuracy, per-class precision/recall/F1, macro F1,
// confusion matrix (rows = true class, columns = predicted class).
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_util.hpp"

namespace flowpic {

struct ClassMetrics {
  std::string name;
  int64_t support = 0;                       // true samples of the class
  int64_t predicted = 0;                     // samples predicted as the class
  double precision = 0, recall = 0, f1 = 0;  // 0 where undefined (no predictions / no support)
};

struct Metrics {
  int64_t samples = 0;
  double accuracy = 0;
  double macro_f1 = 0;  // mean F1 over classes with support > 0
  std::vector<ClassMetrics> classes;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]

  json to_json() const;
  std::string table() const;  // a readable table with the confusion matrix and class names
};

// `truth` and `predicted` hold class ids in [0, class_names.size()).
Metrics compute_metrics(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                        const std::vector<std::string>& class_names);

}  // namespace flowpic
