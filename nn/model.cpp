#include "nn/model.hpp"

#include <chrono>
#include <sstream>

#include "common/error.hpp"

namespace flowpic::nn {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

int positive_int(const json& obj, const std::string& key, const JsonWhere& where) {
  int64_t v = json_int(obj, key, where);
  if (v <= 0 || v > (1 << 24)) fail(where.at(key).str(), ": must be a positive integer, got ", v);
  return int(v);
}

// An integer or a pair [h, w] -> {h, w}; `fallback` when the key is absent.
std::pair<int, int> int_pair(const json& obj, const std::string& key, const JsonWhere& where,
                             std::pair<int, int> fallback) {
  if (!obj.contains(key)) return fallback;
  const json& v = obj[key];
  if (v.is_number_integer()) {
    int x = positive_int(obj, key, where);
    return {x, x};
  }
  auto in_range = [](const json& x) {
    return x.is_number_integer() && x.get<int64_t>() > 0 && x.get<int64_t>() <= (1 << 24);
  };
  if (v.is_array() && v.size() == 2 && in_range(v[0]) && in_range(v[1])) return {v[0].get<int>(), v[1].get<int>()};
  fail(where.at(key).str(), ": expected a positive integer or a pair [height, width], got ", json_text(v));
}

Init init_of(const json& obj, const JsonWhere& where, Init fallback) {
  if (!obj.contains("init")) return fallback;
  std::string name = json_string(obj, "init", where);
  try {
    return parse_init(name);
  } catch (const Error& e) {
    fail(where.at("init").str(), ": ", e.what());
  }
}

std::unique_ptr<Layer> make_conv2d(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type", "filters", "kernel_size", "strides", "padding", "use_bias", "init"},
             {"filters", "kernel_size"});
  Conv2dConfig c;
  c.filters = positive_int(o, "filters", w);
  std::tie(c.kh, c.kw) = int_pair(o, "kernel_size", w, {0, 0});
  std::tie(c.sh, c.sw) = int_pair(o, "strides", w, {1, 1});
  if (o.contains("padding")) {
    const json& p = o["padding"];
    if (p == "valid") {
      c.padding = Conv2dConfig::Padding::valid;
    } else if (p == "same") {
      c.padding = Conv2dConfig::Padding::same;
    } else if (p.is_array() && p.size() == 4) {
      c.padding = Conv2dConfig::Padding::explicit_;
      int* dst[4] = {&c.pad_top, &c.pad_bottom, &c.pad_left, &c.pad_right};
      for (int i = 0; i < 4; ++i) {
        if (!p[i].is_number_integer() || p[i].get<int64_t>() < 0 || p[i].get<int64_t>() > 4096)
          fail(w.at("padding").at(i).str(), ": expected a non-negative integer, got ", json_text(p[i]));
        *dst[i] = p[i].get<int>();
      }
    } else {
      fail(w.at("padding").str(), ": expected \"valid\", \"same\" or [top, bottom, left, right], got ", json_text(p));
    }
  }
  if (o.contains("use_bias")) c.use_bias = json_bool(o, "use_bias", w);
  c.init = init_of(o, w, Init::glorot_uniform);
  return std::make_unique<Conv2d>(c);
}

std::unique_ptr<Layer> make_max_pool2d(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type", "pool_size", "strides"});
  auto k = int_pair(o, "pool_size", w, {2, 2});
  auto s = int_pair(o, "strides", w, k);
  return std::make_unique<MaxPool2d>(k.first, k.second, s.first, s.second);
}

std::unique_ptr<Layer> make_relu(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type"});
  return std::make_unique<ReLU>();
}

std::unique_ptr<Layer> make_dropout(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type", "rate"}, {"rate"});
  double r = json_number(o, "rate", w);
  if (!(r >= 0 && r < 1)) fail(w.at("rate").str(), ": must be in [0, 1), got ", r);
  return std::make_unique<Dropout>(float(r));
}

std::unique_ptr<Layer> make_flatten(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type"});
  return std::make_unique<Flatten>();
}

std::unique_ptr<Layer> make_dense(const json& o, const JsonWhere& w, const BuildContext& ctx) {
  check_keys(o, w, {"type", "units", "use_bias", "init"}, {"units"});
  int units = 0;
  if (o["units"].is_string()) {
    if (o["units"] != "classes")
      fail(w.at("units").str(), ": expected a positive integer or \"classes\", got ", json_text(o["units"]));
    units = ctx.classes;
  } else {
    units = positive_int(o, "units", w);
  }
  bool bias = o.contains("use_bias") ? json_bool(o, "use_bias", w) : true;
  return std::make_unique<Dense>(units, bias, init_of(o, w, Init::glorot_uniform));
}

