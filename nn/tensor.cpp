#include "nn/tensor.hpp"

#include <cstring>

#include "common/error.hpp"
#ifdef FLOWPIC_HAVE_CUDA
#include "common/device_memory.hpp"
#endif

namespace flowpic::nn {

const char* device_name(DeviceKind d) { return d == DeviceKind::cpu ? "cpu" : "cuda"; }

std::string Shape::str() const { return detail::concat(n, "x", c, "x", h, "x", w); }

namespace {

class HostStorage final : public Storage {
 public:
  explicit HostStorage(size_t n) : v_(n, 0.0f) {}
  float* data() override { return v_.data(); }
  size_t count() const override { return v_.size(); }

 private:
  std::vector<float> v_;
};

#ifdef FLOWPIC_HAVE_CUDA
class CudaStorage final : public Storage {
 public:
  explicit CudaStorage(size_t n) : buf_(n) {
    if (n) CUDA_CHECK(cudaMemset(buf_.data(), 0, n * sizeof(float)));
  }
  float* data() override { return buf_.data(); }
  size_t count() const override { return buf_.size(); }

 private:
  DeviceBuffer<float> buf_;
};
#endif

std::unique_ptr<Storage> allocate(size_t n, DeviceKind d) {
  if (d == DeviceKind::cpu) return std::make_unique<HostStorage>(n);
#ifdef FLOWPIC_HAVE_CUDA
  return std::make_unique<CudaStorage>(n);
#else
  fail("cannot allocate a CUDA tensor: this is a CPU-only build (FLOWPIC_CUDA=OFF); use the cpu backend");
#endif
}

// Copies n floats between any two devices.
void copy_floats(float* dst, DeviceKind dd, const float* src, DeviceKind sd, size_t n) {
  if (n == 0) return;
  if (dd == DeviceKind::cpu && sd == DeviceKind::cpu) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
#ifdef FLOWPIC_HAVE_CUDA
  cudaMemcpyKind kind = dd == DeviceKind::cpu   ? cudaMemcpyDeviceToHost
                        : sd == DeviceKind::cpu ? cudaMemcpyHostToDevice
                                                : cudaMemcpyDeviceToDevice;
  CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(float), kind));
#else
  fail("cannot copy CUDA tensors: this is a CPU-only build");
#endif
}

}  // namespace

Tensor::Tensor(Shape shape, DeviceKind device) : shape_(shape), device_(device) {
  if (shape.n < 0 || shape.c < 0 || shape.h < 0 || shape.w < 0)
    fail("tensor shape ", shape.str(), " has a negative dimension");
  storage_ = allocate(shape.count(), device);
  data_ = storage_->data();
}

Tensor Tensor::view(float* data, Shape shape, DeviceKind device) {
  if (!data && shape.count()) fail("tensor view of shape ", shape.str(), " over a null pointer");
  Tensor t;
  t.data_ = data;
  t.shape_ = shape;
  t.device_ = device;
  return t;
}

Tensor Tensor::from_host(const std::vector<float>& values, Shape shape, DeviceKind device) {
  Tensor t(shape, device);
  t.copy_from_host(values);
  return t;
}

void Tensor::ensure(Shape shape, DeviceKind device) {
  if (!empty() && !owns()) {
    if (shape.count() != count() || device != device_)
      fail("cannot resize a tensor view (", shape_.str(), " -> ", shape.str(), ")");
    shape_ = shape;
    return;
  }
  if (!storage_ || device != device_ || storage_->count() < shape.count()) {
    storage_.reset();
    storage_ = allocate(shape.count(), device);
  }
  data_ = storage_->data();
  shape_ = shape;
  device_ = device;
}

void Tensor::reshape(Shape shape) {
  if (shape.count() != count()) fail("cannot reshape ", shape_.str(), " to ", shape.str(), ": element counts differ");
  shape_ = shape;
}

std::vector<float> Tensor::to_host() const {
  std::vector<float> out(count());
  copy_floats(out.data(), DeviceKind::cpu, data_, device_, count());
  return out;
}

void Tensor::copy_from_host(const std::vector<float>& values) {
  if (values.size() != count())
    fail("copy into tensor ", shape_.str(), ": got ", values.size(), " values, need ", count());
  copy_floats(data_, device_, values.data(), DeviceKind::cpu, count());
}

void Tensor::copy_from(const Tensor& src) {
  if (src.count() != count())
    fail("copy into tensor ", shape_.str(), " from ", src.shape().str(), ": element counts differ");
  copy_floats(data_, device_, src.data(), src.device(), count());
}

Tensor Tensor::clone(DeviceKind device) const {
  Tensor t(shape_, device);
  t.copy_from(*this);
  return t;
}

void check_shape(const Tensor& t, const Shape& expected, const std::string& what) {
  if (t.shape() != expected) fail(what, ": expected shape ", expected.str(), ", got ", t.shape().str());
}

void check_device(const Tensor& t, DeviceKind expected, const std::string& what) {
  if (t.device() != expected)
    fail(what, ": tensor is on ", device_name(t.device()), " but the backend is ", device_name(expected),
         "; move it with Tensor::clone or build the batch on the backend's device");
}

}  // namespace flowpic::nn
