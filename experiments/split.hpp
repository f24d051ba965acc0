#pragma once
// Deterministic splitting and balancing of samples. Every random choice draws from a seed, with
// our own generator (SplitMix64, common/hash_mix.hpp), so the same seed gives the same split on every platform.
#include <cstdint>
#include <string>
#include <vector>

#include "common/hash_mix.hpp"

namespace flowpic {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64_next(state_); }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }  // bias < 2^-40 for our sizes
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  uint64_t state_;
};

enum Split : uint8_t { kTrain = 0, kValidation = 1, kTest = 2 };

struct SplitFractions {
  double validation = 0.1;  // of all samples, carved from what would be training
  double test = 0.1;        // paper: 90/10
};

// Assigns samples to train/validation/test.
//  - by_unit = true (default protocol): all samples of one unit (flow) go to the same split, so
//    no window of a flow is on both sides; per class, units are shuffled, the first goes to
//    training, the next to test, then validation, until each has its fraction of the class's samples.
//  - by_unit = false (the paper's protocol): samples are split at random, per class.
// `sample_class` < 0 marks samples outside the task (they get kTrain and must be ignored).
std::vector<Split> split_samples(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                                 const SplitFractions& fractions, bool by_unit, uint64_t seed);

// k-fold cross-validation by unit (flow), stratified by class: per class, the units are shuffled
// (seeded by `seed`, the same for every fold, so the K folds partition the units) and dealt to the
// folds in turn; the units of fold `fold` are the test split, and from the others validation is
// carved per class as split_samples does (its share of the remaining samples; the first unit of a
// class always trains). Every unit is tested in exactly one fold.
std::vector<Split> split_kfold(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                               int folds, int fold, double validation_fraction, uint64_t seed);

// tcbench's split (IMC'23): per class, `flows_per_class` units (flows) are drawn at random (seeded
// by `seed`: each seed is one of tcbench's splits); round(validation_fraction x N) of them, at most
// N - 1 so that at least one trains, are the validation set, the other drawn ones the training
// set, and every unit not drawn is the test set (tcbench's "leftover"). Drawn by unit, stratified
// by class. A class with fewer than `flows_per_class` units is an error naming it, its unit count
// and the key (training.train_flows_per_class); `class_names` (by class id; may be empty) names
// the classes in that message.
std::vector<Split> split_per_class(const std::vector<int64_t>& sample_unit, const std::vector<int32_t>& sample_class,
                                   int flows_per_class, double validation_fraction, uint64_t seed,
                                   const std::vector<std::string>& class_names = {});

// Indices of `candidates` kept so that every class has as many samples as the rarest one
// (balanced undersampling, as the paper). Deterministic for a seed; output sorted.
std::vector<size_t> undersample_balanced(const std::vector<size_t>& candidates,
                                         const std::vector<int32_t>& sample_class, uint64_t seed);

// Class-vs-all sampling: keeps every target sample (class 0) and draws round(ratio x targets)
// samples of class 1, spread over the subclasses in proportion to their counts. Output sorted.
std::vector<size_t> sample_target_vs_others(const std::vector<size_t>& candidates,
                                            const std::vector<int32_t>& sample_class,
                                            const std::vector<int32_t>& sample_subclass, double ratio, uint64_t seed);

}  // namespace flowpic