std::unique_ptr<Layer> make_batch_norm2d(const json& o, const JsonWhere& w, const BuildContext&) {
  check_keys(o, w, {"type", "momentum", "epsilon"});
  double m = o.contains("momentum") ? json_number(o, "momentum", w) : 0.99;  // Keras defaults
  double e = o.contains("epsilon") ? json_number(o, "epsilon", w) : 1e-3;
  if (!(m >= 0 && m < 1)) fail(w.at("momentum").str(), ": must be in [0, 1), got ", m);
  if (!(e >= 1e-5)) fail(w.at("epsilon").str(), ": must be at least 1e-5 (cuDNN's minimum), got ", e);
  return std::make_unique<BatchNorm2d>(m, e);
}

}  // namespace

// ---- registry ------------------------------------------------------------------------------

void LayerRegistry::add(const std::string& type, Factory f) { factories_[type] = std::move(f); }

std::vector<std::string> LayerRegistry::types() const {
  std::vector<std::string> t;
  for (const auto& kv : factories_) t.push_back(kv.first);
  return t;
}

std::unique_ptr<Layer> LayerRegistry::build(const json& obj, const JsonWhere& where, const BuildContext& ctx) const {
  std::string type = json_string(obj, "type", where);
  auto it = factories_.find(type);
  if (it == factories_.end())
    fail(where.at("type").str(), ": unknown layer type '", type, "'; allowed: ", join(types()));
  return it->second(obj, where, ctx);
}

const LayerRegistry& LayerRegistry::standard() {
  static const LayerRegistry r = [] {
    LayerRegistry reg;
    reg.add("conv2d", make_conv2d);
    reg.add("max_pool2d", make_max_pool2d);
    reg.add("relu", make_relu);
    reg.add("dropout", make_dropout);
    reg.add("flatten", make_flatten);
    reg.add("dense", make_dense);
    reg.add("batch_norm2d", make_batch_norm2d);
    return reg;
  }();
  return r;
}

// ---- Model ---------------------------------------------------------------------------------

Model Model::from_json(const json& arch, const std::string& origin, const ModelOptions& opt, Backend& backend,
                       const LayerRegistry& registry) {
  JsonWhere where{origin, ""};
  check_keys(arch, where, {"name", "description", "layers"}, {"layers"});
  if (opt.classes < 2) fail(origin, ": a model needs at least 2 classes, got ", opt.classes);
  if (opt.input.c <= 0 || opt.input.h <= 0 || opt.input.w <= 0)
    fail(origin, ": input shape ", opt.input.c, "x", opt.input.h, "x", opt.input.w, " must be positive");
  if (int64_t{opt.input.c} * opt.input.h * opt.input.w > kMaxLayerValues)
    fail(origin, ": input shape ", opt.input.c, "x", opt.input.h, "x", opt.input.w, " is over the limit of ",
         kMaxLayerValues, " values per sample");
  const json& layers = arch["layers"];
  JsonWhere lw = where.at("layers");
  if (!layers.is_array() || layers.empty()) fail(lw.str(), ": expected a non-empty list of layer objects");

  Model m;
  m.backend_ = &backend;
  m.arch_ = arch;
  m.opt_ = opt;
  m.opt_.input.n = 1;
  m.shapes_.push_back(m.opt_.input);
  BuildContext ctx{opt.classes};
  for (size_t i = 0; i < layers.size(); ++i) {
    JsonWhere w = lw.at(i);
    std::unique_ptr<Layer> layer = registry.build(layers[i], w, ctx);
    Rng rng(opt.seed, 1 + i);
    Shape in = m.shapes_.back(), out;
    try {
      out = layer->setup(backend, in, rng, hash3(opt.seed, 0xD1209017ull, i));
    } catch (const Error& e) {
      fail(w.str(), " (", layer->type(), "): ", e.what(), " [input ", in.c, "x", in.h, "x", in.w, "]");
    }
    m.shapes_.push_back(out);
    m.layers_.push_back(std::move(layer));
  }
  if (opt.fuse)
    for (size_t i = 0; i + 1 < m.layers_.size(); ++i) {
      auto* conv = dynamic_cast<Conv2d*>(m.layers_[i].get());
      auto* relu = dynamic_cast<ReLU*>(m.layers_[i + 1].get());
      if (conv && relu) {
        conv->fuse_activation(Activation::relu);
        relu->set_fused(true);
      }
    }
  Shape last = m.shapes_.back();
  if (last.c != opt.classes || last.h != 1 || last.w != 1)
    fail(origin, ": the last layer must output one logit per class (", opt.classes, "), but layers[", layers.size() - 1,
         "] (", m.layers_.back()->type(), ") outputs ", last.c, "x", last.h, "x", last.w,
         "; end with {\"type\": \"dense\", \"units\": \"classes\"}");
  return m;
}

