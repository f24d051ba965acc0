#pragma once
// A sequential model built from JSON: {"name": ..., "description": ..., "layers": [{"type": ...}, ...]}.
// Layers come from an explicit registry (LayerRegistry::standard(); no static self-registration);
// the input shape and number of classes are supplied at build time and shapes are inferred layer
// by layer. The last layer produces logits; softmax cross-entropy is fused into loss_and_grad.
//
// Training step (what the experiment runner calls):
//   const Tensor& logits = model.forward(batch, /*training=*/true);  // batch: N x C x H x W on model.device()
//   double loss = model.loss_and_grad(labels);                         // labels: N class indices (host)
//   model.backward();
//   optimizer.step();
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "nn/backend.hpp"
#include "nn/layers.hpp"
#include "nn/tensor.hpp"

namespace flowpic::nn {

struct BuildContext {
  int classes = 0;  // what "units": "classes" resolves to
};

// type -> factory from the layer's JSON object. Factories check their keys strictly.
class LayerRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Layer>(const json&, const JsonWhere&, const BuildContext&)>;
  void add(const std::string& type, Factory f);
  std::unique_ptr<Layer> build(const json& obj, const JsonWhere& where, const BuildContext& ctx) const;
  std::vector<std::string> types() const;
  // conv2d, max_pool2d, relu, dropout, flatten, dense, batch_norm2d.
  static const LayerRegistry& standard();

 private:
  std::map<std::string, Factory> factories_;
};

struct ModelOptions {
  Shape input;        // per sample: {1, C, H, W}
  int classes = 0;    // >= 2
  uint64_t seed = 0;  // initial weights and dropout masks
  bool fuse = true;   // fuse conv2d + relu (same results; off to test or profile layers apart)
  // With sparse input, run conv2d + (fused) relu + max_pool2d as one op when the model starts so
  // (Model::sparse_pool_fused()); same results, off to test or profile the layers apart.
  bool fuse_sparse_pool = true;
  // With the fused sparse conv + pool, run a conv2d right after it as a convolution over its
  // background + sparse delta output (Model::sparse_delta_conv(); Backend::make_delta_conv, CPU
  // only); same results, off to test or profile the dense convolution there.
  bool sparse_delta_conv = true;
};

class Model {
 public:
  // `origin` names the JSON's file in errors. The backend must outlive the model.
  static Model from_json(const json& arch, const std::string& origin, const ModelOptions& opt, Backend& backend,
                         const LayerRegistry& registry = LayerRegistry::standard());
  static Model from_file(const std::string& path, const ModelOptions& opt, Backend& backend);

  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // batch: N x C x H x W (any N >= 1), on the backend's device; may be a Tensor::view over memory
  // another component owns. It must stay alive until backward(). Returns the logits (N x classes).
  const Tensor& forward(const Tensor& batch, bool training);
  // The same for a sparse batch (nn/sparse.hpp; N x C x H x W of the model's input, on the
  // backend's device): layer 0 runs the sparse-input convolution, so the model must start with a
  // conv2d (accepts_sparse_input()); the rest is the dense path (but for the fusions below:
  // sparse_pool_fused(), sparse_delta_conv()). Same logits as forward() on the
  // densified batch, up to float rounding; loss_and_grad, backward and the optimizers are
  // unchanged (layer 0 never computes an input gradient). The batch's arrays must stay alive and
  // unchanged until backward().
  const Tensor& forward(const SparseBatch& batch, bool training);
  // Whether forward(SparseBatch) is allowed: the first layer is a conv2d.
  bool accepts_sparse_input() const;
  // Whether forward(SparseBatch) runs layers 0-2 as one op (Backend::make_sparse_conv_pool): they
  // are conv2d, relu (fused into it) and max_pool2d, and ModelOptions::fuse_sparse_pool is on.
  // The parameters stay the conv2d's; the profile puts the op's time under layer 0.
  bool sparse_pool_fused() const;
  // Whether forward(SparseBatch) then runs layer 3 over the fused op's background + sparse delta
  // output (Backend::make_delta_conv): sparse_pool_fused(), layer 3 is a conv2d, the backend has
  // a DeltaConvOp and ModelOptions::sparse_delta_conv is on.
  bool sparse_delta_conv() const;
  // With sparse_delta_conv(), the max_pool2d that an inference forward(SparseBatch) runs as one op
  // with layer 3 (DeltaConvOp::forward_pooled: the pooled values straight from the convolution's
  // sums): the first layer after 3 when the ones between are a relu fused into 3 or a dropout
  // (both the identity in inference there); 0 when there is none. The profile puts that op's time
  // under layer 3; backward() after such a forward pass is refused (nothing kept for it).
  size_t sparse_delta_pool_layer() const;
  // Mean softmax cross-entropy of the last forward's logits; prepares the logits' gradient.
  double loss_and_grad(const std::vector<int32_t>& labels);
  // Fills every parameter's gradient.
  void backward();
  // Class probabilities for a batch (inference mode), on the host, N x classes row-major.
  std::vector<float> predict(const Tensor& batch);
  std::vector<float> predict(const SparseBatch& batch);
  // Softmax of the last forward (N x classes, on the device); valid after loss_and_grad.
  const Tensor& probabilities() const { return probs_; }

  // Every parameter and buffer, with a stable name "<index>_<type>/<param>", e.g. "03_conv2d/kernel".
  struct NamedParam {
    std::string name;
    Param* param;
  };
  std::vector<NamedParam> named_params();
  std::vector<Param*> trainable_params();
  size_t parameter_count();

  Backend& backend() const { return *backend_; }
  DeviceKind device() const { return backend_->device(); }
  const ModelOptions& options() const { return opt_; }
  const json& architecture() const { return arch_; }
  Layer& layer(size_t i) { return *layers_.at(i); }
  Shape output_shape(size_t i) const { return shapes_.at(i + 1); }  // per sample, after layer i
  std::string summary() const;                                      // one line per layer with its output shape

  // Data-parallel training: the next batches are samples [first, first + n) of a global batch,
  // so per-sample randomness (dropout masks) follows the sample, not its place in this batch.
  void set_batch_offset(uint64_t first_sample);
  // Whether a layer's state depends on the whole batch (batch-norm statistics), so that ranks
  // training on slices of one batch would not train the model one process trains.
  bool has_batch_statistics() const;

  // Per-layer wall time (backend synchronised after each layer) for benchmarks; off by default.
  // Turning it on starts new totals.
  void set_profiling(bool on) {
    if (on && !profile_) fwd_secs_.clear(), bwd_secs_.clear();
    profile_ = on;
  }
  std::string profile_report() const;  // one line per layer: forward ms, backward ms (totals)

 private:
  Model() = default;
  // Layers [first, end) from x (layer first - 1's output, or the batch), timed when profiling.
  const Tensor& run_layers(size_t first, const Tensor* x, bool training);
  Backend* backend_ = nullptr;
  json arch_;
  ModelOptions opt_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Shape> shapes_;  // shapes_[0] = input, shapes_[i + 1] = after layer i
  const Tensor* logits_ = nullptr;
  Tensor probs_, dlogits_;
  bool have_grad_ = false;
  bool pooled_forward_ = false;  // the last forward ran the fused sparse conv + pool (layers 0-2)
  bool delta_forward_ = false;   // and layer 3 over its delta output
  size_t delta_pool_ = 0;        // and, in inference, layers 4 to this one in layer 3's op (0: not)
  bool profile_ = false;
  std::vector<double> fwd_secs_, bwd_secs_;
};

}  // namespace flowpic::nn
