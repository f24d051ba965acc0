// The CUDA image augmenter must equal augment_images_cpu bit for bit: every kind alone and mixed
// in one batch, random parameters, 32x32, 64x64 and 1500x1500 images of one and two channels, on
// its own stream and on the caller's (a stream of the test's, the legacy default stream), with
// guard bands around the device batch. GPU cases skip without a device; in the CPU-only build this
// file is empty.
#include <gtest/gtest.h>

#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "common/cuda_check.hpp"
#include "common/cuda_stream.hpp"
#include "common/device_memory.hpp"
#include "kernels/image_augment.hpp"
#include "support/gpu.hpp"

using namespace flowpic;

namespace {

constexpr size_t kGuard = 1024;  // floats of sentinel before and after the device batch
constexpr float kSentinel = -12345.5f;

std::vector<float> random_images(std::mt19937_64& rng, size_t floats) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::uniform_int_distribution<int> coin(0, 19);
  std::vector<float> v(floats);
  for (float& x : v) {
    const int k = coin(rng);
    x = k == 0 ? 0.0f : k == 1 ? 1.0f : u(rng);
  }
  return v;
}

// Random parameters of `kind`, as a training draw might give them (tcbench-like ranges, plus
// the special angles and factors that hit ties and clamping).
ImageAugmentParams random_params(std::mt19937_64& rng, ImageAugmentKind kind) {
  std::uniform_int_distribution<int> coin(0, 9);
  std::uniform_real_distribution<double> angle(-180.0, 180.0);
  std::uniform_real_distribution<float> factor(0.0f, 2.0f), hue(-0.5f, 0.5f);
  ImageAugmentParams p;
  switch (kind) {
    case ImageAugmentKind::kNone: p.brightness = factor(rng); break;  // fields of other kinds are ignored
    case ImageAugmentKind::kHorizontalFlip:
      p.kind = kind;
      p.flip = coin(rng) < 7;
      break;
    case ImageAugmentKind::kRotate: {
      const double special[5] = {0.0, 90.0, -90.0, 180.0, 45.0};
      const int c = coin(rng);
      p = rotation_params(c < 5 ? special[c] : angle(rng));
      if (c == 9) p.cos_a = 0.0, p.sin_a = 1.0;  // exactly 90 degrees: rounding ties
      break;
    }
    case ImageAugmentKind::kColourJitter: {
      p.kind = kind;
      p.brightness = coin(rng) == 0 ? 1.0f : factor(rng);
      p.contrast = coin(rng) == 0 ? 0.0f : factor(rng);
      p.saturation = factor(rng);
      p.hue = hue(rng);
      uint8_t order[4] = {0, 1, 2, 3};
      std::shuffle(order, order + 4, rng);
      std::copy(order, order + 4, p.order);
      break;
    }
  }
  return p;
}

std::vector<ImageAugmentParams> random_batch_params(std::mt19937_64& rng, size_t count) {
  std::uniform_int_distribution<int> kind(0, 3);
  std::vector<ImageAugmentParams> v;
  for (size_t i = 0; i < count; ++i) v.push_back(random_params(rng, static_cast<ImageAugmentKind>(kind(rng))));
  return v;
}

enum class StreamUse { kOwn, kCallerStream, kLegacyDefault };

// Applies each parameter set in `rounds` (one apply() after another, no wait in between, so the
// pinned upload is reused while work is queued) to the same random batch on the CPU and the GPU
// and compares every bit, and the guard bands.
void compare(const std::vector<std::vector<ImageAugmentParams>>& rounds, int channels, int height, int width,
             uint64_t seed, StreamUse use = StreamUse::kOwn) {
  const size_t count = rounds.at(0).size();
  const size_t floats = count * static_cast<size_t>(channels) * height * width;
  std::mt19937_64 rng(seed);
  std::vector<float> cpu = random_images(rng, floats);
  std::vector<float> host(floats + 2 * kGuard, kSentinel);
  std::copy(cpu.begin(), cpu.end(), host.begin() + kGuard);

  std::optional<CudaStream> test_stream;
  ImageBuilderOptions options;
  if (use != StreamUse::kOwn) {
    options.use_caller_stream = true;
    if (use == StreamUse::kCallerStream) {
      test_stream.emplace(CudaStream::Kind::kNonBlocking);
      options.stream = test_stream->get();
    }
  }
  const cudaStream_t stream = options.use_caller_stream ? options.stream : nullptr;
  DeviceBuffer<float> dev;
  dev.upload(host.data(), host.size(), stream);
  CUDA_CHECK(cudaDeviceSynchronize());  // the augmenter may run on a non-blocking stream
  auto aug = make_image_augmenter(BuilderDevice::kGpu, options);
  ASSERT_EQ(aug->device(), BuilderDevice::kGpu);
  for (const auto& params : rounds) {
    ASSERT_EQ(params.size(), count);
    augment_images_cpu(cpu.data(), params.data(), count, channels, height, width);
    std::vector<ImageAugmentParams> scribbled = params;  // the host array may be reused at once
    aug->apply(dev.data() + kGuard, scribbled.data(), count, channels, height, width);
    for (auto& p : scribbled) p = random_params(rng, ImageAugmentKind::kColourJitter);
  }
  aug->synchronize();
  std::vector<float> got(host.size());
  dev.download(got.data(), got.size(), stream);
  CUDA_CHECK(cudaDeviceSynchronize());
  for (size_t k = 0; k < kGuard; ++k) {
    ASSERT_EQ(got[k], kSentinel) << "guard before the batch, float " << k;
    ASSERT_EQ(got[kGuard + floats + k], kSentinel) << "guard after the batch, float " << k;
  }
  const size_t n = floats / count;
  for (size_t b = 0; b < count; ++b) {
    const float* g = got.data() + kGuard + b * n;
    const float* c = cpu.data() + b * n;
    if (std::memcmp(g, c, n * sizeof(float)) != 0) {
      size_t k = 0;
      while (std::memcmp(g + k, c + k, sizeof(float)) == 0) ++k;
      const ImageAugmentParams& p = rounds.back()[b];
      FAIL() << "image " << b << " of " << count << " (" << channels << "x" << height << "x" << width << ", kind "
             << int(p.kind) << " in the last round) differs first at float " << k << ": GPU " << g[k] << ", CPU "
             << c[k];
    }
  }
}

