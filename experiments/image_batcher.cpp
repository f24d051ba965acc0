#include "experiments/image_batcher.hpp"

#include <cstdio>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/augment.hpp"
#include "kernels/image_builder.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#endif

namespace flowpic {

#ifdef FLOWPIC_HAVE_CUDA
// The batch the network reads in place, in device memory.
struct ImageBatcher::Gpu {
  DeviceBuffer<float> images;
};
#else
struct ImageBatcher::Gpu {};
#endif

namespace {

// The cpu backend: the CPU builder into host memory. The cuda backend: the CUDA builder (the
// store's packets uploaded once, for the whole run) straight into device memory, queued on the
// legacy default stream, the stream the CNN engine's cuda backend runs on: stream order alone puts
// each batch's build after the previous batch's training and before its own, with no host
// synchronisation per batch (a builder on a stream of its own would need one, or events).
// The image augmenter likewise, on the same stream.
ImageBuilderOptions default_stream() {
  ImageBuilderOptions opt;
  opt.use_caller_stream = true;
  opt.stream = nullptr;  // the legacy default stream
  return opt;
}

std::unique_ptr<ImageBuilder> make_builder(const PacketStore& store, const RepresentationConfig& rep,
                                           nn::DeviceKind device) {
  if (device == nn::DeviceKind::cpu)
    return make_image_builder(rep.image_spec(), BuilderDevice::kCpu, host_columns(store));
  return make_image_builder(rep.image_spec(), BuilderDevice::kGpu, host_columns(store), default_stream());
}

}  // namespace

const char* batch_input_name(BatchInput input) { return input == BatchInput::kSparse ? "sparse" : "dense"; }

InputChoice choose_batch_input(const std::string& setting, const nn::Model& model, const RepresentationConfig& rep,
                               bool image_augmentation, const std::vector<Sample>& samples, const std::string& where) {
  InputChoice c;
  const size_t pixels = rep.image_floats();
  double packets = 0;
  for (const Sample& s : samples) packets += s.packets;
  c.cells_per_image = samples.empty() ? 0 : packets / static_cast<double>(samples.size());
  c.density = c.cells_per_image / static_cast<double>(pixels);
  // Why sparse input cannot be used here, or "" when it can.
  std::string no;
  if (rep.type != RepresentationConfig::Type::kFlowPic)
    no = "the images are payload images (sparse input is for FlowPics)";
  else if (!model.accepts_sparse_input())
    no = "the model's first layer is not a conv2d";
  else if (image_augmentation)
    no = "an image augmentation changes the built images";
  if (setting == "dense") {
    c.reason = "input \"dense\" in the config";
    return c;
  }
  if (setting == "sparse") {
    if (!no.empty()) fail(where, ": input \"sparse\" is not possible: ", no, "; use \"dense\" or \"auto\"");
    c.input = BatchInput::kSparse;
    c.reason = "input \"sparse\" in the config";
    return c;
  }
  if (setting != "auto") fail(where, ": unknown input \"", setting, "\"; allowed: auto, dense, sparse");
  char est[160];
  std::snprintf(est, sizeof est, "%.0f packets per image of %zu pixels (density %.2g)", c.cells_per_image, pixels,
                c.density);
  if (!no.empty()) {
    c.reason = "auto: dense, " + no;
  } else if (!(c.density < kSparseMaxDensity)) {
    c.reason = std::string("auto: dense, dense images: ") + est;
  } else {
    c.input = BatchInput::kSparse;
    c.reason = std::string("auto: sparse, ") + est;
  }
  return c;
}

ImageBatcher::ImageBatcher(const PacketStore& store, const RepresentationConfig& representation,
                           const std::vector<Sample>& samples, nn::DeviceKind device, int max_batch,
                           const Augmenter* augmenter, BatchInput input)
    : rep_(representation),
      samples_(samples),
      max_batch_(static_cast<size_t>(max_batch)),
      builder_(make_builder(store, representation, device)),
      augmenter_(augmenter),
      input_(input) {
  windows_.reserve(max_batch_);
  if (input_ == BatchInput::kSparse) {
    FLOWPIC_ASSERT(rep_.type == RepresentationConfig::Type::kFlowPic);
    FLOWPIC_ASSERT(!(augmenter_ && augmenter_->config().on_images()));
    return;  // no dense batch
  }
  if (augmenter_ && augmenter_->config().on_images()) {
    image_augmenter_ = builder_->device() == BuilderDevice::kCpu
                           ? make_image_augmenter(BuilderDevice::kCpu)
                           : make_image_augmenter(BuilderDevice::kGpu, default_stream());
    image_params_.reserve(max_batch_);
  }
  const size_t floats = max_batch_ * builder_->image_floats();
  if (builder_->device() == BuilderDevice::kCpu) {
    host_images_.resize(floats);
    return;
  }
#ifdef FLOWPIC_HAVE_CUDA
  gpu_ = std::make_unique<Gpu>();
  gpu_->images.resize(floats);
#endif
}

ImageBatcher::~ImageBatcher() = default;

void ImageBatcher::set_packets(const PacketStore& store) { builder_->set_packets(host_columns(store)); }

void ImageBatcher::stage_windows(const size_t* ids, size_t n, const uint64_t* keys) {
  FLOWPIC_ASSERT(n > 0 && n <= max_batch_);
  windows_.clear();
  image_params_.clear();
  const bool augment = keys && augmenter_;
  for (size_t i = 0; i < n; ++i) {
    const Sample& s = samples_[ids[i]];
    if (!augment || keys[i] == kNoAugmentation) {
      windows_.push_back(s.window);
      if (image_augmenter_) image_params_.emplace_back();  // kNone: the image as built
      continue;
    }
    const AugmentDraw d = augmenter_->draw(s, keys[i]);
    windows_.push_back(d.window);
    if (image_augmenter_) image_params_.push_back(d.image);
  }
}

const nn::Tensor& ImageBatcher::build(const size_t* ids, size_t n, const uint64_t* keys) {
  FLOWPIC_ASSERT(input_ == BatchInput::kDense);
  stage_windows(ids, n, keys);
  const bool augment = keys && augmenter_;
  const nn::Shape shape{static_cast<int>(n), rep_.channels(), rep_.height(), rep_.width()};
  float* images = nullptr;
  nn::DeviceKind kind = nn::DeviceKind::cpu;
  if (builder_->device() == BuilderDevice::kCpu) {
    images = host_images_.data();
  } else {
#ifdef FLOWPIC_HAVE_CUDA
    images = gpu_->images.data();
    kind = nn::DeviceKind::cuda;
#endif
  }
  builder_->build(windows_.data(), n, images);
  if (augment && image_augmenter_)
    image_augmenter_->apply(images, image_params_.data(), n, rep_.channels(), rep_.height(), rep_.width());
  batch_ = nn::Tensor::view(images, shape, kind);
  return batch_;
}

const nn::SparseBatch& ImageBatcher::build_sparse(const size_t* ids, size_t n, const uint64_t* keys) {
  FLOWPIC_ASSERT(input_ == BatchInput::kSparse);
  stage_windows(ids, n, keys);
  const SparseImages cells = builder_->build_sparse(windows_.data(), n);
  sparse_.shape = nn::Shape{static_cast<int>(n), rep_.channels(), rep_.height(), rep_.width()};
  sparse_.device = builder_->device() == BuilderDevice::kCpu ? nn::DeviceKind::cpu : nn::DeviceKind::cuda;
  sparse_.nnz = cells.nnz;
  sparse_.offsets = cells.offsets;
  sparse_.index = cells.index;
  sparse_.value = cells.value;
  return sparse_;
}

const nn::Tensor& ImageBatcher::forward(nn::Model& model, const size_t* ids, size_t n, const uint64_t* keys,
                                        bool training) {
  if (input_ == BatchInput::kSparse) return model.forward(build_sparse(ids, n, keys), training);
  return model.forward(build(ids, n, keys), training);
}

std::vector<float> ImageBatcher::predict(nn::Model& model, const size_t* ids, size_t n) {
  if (input_ == BatchInput::kSparse) return model.predict(build_sparse(ids, n));
  return model.predict(build(ids, n));
}

}  // namespace flowpic
