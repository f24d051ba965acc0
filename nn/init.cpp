#include "nn/init.hpp"

#include <cmath>

#include "common/error.hpp"

namespace flowpic::nn {

const std::vector<std::string>& init_names() {
  static const std::vector<std::string> names = {"glorot_uniform", "kaiming_uniform", "kaiming_normal", "zeros"};
  return names;
}

Init parse_init(const std::string& name) {
  const auto& n = init_names();
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return Init(i);
  fail("unknown initialiser '", name, "'; allowed: glorot_uniform, kaiming_uniform, kaiming_normal, zeros");
}

std::vector<float> init_values(Init init, size_t count, int fan_in, int fan_out, Rng& rng) {
  std::vector<float> v(count, 0.0f);
  switch (init) {
    case Init::glorot_uniform: {
      double l = std::sqrt(6.0 / (fan_in + fan_out));
      for (auto& x : v) x = float(rng.uniform(-l, l));
      break;
    }
    case Init::kaiming_uniform: {
      double l = std::sqrt(6.0 / fan_in);
      for (auto& x : v) x = float(rng.uniform(-l, l));
      break;
    }
    case Init::kaiming_normal: {
      double s = std::sqrt(2.0 / fan_in);
      for (auto& x : v) x = float(s * rng.normal());
      break;
    }
    case Init::zeros: break;
  }
  return v;
}

}  // namespace flowpic::nn
