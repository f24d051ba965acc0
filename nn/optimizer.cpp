#include "nn/optimizer.hpp"

#include <cmath>

#include "common/error.hpp"

namespace flowpic::nn {

double LrSchedule::at(double base, int64_t t) const {
  switch (kind) {
    case Kind::constant: return base;
    case Kind::step: return base * std::pow(gamma, double(t / step_size));
    case Kind::cosine: {
      double f = double(std::min(t, total_steps)) / double(total_steps);
      return min_lr + (base - min_lr) * 0.5 * (1 + std::cos(3.14159265358979323846 * f));
    }
  }
  return base;
}

LrSchedule LrSchedule::from_json(const json& o, const JsonWhere& w) {
  LrSchedule s;
  std::string type = json_string(o, "type", w);
  if (type == "constant") {
    check_keys(o, w, {"type"});
  } else if (type == "step") {
    check_keys(o, w, {"type", "step_size", "gamma"}, {"step_size"});
    s.kind = Kind::step;
    s.step_size = json_int(o, "step_size", w);
    if (s.step_size < 1) fail(w.at("step_size").str(), ": must be at least 1");
    if (o.contains("gamma")) s.gamma = json_number(o, "gamma", w);
  } else if (type == "cosine") {
    check_keys(o, w, {"type", "total_steps", "min_lr"}, {"total_steps"});
    s.kind = Kind::cosine;
    s.total_steps = json_int(o, "total_steps", w);
    if (s.total_steps < 1) fail(w.at("total_steps").str(), ": must be at least 1");
    if (o.contains("min_lr")) s.min_lr = json_number(o, "min_lr", w);
  } else {
    fail(w.at("type").str(), ": unknown schedule '", type, "'; allowed: constant, step, cosine");
  }
  return s;
}

Optimizer::Optimizer(Model& model, double lr, LrSchedule schedule)
    : backend_(model.backend()), params_(model.trainable_params()), base_lr_(lr), schedule_(schedule) {
  if (!(lr > 0)) fail("optimizer: learning rate must be positive, got ", lr);
}

void Optimizer::step() {
  const double lr = current_lr();
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) update(i, *params_[i], lr);
}

Adam::Adam(Model& model, const AdamConfig& cfg) : Optimizer(model, cfg.lr, cfg.schedule), cfg_(cfg) {
  for (Param* p : params_) {
    m_.emplace_back(p->value.shape(), p->value.device());
    v_.emplace_back(p->value.shape(), p->value.device());
  }
}

void Adam::update(size_t i, Param& p, double lr) {
  AdamUpdate u;
  u.lr = float(lr);
  u.beta1 = float(cfg_.beta1);
  u.beta2 = float(cfg_.beta2);
  u.eps = float(cfg_.epsilon);
  u.weight_decay = float(cfg_.weight_decay);
  u.step = steps_;
  backend_.adam_update(p.value, p.grad, m_[i], v_[i], u);
}

Sgd::Sgd(Model& model, const SgdConfig& cfg) : Optimizer(model, cfg.lr, cfg.schedule), cfg_(cfg) {
  for (Param* p : params_) velocity_.emplace_back(p->value.shape(), p->value.device());
}

void Sgd::update(size_t i, Param& p, double lr) {
  SgdUpdate u;
  u.lr = float(lr);
  u.momentum = float(cfg_.momentum);
  u.weight_decay = float(cfg_.weight_decay);
  u.nesterov = cfg_.nesterov;
  backend_.sgd_update(p.value, p.grad, velocity_[i], u);
}

std::unique_ptr<Optimizer> make_optimizer(const json& o, const JsonWhere& w, Model& model) {
  std::string type = json_string(o, "type", w);
  auto num = [&](const char* key, double fallback) { return o.contains(key) ? json_number(o, key, w) : fallback; };
  LrSchedule sched;
  if (o.contains("schedule")) sched = LrSchedule::from_json(o["schedule"], w.at("schedule"));
  if (type == "adam") {
    check_keys(o, w, {"type", "lr", "beta1", "beta2", "epsilon", "weight_decay", "schedule"});
    AdamConfig c;
    c.lr = num("lr", c.lr);
    c.beta1 = num("beta1", c.beta1);
    c.beta2 = num("beta2", c.beta2);
    c.epsilon = num("epsilon", c.epsilon);
    c.weight_decay = num("weight_decay", 0);
    c.schedule = sched;
    return std::make_unique<Adam>(model, c);
  }
  if (type == "sgd") {
    check_keys(o, w, {"type", "lr", "momentum", "nesterov", "weight_decay", "schedule"});
    SgdConfig c;
    c.lr = num("lr", c.lr);
    c.momentum = num("momentum", 0);
    c.weight_decay = num("weight_decay", 0);
    if (o.contains("nesterov")) c.nesterov = json_bool(o, "nesterov", w);
    c.schedule = sched;
    return std::make_unique<Sgd>(model, c);
  }
  fail(w.at("type").str(), ": unknown optimizer '", type, "'; allowed: adam, sgd");
}

}  // namespace flowpic::nn
