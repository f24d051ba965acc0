#include "experiments/image_batcher.hpp"

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/image_builder_cpu.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#include "kernels/device_packets.hpp"
#include "kernels/flowpic_gpu.hpp"
#include "kernels/payload_image_gpu.hpp"
#endif

namespace flowpic {

#ifdef FLOWPIC_HAVE_CUDA
// The store's packets live on the device for the whole run; each batch is one builder launch
// into a device buffer the network reads in place. Everything runs on the default stream, the
// stream the CNN engine's CUDA backend uses, so building and training are ordered without syncs.
struct ImageBatcher::Gpu {
  DevicePackets packets;
  std::unique_ptr<FlowPicBuilderGpu> flowpic;
  std::unique_ptr<PayloadImageBuilderGpu> payload;
  DeviceBuffer<float> images;
};
#else
struct ImageBatcher::Gpu {};
#endif

ImageBatcher::ImageBatcher(const PacketStore& store, const RepresentationConfig& representation,
                           const std::vector<Sample>& samples, nn::DeviceKind device, int max_batch)
    : rep_(representation),
      samples_(samples),
      device_(device),
      max_batch_(static_cast<size_t>(max_batch)),
      host_columns_(host_columns(store)) {
  windows_.reserve(max_batch_);
  const RepresentationConfig& rep = rep_;
  if (device_ == nn::DeviceKind::cpu) {
    host_images_.resize(max_batch_ * rep.image_floats());
    return;
  }
#ifdef FLOWPIC_HAVE_CUDA
  gpu_ = std::make_unique<Gpu>();
  gpu_->packets = DevicePackets(host_columns_);
  if (rep.type == RepresentationConfig::Type::kFlowPic) gpu_->flowpic = std::make_unique<FlowPicBuilderGpu>(rep.flowpic.image);
  else gpu_->payload = std::make_unique<PayloadImageBuilderGpu>(rep.payload.image);
  gpu_->images.resize(max_batch_ * rep.image_floats());
#else
  fail("image batches for the cuda backend need a CUDA build (FLOWPIC_CUDA=ON)");
#endif
}

ImageBatcher::~ImageBatcher() = default;

const nn::Tensor& ImageBatcher::build(const size_t* ids, size_t n) {
  FLOWPIC_ASSERT(n > 0 && n <= max_batch_);
  const RepresentationConfig& rep = rep_;
  windows_.clear();
  for (size_t i = 0; i < n; ++i) windows_.push_back(samples_[ids[i]].window);
  const nn::Shape shape{static_cast<int>(n), rep.channels(), rep.height(), rep.width()};
  const bool flowpic = rep.type == RepresentationConfig::Type::kFlowPic;
  if (device_ == nn::DeviceKind::cpu) {
    if (flowpic) build_flowpic_cpu(host_columns_, rep.flowpic.image, windows_.data(), n, host_images_.data());
    else build_payload_image_cpu(host_columns_, rep.payload.image, windows_.data(), n, host_images_.data());
    batch_ = nn::Tensor::view(host_images_.data(), shape, nn::DeviceKind::cpu);
    return batch_;
  }
#ifdef FLOWPIC_HAVE_CUDA
  const PacketColumns cols = gpu_->packets.columns();
  if (flowpic) gpu_->flowpic->build(cols, windows_.data(), n, gpu_->images.data(), nullptr);
  else gpu_->payload->build(cols, windows_.data(), n, gpu_->images.data(), nullptr);
  batch_ = nn::Tensor::view(gpu_->images.data(), shape, nn::DeviceKind::cuda);
#endif
  return batch_;
}

}  // namespace flowpic
