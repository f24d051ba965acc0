// The image-builder front end (kernels/image_builder.hpp): the CPU builder it makes gives the same
// bits as calling build_flowpic_cpu / build_payload_image_cpu directly; the CUDA builder it makes
// equals the CPU one bit for bit (GPU cases skip without a device); asking for the GPU where
// there is none is a one-line error.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/image_builder.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "kernels/sample_index.hpp"
#include "support/error_of.hpp"
#include "support/gpu.hpp"
#include "support/image_reference.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/cuda_stream.hpp"
#include "common/device_memory.hpp"
#endif

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

PacketStore random_store(uint64_t seed, int flows) {
  std::mt19937_64 rng(seed);
  PacketStore s;
  for (int f = 0; f < flows; ++f) ft::add_flow(s, ft::random_flow(rng, 20 + 97 * f, 0.3 + 0.1 * f));
  ft::add_flow(s, {});
  ft::add_flow(s, {{3.0, 80}, {3.0, 90, 1}, {3.0, 1500}, {3.0, 1501}});  // span = 0, oversize
  return s;
}

std::vector<ImageWindow> windows_of(const PacketStore& s, const std::string& json_text) {
  std::vector<ImageWindow> w = build_sample_index(s, RepresentationConfig::parse(json_text, "test")).windows();
  ImageWindow empty;  // plus an empty window
  empty.begin = empty.end = s.offsets[1];
  empty.duration = 60;
  w.push_back(empty);
  return w;
}

std::string flowpic_config(bool per_direction) {
  return std::string(R"({"type": "flowpic", "packets_more_than": 0, "time_axis": "span", "block_s": 15, )") +
         (per_direction ? R"("flow_view": "bidirectional", "channels": "per_direction"})"
                        : R"("flow_view": "unidirectional"})");
}

// The windows of a FlowPic spec; at R = 1500 (9 MB an image) the first few and the empty one.
std::vector<ImageWindow> flowpic_windows(const PacketStore& s, const FlowPicSpec& spec) {
  std::vector<ImageWindow> w = windows_of(s, flowpic_config(spec.per_direction));
  if (spec.resolution >= 1000 && w.size() > 6) {
    w[5] = w.back();
    w.resize(6);
  }
  return w;
}

std::vector<FlowPicSpec> flowpic_specs() {
  std::vector<FlowPicSpec> v;
  for (int R : {32, 100, 181, 1500})  // shared memory (GPU) / dense (CPU) up to 100; 181: CPU sparse path
    for (PixelTransform t : {PixelTransform::kRaw, PixelTransform::kClip255, PixelTransform::kMax})
      for (bool per_direction : {false, true}) {
        if (R == 1500 && t != PixelTransform::kRaw) continue;  // keep the test short
        FlowPicSpec spec;
        spec.resolution = R;
        spec.transform = t;
        spec.per_direction = per_direction;
        v.push_back(spec);
      }
  return v;
}

std::vector<PayloadSpec> payload_specs() {
  std::vector<PayloadSpec> v;
  for (PayloadVariant variant : {PayloadVariant::kGrey, PayloadVariant::kSigned, PayloadVariant::kTwoChannel})
    for (int side : {28, 5, 1}) {
      PayloadSpec spec;
      spec.side = side;
      spec.variant = variant;
      v.push_back(spec);
    }
  return v;
}

std::vector<ImageWindow> payload_windows(const PacketStore& s, int side) {
  std::vector<ImageWindow> w = windows_of(
      s, R"({"type": "payload_image", "subflows": "all", "min_sizes": 1, "side": )" + std::to_string(side) + "}");
  ImageWindow whole;  // a whole session, zero-payload packets inside
  whole.begin = s.offsets[3];
  whole.end = s.offsets[4];
  w.push_back(whole);
  return w;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The images of `w` through a front-end builder's build() (host memory for the CPU builder,
// device memory copied back for the CUDA one), checked for writes outside the batch.
std::vector<float> build_through(ImageBuilder& b, const std::vector<ImageWindow>& w) {
  const size_t n = b.image_floats();
  ft::GuardedBatch out(w.size(), n);
  if (b.device() == BuilderDevice::kCpu) {
    b.build(w.data(), w.size(), out.data());
  } else {
#ifdef FLOWPIC_HAVE_CUDA
    DeviceBuffer<float> dev;
    dev.upload(out.buf.data(), out.buf.size());
    CUDA_CHECK(cudaDeviceSynchronize());  // the builder may run on a non-blocking stream
    b.build(w.data(), w.size(), dev.data() + ft::GuardedBatch::kGuard);
    b.synchronize();
    dev.download(out.buf.data(), out.buf.size());
    CUDA_CHECK(cudaDeviceSynchronize());
#else
    ADD_FAILURE() << "a GPU builder in a CPU-only build";
#endif
  }
  EXPECT_TRUE(out.intact());
  return std::vector<float>(out.buf.begin() + ft::GuardedBatch::kGuard, out.buf.end() - ft::GuardedBatch::kGuard);
}

std::vector<float> build_host_through(ImageBuilder& b, const std::vector<ImageWindow>& w) {
  std::vector<float> out(w.size() * b.image_floats(), -1.0f);
  b.build_host(w.data(), w.size(), out.data());
  return out;
}

}  // namespace

