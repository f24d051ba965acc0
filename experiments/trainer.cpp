#include "experiments/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/atomic_file.hpp"
#include "common/progress.hpp"
#include "experiments/distributed.hpp"
#include "experiments/metrics.hpp"
#include "experiments/synthetic_store.hpp"

namespace flowpic {

std::atomic<bool> g_stop_requested{false};

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// The class with the highest score in a row of `classes` logits or probabilities.
int32_t arg_max(const float* row, size_t classes) {
  return static_cast<int32_t>(std::max_element(row, row + classes) - row);
}

// 0, 1, ..., n - 1: the batches deal out item positions (without augmentation the same shuffles,
// and so the same batches, as dealing out the samples themselves).
std::vector<size_t> positions(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

TrainingItems training_items(const std::vector<size_t>& train, const AugmentConfig& augment) {
  TrainingItems items;
  if (!augment.active() || augment.mode == AugmentMode::kEpoch) {
    items.sample = train;
    items.key.assign(train.size(), kNoAugmentation);
    return items;
  }
  for (size_t s : train) {
    if (augment.keep_original) {
      items.sample.push_back(s);
      items.key.push_back(kNoAugmentation);
    }
    for (int k = 1; k <= augment.copies; ++k) {
      items.sample.push_back(s);
      items.key.push_back(static_cast<uint64_t>(k));
    }
  }
  return items;
}

std::string resolve_config_path(const std::string& p) {
  if (file_exists(p) || p.rfind("configs/", 0) != 0) return p;
  return find_config_file(p.substr(8));
}

nn::Model build_model(const ExperimentConfig& cfg, const RepresentationConfig& representation, int classes,
                      nn::Backend& backend, uint64_t seed) {
  nn::ModelOptions mo;
  mo.input = {1, representation.channels(), representation.height(), representation.width()};
  mo.classes = classes;
  mo.seed = seed;
  return cfg.model.is_string() ? nn::Model::from_file(resolve_config_path(cfg.model.get<std::string>()), mo, backend)
                               : nn::Model::from_json(cfg.model, cfg.file + ": model", mo, backend);
}

nn::Model build_model(const ExperimentConfig& cfg, const PreparedExperiment& d, nn::Backend& backend, uint64_t seed) {
  return build_model(cfg, d.representation, static_cast<int>(d.assignment.class_names.size()), backend, seed);
}

TrainingBatches::TrainingBatches(std::vector<size_t> samples, const TrainingConfig& training, uint64_t seed)
    : rng_(seed ^ 0xABCDEF),
      order_(std::move(samples)),
      cursor_(order_.size()),
      batch_size_(static_cast<size_t>(training.batch_size)),
      per_epoch_(training.batches_per_epoch > 0 ? static_cast<size_t>(training.batches_per_epoch)
                                                : (order_.size() + batch_size_ - 1) / batch_size_),
      one_pass_(training.batches_per_epoch == 0) {}

std::vector<size_t> TrainingBatches::next() {
  std::vector<size_t> ids;
  while (ids.size() < batch_size_ && !order_.empty()) {
    if (cursor_ >= order_.size()) {
      rng_.shuffle(order_);
      cursor_ = 0;
    }
    ids.push_back(order_[cursor_++]);
    if (one_pass_ && cursor_ == order_.size()) break;  // the pass ends the epoch: its last batch may be short
  }
  return ids;
}

bool ModelSelection::offer(const EpochRecord& epoch, nn::Model& model) {
  const double score = has_selection_set_ ? epoch.val_accuracy : double(epoch.epoch);
  const bool improved = score > best_score_ || (score == best_score_ && epoch.val_loss < best_loss_);
  if (!improved) {
    ++since_best_;
    return false;
  }
  best_score_ = score;
  best_loss_ = epoch.val_loss;
  best_epoch_ = epoch.epoch;
  since_best_ = 0;
  best_weights_.clear();
  for (auto& p : model.named_params()) best_weights_.push_back(p.param->value.to_host());
  return true;
}

bool EarlyStopping::should_stop(const EpochRecord& epoch, bool selection_improved) {
  bool improved = selection_improved;
  if (training_.early_stop == "val_loss") {
    // Keras' EarlyStopping rule, as tcbench uses it: the best loss moves only on an improvement.
    improved = epoch.val_loss < best_loss_ - training_.min_delta;
    if (improved) best_loss_ = epoch.val_loss;
  }
  since_ = improved ? 0 : since_ + 1;
  return training_.patience > 0 && since_ >= training_.patience;
}

void ModelSelection::restore_best(nn::Model& model) const {
  if (best_epoch_ == 0) return;
  size_t i = 0;
  for (auto& p : model.named_params()) p.param->value.copy_from_host(best_weights_.at(i++));
}

Trainer::Trainer(const ExperimentConfig& cfg, const PreparedExperiment& data, uint64_t seed)
    : cfg_(cfg),
      data_(data),
      classes_(data.assignment.class_names.size()),
      optimistic_(cfg.training.selection == "test_optimistic"),
      selection_(optimistic_ ? data.evaluation[0].samples : data.validation.samples),
      backend_(nn::make_backend(cfg.device)),
      model_(std::make_shared<nn::Model>(build_model(cfg, data, *backend_, seed))),
      optimizer_(nn::make_optimizer(cfg.optimizer, {cfg.file, "optimizer"}, *model_)),
      augmenter_(cfg.training.augment.active()
                     ? std::make_unique<Augmenter>(cfg.training.augment, data.store, data.representation, seed)
                     : nullptr),
      input_(choose_batch_input(cfg.input, *model_, data.representation, cfg.training.augment.on_images(),
                                data.index.samples, cfg.file + ": input")),
      batcher_(data.store, data.representation, data.index.samples, backend_->device(), cfg.training.batch_size,
               augmenter_.get(), input_.input),
      items_(training_items(data.train.samples, cfg.training.augment)),
      batches_(positions(items_.sample.size()), cfg.training, seed),
      rank_(cfg.training.distributed == "mpi" ? dist::rank() : 0),
      ranks_(cfg.training.distributed == "mpi" ? dist::size() : 1) {
  if (ranks_ > 1 && model_->has_batch_statistics())
    fail(cfg.file,
         ": training.distributed: \"mpi\" with batch_norm2d layers is not supported (each rank's "
         "batch-norm statistics would come from its slice of the batch, not the global batch)");
  if (ranks_ > 1) {  // the same initial weights on every rank, whatever a rank's initialiser did
    for (nn::Param* p : model_->trainable_params()) {
      std::vector<float> w = p->value.to_host();
      dist::broadcast(w.data(), w.size(), 0);
      p->value.copy_from_host(w);
    }
  }
}

TrainingOutcome Trainer::fit() {
  if (selection_.empty())
    std::fprintf(stderr,
                 "warning: %s: the %s set is empty (too few flows to split by flow?): no model selection, the last "
                 "epoch is kept\n",
                 cfg_.file.c_str(), optimistic_ ? "test" : "validation");
  const int epochs = cfg_.training.epochs;
  const auto t_start = Clock::now();
  ModelSelection selection(!selection_.empty());
  EarlyStopping stopping(cfg_.training);
  TrainingOutcome out;
  for (int epoch = 1; epoch <= epochs && !stop_requested(); ++epoch) {
    const auto t_epoch = Clock::now();
    EpochRecord rec = train_epoch(epoch);
    out.train_seconds += rec.seconds;
    if (!selection_.empty()) {
      Evaluation v = evaluate(selection_);
      rec.val_loss = v.loss;
      rec.val_accuracy = v.accuracy;
    }
    rec.seconds = seconds_since(t_epoch);
    out.history.push_back(rec);
    const bool improved = selection.offer(rec, *model_);
    const double eta = seconds_since(t_start) / epoch * (epochs - epoch);
    if (rank_ == 0)
      std::fprintf(
          stderr,
          "epoch %d/%d: train loss %.4f acc %.2f%% | %s loss %.4f acc %.2f%%%s | %.0f images/s | %.1f s | ETA %.0f s\n",
          epoch, epochs, rec.train_loss, 100 * rec.train_accuracy, optimistic_ ? "test (optimistic)" : "val",
          rec.val_loss, 100 * rec.val_accuracy, improved ? " *" : "", rec.images_per_s, rec.seconds, eta);
    if (stopping.should_stop(rec, improved)) {
      std::fprintf(stderr, "early stop: no improvement%s for %d epochs; best epoch %d\n",
                   cfg_.training.early_stop == "val_loss" ? " of the validation loss" : "",
                   stopping.epochs_without_improvement(), selection.best_epoch());
      break;
    }
  }
  out.best_epoch = selection.best_epoch();
  out.interrupted = g_stop_requested;
  if (out.interrupted)
    std::fprintf(stderr, "interrupted: evaluating the best model so far (epoch %d)\n", out.best_epoch);
  selection.restore_best(*model_);
  return out;
}

bool Trainer::stop_requested() const {
  if (ranks_ == 1) return g_stop_requested;
  double flag = g_stop_requested ? 1.0 : 0.0;  // every rank stops at the same batch, or none does
  dist::allreduce_sum(&flag, 1);
  return flag > 0;
}

void Trainer::average_gradients(double share) {
  // On the device with NCCL when every rank's share is equal (the plain average is then the
  // weighted one); otherwise through the host: each rank's gradients x its share, summed.
  const bool equal = std::fabs(share * ranks_ - 1.0) < 1e-12;
  std::vector<float> g;
  for (nn::Param* p : model_->trainable_params()) {
    if (equal && p->grad.device() == nn::DeviceKind::cuda && dist::device_reduce_available()) {
      dist::device_allreduce_average(p->grad.data(), p->grad.count());
      continue;
    }
    g = p->grad.to_host();
    const float s = static_cast<float>(share);
    for (float& v : g) v *= s;
    dist::allreduce_sum(g.data(), g.size());
    p->grad.copy_from_host(g);
  }
}

EpochRecord Trainer::train_epoch(int epoch) {
  const auto t_epoch = Clock::now();
  Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(cfg_.training.epochs),
                    double(batches_.images_per_epoch()), "images", 30.0);
  double loss_sum = 0;
  size_t seen = 0, correct = 0;
  std::vector<int32_t> labels;
  std::vector<size_t> ids;
  std::vector<uint64_t> keys;
  const bool epoch_keys = augmenter_ && cfg_.training.augment.mode == AugmentMode::kEpoch;
  for (size_t b = 0; b < batches_.batches_per_epoch(); ++b) {
    if (stop_requested()) break;
    const std::vector<size_t> items = batches_.next();  // the global batch, the same on every rank
    ids.clear();
    keys.clear();
    labels.clear();
    for (size_t i : items) {
      ids.push_back(items_.sample[i]);
      keys.push_back(epoch_keys ? static_cast<uint64_t>(epoch) : items_.key[i]);
      labels.push_back(data_.sample_class[ids.back()]);
    }
    // Data-parallel: this rank's contiguous slice [lo, hi) of the global batch.
    const size_t n = ids.size(), lo = n * rank_ / ranks_, hi = n * (rank_ + 1) / ranks_, m = hi - lo;
    if (m > 0) {
      if (ranks_ > 1) model_->set_batch_offset(lo);
      const std::vector<int32_t> mine(labels.begin() + lo, labels.begin() + hi);
      const nn::Tensor& logits =
          batcher_.forward(*model_, ids.data() + lo, m, augmenter_ ? keys.data() + lo : nullptr, true);
      const double loss = model_->loss_and_grad(mine);
      model_->backward();
      std::vector<float> lg = logits.to_host();
      for (size_t i = 0; i < m; ++i) correct += arg_max(lg.data() + i * classes_, classes_) == mine[i];
      loss_sum += loss * double(m);
    }
    // The global batch's mean gradient: each rank's mean over its slice, weighted by its share.
    if (ranks_ > 1) average_gradients(double(m) / double(n));
    optimizer_->step();
    seen += m;
    if (rank_ == 0)
      progress.update(double(seen) * ranks_,
                      fmt("loss %.4f, accuracy %.2f%%", loss_sum / double(std::max<size_t>(seen, 1)),
                          100.0 * double(correct) / double(std::max<size_t>(seen, 1))));
  }
  progress.clear();
  if (ranks_ > 1) {  // the epoch's loss and accuracy over every rank's samples
    double totals[3] = {loss_sum, double(correct), double(seen)};
    dist::allreduce_sum(totals, 3);
    loss_sum = totals[0];
    correct = static_cast<size_t>(totals[1]);
    seen = static_cast<size_t>(totals[2]);
  }
  EpochRecord rec;
  rec.epoch = epoch;
  rec.train_loss = seen ? loss_sum / double(seen) : NAN;
  rec.train_accuracy = seen ? double(correct) / double(seen) : NAN;
  rec.seconds = seconds_since(t_epoch);  // training only: fit() adds the selection set's evaluation
  rec.images_per_s = seen / std::max(rec.seconds, 1e-9);
  rec.val_loss = rec.val_accuracy = NAN;
  return rec;
}

Evaluation Trainer::evaluate(const std::vector<size_t>& ids) {
  const size_t batch = static_cast<size_t>(cfg_.training.batch_size);
  Evaluation out;
  out.predicted.reserve(ids.size());
  out.probabilities.reserve(ids.size() * classes_);
  double loss = 0;
  size_t correct = 0;
  for (size_t b = 0; b < ids.size(); b += batch) {
    size_t m = std::min(ids.size() - b, batch);
    std::vector<float> p = batcher_.predict(*model_, ids.data() + b, m);
    for (size_t i = 0; i < m; ++i) {
      const float* row = p.data() + i * classes_;
      int32_t best = arg_max(row, classes_);
      int32_t truth = data_.sample_class[ids[b + i]];
      out.predicted.push_back(best);
      correct += best == truth;
      loss -= std::log(std::max(row[truth], 1e-12f));
      out.probabilities.insert(out.probabilities.end(), row, row + classes_);
    }
  }
  if (!ids.empty()) {
    out.loss = loss / double(ids.size());
    out.accuracy = double(correct) / double(ids.size());
  }
  return out;
}

GroupPredictions Trainer::evaluate_set(const SampleSet& set) {
  Evaluation e = evaluate(set.samples);
  GroupPredictions g;
  g.name = set.name;
  for (size_t k : set.samples) {
    const Sample& s = data_.index.samples[k];
    g.flow.push_back(s.flow);
    g.direction.push_back(s.direction);
    g.window_start.push_back(s.start);
    g.truth.push_back(data_.sample_class[k]);
  }
  g.predicted = std::move(e.predicted);
  g.probabilities = std::move(e.probabilities);
  g.metrics = compute_metrics(g.truth, g.predicted, data_.assignment.class_names);
  return g;
}

}  // namespace flowpic
