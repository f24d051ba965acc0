#include "kernels/image_augment.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/device.hpp"
#include "common/error.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/cuda_stream.hpp"
#include "kernels/image_augment_gpu.hpp"
#endif

namespace flowpic {

namespace {

// At most 2^23 floats an image: the fixed-point sums of the contrast mean are exact (2^23 pixels
// of at most 2^40 each fit 63 bits), and every index inside an image fits 32 bits.
constexpr uint64_t kMaxImageFloats = uint64_t{1} << 23;

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

// One image in place, by the rules of kernels/image_augment_math.hpp. `scratch` is the caller's
// (one per thread) for the out-of-place rotation.
void augment_one_cpu(float* img, const ImageAugmentParams& p, int channels, int height, int width,
                     std::vector<float>& scratch) {
  const size_t plane = static_cast<size_t>(height) * width;
  const size_t n = plane * channels;
  switch (p.kind) {
    case ImageAugmentKind::kNone: return;
    case ImageAugmentKind::kHorizontalFlip:
      if (!p.flip) return;
      // out[j] = in[W-1-j]: swapping each pair once is that rule in place.
      for (size_t r = 0; r < static_cast<size_t>(channels) * height; ++r) {
        float* row = img + r * width;
        for (int j = 0; j < width / 2; ++j) std::swap(row[j], row[flip_source_column(j, width)]);
      }
      return;
    case ImageAugmentKind::kRotate:
      scratch.assign(img, img + n);
      for (int i = 0; i < height; ++i) {
        for (int j = 0; j < width; ++j) {
          const int64_t s = rotate_source_pixel(i, j, height, width, p.cos_a, p.sin_a);
          const size_t o = static_cast<size_t>(i) * width + j;
          for (int c = 0; c < channels; ++c) img[c * plane + o] = s < 0 ? 0.0f : scratch[c * plane + s];
        }
      }
      return;
    case ImageAugmentKind::kColourJitter:
      for (int stage = 0; stage < 4; ++stage) {
        switch (jitter_op_at(p, stage)) {
          case JitterOp::kBrightness:
            for (size_t k = 0; k < n; ++k) img[k] = jitter_brightness(img[k], p.brightness);
            break;
          case JitterOp::kContrast: {
            unsigned long long sum = 0;  // modulo 2^64, as the device's atomicAdd
            for (size_t k = 0; k < n; ++k) sum += contrast_fixed(img[k]);
            const float offset = contrast_offset(p.contrast, contrast_mean_of_sum(sum, n));
            for (size_t k = 0; k < n; ++k) img[k] = jitter_contrast(img[k], p.contrast, offset);
            break;
          }
          case JitterOp::kSaturation:  // the identity on one- and two-channel images
          case JitterOp::kHue: break;
        }
      }
      return;
  }
}

class CpuImageAugmenter final : public ImageAugmenter {
 public:
  explicit CpuImageAugmenter(int threads) : threads_(threads) {}
  BuilderDevice device() const override { return BuilderDevice::kCpu; }
  std::string describe() const override {
    if (threads_ <= 0) return "CPU, OpenMP's default threads";
    return "CPU, " + std::to_string(threads_) + (threads_ == 1 ? " thread" : " threads");
  }
  void apply(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
             int width) override {
    augment_images_cpu(images, params, count, channels, height, width, threads_);
  }
  void synchronize() override {}

