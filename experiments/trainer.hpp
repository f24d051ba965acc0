#pragma once
// Training and evaluation of one model on prepared data, in the pieces run_once
// (experiments/runner.hpp) composes: the config's model, the training batches (shuffled, seeded),
// one epoch of updates, model selection (the best epoch's weights), the epoch loop with early
// stopping, and the evaluation of a sample set.
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "experiments/image_batcher.hpp"
#include "experiments/prepared_experiment.hpp"
#include "experiments/results.hpp"
#include "experiments/split.hpp"
#include "kernels/augment.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace flowpic {

// Set by run_experiment's SIGINT handler: training stops after the current batch, the best
// model so far is evaluated and the result file is written, marked interrupted.
extern std::atomic<bool> g_stop_requested;

// A path from a config (a model file): as given when it exists, else a shipped "configs/..." file
// found by find_config_file (so configs work from any working directory).
std::string resolve_config_path(const std::string& path);

// The config's model for images of `representation` and `classes` outputs.
nn::Model build_model(const ExperimentConfig& cfg, const RepresentationConfig& representation, int classes,
                      nn::Backend& backend, uint64_t seed);
// The config's model for the prepared data's input shape and classes.
nn::Model build_model(const ExperimentConfig& cfg, const PreparedExperiment& d, nn::Backend& backend, uint64_t seed);

// The training samples in batches. The samples are shuffled (seeded) and dealt out in that order,
// reshuffled each time they are used up. With training.batches_per_epoch = 0 an epoch is one pass
// (its last batch may be short); otherwise it is that many full batches and a pass runs on into
// the next epoch.
class TrainingBatches {
 public:
  TrainingBatches(std::vector<size_t> samples, const TrainingConfig& training, uint64_t seed);
  size_t batches_per_epoch() const { return per_epoch_; }
  size_t images_per_epoch() const { return one_pass_ ? order_.size() : per_epoch_ * batch_size_; }
  std::vector<size_t> next();  // the next batch's samples

 private:
  SplitMix64 rng_;
  std::vector<size_t> order_;
  size_t cursor_;  // next position in order_; order_.size(): shuffle before dealing
  size_t batch_size_, per_epoch_;
  bool one_pass_;
};

// Keeps the weights of the best epoch so far: the highest accuracy on the selection set, ties
// broken by the lower loss; without a selection set, the last epoch. Counts the epochs since the
// best for early stopping.
class ModelSelection {
 public:
  explicit ModelSelection(bool has_selection_set) : has_selection_set_(has_selection_set) {}
  // True when `epoch` is the best so far; its weights (the model's now) are then kept.
  bool offer(const EpochRecord& epoch, nn::Model& model);
  int best_epoch() const { return best_epoch_; }  // 0 before any epoch
  int epochs_since_best() const { return since_best_; }
  void restore_best(nn::Model& model) const;  // the model unchanged before any epoch

 private:
  bool has_selection_set_;
  std::vector<std::vector<float>> best_weights_;  // every parameter, on the host
  double best_score_ = -1, best_loss_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = 0, since_best_ = 0;
};

// When to stop early (training.patience epochs without improvement): with "selection", an epoch
// improves when ModelSelection keeps it; with "val_loss" (tcbench), when the validation loss falls
// below the best so far by more than min_delta.
class EarlyStopping {
 public:
  explicit EarlyStopping(const TrainingConfig& training) : training_(training) {}
  // After each epoch: whether training should stop now.
  bool should_stop(const EpochRecord& epoch, bool selection_improved);
  int epochs_without_improvement() const { return since_; }

 private:
  const TrainingConfig& training_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  int since_ = 0;
};

// What the training batches deal out: items, each a sample (index into data.index.samples) and
// its augmentation draw key (kNoAugmentation: none). Loading mode: the original (keep_original)
// and copies 1..N of each training sample; epoch mode: each training sample once (the key is
// the epoch, set per batch); without augmentation: the training samples.
struct TrainingItems {
  std::vector<size_t> sample;
  std::vector<uint64_t> key;
};
TrainingItems training_items(const std::vector<size_t>& train, const AugmentConfig& augment);

// Predictions of a model on a set of samples.
struct Evaluation {
  double loss = 0, accuracy = 0;     // mean cross-entropy and accuracy; 0 for an empty set
  std::vector<int32_t> predicted;    // per sample
  std::vector<float> probabilities;  // samples x classes, row-major
};

// What the epoch loop did; the model holds the best epoch's weights after it.
struct TrainingOutcome {
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  bool interrupted = false;  // g_stop_requested was set
  double train_seconds = 0;  // in training batches (not in evaluating the selection set)
};

// One model (of one seed) on prepared data: its backend, the config's model and optimizer, and
// the images of its samples. The config and data must outlive the trainer.
class Trainer {
 public:
  Trainer(const ExperimentConfig& cfg, const PreparedExperiment& data, uint64_t seed);

  const std::shared_ptr<nn::Backend>& backend() const { return backend_; }
  const std::shared_ptr<nn::Model>& model() const { return model_; }
  const InputChoice& input() const { return input_; }
  size_t training_images_per_pass() const { return items_.sample.size(); }  // training images per pass

  // Epochs until training.epochs, early stopping (training.patience) or g_stop_requested; each
  // evaluated on the selection set and logged. The best epoch's weights are restored at the end.
  TrainingOutcome fit();
  // One epoch of updates (a progress line on stderr; stops after the current batch once
  // g_stop_requested is set): the record's training loss, accuracy and throughput.
  EpochRecord train_epoch(int epoch);
  Evaluation evaluate(const std::vector<size_t>& samples);
  // The set's predictions with their samples (flow, direction, window, truth) and metrics.
  GroupPredictions evaluate_set(const SampleSet& set);

 private:
  const ExperimentConfig& cfg_;
  const PreparedExperiment& data_;
  const size_t classes_;
  const bool optimistic_;                 // selection on the test set (the authors' protocol)
  const std::vector<size_t>& selection_;  // the validation set, or the test set when optimistic_
  std::shared_ptr<nn::Backend> backend_;  // outlives the model (TrainedRun keeps both)
  std::shared_ptr<nn::Model> model_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  std::unique_ptr<Augmenter> augmenter_;  // training.augment; null without
  InputChoice input_;                     // dense images or their cells (the config's "input")
  ImageBatcher batcher_;
  TrainingItems items_;
  TrainingBatches batches_;
  // training.distributed "mpi": this rank and the number of ranks (0 and 1 otherwise).
  const int rank_, ranks_;
  bool stop_requested() const;           // g_stop_requested, agreed on by every rank
  void average_gradients(double share);  // every rank's gradients x share, summed over the ranks
};

}  // namespace flowpic
