#include "experiments/split.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.hpp"

namespace flowpic {

std::vector<Split> split_samples(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                                 const SplitFractions& fr, bool by_unit, uint64_t seed) {
  if (sample_unit.size() != sample_class.size())
    fail("split: ", sample_unit.size(), " units for ", sample_class.size(), " samples");
  if (fr.validation < 0 || fr.test < 0 || fr.validation + fr.test >= 1)
    fail("split: validation (", fr.validation, ") and test (", fr.test, ") fractions must be >= 0 and sum below 1");
  std::vector<Split> out(sample_class.size(), kTrain);
  SplitMix64 rng(seed);

  // Groups: per class, the units (or single samples) with their sample counts, in a stable order.
  std::map<int32_t, std::map<int64_t, std::vector<size_t>>> groups;
  for (size_t i = 0; i < sample_class.size(); ++i) {
    if (sample_class[i] < 0) continue;
    int64_t key = by_unit ? sample_unit[i] : static_cast<int64_t>(i);
    groups[sample_class[i]][key].push_back(i);
  }
  for (auto& [cls, units] : groups) {
    std::vector<const std::vector<size_t>*> order;
    size_t total = 0;
    for (auto& [u, idx] : units) {
      order.push_back(&idx);
      total += idx.size();
    }
    rng.shuffle(order);
    const double want_test = fr.test * double(total), want_val = fr.validation * double(total);
    double got_test = 0, got_val = 0;
    bool first = true;
    for (const auto* idx : order) {
      Split s = kTrain;
      // The first unit always trains, so a class of few flows is never absent from training;
      // after it, a unit goes to test (then validation) when that brings the split nearer its
      // share than leaving it out would.
      const double half = 0.5 * double(idx->size());
      if (first)
        first = false;
      else if (got_test + half < want_test)
        s = kTest, got_test += double(idx->size());
      else if (got_val + half < want_val)
        s = kValidation, got_val += double(idx->size());
      for (size_t i : *idx) out[i] = s;
    }
  }
  return out;
}

std::vector<Split> split_kfold(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                               int folds, int fold, double validation_fraction, uint64_t seed) {
  if (sample_unit.size() != sample_class.size())
    fail("split: ", sample_unit.size(), " units for ", sample_class.size(), " samples");
  if (folds < 2 || fold < 0 || fold >= folds)
    fail("split: fold ", fold, " of ", folds, " (need 0 <= fold < folds, folds >= 2)");
  if (validation_fraction < 0 || validation_fraction >= 1)
    fail("split: validation fraction ", validation_fraction, " must be >= 0 and below 1");
  std::vector<Split> out(sample_class.size(), kTrain);
  SplitMix64 deal(seed), carve(seed ^ 0x6b666f6c64ULL);  // the folds' partition does not depend on `fold`
  std::map<int32_t, std::map<int64_t, std::vector<size_t>>> groups;
  for (size_t i = 0; i < sample_class.size(); ++i)
    if (sample_class[i] >= 0) groups[sample_class[i]][sample_unit[i]].push_back(i);
  for (auto& [cls, units] : groups) {
    std::vector<const std::vector<size_t>*> order;
    for (auto& [u, idx] : units) order.push_back(&idx);
    deal.shuffle(order);
    std::vector<const std::vector<size_t>*> rest;
    size_t rest_samples = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      if (static_cast<int>(k % static_cast<size_t>(folds)) == fold) {
        for (size_t i : *order[k]) out[i] = kTest;
      } else {
        rest.push_back(order[k]);
        rest_samples += order[k]->size();
      }
    }
    carve.shuffle(rest);
    const double want_val = validation_fraction * double(rest_samples);
    double got_val = 0;
    for (size_t k = 1; k < rest.size(); ++k) {  // the first unit always trains
      const double half = 0.5 * double(rest[k]->size());
      if (got_val + half >= want_val) continue;
      for (size_t i : *rest[k]) out[i] = kValidation;
      got_val += double(rest[k]->size());
    }
  }
  return out;
}

