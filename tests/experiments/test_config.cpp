#include <gtest/gtest.h>

#include "common/error.hpp"
#include "experiments/config.hpp"
#include "support/error_of.hpp"

using namespace flowpic;

namespace {

const char* kMinimal = R"({
  "name": "t",
  "dataset": {"source": "synthetic"},
  "representation": {"type": "flowpic", "resolution": 32},
  "model": "configs/models/lenet5.json",
  "task": {"type": "category", "encapsulation": "VPN"}
})";

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  return flowpic::testing::error_of([&] {
    json j = parse_json(text, "x.json");
    for (const auto& s : sets) apply_override(j, s, "x.json");
    parse_experiment(j, "x.json");
  });
}

}  // namespace

TEST(ExperimentConfig, DefaultsAreResolved) {
  ExperimentConfig c = parse_experiment(parse_json(kMinimal, "x.json"), "x.json");
  EXPECT_EQ(c.dataset.source, "synthetic");
  EXPECT_EQ(c.training.epochs, 40);
  EXPECT_EQ(c.training.batch_size, 128);
  EXPECT_TRUE(c.training.split_by_flow);
  EXPECT_EQ(c.task.categories.size(), 4u) << "VPN: no browsing";
  EXPECT_EQ(c.resolved["training"]["selection"], "validation");
  EXPECT_EQ(c.resolved["task"]["encapsulation"], "VPN");
  EXPECT_EQ(c.resolved["optimizer"]["type"], "adam");
  EXPECT_EQ(c.resolved["device"], "auto");
}

TEST(ExperimentConfig, OverridesAreAppliedThenValidated) {
  json j = parse_json(kMinimal, "x.json");
  apply_override(j, "training.epochs=3", "cli");
  apply_override(j, "device=cpu", "cli");
  apply_override(j, "representation.resolution=64", "cli");
  apply_override(j, "task.categories=[\"VoIP\",\"Chat\"]", "cli");
  ExperimentConfig c = parse_experiment(j, "x.json");
  EXPECT_EQ(c.training.epochs, 3);
  EXPECT_EQ(c.device, "cpu");
  EXPECT_EQ(c.representation["resolution"], 64);
  EXPECT_EQ(c.task.categories, (std::vector<std::string>{"VoIP", "Chat"}));
  EXPECT_NE(error_of(kMinimal, {"training.epoch=3"}).find("x.json: training.epoch: unknown key; allowed here: epochs"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.epochs"}).find("should look like key.path=value"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"name.x=1"}).find("is not an object"), std::string::npos);
}

TEST(ExperimentConfig, ErrorsNameTheKey) {
  EXPECT_NE(error_of(R"({"name": "t"})").find("x.json: dataset: required key is missing"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"device=gpu"}).find("device: 'gpu' is not a device; allowed: auto, cpu, cuda"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.epochs=0"}).find("training.epochs: 0 is outside 1.."), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.epochs=2.5"}).find("training.epochs: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.split=session"}).find("'session' is not a split"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.test_fraction=0.95"}).find("together below 1"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"dataset.source=store"}).find("dataset.store: name the packet store to read"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"dataset.synthetic.preset=huge"}).find("'huge' is not a preset"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"name=a b"}).find("name: 'a b' must be"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"extra=1"}).find("x.json: extra: unknown key"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"training.selection=validation", "training.validation_fraction=0"})
                .find("needs validation_fraction > 0"),
            std::string::npos);
}
