// Model JSON asking for impossible shapes: refused with a one-line error before any allocation.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "support/error_of.hpp"

using namespace flowpic;
using namespace flowpic::nn;

namespace {

std::string error_of(const std::string& layers, Shape input = {1, 1, 32, 32}) {
  auto cpu = make_cpu_backend();
  return flowpic::testing::error_of([&] {
    Model::from_json(json::parse(R"({"layers": )" + layers + "}"), "m.json", {input, 3, 1}, *cpu);
  });
}

}  // namespace

TEST(ModelLimits, HugeLayersAreRefusedBeforeAllocating) {
  // 16M units x 1024 inputs = 2^34 weights.
  std::string e =
      error_of(R"([{"type": "flatten"}, {"type": "dense", "units": 16777216}, {"type": "dense", "units": "classes"}])");
  EXPECT_NE(e.find("layers[1] (dense)"), std::string::npos) << e;
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // in_c * kh * kw would overflow an int: 16M filters of a 4096x4096 kernel on a 4096x4096 input.
  e = error_of(R"([{"type": "conv2d", "filters": 16777216, "kernel_size": 4096}, {"type": "flatten"},
                  {"type": "dense", "units": "classes"}])",
               {1, 1, 4096, 4096});
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
  // A wide output: 65536 filters of 1500x1500.
  e = error_of(R"([{"type": "conv2d", "filters": 65536, "kernel_size": 1, "padding": "same"}, {"type": "flatten"},
                  {"type": "dense", "units": "classes"}])",
               {1, 1, 1500, 1500});
  EXPECT_NE(e.find("the output"), std::string::npos) << e;
  // A pair beyond int range must not wrap around to a small or negative size.
  e = error_of(R"([{"type": "conv2d", "filters": 2, "kernel_size": [4294967297, 1]}, {"type": "flatten"},
                  {"type": "dense", "units": "classes"}])");
  EXPECT_NE(e.find("kernel_size"), std::string::npos) << e;
  e = error_of(R"([{"type": "flatten"}, {"type": "dense", "units": "classes"}])", {1, 65536, 65536, 1});
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
}
