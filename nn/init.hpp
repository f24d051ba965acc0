#pragma once
// Weight initialisers, seeded with the engine's own generator (random.hpp), so initial weights
// are identical on every platform and backend.
#include <string>
#include <vector>

#include "nn/random.hpp"

namespace flowpic::nn {

enum class Init { glorot_uniform, kaiming_uniform, kaiming_normal, zeros };

// "glorot_uniform" (Keras default), "kaiming_uniform", "kaiming_normal" (He, for ReLU), "zeros".
Init parse_init(const std::string& name);  // throws listing the allowed names
const std::vector<std::string>& init_names();

// glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out));
// kaiming_uniform: U(-l, l), l = sqrt(6 / fan_in); kaiming_normal: N(0, 2 / fan_in).
std::vector<float> init_values(Init init, size_t count, int fan_in, int fan_out, Rng& rng);

}  // namespace flowpic::nn
