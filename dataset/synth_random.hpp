#pragma once
// The synthetic-traffic generator's only source of randomness: xoshiro256** seeded through
// splitmix64 (common/hash_mix.hpp), with every distribution written out here. The standard
// library's distribution classes are not used because their output differs between
// implementations. What remains platform-dependent is libm's log, exp and cos (sqrt is exact),
// used by the normal, exponential and log-normal draws; builds against the same libm give
// byte-identical captures.
#include <cmath>
#include <cstdint>
#include <string>

#include "common/hash_mix.hpp"

namespace flowpic::synth {

// A seed for a named part of the generation ("file skype_audio1a.pcap"), so adding or removing
// one file never changes the traffic of another.
inline uint64_t derive_seed(uint64_t seed, const std::string& tag) {
  uint64_t s = seed ^ fnv1a_64(tag);
  return splitmix64_next(s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64_next(s);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (inclusive); the tiny modulo bias is irrelevant here.
  int64_t integer(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  // Standard normal by Box-Muller (one value per call; the second is dropped for simplicity).
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  // Log-normal with the given median and log-space standard deviation.
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  // A value scattered around `nominal` by +-`spread` (relative), used to vary one capture's
  // parameters around its application's nominal ones.
  double around(double nominal, double spread) { return nominal * (1.0 + spread * uniform(-1.0, 1.0)); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

inline double clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace flowpic::synth