TEST(ImageBuilderFrontEnd, CpuFlowPicIsTheDirectCpuBuilderBitForBit) {
  PacketStore s = random_store(17, 6);
  for (const FlowPicSpec& spec : flowpic_specs()) {
    const std::vector<ImageWindow> w = flowpic_windows(s, spec);
    std::vector<float> direct(w.size() * spec.image_floats());
    build_flowpic_cpu(host_columns(s), spec, w.data(), w.size(), direct.data());
    for (int threads : {0, 1, 2}) {
      if (spec.resolution >= 1000 && threads > 0) continue;  // keep the test short
      ImageBuilderOptions opt;
      opt.threads = threads;
      auto b = make_image_builder(spec, BuilderDevice::kCpu, host_columns(s), opt);
      ASSERT_EQ(b->device(), BuilderDevice::kCpu);
      ASSERT_EQ(b->image_floats(), spec.image_floats());
      ASSERT_TRUE(same_bits(build_through(*b, w), direct)) << "R=" << spec.resolution << " threads " << threads;
      ASSERT_TRUE(same_bits(build_host_through(*b, w), direct)) << "R=" << spec.resolution << " build_host";
    }
  }
}

TEST(ImageBuilderFrontEnd, CpuPayloadImageIsTheDirectCpuBuilderBitForBit) {
  PacketStore s = random_store(23, 20);
  for (const PayloadSpec& spec : payload_specs()) {
    const std::vector<ImageWindow> w = payload_windows(s, spec.side);
    std::vector<float> direct(w.size() * spec.image_floats());
    build_payload_image_cpu(host_columns(s), spec, w.data(), w.size(), direct.data());
    auto b = make_image_builder(spec, BuilderDevice::kCpu, host_columns(s));
    ASSERT_EQ(b->image_floats(), spec.image_floats());
    ASSERT_TRUE(same_bits(build_through(*b, w), direct)) << "side " << spec.side;
    ASSERT_TRUE(same_bits(build_host_through(*b, w), direct)) << "side " << spec.side << " build_host";
  }
}

TEST(ImageBuilderFrontEnd, TheRepresentationsImageSpecPicksTheBuilder) {
  PacketStore s = random_store(5, 4);
  auto flowpic = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 32})", "test");
  auto payload = RepresentationConfig::parse(R"({"type": "payload_image", "side": 5})", "test");
  auto a = make_image_builder(flowpic.image_spec(), BuilderDevice::kCpu, host_columns(s));
  auto b = make_image_builder(payload.image_spec(), BuilderDevice::kCpu, host_columns(s));
  EXPECT_TRUE(std::holds_alternative<FlowPicSpec>(a->spec()));
  EXPECT_TRUE(std::holds_alternative<PayloadSpec>(b->spec()));
  EXPECT_EQ(a->image_floats(), flowpic.image_floats());
  EXPECT_EQ(b->image_floats(), payload.image_floats());
  EXPECT_EQ(a->describe(), "CPU, OpenMP's default threads");
}

TEST(ImageBuilderFrontEnd, DeviceNames) {
  EXPECT_EQ(parse_builder_device("auto"), BuilderDevice::kAuto);
  EXPECT_EQ(parse_builder_device("cpu"), BuilderDevice::kCpu);
  EXPECT_EQ(parse_builder_device("gpu"), BuilderDevice::kGpu);
  EXPECT_FALSE(parse_builder_device("cuda").has_value());
  EXPECT_FALSE(parse_builder_device("").has_value());
  for (BuilderDevice d : {BuilderDevice::kAuto, BuilderDevice::kCpu, BuilderDevice::kGpu})
    EXPECT_EQ(parse_builder_device(builder_device_name(d)), d);
}

TEST(ImageBuilderFrontEnd, AutoIsTheGpuExactlyWhenOneIsUsable) {
  PacketStore s = random_store(3, 2);
  FlowPicSpec spec;
  spec.resolution = 32;
  auto b = make_image_builder(spec, BuilderDevice::kAuto, host_columns(s));
  EXPECT_EQ(b->device(), cuda_device_available() ? BuilderDevice::kGpu : BuilderDevice::kCpu);
}

