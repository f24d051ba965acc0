#pragma once
// Image augmentations on the GPU (CUDA build only): the CUDA twin of augment_images_cpu
// (kernels/image_augment.hpp), bit-identical; the per-pixel rules are kernels/image_augment_math.hpp.
// One apply() queues a whole batch on the caller's stream:
//  1. the parameters go up through pinned memory (reused once the previous upload's copy is done);
//  2. flips and rotations: the batch is copied to a device scratch batch and every pixel of a
//     flipped or rotated image is written from it (out of place);
//  3. colour jitter in four stages s = 0..3 (an op's mean depends on the previous op of the same
//     image): the fixed-point sums of every image whose op at stage s is contrast (a block per
//     chunk of an image, one atomicAdd per block), then one elementwise kernel applying each
//     image's stage-s op. Stages that change no pixel (saturation, hue) are skipped.
#include <cuda_runtime.h>

#include <cstddef>

#include "common/device_memory.hpp"
#include "kernels/image_augment_math.hpp"

namespace flowpic {

class ImageAugmenterGpu {
 public:
  // Queues the augmentation of `count` device images (NCHW, channels x height x width floats) in
  // place; params is a host array, which may be reused at once. The parameters must have passed
  // check_image_augment_batch. Returns once the work is queued. Buffers are stream-ordered: one
  // augmenter per stream. Growing them (first calls, larger batches) frees and allocates device
  // memory, which synchronises the device; a steady batch size never does.
  void apply(float* images, const ImageAugmentParams* params, size_t count, int channels, int height, int width,
             cudaStream_t stream);

 private:
  template <typename T>
  static void grow(DeviceBuffer<T>& b, size_t n) {
    if (b.size() < n) b.resize(n + n / 2);
  }
  PinnedBuffer<ImageAugmentParams> host_params_;
  CudaEvent params_copied_;
  bool pending_ = false;  // a copy out of host_params_ may still be in flight
  DeviceBuffer<ImageAugmentParams> params_;
  DeviceBuffer<float> scratch_;            // the batch before the geometric ops
  DeviceBuffer<unsigned long long> sums_;  // fixed-point image sums, 4 stages x count
};

}  // namespace flowpic