Model Model::from_file(const std::string& path, const ModelOptions& opt, Backend& backend) {
  return from_json(load_json_file(path), path, opt, backend);
}

void Model::set_batch_offset(uint64_t first_sample) {
  for (auto& l : layers_)
    if (auto* d = dynamic_cast<Dropout*>(l.get())) d->set_batch_offset(first_sample);
}

bool Model::has_batch_statistics() const {
  for (const auto& l : layers_)
    if (l->type() == "batch_norm2d") return true;
  return false;
}

const Tensor& Model::forward(const Tensor& batch, bool training) {
  const Shape& s = batch.shape();
  if (s.n < 1 || s.c != opt_.input.c || s.h != opt_.input.h || s.w != opt_.input.w)
    fail("model input: expected N x ", opt_.input.c, " x ", opt_.input.h, " x ", opt_.input.w, ", got ", s.str());
  check_device(batch, backend_->device(), "model input");
  pooled_forward_ = delta_forward_ = false;
  delta_pool_ = 0;
  return run_layers(0, &batch, training);
}

bool Model::accepts_sparse_input() const {
  return !layers_.empty() && dynamic_cast<const Conv2d*>(layers_[0].get()) != nullptr;
}

bool Model::sparse_pool_fused() const {
  if (!opt_.fuse_sparse_pool || layers_.size() < 3) return false;
  const auto* conv = dynamic_cast<const Conv2d*>(layers_[0].get());
  const auto* relu = dynamic_cast<const ReLU*>(layers_[1].get());
  const auto* pool = dynamic_cast<const MaxPool2d*>(layers_[2].get());
  return conv && relu && relu->fused() && pool &&
         sparse_conv_pool_unsupported(conv->geometry(), pool->geometry()).empty();
}

bool Model::sparse_delta_conv() const {
  if (!opt_.sparse_delta_conv || layers_.size() < 4 || !sparse_pool_fused()) return false;
  const auto* conv = dynamic_cast<const Conv2d*>(layers_[3].get());
  return conv && conv->accepts_delta_input();
}

size_t Model::sparse_delta_pool_layer() const {
  if (!sparse_delta_conv()) return 0;
  for (size_t i = 4; i < layers_.size(); ++i) {
    if (dynamic_cast<const MaxPool2d*>(layers_[i].get())) return i;
    const auto* relu = dynamic_cast<const ReLU*>(layers_[i].get());
    if (!(relu && relu->fused()) && !dynamic_cast<const Dropout*>(layers_[i].get())) return 0;
  }
  return 0;
}

