// CPU and GPU builders must agree exactly (FlowPic counts are integers; grey levels are one
// IEEE-rounded division on both sides). GPU cases skip without a device; in the CPU-only build
// this file is empty.
#include <gtest/gtest.h>

#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>

#include <random>

#include "common/cuda_check.hpp"
#include "common/cuda_stream.hpp"
#include "kernels/device_packets.hpp"
#include "kernels/flowpic_gpu.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "kernels/payload_image_gpu.hpp"
#include "kernels/sample_index.hpp"
#include "support/gpu.hpp"
#include "support/image_reference.hpp"
#include "support/tolerance.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

// A device batch with sentinel guard bands, filled from a host GuardedBatch image.
struct DeviceGuardedBatch {
  ft::GuardedBatch host;
  DeviceBuffer<float> dev;
  DeviceGuardedBatch(size_t n, size_t floats) : host(n, floats) {
    dev.upload(host.buf.data(), host.buf.size());
    CUDA_CHECK(cudaDeviceSynchronize());  // the builders run on a non-blocking stream
  }
  float* data() { return dev.data() + ft::GuardedBatch::kGuard; }
  void fetch(cudaStream_t s) {
    dev.download(host.buf.data(), host.buf.size(), s);
    CUDA_CHECK(cudaStreamSynchronize(s));
  }
};

PacketStore random_store(uint64_t seed, int flows) {
  std::mt19937_64 rng(seed);
  PacketStore s;
  for (int f = 0; f < flows; ++f) ft::add_flow(s, ft::random_flow(rng, 20 + 131 * f, 0.3 + 0.1 * f));
  ft::add_flow(s, {});
  ft::add_flow(s, {{3.0, 80}, {3.0, 90, 1}, {3.0, 1500}, {3.0, 1501}});  // span = 0, oversize
  return s;
}

std::vector<ImageWindow> index_windows(const PacketStore& s, const std::string& json_text) {
  auto idx = build_sample_index(s, RepresentationConfig::parse(json_text, "test"));
  auto w = idx.windows();
  ImageWindow empty;  // plus an empty window
  empty.begin = empty.end = s.offsets[1];
  empty.duration = 60;
  w.push_back(empty);
  return w;
}

void compare_flowpic(const PacketStore& s, const FlowPicSpec& spec, const std::vector<ImageWindow>& w) {
  const size_t n = spec.image_floats();
  std::vector<float> cpu(w.size() * n);
  build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), cpu.data());
  CudaStream stream;
  DevicePackets dp(host_columns(s), stream.get());
  FlowPicBuilderGpu builder(spec);
  DeviceGuardedBatch gpu(w.size(), n);
  builder.build(dp.columns(), w.data(), w.size(), gpu.data(), stream.get());
  // A second batch through the same builder (workspace reuse), in reverse order.
  std::vector<ImageWindow> rev(w.rbegin(), w.rend());
  DeviceGuardedBatch gpu2(rev.size(), n);
  builder.build(dp.columns(), rev.data(), rev.size(), gpu2.data(), stream.get());
  gpu.fetch(stream.get());
  gpu2.fetch(stream.get());
  ASSERT_TRUE(gpu.host.intact());
  ASSERT_TRUE(gpu2.host.intact());
  for (size_t i = 0; i < w.size(); ++i) {
    std::vector<float> c(cpu.begin() + i * n, cpu.begin() + (i + 1) * n);
    if (spec.transform == PixelTransform::kLog1p) {
      // CUDA's double log1p is within 1 ulp of glibc's; after rounding to float they agree to 1 float ulp.
      ASSERT_TRUE(ft::all_close(gpu.host.image(i), c, 1e-30, 1.2e-7, "log1p")) << "window " << i;
    } else {
      ASSERT_EQ(gpu.host.image(i), c) << "window " << i << " R=" << spec.resolution;
      ASSERT_EQ(gpu2.host.image(w.size() - 1 - i), c) << "window " << i << " (second batch)";
    }
  }
}

}  // namespace

class FlowPicGpu : public ::testing::TestWithParam<std::tuple<int, PixelTransform, bool>> {};

