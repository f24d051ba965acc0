#pragma once
// Builds the images of a list of samples into one NCHW batch on the model's device: the CPU
// builders into host memory for the cpu backend; the CUDA builders straight into device memory
// from packet columns uploaded once, for the cuda backend.
#include <memory>
#include <vector>

#include "kernels/image_spec.hpp"
#include "nn/tensor.hpp"

namespace flowpic {

struct PreparedExperiment;

class ImageBatcher {
 public:
  ImageBatcher(const PreparedExperiment& data, nn::DeviceKind device, int max_batch);
  ~ImageBatcher();
  ImageBatcher(const ImageBatcher&) = delete;
  ImageBatcher& operator=(const ImageBatcher&) = delete;

  // Images of samples ids[0..n) (indices into data.index.samples): an n x C x H x W view, valid
  // until the next build().
  const nn::Tensor& build(const size_t* ids, size_t n);

 private:
  struct Gpu;  // CUDA builder state (device packets, windows, output), only in CUDA builds
  const PreparedExperiment& data_;
  nn::DeviceKind device_;
  size_t max_batch_;
  PacketColumns host_columns_;
  std::vector<ImageWindow> windows_;
  std::vector<float> host_images_;
  nn::Tensor batch_;
  std::unique_ptr<Gpu> gpu_;
};

}  // namespace flowpic
