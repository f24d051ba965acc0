#pragma once
// The one wrapper around cuDNN. Nothing outside cudnn_ops.cpp sees a cuDNN type: this header
// offers small classes over raw device pointers (NCHW float32, default stream), each owning its
// descriptors. Convolutions choose their algorithms once per batch size with cudnnFind* (timed
// on the device) and cache them.
#include <cstddef>
#include <memory>
#include <string>

#include "nn/geometry.hpp"

namespace flowpic::nn::cudnn {

// "cuDNN 9.19.0" (the library loaded at run time), for logs and result provenance.
std::string version();

// A cuDNN handle and a growing workspace shared by the operations made from it.
class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A convolution with symmetric padding (pad_top == pad_bottom, pad_left == pad_right); the
// cuda backend pads inputs explicitly for Keras' asymmetric "same".
class Convolution {
 public:
  Convolution(Context& ctx, const ConvGeom& g, bool allow_tf32);
  ~Convolution();
  void forward(int n, const float* x, const float* w, const float* b, float* y);  // b may be null
  void backward_data(int n, const float* w, const float* dy, float* dx);
  void backward_filter(int n, const float* x, const float* dy, float* dw);
  void backward_bias(int n, const float* dy, float* db);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class MaxPooling {
 public:
  MaxPooling(Context& ctx, const PoolGeom& g);
  ~MaxPooling();
  void forward(int n, const float* x, float* y);
  void backward(int n, const float* x, const float* y, const float* dy, float* dx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Element-wise ReLU over `count` floats.
class Relu {
 public:
  explicit Relu(Context& ctx);
  ~Relu();
  void forward(size_t count, const float* x, float* y);
  void backward(size_t count, const float* y, const float* dy, float* dx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Spatial batch normalisation; factor = 1 - Keras momentum; statistics saved for backward.
class BatchNorm {
 public:
  BatchNorm(Context& ctx, int channels, double eps, double factor);
  ~BatchNorm();
  void forward_train(int n, int h, int w, const float* x, const float* gamma, const float* beta, float* running_mean,
                     float* running_var, float* y);
  void forward_infer(int n, int h, int w, const float* x, const float* gamma, const float* beta,
                     const float* running_mean, const float* running_var, float* y);
  void backward(int n, int h, int w, const float* x, const float* dy, const float* gamma, float* dx, float* dgamma,
                float* dbeta);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowpic::nn::cudnn
