#pragma once
// Model weights in HDF5 (layout documented in docs/weights.md): one float32 dataset per
// parameter at /weights/<index>_<type>/<name> (conv kernel OIHW, dense kernel [out, in], vectors
// for biases and batch-norm), and root attributes: "format" = "flowpic-weights-2",
// "architecture" (the model JSON), "input_c", "input_h", "input_w", "classes", "seed".
#include <hdf5.h>

#include <string>

#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic::nn {

// Written atomically (temporary file renamed into place).
void save_weights(Model& model, const std::string& path);
// The same layout inside an open HDF5 file, under `group` ("/" for a weights file; result files
// keep their model under "/model").
void write_weights(Model& model, hid_t file, const std::string& group);
// Into an already built model; every dataset must exist with the parameter's shape.
void load_weights(Model& model, const std::string& path);
// Builds the model stored in the file, then loads its weights. `path` is a weights file, or a
// result file of run_experiment (its model is under /model).
Model load_model(const std::string& path, Backend& backend);

}  // namespace flowpic::nn
