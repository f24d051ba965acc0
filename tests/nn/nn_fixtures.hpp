#pragma once
// Shared pieces of the nn tests: backends by name (GPU cases skip without a device), a toy
// separable problem and a tiny network that must learn it.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/device.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/random.hpp"

namespace flowpic::nn::testing {

// Two classes of 1 x 8 x 8 images: class 0 is brighter on the left half, class 1 on the right,
// both with uniform noise. Linearly separable, but only through the spatial layout.
struct ToyBatch {
  std::vector<float> images;  // N x 1 x 8 x 8
  std::vector<int32_t> labels;
};
inline ToyBatch toy_batch(int n, uint64_t seed) {
  Rng rng(seed, 3);
  ToyBatch b;
  b.images.resize(size_t(n) * 64);
  for (int i = 0; i < n; ++i) {
    int label = int(rng.next_u64() & 1);
    b.labels.push_back(label);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        bool bright = (x < 4) == (label == 0);
        b.images[size_t(i) * 64 + y * 8 + x] = float((bright ? 0.6 : 0.2) + rng.uniform(-0.3, 0.3));
      }
  }
  return b;
}

inline json tiny_net_json() {
  return json::parse(R"({"name": "tiny", "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same"},
    {"type": "relu"},
    {"type": "max_pool2d", "pool_size": 2},
    {"type": "dropout", "rate": 0.1},
    {"type": "flatten"},
    {"type": "dense", "units": 8},
    {"type": "relu"},
    {"type": "dense", "units": "classes"}]})");
}

inline std::unique_ptr<Backend> backend_or_skip(const std::string& name) {
  if (name == "cuda" && !cuda_device_available()) return nullptr;
  if (name == "cuda") {
    CudaOptions o;
    o.allow_tf32 = false;  // full fp32, so CPU and GPU agree to float rounding
    return make_cuda_backend(o);
  }
  return make_backend(name);
}

}  // namespace flowpic::nn::testing

// In a TEST_P over backend names: skips the GPU case without a device.
#define NN_BACKEND_OR_SKIP(var, name)                       \
  auto var = ::flowpic::nn::testing::backend_or_skip(name); \
  if (!var) GTEST_SKIP() << ::flowpic::cuda_device_description();
