// Configs typed by hand: impossible shapes and odd --set values give one-line errors up front.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "experiments/config.hpp"
#include "kernels/sample_index.hpp"
#include "support/error_of.hpp"

using namespace flowpic;

namespace {

const char* kBase = R"({
  "name": "t",
  "dataset": {"source": "synthetic"},
  "representation": {"type": "flowpic", "resolution": 1500},
  "model": "configs/models/lenet5.json",
  "task": {"type": "category", "encapsulation": "VPN"}
})";

std::string error_of(const std::vector<std::string>& sets) {
  return flowpic::testing::error_of([&] {
    json j = parse_json(kBase, "x.json");
    for (const auto& s : sets) apply_override(j, s, "x.json");
    parse_experiment(j, "x.json");
  });
}

}  // namespace

TEST(HostileConfig, BatchTimesImageSizeIsBounded) {
  EXPECT_EQ(error_of({"training.batch_size=128"}), "(no error)") << "the paper's setting fits";
  std::string e = error_of({"training.batch_size=65536"});
  EXPECT_NE(e.find("x.json: training.batch_size: 65536 images of 1x1500x1500"), std::string::npos) << e;
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
  e = error_of({"representation.resolution=100000"});
  EXPECT_NE(e.find("representation.resolution"), std::string::npos) << e;
  e = error_of({"representation={\"type\": \"payload_image\", \"side\": 1000000}"});
  EXPECT_NE(e.find("representation.side"), std::string::npos) << e;
}

// Fuzz finding (fuzz_config): a value quoted in an error ("variant": "/two_ch\nnel") split the
// message over two lines; fail() now escapes control characters in every message.
TEST(HostileConfig, QuotedValuesStayOnOneLine) {
  const std::string path = std::string(FLOWPIC_TEST_DATA_DIR) + "/fuzz/config_newline_in_value.json";
  json j = load_json_file(path);
  std::string e;
  try {
    RepresentationConfig::from_json(j, {path, ""});  // the input is a representation object
  } catch (const Error& err) {
    e = err.what();
  }
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  try {
    RepresentationConfig::from_json(json{{"type", "payload_image"}, {"variant", "a\nb"}}, {"r.json", ""});
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("\"a\\nb\""), std::string::npos) << err.what();
  }
}

TEST(HostileConfig, SetValuesStayOnOneLineAndValid) {
  std::string e = error_of({"no equals sign\nsecond line"});
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_NE(e.find("no equals sign\\nsecond line"), std::string::npos) << e;
  // A value that is not UTF-8 would make the results file unwritable at the end of the run.
  e = error_of({"description=\xff\xfe"});
  EXPECT_NE(e.find("not valid UTF-8"), std::string::npos) << e;
  e = error_of({"training.epochs=1e999"});  // fuzz finding: json::out_of_range escaped apply_override
  EXPECT_NE(e.find("training.epochs: expected an integer"), std::string::npos) << e;
  e = error_of({"training.epochs=18446744073709551615"});
  EXPECT_NE(e.find("training.epochs"), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
}
