// The trainer's pieces on their own: training batches deal every sample once per pass in a seeded
// order (an epoch is a pass, or a fixed number of full batches that runs on across passes), and
// model selection keeps the best epoch's weights (ties to the lower loss; without a selection
// set, the last epoch). run_once as a whole is tested in test_runner.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "experiments/trainer.hpp"
#include "nn/backend.hpp"

using namespace flowpic;

namespace {

std::vector<size_t> iota(size_t n, size_t from = 100) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

TrainingConfig batching(int batch_size, int batches_per_epoch) {
  TrainingConfig t;
  t.batch_size = batch_size;
  t.batches_per_epoch = batches_per_epoch;
  return t;
}

std::vector<size_t> sorted(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A two-class model over 1 x 4 x 4 inputs, for its parameters.
nn::Model tiny_model(nn::Backend& backend, uint64_t seed) {
  nn::ModelOptions mo;
  mo.input = {1, 1, 4, 4};
  mo.classes = 2;
  mo.seed = seed;
  const json arch =
      json::parse(R"({"name": "tiny", "layers": [{"type": "flatten"}, {"type": "dense", "units": "classes"}]})");
  return nn::Model::from_json(arch, "tiny", mo, backend);
}

std::vector<std::vector<float>> weights(nn::Model& m) {
  std::vector<std::vector<float>> out;
  for (auto& p : m.named_params()) out.push_back(p.param->value.to_host());
  return out;
}

EpochRecord epoch(int n, double val_accuracy, double val_loss) {
  EpochRecord r;
  r.epoch = n;
  r.val_accuracy = val_accuracy;
  r.val_loss = val_loss;
  return r;
}

}  // namespace

TEST(TrainingBatches, AnEpochIsOnePassWithAShortLastBatch) {
  TrainingBatches b(iota(10), batching(4, 0), 7);
  EXPECT_EQ(b.batches_per_epoch(), 3u);
  EXPECT_EQ(b.images_per_epoch(), 10u);
  std::vector<std::vector<size_t>> passes;
  for (int e = 0; e < 2; ++e) {
    std::vector<size_t> pass;
    for (size_t k = 0; k < b.batches_per_epoch(); ++k) {
      std::vector<size_t> ids = b.next();
      EXPECT_EQ(ids.size(), k + 1 < b.batches_per_epoch() ? 4u : 2u);
      pass.insert(pass.end(), ids.begin(), ids.end());
    }
    EXPECT_EQ(sorted(pass), iota(10)) << "every sample once per epoch";
    passes.push_back(pass);
  }
  EXPECT_NE(passes[0], passes[1]) << "reshuffled for the next epoch";

  TrainingBatches again(iota(10), batching(4, 0), 7), other(iota(10), batching(4, 0), 8);
  std::vector<size_t> first = again.next();
  EXPECT_EQ(first, std::vector<size_t>(passes[0].begin(), passes[0].begin() + 4))
      << "the same seed deals the same batches";
  EXPECT_NE(other.next(), first);
}

TEST(TrainingBatches, FixedBatchesPerEpochRunOnAcrossPasses) {
  TrainingBatches b(iota(10), batching(4, 2), 7);
  EXPECT_EQ(b.batches_per_epoch(), 2u);
  EXPECT_EQ(b.images_per_epoch(), 8u);
  std::vector<size_t> dealt;
  for (int k = 0; k < 5; ++k) {  // 2.5 epochs: 20 samples, two whole passes
    std::vector<size_t> ids = b.next();
    EXPECT_EQ(ids.size(), 4u) << "full batches only";
    dealt.insert(dealt.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(sorted({dealt.begin(), dealt.begin() + 10}), iota(10));
  EXPECT_EQ(sorted({dealt.begin() + 10, dealt.end()}), iota(10));
}

TEST(ModelSelection, KeepsTheBestEpochsWeights) {
  auto backend = nn::make_backend("cpu");
  nn::Model m = tiny_model(*backend, 1);
  const auto w1 = weights(m);
  ModelSelection s(true);
  EXPECT_TRUE(s.offer(epoch(1, 0.5, 1.0), m));
  nn::Model other = tiny_model(*backend, 2);  // "training" changes the weights: take another model's
  const auto w2 = weights(other);
  size_t i = 0;
  for (auto& p : m.named_params()) p.param->value.copy_from_host(w2[i++]);
  ASSERT_NE(weights(m), w1);
  EXPECT_FALSE(s.offer(epoch(2, 0.4, 0.5), m)) << "lower accuracy";
  EXPECT_FALSE(s.offer(epoch(3, 0.5, 1.5), m)) << "same accuracy, higher loss";
  EXPECT_EQ(s.best_epoch(), 1);
  EXPECT_EQ(s.epochs_since_best(), 2);
  s.restore_best(m);
  EXPECT_EQ(weights(m), w1);
  EXPECT_TRUE(s.offer(epoch(4, 0.5, 0.9), m)) << "same accuracy, lower loss";
  EXPECT_EQ(s.best_epoch(), 4);
  EXPECT_EQ(s.epochs_since_best(), 0);
}

TEST(ModelSelection, WithoutASelectionSetTheLastEpochIsKept) {
  auto backend = nn::make_backend("cpu");
  nn::Model m = tiny_model(*backend, 1);
  const auto before = weights(m);
  ModelSelection s(false);
  s.restore_best(m);
  EXPECT_EQ(weights(m), before) << "nothing to restore before an epoch";
  for (int e = 1; e <= 3; ++e) EXPECT_TRUE(s.offer(epoch(e, NAN, NAN), m));
  EXPECT_EQ(s.best_epoch(), 3);
}

// Early stopping on the validation loss (tcbench: 5 epochs without a fall of more than 0.001) and
// on the selection score (the default).
TEST(EarlyStoppingTest, ValidationLossRuleAndTheDefault) {
  TrainingConfig t;
  t.patience = 2;
  t.early_stop = "val_loss";
  t.min_delta = 0.001;
  EarlyStopping s(t);
  auto epoch = [](double loss) {
    EpochRecord r;
    r.val_loss = loss;
    return r;
  };
  EXPECT_FALSE(s.should_stop(epoch(1.0), false));    // the first epoch improves on nothing
  EXPECT_FALSE(s.should_stop(epoch(0.9995), true));  // a fall of 0.0005: not an improvement
  EXPECT_EQ(s.epochs_without_improvement(), 1);
  EXPECT_FALSE(s.should_stop(epoch(0.998), false));  // 0.002 below the best (1.0): improvement
  EXPECT_EQ(s.epochs_without_improvement(), 0);
  EXPECT_FALSE(s.should_stop(epoch(0.9975), true));       // the best is 0.998 now: not enough
  EXPECT_TRUE(s.should_stop(epoch(std::nan("")), true));  // NaN never improves: 2 epochs, stop
  TrainingConfig d;                                       // the default: what ModelSelection keeps
  d.patience = 2;
  EarlyStopping def(d);
  EXPECT_FALSE(def.should_stop(epoch(1.0), true));
  EXPECT_FALSE(def.should_stop(epoch(0.1), false));
  EXPECT_TRUE(def.should_stop(epoch(0.01), false));
  d.patience = 0;  // off
  EarlyStopping off(d);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(off.should_stop(epoch(1.0), false));
}