TEST(ImageAugmentGpu, EveryKindAloneEqualsTheCpu) {
  FLOWPIC_REQUIRE_GPU();
  std::mt19937_64 rng(1);
  for (int kind = 0; kind < 4; ++kind) {
    for (int channels : {1, 2}) {
      std::vector<ImageAugmentParams> params;
      for (int i = 0; i < 24; ++i) params.push_back(random_params(rng, static_cast<ImageAugmentKind>(kind)));
      SCOPED_TRACE(::testing::Message() << "kind " << kind << ", " << channels << " channels");
      compare({params}, channels, 32, 32, 10 + kind);
    }
  }
}

TEST(ImageAugmentGpu, MixedBatchesEqualTheCpu) {
  FLOWPIC_REQUIRE_GPU();
  std::mt19937_64 rng(2);
  for (int side : {32, 64}) {
    for (int channels : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << side << "x" << side << ", " << channels << " channels");
      // Three rounds back to back on one augmenter: the second and third reuse its buffers.
      compare({random_batch_params(rng, 128), random_batch_params(rng, 128), random_batch_params(rng, 128)}, channels,
              side, side, 20 + side + channels);
      compare({random_batch_params(rng, 33)}, channels, side, side + 7, 30 + side + channels);  // not square
    }
  }
}

TEST(ImageAugmentGpu, LargeImagesEqualTheCpu) {
  FLOWPIC_REQUIRE_GPU();
  std::mt19937_64 rng(3);
  for (int channels : {1, 2}) {
    SCOPED_TRACE(::testing::Message() << "1500x1500, " << channels << " channels");
    std::vector<ImageAugmentParams> jitters = {random_params(rng, ImageAugmentKind::kColourJitter),
                                               random_params(rng, ImageAugmentKind::kColourJitter)};
    jitters[1].order[0] = 1, jitters[1].order[1] = 0, jitters[1].order[2] = 2, jitters[1].order[3] = 3;
    compare({{rotation_params(17.0), random_params(rng, ImageAugmentKind::kHorizontalFlip)}, jitters}, channels, 1500,
            1500, 40 + channels);
  }
}

TEST(ImageAugmentGpu, OnTheCallersStream) {
  FLOWPIC_REQUIRE_GPU();
  std::mt19937_64 rng(4);
  for (StreamUse use : {StreamUse::kCallerStream, StreamUse::kLegacyDefault}) {
    SCOPED_TRACE(::testing::Message() << (use == StreamUse::kCallerStream ? "a stream of the test's" : "legacy"));
    compare({random_batch_params(rng, 64), random_batch_params(rng, 64)}, 1, 32, 32, 50);
  }
}

TEST(ImageAugmentGpu, NothingToDoAndEmptyBatches) {
  FLOWPIC_REQUIRE_GPU();
  std::vector<ImageAugmentParams> none(5);
  none[2].kind = ImageAugmentKind::kHorizontalFlip;  // flip = false
  none[3].kind = ImageAugmentKind::kColourJitter;    // factors 1 and saturation, hue: no change
  none[3].saturation = 0.2f;
  none[3].hue = 0.3f;
  compare({none}, 2, 32, 32, 60);
  auto aug = make_image_augmenter(BuilderDevice::kGpu);
  aug->apply(nullptr, none.data(), 0, 1, 32, 32);
  aug->synchronize();
}

}  // namespace

#endif  // FLOWPIC_HAVE_CUDA
