#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/error.hpp"
#include "experiments/results.hpp"
#include "nn/backend.hpp"
#include "nn/weights.hpp"
#include "support/deadline.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using flowpic::testing::TempDir;

TEST(Results, EveryFieldRoundTrips) {
  TempDir dir;
  RunResult r;
  r.experiment = "vpn_category";
  r.run = "seed1";
  r.config = {{"name", "vpn_category"}, {"training", {{"epochs", 2}}}};
  r.provenance = base_provenance("run_experiment configs/vpn_category.json");
  r.samples = {{"train", {{"VoIP", 10}}}};
  r.class_names = {"VoIP", "Video"};
  r.history = {{1, 0.7, 0.5, 0.6, 0.55, 1.5, 100}, {2, 0.4, 0.8, NAN, NAN, 1.4, 110}};
  r.best_epoch = 2;
  r.selection = "validation";
  r.data_source = "synthetic";
  r.timings = {{"train", 2.9}, {"total", 3.5}};
  GroupPredictions g;
  g.name = "test";
  g.flow = {3, 4, 5};
  g.direction = {0, 1, 0};
  g.window_start = {0, 60, 0};
  g.truth = {0, 1, 1};
  g.predicted = {0, 1, 0};
  g.probabilities = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f};
  g.metrics = compute_metrics(g.truth, g.predicted, r.class_names);
  r.groups.push_back(g);
  std::string path = dir.file("results/vpn_category/seed1.h5");
  bool weights_called = false;
  write_result(path, r, [&](hid_t f) {
    weights_called = true;
    h5::write<float>(f, "/weights/00_dense/kernel", {1, 2});
  });
  EXPECT_TRUE(weights_called);

  RunResult b = read_result(path);
  EXPECT_EQ(b.experiment, r.experiment);
  EXPECT_EQ(b.run, r.run);
  EXPECT_EQ(b.config, r.config);
  EXPECT_EQ(b.provenance["command"], "run_experiment configs/vpn_category.json");
  EXPECT_EQ(b.samples, r.samples);
  EXPECT_EQ(b.class_names, r.class_names);
  ASSERT_EQ(b.history.size(), 2u);
  EXPECT_EQ(b.history[1].epoch, 2);
  EXPECT_DOUBLE_EQ(b.history[0].val_accuracy, 0.55);
  EXPECT_TRUE(std::isnan(b.history[1].val_loss));
  EXPECT_EQ(b.best_epoch, 2);
  EXPECT_EQ(b.selection, "validation");
  EXPECT_EQ(b.data_source, "synthetic");
  EXPECT_DOUBLE_EQ(b.timings["total"], 3.5);
  ASSERT_EQ(b.groups.size(), 1u);
  EXPECT_EQ(b.groups[0].flow, g.flow);
  EXPECT_EQ(b.groups[0].direction, g.direction);
  EXPECT_EQ(b.groups[0].window_start, g.window_start);
  EXPECT_EQ(b.groups[0].predicted, g.predicted);
  EXPECT_EQ(b.groups[0].probabilities, g.probabilities);
  EXPECT_DOUBLE_EQ(b.groups[0].metrics.accuracy, 2.0 / 3.0);
  // Only the final file is left in the folder.
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.file("results/vpn_category"))) ++files, (void)e;
  EXPECT_EQ(files, 1u);
}

TEST(Results, DamagedOrForeignFilesAreRefused) {
  TempDir dir;
  std::ofstream(dir.file("x.h5")) << "garbage";
  EXPECT_THROW(read_result(dir.file("x.h5")), Error);
  { h5::Id f = h5::create_file(dir.file("y.h5")); }
  try {
    read_result(dir.file("y.h5"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a flowpic result file"), std::string::npos) << e.what();
  }
}

TEST(Results, OlderFormatVersionsAreRefusedWithWhatToDo) {
  TempDir dir;
  const std::string path = dir.file("old.h5");
  {
    h5::Id f = h5::create_file(path);
    h5::set_attr(f, "format", "flowpic-result");
    h5::set_attr(f, "format_version", int64_t{kResultFormatVersion - 1});
  }
  try {
    read_result(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("older flowpic"), std::string::npos) << e.what();
  }
}

// fuzz_result input: a damaged global heap (a variable-length string of result format 1) made
// libhdf5 1.10.8 loop forever in H5HG_read. It is now refused before the heap is read; the replay
// runs in a child with a deadline so a regression fails instead of hanging the suite.
TEST(FuzzRegressions, ResultWithADamagedGlobalHeapIsRefusedQuickly) {
  const std::string path = std::string(FLOWPIC_TEST_DATA_DIR) + "/fuzz/result_global_heap_hang.h5";
  std::string outcomes;
  for (auto read : std::vector<std::function<void()>>{[&] { read_result(path); },
                                                      [&] {
                                                        auto backend = nn::make_cpu_backend();
                                                        nn::load_model(path, *backend);
                                                      }}) {
    std::string outcome = flowpic::testing::outcome_in_child(read, 30);
    EXPECT_EQ(outcome.rfind("error: ", 0), 0u) << outcome;
    outcomes += outcome + "\n";
  }
  // The file is a fuzzed weights file: read_result stops at its missing result attributes,
  // load_model at the variable-length string that used to hang.
  EXPECT_NE(outcomes.find("variable-length string"), std::string::npos) << outcomes;
}
