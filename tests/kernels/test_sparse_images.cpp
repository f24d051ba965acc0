// FlowPics as their non-zero cells (ImageBuilder::build_sparse): densified, they are exactly the
// dense images, for every transform, resolution, channel layout and warped (augmented) windows;
// the CUDA builder's cells equal the CPU builder's bit for bit (skipped without a device).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/error.hpp"
#include "kernels/augment.hpp"
#include "kernels/image_builder.hpp"
#include "support/error_of.hpp"
#include "support/gpu.hpp"
#include "support/image_reference.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>

#include "common/cuda_check.hpp"
#endif

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

struct HostCells {
  std::vector<int64_t> offsets;
  std::vector<uint32_t> index;
  std::vector<float> value;
};

HostCells to_host(const SparseImages& s, BuilderDevice device) {
  HostCells h;
  h.offsets.resize(s.count + 1);
  h.index.resize(static_cast<size_t>(s.nnz));
  h.value.resize(static_cast<size_t>(s.nnz));
  if (device == BuilderDevice::kCpu) {
    std::copy(s.offsets, s.offsets + s.count + 1, h.offsets.begin());
    std::copy(s.index, s.index + s.nnz, h.index.begin());
    std::copy(s.value, s.value + s.nnz, h.value.begin());
    return h;
  }
#ifdef FLOWPIC_HAVE_CUDA
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(h.offsets.data(), s.offsets, h.offsets.size() * sizeof(int64_t), cudaMemcpyDeviceToHost));
  if (s.nnz) {
    CUDA_CHECK(cudaMemcpy(h.index.data(), s.index, h.index.size() * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h.value.data(), s.value, h.value.size() * sizeof(float), cudaMemcpyDeviceToHost));
  }
#endif
  return h;
}

// Windows of many random sessions at `resolution`, both flow views, some warped by packet
// augmentations, and an empty window.
struct Batch {
  PacketStore store;
  RepresentationConfig rep;
  std::vector<ImageWindow> windows;
};

Batch make_batch(int resolution, const std::string& transform, bool per_direction) {
  Batch b;
  std::mt19937_64 rng(static_cast<uint64_t>(resolution) * 31 + transform.size());
  for (int f = 0; f < 10; ++f) ft::add_flow(b.store, ft::random_flow(rng, 200 + 150 * f, 0.2));
  // A dense flow: thousands of packets in one window (the CPU builder's radix sort, not its comparison sort).
  std::vector<ft::Pkt> dense;
  std::uniform_int_distribution<uint32_t> size(40, 1500), dir(0, 1);
  for (int i = 0; i < 3000; ++i) dense.push_back({i * 0.005, size(rng), static_cast<uint8_t>(dir(rng))});
  ft::add_flow(b.store, dense);
  b.rep = RepresentationConfig::parse(R"({"type": "flowpic", "block_s": 30, "resolution": )" +
                                          std::to_string(resolution) + R"(, "transform": ")" + transform +
                                          R"(", "flow_view": "bidirectional", "channels": ")" +
                                          (per_direction ? "per_direction" : "merged") + "\"}",
                                      "repr.json");
  const SampleIndex idx = build_sample_index(b.store, b.rep);
  for (const Sample& s : idx.samples) b.windows.push_back(s.window);
  // Windows of 1 to 10 packets (the streaming classifier's usual 3 to 10): the first packets of a
  // few windows on the same time axis.
  for (size_t i = 0; i < 4 && i < idx.samples.size(); ++i)
    for (uint64_t k = 1; k <= 10; ++k) {
      ImageWindow w = idx.samples[i].window;
      w.end = std::min(w.end, w.begin + k);
      b.windows.push_back(w);
    }
  AugmentConfig loss;
  loss.type = AugmentType::kPacketLoss;
  loss.loss_window_s = 2;
  AugmentConfig rtt;
  rtt.type = AugmentType::kChangeRtt;
  for (const AugmentConfig* a : {&loss, &rtt}) {
    Augmenter aug(*a, b.store, b.rep, 3);
    for (size_t i = 0; i < idx.samples.size(); i += 3) b.windows.push_back(aug.draw(idx.samples[i], 1).window);
  }
  // At 1500 x 1500 (9 MB a dense image) a dozen windows are enough.
  if (resolution >= 1000 && b.windows.size() > 12) b.windows.erase(b.windows.begin() + 6, b.windows.end() - 6);
  ImageWindow empty = b.windows[0];
  empty.end = empty.begin;
  b.windows.push_back(empty);
  return b;
}

}  // namespace

