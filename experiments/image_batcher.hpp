#pragma once
// Builds the images of a list of samples into one NCHW batch on the model's device, through the
// image-builder front end (kernels/image_builder.hpp): the CPU builder into host memory for the
// cpu backend; the CUDA builder straight into device memory from packet columns uploaded once, on
// the default stream the CNN engine uses, for the cuda backend. Or, on the sparse input path,
// the images' non-zero cells (a COO batch) that the network's first convolution reads directly.
#include <memory>
#include <string>
#include <vector>

#include "kernels/image_augment.hpp"
#include "kernels/image_spec.hpp"
#include "kernels/sample_index.hpp"
#include "nn/model.hpp"
#include "nn/sparse.hpp"
#include "nn/tensor.hpp"

namespace flowpic {

struct PacketStore;
class ImageBuilder;

class Augmenter;
class ImageAugmenter;

// build()'s draw key for an image without augmentation.
inline constexpr uint64_t kNoAugmentation = ~uint64_t{0};

// What the network reads: dense images, or the images' non-zero cells straight into a sparse-input
// first convolution (nn::SparseBatch; FlowPics only, the image is never materialised).
enum class BatchInput : uint8_t { kDense = 0, kSparse = 1 };
const char* batch_input_name(BatchInput input);

struct InputChoice {
  BatchInput input = BatchInput::kDense;
  std::string reason;          // one line: why (the setting, or auto's estimate)
  double cells_per_image = 0;  // auto's estimate: mean packets per image (an upper bound on its cells)
  double density = 0;          // cells_per_image / pixels per image
};

// The input path for a setting "dense", "sparse" or "auto" (experiment key "input"). "sparse" is an
// error (naming `where`) unless the model's first layer is a convolution (nn::Model::
// accepts_sparse_input), the images are FlowPics and no image augmentation is configured (those
// change built images). "auto" picks sparse when it is allowed and the samples' mean packets per
// image (an upper bound on its non-zero cells) are under kSparseMaxDensity of its pixels: there the
// first convolution's cost per non-zero cell beats its cost per pixel, whatever the image size.
// Measured on the CPU backend (results/bench/classify.md, results/bench/sparse.md): 1500x1500 paper
// windows (density 0.0009) 5.4x faster per training step; 32x32 mini-FlowPics of 3 to 10 packets
// (classify's 15 s windows of a capture, density 0.003) 20% less CPU per window in inference;
// 32x32 quickstart training windows (283 packets, 20 cells per image: cell density 0.02, packet
// density 0.28, so auto keeps them dense) 1.12x (batch 32) and 1.16x (batch 1024) faster per
// training step. The bound is conservative where many packets share a cell. (A minimum of 100x100
// pixels kept small images dense before; no measurement supported it.) Not measured on the GPU.
inline constexpr double kSparseMaxDensity = 0.02;
InputChoice choose_batch_input(const std::string& setting, const nn::Model& model,
                               const RepresentationConfig& representation, bool image_augmentation,
                               const std::vector<Sample>& samples, const std::string& where);

class ImageBatcher {
 public:
  // The store, representation, samples and augmenter (null: none) must outlive the batcher (the
  // store: until set_packets names another).
  ImageBatcher(const PacketStore& store, const RepresentationConfig& representation, const std::vector<Sample>& samples,
               nn::DeviceKind device, int max_batch, const Augmenter* augmenter = nullptr,
               BatchInput input = BatchInput::kDense);
  ~ImageBatcher();
  ImageBatcher(const ImageBatcher&) = delete;
  ImageBatcher& operator=(const ImageBatcher&) = delete;

  // Builds from `store`'s packets from now on, keeping every buffer (a streaming caller refills one
  // small store per batch, and the samples vector given to the constructor, in place).
  void set_packets(const PacketStore& store);

  // Images of samples ids[0..n) (indices into `samples`): an n x C x H x W view, valid
  // until the next build(). With `keys` (and an augmenter), image i is augmented with draw
  // keys[i] (kernels/augment.hpp), or not for kNoAugmentation: packet augmentations warp its
  // window before the build, image augmentations change the built image in place.
  const nn::Tensor& build(const size_t* ids, size_t n, const uint64_t* keys = nullptr);
  // The same images as their non-zero cells (a FlowPic representation; packet augmentations only):
  // a view valid until the next build_sparse().
  const nn::SparseBatch& build_sparse(const size_t* ids, size_t n, const uint64_t* keys = nullptr);

  // The model's logits for samples ids[0..n) on the batcher's input path (the batch stays alive
  // for model.backward() until the next call), and its class probabilities (inference mode).
  BatchInput input() const { return input_; }
  const nn::Tensor& forward(nn::Model& model, const size_t* ids, size_t n, const uint64_t* keys, bool training);
  std::vector<float> predict(nn::Model& model, const size_t* ids, size_t n);

 private:
  struct Gpu;  // the device batch, only in CUDA builds
  // The windows of samples ids[0..n), warped by their draws; the image parameters of the draws.
  void stage_windows(const size_t* ids, size_t n, const uint64_t* keys);
  const RepresentationConfig& rep_;
  const std::vector<Sample>& samples_;
  size_t max_batch_;
  std::unique_ptr<ImageBuilder> builder_;
  const Augmenter* augmenter_;
  std::unique_ptr<ImageAugmenter> image_augmenter_;  // for image augmentations, on the builder's device
  BatchInput input_;
  std::vector<ImageWindow> windows_;
  std::vector<ImageAugmentParams> image_params_;
  nn::SparseBatch sparse_;
  std::vector<float> host_images_;
  nn::Tensor batch_;
  std::unique_ptr<Gpu> gpu_;
};

}  // namespace flowpic
