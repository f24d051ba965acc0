#pragma once
// Model weights in HDF5 (layout documented in docs/weights.md): one float32 dataset per
// parameter at /weights/<index>_<type>/<name> (conv kernel OIHW, dense kernel [out, in], vectors
// for biases and batch-norm), and root attributes: "format" = "flowpic-weights-1",
// "architecture" (the model JSON), "input_c", "input_h", "input_w", "classes", "seed".
#include <string>

#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic::nn {

// Written atomically (temporary file renamed into place).
void save_weights(Model& model, const std::string& path);
// Into an already built model; every dataset must exist with the parameter's shape.
void load_weights(Model& model, const std::string& path);
// Builds the model stored in the file, then loads its weights.
Model load_model(const std::string& path, Backend& backend);

}  // namespace flowpic::nn
