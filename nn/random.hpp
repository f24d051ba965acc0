#pragma once
// The engine's own random numbers, identical on every platform and on both backends: a
// counter-based hash (splitmix64 of common/hash_mix.hpp) of (seed, stream, index). No std:: distributions,
// whose output differs between standard libraries.
#include <cmath>
#include <cstdint>

#include "common/hash_mix.hpp"
#include "common/host_device.hpp"

namespace flowpic::nn {

FLOWPIC_HD inline uint64_t stream_key(uint64_t seed, uint64_t stream) { return splitmix64(splitmix64(seed) ^ stream); }
FLOWPIC_HD inline uint64_t hash3(uint64_t seed, uint64_t stream, uint64_t index) {
  return splitmix64(stream_key(seed, stream) ^ index);
}

// Dropout keep decision for element `index` of the `step`-th training forward pass of a layer:
// u >= rate for u = hash3(seed, step, index) >> 40, scaled to [0, 1) (24 random bits, exact in
// float), with the per-pass key hoisted out of the element loop.
// Keras/PyTorch "inverted" dropout: kept values are scaled by 1 / (1 - rate) in the layer.
FLOWPIC_HD inline uint64_t dropout_key(uint64_t seed, uint64_t step) { return stream_key(seed, step); }
FLOWPIC_HD inline bool dropout_keep(uint64_t key, uint64_t index, float rate) {
  return float(splitmix64(key ^ index) >> 40) * (1.0f / 16777216.0f) >= rate;
}

// A sequential generator for initialisers and shuffles.
class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0) : seed_(seed), stream_(stream) {}
  uint64_t next_u64() { return hash3(seed_, stream_, counter_++); }
  // Uniform in [lo, hi) in double (53 bits).
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * (double(next_u64() >> 11) * (1.0 / 9007199254740992.0));
  }
  // Standard normal by Box-Muller. std::log and std::cos may differ in the last bit between C
  // libraries, so kaiming_normal is reproducible per platform only; the uniform initialisers
  // (glorot_uniform, the default, and kaiming_uniform) are bit-exact everywhere.
  double normal() {
    double u1 = uniform(0.0, 1.0), u2 = uniform(0.0, 1.0);
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t seed_, stream_, counter_ = 0;
};

}  // namespace flowpic::nn