TEST(SparseImages, DensifiedTheyAreTheDenseImages) {
  for (int resolution : {32, 100, 1500}) {
    for (const char* transform : {"raw", "clip255", "log1p", "max"}) {
      for (bool per_direction : {false, true}) {
        SCOPED_TRACE(std::to_string(resolution) + " " + transform + (per_direction ? " per_direction" : ""));
        Batch b = make_batch(resolution, transform, per_direction);
        uint64_t most = 0;
        for (const ImageWindow& w : b.windows) most = std::max(most, w.end - w.begin);
        if (resolution < 1000) {
          ASSERT_GE(most, 2048u) << "a window for the CPU builder's radix sort";
        }
        auto builder = make_image_builder(b.rep.image_spec(), BuilderDevice::kCpu, host_columns(b.store));
        const size_t floats = builder->image_floats(), n = b.windows.size();
        std::vector<float> dense(n * floats);
        builder->build(b.windows.data(), n, dense.data());
        const HostCells c = to_host(builder->build_sparse(b.windows.data(), n), BuilderDevice::kCpu);
        ASSERT_EQ(c.offsets.front(), 0);
        std::vector<float> densified(n * floats, 0.0f);
        for (size_t i = 0; i < n; ++i) {
          for (int64_t k = c.offsets[i]; k < c.offsets[i + 1]; ++k) {
            ASSERT_LT(c.index[k], floats);
            if (k > c.offsets[i]) {
              ASSERT_LT(c.index[k - 1], c.index[k]) << "cells sorted and unique";
            }
            ASSERT_NE(c.value[k], 0.0f);
            densified[i * floats + c.index[k]] = c.value[k];
          }
        }
        ASSERT_EQ(densified, dense);
        EXPECT_EQ(c.offsets[n - 1], c.offsets[n]) << "the empty window has no cells";
      }
    }
  }
  PacketStore s;
  ft::add_flow(s, {{0.0, 100, 0, 50}});
  auto payload = make_image_builder(PayloadSpec{}, BuilderDevice::kCpu, host_columns(s));
  ImageWindow w;
  w.end = 1;
  EXPECT_NE(ft::error_of([&] { payload->build_sparse(&w, 1); }).find("FlowPics only"), std::string::npos);
}

#ifdef FLOWPIC_HAVE_CUDA
TEST(SparseImagesGpu, CellsEqualTheCpuBuilders) {
  FLOWPIC_REQUIRE_GPU();
  for (int resolution : {32, 1500}) {
    for (const char* transform : {"raw", "clip255", "log1p", "max"}) {
      for (bool per_direction : {false, true}) {
        SCOPED_TRACE(std::to_string(resolution) + " " + transform + (per_direction ? " per_direction" : ""));
        Batch b = make_batch(resolution, transform, per_direction);
        auto cpu = make_image_builder(b.rep.image_spec(), BuilderDevice::kCpu, host_columns(b.store));
        auto gpu = make_image_builder(b.rep.image_spec(), BuilderDevice::kGpu, host_columns(b.store));
        const HostCells c = to_host(cpu->build_sparse(b.windows.data(), b.windows.size()), BuilderDevice::kCpu);
        for (int repeat = 0; repeat < 2; ++repeat) {  // the second call reuses the buffers
          const SparseImages g = gpu->build_sparse(b.windows.data(), b.windows.size());
          EXPECT_EQ(g.nnz, c.offsets.back());
          const HostCells h = to_host(g, BuilderDevice::kGpu);
          ASSERT_EQ(h.offsets, c.offsets);
          ASSERT_EQ(h.index, c.index);
          ASSERT_EQ(h.value, c.value);
        }
        ImageWindow empty = b.windows[0];
        empty.end = empty.begin;
        const SparseImages none = gpu->build_sparse(&empty, 1);
        EXPECT_EQ(none.nnz, 0);
        EXPECT_EQ(to_host(none, BuilderDevice::kGpu).offsets, (std::vector<int64_t>{0, 0}));
      }
    }
  }
}
#endif
