#pragma once
// The integer mixing every part of flowpic uses for reproducible randomness and content hashes,
// written once: SplitMix64 (Steele, Lea and Flood 2014; Vigna's splitmix64.c) and 64-bit FNV-1a.
// All constexpr and FLOWPIC_HD, so CUDA kernels compute the same bits as the CPU.
//  - splitmix64(z): the generator's output for state z, a stateless bijective mixer (the nn
//    engine's counter-based random numbers hash (seed, stream, index) with it);
//  - splitmix64_next(state): the sequential generator (split and shuffle draws, seeding the
//    synthetic traffic's xoshiro256**);
//  - fnv1a_64(bytes): per-name seeds of the synthetic traffic, the packet store's content hash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/host_device.hpp"

namespace flowpic {

inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd
inline constexpr uint64_t kFnv1a64Offset = 0xCBF29CE484222325ull;
inline constexpr uint64_t kFnv1a64Prime = 0x100000001B3ull;

FLOWPIC_HD constexpr uint64_t splitmix64(uint64_t z) {
  z += kSplitMix64Gamma;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Advances `state` by the gamma and returns the output for its previous value.
FLOWPIC_HD constexpr uint64_t splitmix64_next(uint64_t& state) {
  const uint64_t z = state;
  state += kSplitMix64Gamma;
  return splitmix64(z);
}

// FNV-1a over n bytes, continuing from `h` (pass the previous result to hash data in pieces).
FLOWPIC_HD constexpr uint64_t fnv1a_64(const unsigned char* data, size_t n, uint64_t h = kFnv1a64Offset) {
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * kFnv1a64Prime;
  return h;
}
constexpr uint64_t fnv1a_64(std::string_view bytes, uint64_t h = kFnv1a64Offset) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnv1a64Prime;
  return h;
}

// Folds v into the running hash h (boost's hash_combine with a SplitMix64 multiplier and shift);
// hash-table keys, not random numbers.
FLOWPIC_HD constexpr uint64_t hash_combine(uint64_t h, uint64_t v) {
  h ^= v + kSplitMix64Gamma + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

}  // namespace flowpic
