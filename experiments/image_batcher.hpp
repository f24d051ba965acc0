#pragma once
// Builds the images of a list of samples into one NCHW batch on the model's device, through the
// image-builder front end (kernels/image_builder.hpp): the CPU builder into host memory for the
// cpu backend; the CUDA builder straight into device memory from packet columns uploaded once, on
// the default stream the CNN engine uses, for the cuda backend.
#include <memory>
#include <vector>

#include "kernels/image_augment.hpp"
#include "kernels/image_spec.hpp"
#include "kernels/sample_index.hpp"
#include "nn/tensor.hpp"

namespace flowpic {

struct PacketStore;
class ImageBuilder;

class Augmenter;
class ImageAugmenter;

// build()'s draw key for an image without augmentation.
inline constexpr uint64_t kNoAugmentation = ~uint64_t{0};

class ImageBatcher {
 public:
  // The store, representation, samples and augmenter (null: none) must outlive the batcher.
  ImageBatcher(const PacketStore& store, const RepresentationConfig& representation, const std::vector<Sample>& samples,
               nn::DeviceKind device, int max_batch, const Augmenter* augmenter = nullptr);
  ~ImageBatcher();
  ImageBatcher(const ImageBatcher&) = delete;
  ImageBatcher& operator=(const ImageBatcher&) = delete;

  // Images of samples ids[0..n) (indices into `samples`): an n x C x H x W view, valid
  // until the next build(). With `keys` (and an augmenter), image i is augmented with draw
  // keys[i] (kernels/augment.hpp), or not for kNoAugmentation: packet augmentations warp its
  // window before the build, image augmentations change the built image in place.
  const nn::Tensor& build(const size_t* ids, size_t n, const uint64_t* keys = nullptr);

 private:
  struct Gpu;  // the device batch, only in CUDA builds
  const RepresentationConfig& rep_;
  const std::vector<Sample>& samples_;
  size_t max_batch_;
  std::unique_ptr<ImageBuilder> builder_;
  const Augmenter* augmenter_;
  std::unique_ptr<ImageAugmenter> image_augmenter_;  // for image augmentations, on the builder's device
  std::vector<ImageWindow> windows_;
  std::vector<ImageAugmentParams> image_params_;
  std::vector<float> host_images_;
  nn::Tensor batch_;
  std::unique_ptr<Gpu> gpu_;
};

}  // namespace flowpic