TEST(ImageBuilderFrontEnd, AskingForAGpuWithoutOneIsAOneLineError) {
  if (cuda_device_available()) GTEST_SKIP() << "a GPU is usable here";
  PacketStore s = random_store(3, 2);
  FlowPicSpec spec;
  const std::string e = ft::error_of([&] { make_image_builder(spec, BuilderDevice::kGpu, host_columns(s)); });
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
#ifdef FLOWPIC_HAVE_CUDA
  EXPECT_NE(e.find("needs a usable CUDA device"), std::string::npos) << e;
#else
  EXPECT_EQ(e,
            "building images on the GPU needs a CUDA build (configure with FLOWPIC_CUDA=ON); this is a CPU-only build");
#endif
}

// The GPU cases: the CUDA builder the front end makes, on its own stream, on the caller's stream
// and on the legacy default stream (ImageBatcher's), equals the CPU front end bit for bit.
TEST(ImageBuilderFrontEndGpu, FlowPicCountsEqualTheCpuFrontEnd) {
  FLOWPIC_REQUIRE_GPU();
#ifdef FLOWPIC_HAVE_CUDA
  PacketStore s = random_store(4242, 6);
  CudaStream caller;
  for (const FlowPicSpec& spec : flowpic_specs()) {
    const std::vector<ImageWindow> w = flowpic_windows(s, spec);
    auto cpu = make_image_builder(spec, BuilderDevice::kCpu, host_columns(s));
    const std::vector<float> want = build_through(*cpu, w);
    for (int stream = 0; stream < 3; ++stream) {
      ImageBuilderOptions opt;
      opt.use_caller_stream = stream > 0;
      opt.stream = stream == 1 ? caller.get() : nullptr;
      auto gpu = make_image_builder(spec, BuilderDevice::kGpu, host_columns(s), opt);
      ASSERT_EQ(gpu->device(), BuilderDevice::kGpu);
      ASSERT_TRUE(same_bits(build_through(*gpu, w), want)) << "R=" << spec.resolution << " stream " << stream;
      ASSERT_TRUE(same_bits(build_host_through(*gpu, w), want)) << "R=" << spec.resolution << " build_host";
      // Again through the same builder (workspace reuse), a shorter batch.
      const std::vector<ImageWindow> head(w.begin(), w.begin() + w.size() / 2);
      const std::vector<float> want_head(want.begin(), want.begin() + head.size() * spec.image_floats());
      ASSERT_TRUE(same_bits(build_host_through(*gpu, head), want_head)) << "R=" << spec.resolution << " second";
    }
  }
#endif
}

TEST(ImageBuilderFrontEndGpu, PayloadImagesEqualTheCpuFrontEnd) {
  FLOWPIC_REQUIRE_GPU();
  PacketStore s = random_store(77, 30);
  for (const PayloadSpec& spec : payload_specs()) {
    const std::vector<ImageWindow> w = payload_windows(s, spec.side);
    auto cpu = make_image_builder(spec, BuilderDevice::kCpu, host_columns(s));
    auto gpu = make_image_builder(spec, BuilderDevice::kGpu, host_columns(s));
    const std::vector<float> want = build_through(*cpu, w);
    ASSERT_TRUE(same_bits(build_through(*gpu, w), want)) << "side " << spec.side;
    ASSERT_TRUE(same_bits(build_host_through(*gpu, w), want)) << "side " << spec.side << " build_host";
  }
}

// set_packets: a builder pointed at other packet columns builds (dense and sparse) what a builder
// made over them builds, on either device; the streaming classifier keeps one builder this way.
TEST(ImageBuilderFrontEnd, SetPacketsBuildsFromTheNewColumns) {
  const PacketStore a = random_store(5, 4), b = random_store(6, 7);
  FlowPicSpec spec;
  spec.resolution = 32;
  spec.transform = PixelTransform::kClip255;
  const std::vector<ImageWindow> wb = flowpic_windows(b, spec);
  auto fresh = make_image_builder(spec, BuilderDevice::kCpu, host_columns(b));
  const std::vector<float> want = build_host_through(*fresh, wb);
  const SparseImages cells = fresh->build_sparse(wb.data(), wb.size());
  const std::vector<uint32_t> want_index(cells.index, cells.index + cells.nnz);
  for (BuilderDevice device : {BuilderDevice::kCpu, BuilderDevice::kGpu}) {
    if (device == BuilderDevice::kGpu && !cuda_device_available()) continue;
    auto builder = make_image_builder(spec, device, host_columns(a));
    const std::vector<ImageWindow> wa = flowpic_windows(a, spec);
    build_host_through(*builder, wa);  // its buffers sized for the first columns
    builder->set_packets(host_columns(b));
    ASSERT_TRUE(same_bits(build_host_through(*builder, wb), want)) << builder_device_name(device);
    if (device == BuilderDevice::kCpu) {
      const SparseImages got = builder->build_sparse(wb.data(), wb.size());
      ASSERT_EQ(got.nnz, cells.nnz);
      EXPECT_EQ(std::vector<uint32_t>(got.index, got.index + got.nnz), want_index);
    }
  }
}