std::vector<Split> split_per_class(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                                   int flows_per_class, double validation_fraction, uint64_t seed,
                                   const std::vector<std::string>& class_names) {
  if (sample_unit.size() != sample_class.size())
    fail("split: ", sample_unit.size(), " units for ", sample_class.size(), " samples");
  if (flows_per_class < 1) fail("split: training.train_flows_per_class must be >= 1 (", flows_per_class, ")");
  if (validation_fraction < 0 || validation_fraction >= 1)
    fail("split: validation fraction ", validation_fraction, " must be >= 0 and below 1");
  std::vector<Split> out(sample_class.size(), kTest);
  SplitMix64 rng(seed ^ 0x7065725f636c73ULL);
  std::map<int32_t, std::map<int64_t, std::vector<size_t>>> groups;
  for (size_t i = 0; i < sample_class.size(); ++i)
    if (sample_class[i] >= 0)
      groups[sample_class[i]][sample_unit[i]].push_back(i);
    else
      out[i] = kTrain;  // outside the task: ignored, as split_samples marks them
  for (size_t c = 0; c < class_names.size(); ++c) groups[static_cast<int32_t>(c)];  // a class without flows too
  const size_t n = static_cast<size_t>(flows_per_class);
  const size_t n_val = std::min(n - 1, static_cast<size_t>(std::llround(validation_fraction * static_cast<double>(n))));
  for (auto& [cls, units] : groups) {
    if (units.size() < n) {
      const std::string name = cls >= 0 && static_cast<size_t>(cls) < class_names.size()
                                   ? class_names[static_cast<size_t>(cls)]
                                   : std::to_string(cls);
      fail("training.train_flows_per_class: class '", name, "' has ", units.size(),
           " flows (with a sample), fewer than the ", n,
           " to draw per class; use a smaller training.train_flows_per_class or more data");
    }
    std::vector<const std::vector<size_t>*> order;
    for (auto& [u, idx] : units) order.push_back(&idx);
    rng.shuffle(order);
    for (size_t k = 0; k < n; ++k)
      for (size_t i : *order[k]) out[i] = k < n_val ? kValidation : kTrain;
  }
  return out;
}

std::vector<size_t> undersample_balanced(const std::vector<size_t>& candidates,
                                         const std::vector<int32_t>& sample_class, uint64_t seed) {
  std::map<int32_t, std::vector<size_t>> by_class;
  for (size_t i : candidates)
    if (sample_class[i] >= 0) by_class[sample_class[i]].push_back(i);
  if (by_class.empty()) return {};
  size_t keep = SIZE_MAX;
  for (auto& [c, v] : by_class) keep = std::min(keep, v.size());
  SplitMix64 rng(seed);
  std::vector<size_t> out;
  for (auto& [c, v] : by_class) {
    rng.shuffle(v);
    out.insert(out.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<size_t> sample_target_vs_others(const std::vector<size_t>& candidates,
                                            const std::vector<int32_t>& sample_class,
                                            const std::vector<int32_t>& sample_subclass, double ratio, uint64_t seed) {
  std::vector<size_t> out;
  std::map<int32_t, std::vector<size_t>> others;
  size_t n_others = 0;
  for (size_t i : candidates) {
    if (sample_class[i] == 0)
      out.push_back(i);
    else if (sample_class[i] == 1)
      others[sample_subclass[i]].push_back(i), ++n_others;
  }
  const size_t want = std::min(n_others, static_cast<size_t>(std::llround(ratio * double(out.size()))));
  if (n_others == 0 || want == 0) {
    std::sort(out.begin(), out.end());
    return out;
  }
  // Largest-remainder apportionment of `want` over the subclasses, proportional to their counts.
  SplitMix64 rng(seed);
  std::vector<std::pair<double, int32_t>> remainders;
  std::map<int32_t, size_t> quota;
  size_t given = 0;
  for (auto& [sub, v] : others) {
    double exact = double(want) * double(v.size()) / double(n_others);
    quota[sub] = static_cast<size_t>(std::floor(exact));
    given += quota[sub];
    remainders.push_back({exact - std::floor(exact), sub});
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < want && k < remainders.size(); ++k, ++given) ++quota[remainders[k].second];
  for (auto& [sub, v] : others) {
    rng.shuffle(v);
    out.insert(out.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(quota[sub], v.size())));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace flowpic
