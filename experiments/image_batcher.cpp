#include "experiments/image_batcher.hpp"

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
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
std::unique_ptr<ImageBuilder> make_builder(const PacketStore& store, const RepresentationConfig& rep,
                                           nn::DeviceKind device) {
  if (device == nn::DeviceKind::cpu)
    return make_image_builder(rep.image_spec(), BuilderDevice::kCpu, host_columns(store));
  ImageBuilderOptions opt;
  opt.use_caller_stream = true;
  opt.stream = nullptr;  // the legacy default stream
  return make_image_builder(rep.image_spec(), BuilderDevice::kGpu, host_columns(store), opt);
}

}  // namespace

ImageBatcher::ImageBatcher(const PacketStore& store, const RepresentationConfig& representation,
                           const std::vector<Sample>& samples, nn::DeviceKind device, int max_batch)
    : rep_(representation),
      samples_(samples),
      max_batch_(static_cast<size_t>(max_batch)),
      builder_(make_builder(store, representation, device)) {
  windows_.reserve(max_batch_);
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

const nn::Tensor& ImageBatcher::build(const size_t* ids, size_t n) {
  FLOWPIC_ASSERT(n > 0 && n <= max_batch_);
  windows_.clear();
  for (size_t i = 0; i < n; ++i) windows_.push_back(samples_[ids[i]].window);
  const nn::Shape shape{static_cast<int>(n), rep_.channels(), rep_.height(), rep_.width()};
  if (builder_->device() == BuilderDevice::kCpu) {
    builder_->build(windows_.data(), n, host_images_.data());
    batch_ = nn::Tensor::view(host_images_.data(), shape, nn::DeviceKind::cpu);
    return batch_;
  }
#ifdef FLOWPIC_HAVE_CUDA
  builder_->build(windows_.data(), n, gpu_->images.data());
  batch_ = nn::Tensor::view(gpu_->images.data(), shape, nn::DeviceKind::cuda);
#endif
  return batch_;
}

}  // namespace flowpic