 private:
  int threads_;
};

#ifdef FLOWPIC_HAVE_CUDA
class GpuImageAugmenter final : public ImageAugmenter {
 public:
  explicit GpuImageAugmenter(const ImageBuilderOptions& options) {
    if (options.use_caller_stream) {
      stream_ = options.stream;
    } else {
      own_stream_.emplace(CudaStream::Kind::kNonBlocking);
      stream_ = own_stream_->get();
    }
  }
  BuilderDevice device() const override { return BuilderDevice::kGpu; }
  std::string describe() const override { return own_stream_ ? "GPU, own stream" : "GPU, caller's stream"; }
  void apply(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
             int width) override {
    check_image_augment_batch(params, count, channels, height, width);
    if (count > 0 && images == nullptr) fail("image augmentation: no images (a null pointer) for ", count, " images");
    gpu_.apply(images, params, count, channels, height, width, stream_);
  }
  void synchronize() override { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  // Declared first, destroyed last: the stream outlives the work gpu_ queues on it.
  std::optional<CudaStream> own_stream_;
  cudaStream_t stream_ = nullptr;
  ImageAugmenterGpu gpu_;
};
#endif

}  // namespace

void check_image_augment_batch(const ImageAugmentParams* params, size_t count, int channels, int height, int width) {
  if (channels <= 0 || height <= 0 || width <= 0)
    fail("image augmentation: images of ", channels, " x ", height, " x ", width, " floats; every size must be > 0");
  const uint64_t n = static_cast<uint64_t>(channels) * static_cast<uint64_t>(height) * static_cast<uint64_t>(width);
  if (n > kMaxImageFloats)
    fail("image augmentation: images of ", channels, " x ", height, " x ", width, " = ", n,
         " floats; at most 2^23 = ", kMaxImageFloats, " are supported");
  if (count > 0 && params == nullptr) fail("image augmentation: no parameters (a null pointer) for ", count, " images");
  for (size_t i = 0; i < count; ++i) {
    const ImageAugmentParams& p = params[i];
    const unsigned kind = static_cast<unsigned>(p.kind);
    if (kind > static_cast<unsigned>(ImageAugmentKind::kColourJitter))
      fail("image augmentation: image ", i, " has an unknown kind ", kind, " (0 none, 1 flip, 2 rotate, 3 jitter)");
    if (p.kind != ImageAugmentKind::kColourJitter) continue;
    if (channels > 2)
      fail("image augmentation: colour jitter of image ", i, " needs one- or two-channel images, not ", channels,
           " channels");
    bool seen[4] = {false, false, false, false};
    for (int s = 0; s < 4; ++s) {
      const unsigned op = p.order[s];
      if (op > 3 || seen[op])
        fail("image augmentation: image ", i,
             " has a colour-jitter order that is not a permutation of 0 1 2 3: ", unsigned{p.order[0]}, " ",
             unsigned{p.order[1]}, " ", unsigned{p.order[2]}, " ", unsigned{p.order[3]});
      seen[op] = true;
    }
  }
}

void augment_images_cpu(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
                        int width, int threads) {
  check_image_augment_batch(params, count, channels, height, width);
  if (count == 0) return;
  if (images == nullptr) fail("image augmentation: no images (a null pointer) for ", count, " images");
  const size_t n = static_cast<size_t>(channels) * height * width;
#pragma omp parallel num_threads(thread_count(threads))
  {
    std::vector<float> scratch;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
      augment_one_cpu(images + static_cast<size_t>(i) * n, params[i], channels, height, width, scratch);
  }
}

ImageAugmentParams rotation_params(double degrees) {
  constexpr double kPi = 3.14159265358979323846;
  const double radians = degrees * (kPi / 180.0);  // Python's math.radians: x * (pi / 180)
  ImageAugmentParams p;
  p.kind = ImageAugmentKind::kRotate;
  p.cos_a = std::cos(radians);
  p.sin_a = std::sin(radians);
  return p;
}

std::unique_ptr<ImageAugmenter> make_image_augmenter(BuilderDevice device, const ImageBuilderOptions& options) {
  if (device == BuilderDevice::kAuto) device = cuda_device_available() ? BuilderDevice::kGpu : BuilderDevice::kCpu;
  if (device == BuilderDevice::kCpu) return std::make_unique<CpuImageAugmenter>(options.threads);
#ifdef FLOWPIC_HAVE_CUDA
  if (!cuda_device_available())
    fail("augmenting images on the GPU needs a usable CUDA device: ", cuda_device_description());
  return std::make_unique<GpuImageAugmenter>(options);
#else
  fail("augmenting images on the GPU needs a CUDA build (configure with FLOWPIC_CUDA=ON); this is a CPU-only build");
#endif
}

}  // namespace flowpic
