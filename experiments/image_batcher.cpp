#include "experiments/image_batcher.hpp"

#include "common/error.hpp"
#include "experiments/runner.hpp"
#include "kernels/image_builder_cpu.hpp"

namespace flowpic {

struct ImageBatcher::Gpu {};

ImageBatcher::ImageBatcher(const PreparedExperiment& data, nn::DeviceKind device, int max_batch)
    : data_(data), device_(device), max_batch_(static_cast<size_t>(max_batch)), host_columns_(host_columns(data.store)) {
  windows_.reserve(max_batch_);
  if (device_ == nn::DeviceKind::cpu) host_images_.resize(max_batch_ * data_.representation.image_floats());
  else fail("image batches on the cuda device are not built in this version");
}

ImageBatcher::~ImageBatcher() = default;

const nn::Tensor& ImageBatcher::build(const size_t* ids, size_t n) {
  FLOWPIC_ASSERT(n > 0 && n <= max_batch_);
  const RepresentationConfig& rep = data_.representation;
  windows_.clear();
  for (size_t i = 0; i < n; ++i) windows_.push_back(data_.index.samples[ids[i]].window);
  const nn::Shape shape{static_cast<int>(n), rep.channels(), rep.height(), rep.width()};
  if (rep.type == RepresentationConfig::Type::kFlowPic)
    build_flowpic_cpu(host_columns_, rep.flowpic.image, windows_.data(), n, host_images_.data());
  else
    build_payload_image_cpu(host_columns_, rep.payload.image, windows_.data(), n, host_images_.data());
  batch_ = nn::Tensor::view(host_images_.data(), shape, nn::DeviceKind::cpu);
  return batch_;
}

}  // namespace flowpic
