#pragma once
// Images of a whole store to one HDF5 file (`flowpic_data images`), layout in
// docs/representations.md: /images N x C x H x W (float32, or uint16 raw counts), chunked per
// image and compressed; /samples/* (flow, direction, block, start, packets); /labels/<column>/*;
// the resolved representation config and the sample-index counts as attributes.
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/sample_index.hpp"

namespace flowpic {

struct PacketStore;

struct ImageExportOptions {
  std::string device = "auto";  // "cpu", "gpu", or "auto" (the GPU when one is usable)
  std::string dtype = "auto";   // "float32", "uint16" (raw FlowPic counts only), "auto" (uint16 for raw counts)
  int threads = 0;              // CPU builder threads, 0 = OpenMP default
  size_t batch = 64;            // images built at a time
  int deflate = 4;              // zlib level (1 is about 1.7x faster at R = 1500, files 4x larger)
  std::string store_path;       // recorded in the file
  std::string command;          // recorded in the file
  bool progress = true;
};

struct ImageExportSummary {
  uint64_t images = 0;
  uint64_t saturated_pixels = 0;  // uint16 counts above 65535, stored as 65535
  std::string device;             // what built them
  std::string dtype;
  SampleIndexStats stats;
};

// Writes atomically: `out_path` appears only when complete.
ImageExportSummary write_images_h5(const PacketStore& store, const RepresentationConfig& config,
                                   const std::string& out_path, const ImageExportOptions& options);

}  // namespace flowpic

namespace flowpic {

struct RenderRequest {
  std::vector<size_t> samples;  // sample numbers (in build_sample_index order) to draw side by side
  std::string per_class;        // or: a label column; one panel per class value (its sample with the most packets)
  // With per_class: only flows whose label column `first` has the value `second` (all must hold),
  // e.g. {"encapsulation", "Non-VPN"} for the paper's figure 2.
  std::vector<std::pair<std::string, std::string>> where;
  int panel_px = 0;  // drawn panel side, 0 = automatic
};

// Draws samples of a store as one PNG (apps/png_render.hpp) and returns the panel titles.
std::vector<std::string> render_samples_png(const PacketStore& store, const RepresentationConfig& config,
                                            const std::string& path, const RenderRequest& request);

}  // namespace flowpic