TEST_P(FlowPicGpu, EqualsTheCpuBuilderExactly) {
  FLOWPIC_REQUIRE_GPU();
  auto [R, transform, per_direction] = GetParam();
  PacketStore s = random_store(4242 + R, R >= 1000 ? 4 : 14);
  FlowPicSpec spec;
  spec.resolution = R;
  spec.transform = transform;
  spec.per_direction = per_direction;
  const char* view = per_direction ? R"("flow_view": "bidirectional", "channels": "per_direction")"
                                   : R"("flow_view": "unidirectional")";
  std::string base = std::string(R"({"type": "flowpic", "packets_more_than": 0, )") + view;
  compare_flowpic(s, spec, index_windows(s, base + "}"));
  compare_flowpic(s, spec, index_windows(s, base + R"(, "time_axis": "span", "block_s": 15})"));
}

INSTANTIATE_TEST_SUITE_P(Resolutions, FlowPicGpu,
                         ::testing::Combine(::testing::Values(8, 32, 64, 100, 111, 181,
                                                              1500),  // 100: shared memory; 111+: sort/atomics
                                            ::testing::Values(PixelTransform::kRaw, PixelTransform::kClip255,
                                                              PixelTransform::kLog1p, PixelTransform::kMax),
                                            ::testing::Bool()));

TEST(FlowPicGpuEdges, EmptyBatchesAndAllEmptyWindows) {
  FLOWPIC_REQUIRE_GPU();
  PacketStore s = random_store(1, 2);
  CudaStream stream;
  DevicePackets dp(host_columns(s), stream.get());
  for (int R : {32, 1500}) {
    for (auto tr : {PixelTransform::kRaw, PixelTransform::kMax}) {
      FlowPicSpec spec;
      spec.resolution = R;
      spec.transform = tr;
      FlowPicBuilderGpu b(spec);
      b.build(dp.columns(), nullptr, 0, nullptr, stream.get());  // nothing queued
      std::vector<ImageWindow> w(3);
      for (auto& x : w) x.duration = 60;
      DeviceGuardedBatch out(w.size(), spec.image_floats());
      b.build(dp.columns(), w.data(), w.size(), out.data(), stream.get());
      out.fetch(stream.get());
      ASSERT_TRUE(out.host.intact());
      for (size_t i = 0; i < w.size(); ++i)
        for (float v : out.host.image(i)) ASSERT_EQ(v, 0.0f);
    }
  }
}

TEST(PayloadImageGpu, EqualsTheCpuBuilderExactly) {
  FLOWPIC_REQUIRE_GPU();
  PacketStore s = random_store(77, 30);
  CudaStream stream;
  DevicePackets dp(host_columns(s), stream.get());
  for (const char* variant : {"grey", "signed", "two_channel"}) {
    for (int side : {28, 5, 1}) {
      auto cfg = RepresentationConfig::parse(
          std::string(R"({"type": "payload_image", "subflows": "all", "min_sizes": 1, "variant": ")") + variant +
              R"(", "side": )" + std::to_string(side) + "}",
          "test");
      auto w = build_sample_index(s, cfg).windows();
      ImageWindow whole;  // a window over a whole store flow with zero-payload packets inside
      whole.begin = s.offsets[3];
      whole.end = s.offsets[4];
      w.push_back(whole);
      const PayloadSpec& spec = cfg.payload.image;
      std::vector<float> cpu(w.size() * spec.image_floats());
      build_payload_image_cpu(host_columns(s), spec, w.data(), w.size(), cpu.data());
      PayloadImageBuilderGpu b(spec);
      DeviceGuardedBatch gpu(w.size(), spec.image_floats());
      b.build(dp.columns(), w.data(), w.size(), gpu.data(), stream.get());
      gpu.fetch(stream.get());
      ASSERT_TRUE(gpu.host.intact());
      std::vector<float> got(gpu.host.buf.begin() + ft::GuardedBatch::kGuard,
                             gpu.host.buf.end() - ft::GuardedBatch::kGuard);
      ASSERT_EQ(got, cpu) << variant << " side " << side;
    }
  }
}

#endif  // FLOWPIC_HAVE_CUDA
