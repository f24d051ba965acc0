#pragma once
// Tensor: an NCHW float32 array on the host or on a CUDA device. It either owns its memory
// (RAII, move-only) or is a view over memory someone else owns (e.g. an image batch a CUDA
// kernel wrote), so a batch reaches the network without a copy.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace flowpic::nn {

enum class DeviceKind { cpu, cuda };
const char* device_name(DeviceKind d);

// N x C x H x W. A per-sample shape has n = 1; a flat vector of k values is {1, k, 1, 1}.
struct Shape {
  int n = 0, c = 0, h = 0, w = 0;
  size_t count() const { return size_t(n) * c * h * w; }
  size_t sample_count() const { return size_t(c) * h * w; }
  Shape with_n(int batch) const { return {batch, c, h, w}; }
  std::string str() const;  // "32x1x1500x1500"
  bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

// Owner of a block of floats on one device; implementations in tensor.cpp.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual float* data() = 0;
  virtual size_t count() const = 0;
};

class Tensor {
 public:
  Tensor() = default;
  // Allocates count() floats on `device`, zero-filled.
  Tensor(Shape shape, DeviceKind device);
  // A non-owning view; `data` must outlive the tensor and hold shape.count() floats on `device`.
  static Tensor view(float* data, Shape shape, DeviceKind device);
  static Tensor from_host(const std::vector<float>& values, Shape shape, DeviceKind device);

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  DeviceKind device() const { return device_; }
  size_t count() const { return shape_.count(); }
  bool empty() const { return data_ == nullptr; }
  bool owns() const { return storage_ != nullptr; }

  // Reuses the allocation when it is large enough, otherwise reallocates (contents undefined).
  // Views cannot be resized.
  void ensure(Shape shape, DeviceKind device);
  // Same number of elements, new dimensions (e.g. Flatten).
  void reshape(Shape shape);
  std::vector<float> to_host() const;
  void copy_from_host(const std::vector<float>& values);
  void copy_from(const Tensor& src);  // same count; any devices
  Tensor clone(DeviceKind device) const;

 private:
  std::unique_ptr<Storage> storage_;
  float* data_ = nullptr;
  Shape shape_;
  DeviceKind device_ = DeviceKind::cpu;
};

// Throws "<what>: expected shape A, got B" when the shapes differ.
void check_shape(const Tensor& t, const Shape& expected, const std::string& what);
void check_device(const Tensor& t, DeviceKind expected, const std::string& what);

}  // namespace flowpic::nn