const Tensor& Model::forward(const SparseBatch& batch, bool training) {
  auto* conv = dynamic_cast<Conv2d*>(layers_.at(0).get());
  if (!conv)
    fail("model input: a sparse batch needs a conv2d first layer, but layers[0] is ", layers_[0]->type(),
         "; densify the batch (nn::densify) or start the model with a conv2d");
  check_sparse_input(batch, opt_.input.c, opt_.input.h, opt_.input.w, backend_->device(), "model input");
  if (profile_) fwd_secs_.resize(layers_.size(), 0.0);
  logits_ = nullptr;
  have_grad_ = false;
  const bool pooled = sparse_pool_fused(), delta = sparse_delta_conv();
  const size_t delta_pool = training ? 0 : sparse_delta_pool_layer();
  auto timed = [&](size_t layer, auto&& run) -> const Tensor& {
    auto t0 = std::chrono::steady_clock::now();
    const Tensor& y = run();
    if (profile_) {
      backend_->synchronize();
      fwd_secs_[layer] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return y;
  };
  const Tensor* x = &timed(0, [&]() -> const Tensor& {
    // With the delta conv after it, the head's dense output is never read: only its listed positions.
    return pooled
               ? conv->forward_sparse_pooled(batch, dynamic_cast<MaxPool2d&>(*layers_[2]).geometry(), training, !delta)
               : conv->forward_sparse(batch, training);
  });
  if (delta)
    x = &timed(3, [&]() -> const Tensor& {
      auto& conv3 = dynamic_cast<Conv2d&>(*layers_[3]);
      if (delta_pool)
        return conv3.forward_delta_pooled(*conv->pooled_output_delta(),
                                          dynamic_cast<MaxPool2d&>(*layers_[delta_pool]).geometry());
      return conv3.forward_delta(*conv->pooled_output_delta(), training);
    });
  const Tensor& logits = run_layers(delta_pool ? delta_pool + 1 : delta ? 4 : pooled ? 3 : 1, x, training);
  pooled_forward_ = pooled;
  delta_forward_ = delta;
  delta_pool_ = delta_pool;
  return logits;
}

const Tensor& Model::run_layers(size_t first, const Tensor* x, bool training) {
  if (profile_) fwd_secs_.resize(layers_.size(), 0.0);
  for (size_t i = first; i < layers_.size(); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    x = &layers_[i]->forward(*x, training);
    if (profile_) {
      backend_->synchronize();
      fwd_secs_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  logits_ = x;
  have_grad_ = false;
  return *x;
}

double Model::loss_and_grad(const std::vector<int32_t>& labels) {
  if (!logits_) fail("loss_and_grad() called before forward()");
  double loss = backend_->softmax_xent(*logits_, labels, probs_, dlogits_);
  have_grad_ = true;
  return loss;
}

void Model::backward() {
  if (!have_grad_) fail("backward() called without loss_and_grad() after the last forward()");
  if (delta_pool_)
    fail("backward() after an inference forward pass over a sparse batch (layers 03 to ", delta_pool_,
         " ran as one op that keeps nothing for backward); run forward with training = true");
  const Tensor* dy = &dlogits_;
  if (profile_) bwd_secs_.resize(layers_.size(), 0.0);
  for (size_t i = layers_.size(); i-- > 0;) {
    if (pooled_forward_ && (i == 1 || i == 2)) continue;  // their work is layer 0's fused op
    auto t0 = std::chrono::steady_clock::now();
    if (delta_forward_ && i == 0)  // layer 3 left its input gradient in delta form
      dynamic_cast<Conv2d&>(*layers_[0]).backward_pooled(dynamic_cast<const Conv2d&>(*layers_[3]).delta_grad());
    else
      dy = &layers_[i]->backward(*dy, i > 0);
    if (profile_) {
      backend_->synchronize();
      bwd_secs_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  have_grad_ = false;
}

std::vector<float> Model::predict(const Tensor& batch) {
  const Tensor& logits = forward(batch, false);
  backend_->softmax(logits, probs_);
  logits_ = nullptr;
  return probs_.to_host();
}

std::vector<float> Model::predict(const SparseBatch& batch) {
  const Tensor& logits = forward(batch, false);
  backend_->softmax(logits, probs_);
  logits_ = nullptr;
  return probs_.to_host();
}

std::vector<Model::NamedParam> Model::named_params() {
  std::vector<NamedParam> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%02zu_", i);
    for (Param* p : layers_[i]->params()) out.push_back({prefix + layers_[i]->type() + "/" + p->name, p});
  }
  return out;
}

std::vector<Param*> Model::trainable_params() {
  std::vector<Param*> out;
  for (auto& l : layers_)
    for (Param* p : l->params())
      if (p->trainable) out.push_back(p);
  return out;
}

size_t Model::parameter_count() {
  size_t n = 0;
  for (Param* p : trainable_params()) n += p->value.count();
  return n;
}

std::string Model::summary() const {
  std::ostringstream os;
  os << "input " << shapes_[0].c << "x" << shapes_[0].h << "x" << shapes_[0].w << "\n";
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Shape& s = shapes_[i + 1];
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%02zu ", i);
    os << prefix << layers_[i]->type() << " -> " << s.c << "x" << s.h << "x" << s.w << "\n";
  }
  return os.str();
}

std::string Model::profile_report() const {
  std::ostringstream os;
  for (size_t i = 0; i < layers_.size(); ++i) {
    char line[160];
    const char* note = pooled_forward_ && i == 0                  ? "  (conv2d + relu + max_pool2d, sparse)"
                       : pooled_forward_ && (i == 1 || i == 2)    ? "  (in 00)"
                       : delta_forward_ && i == 3 && delta_pool_  ? "  (over 00's background + delta, pooled)"
                       : delta_forward_ && i == 3                 ? "  (over 00's background + delta)"
                       : delta_pool_ && i > 3 && i <= delta_pool_ ? "  (in 03)"
                                                                  : "";
    std::snprintf(line, sizeof line, "%02zu %-12s forward %9.2f ms  backward %9.2f ms%s\n", i,
                  layers_[i]->type().c_str(), i < fwd_secs_.size() ? fwd_secs_[i] * 1e3 : 0.0,
                  i < bwd_secs_.size() ? bwd_secs_[i] * 1e3 : 0.0, note);
    os << line;
  }
  return os.str();
}

}  // namespace flowpic::nn
