#pragma once
// Optimizers over a model's trainable parameters, on the model's backend, with an optional
// learning-rate schedule. JSON: {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999,
// "epsilon": 1e-7, "weight_decay": 0, "schedule": {...}} or {"type": "sgd", "lr": 0.01,
// "momentum": 0.9, "nesterov": false, "weight_decay": 0, "schedule": {...}}.
// Schedules: {"type": "constant"}, {"type": "step", "step_size": S, "gamma": g} (lr * g^floor(t/S)),
// {"type": "cosine", "total_steps": T, "min_lr": m} (m + (lr - m)(1 + cos(pi min(t,T)/T))/2).
// t counts optimizer steps from 0. Weight decay is L2 added to the gradient (PyTorch/Keras
// "coupled" form), applied to every trainable parameter.
#include <cstdint>
#include <memory>
#include <vector>

#include "common/json_util.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic::nn {

struct LrSchedule {
  enum class Kind { constant, step, cosine } kind = Kind::constant;
  int64_t step_size = 1;
  double gamma = 0.1;
  int64_t total_steps = 1;
  double min_lr = 0.0;
  double at(double base_lr, int64_t t) const;
  static LrSchedule from_json(const json& obj, const JsonWhere& where);
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update from the gradients of the last backward().
  void step();
  double current_lr() const { return schedule_.at(base_lr_, steps_); }

 protected:
  Optimizer(Model& model, double lr, LrSchedule schedule);
  virtual void update(size_t index, Param& p, double lr) = 0;
  Backend& backend_;
  std::vector<Param*> params_;
  double base_lr_;
  LrSchedule schedule_;
  int64_t steps_ = 0;
};

struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, weight_decay = 0;  // Keras defaults
  LrSchedule schedule;
};

// Keras's Adam: alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= alpha_t m / (sqrt(v) + eps).
class Adam final : public Optimizer {
 public:
  Adam(Model& model, const AdamConfig& cfg);

 private:
  void update(size_t index, Param& p, double lr) override;
  AdamConfig cfg_;
  std::vector<Tensor> m_, v_;
};

struct SgdConfig {
  double lr = 0.01, momentum = 0.0, weight_decay = 0;
  bool nesterov = false;
  LrSchedule schedule;
};

// PyTorch's SGD: v = mu v + g; p -= lr v (or lr (g + mu v) with Nesterov).
class Sgd final : public Optimizer {
 public:
  Sgd(Model& model, const SgdConfig& cfg);

 private:
  void update(size_t index, Param& p, double lr) override;
  SgdConfig cfg_;
  std::vector<Tensor> velocity_;
};

// From a JSON object with a "type" of "adam" or "sgd"; errors name the key.
std::unique_ptr<Optimizer> make_optimizer(const json& obj, const JsonWhere& where, Model& model);

}  // namespace flowpic::nn
