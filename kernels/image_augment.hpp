#pragma once
// The front end of the image augmentations (tcbench's torchvision augmentations of FlowPic
// training: horizontal flip, rotation, colour jitter) applied in place to a batch of built images
// with already drawn parameters (the draws are the caller's). The parameter types and the exact
// per-pixel rules are in kernels/image_augment_math.hpp, shared by both backends:
//  - the CPU augmenter runs augment_images_cpu (OpenMP over images, `threads` as asked);
//  - the CUDA augmenter (CUDA build only, ImageAugmenterGpu in kernels/image_augment_gpu.hpp)
//    queues on a non-blocking stream of its own or on the caller's stream, bit-identical.
// Images of different kinds may be mixed in one batch; kNone leaves an image bit-identical.
#include <cstddef>
#include <memory>
#include <string>

#include "kernels/image_augment_math.hpp"
#include "kernels/image_builder.hpp"

namespace flowpic {

class ImageAugmenter {
 public:
  virtual ~ImageAugmenter() = default;
  ImageAugmenter(const ImageAugmenter&) = delete;
  ImageAugmenter& operator=(const ImageAugmenter&) = delete;

  // The memory apply() works on: kCpu = host memory, kGpu = device memory (never kAuto).
  virtual BuilderDevice device() const = 0;
  // The code path, for benchmarks and logs, e.g. "CPU, 2 threads", "GPU".
  virtual std::string describe() const = 0;

  // In place on `count` NCHW images of channels x height x width floats at `images` (memory of
  // device()), params[i] for image i (a host array, which may be reused at once after return).
  // The CPU augmenter returns when the images are written; the GPU augmenter once the work is
  // queued on its stream. Colour jitter needs one- or two-channel images with pixels in [0, 1].
  // Invalid parameters (a kind or order out of range) or shapes are a one-line flowpic::Error.
  virtual void apply(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
                     int width) = 0;
  // Waits until everything queued is done (the CPU augmenter has nothing to wait for).
  virtual void synchronize() = 0;

 protected:
  ImageAugmenter() = default;
};

// The augmenter on `device` (kAuto: the GPU when one is usable). options.threads is the CPU
// augmenter's OpenMP threads; options.use_caller_stream / stream the GPU augmenter's stream (the
// caller's stream must outlive it). kGpu in a CPU-only build or with no usable device is a
// one-line flowpic::Error.
std::unique_ptr<ImageAugmenter> make_image_augmenter(BuilderDevice device, const ImageBuilderOptions& options = {});

// The CPU twin, the specification: in place on host images, OpenMP over images (`threads` <= 0 =
// OpenMP's default). Checks the parameters and shape as ImageAugmenter::apply does.
void augment_images_cpu(float* images, const ImageAugmentParams* params, size_t count, int channels, int height,
                        int width, int threads = 0);

// Checks a batch's parameters and shape (a one-line flowpic::Error naming the image and field):
// positive sizes, at most 2^23 floats per image (the fixed-point mean's range), a known kind, and
// for colour jitter one or two channels and an order that is a permutation of 0..3. Both
// augmenters call it before touching anything.
void check_image_augment_batch(const ImageAugmentParams* params, size_t count, int channels, int height, int width);

// Rotation parameters of `degrees` (counter-clockwise on screen): cos and sin of degrees * pi / 180,
// as torchvision computes them (math.radians, math.cos, math.sin).
ImageAugmentParams rotation_params(double degrees);

}  // namespace flowpic
