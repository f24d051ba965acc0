#pragma once
// The built-in synthetic data as a packet store: generated and ingested on first use, cached in
// <dir>/<preset>-seed<N>[-scale<X>]/ (captures/, manifest.json, store.h5) for every later run.
#include <cstdint>
#include <string>

namespace flowpic {

// Returns the store's path, generating the captures and ingesting them with the shipped ISCX
// label maps (configs/labels/) when the store is not there yet.
// The cache folder is <dir>/<preset>-seed<N> (with "-scale<X>" when scale != 1).
std::string ensure_synthetic_store(const std::string& dir, uint64_t seed, const std::string& preset,
                                   double scale = 1.0);

// configs/<relative>: from the working directory when it has configs/, else from the source tree
// this program was built from.
std::string find_config_file(const std::string& relative);

}  // namespace flowpic
