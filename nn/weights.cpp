#include "nn/weights.hpp"

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"

namespace flowpic::nn {
namespace {

const char* kFormat = "flowpic-weights-2";

// Conv kernels keep 4 dimensions; everything else is stored with its non-trivial dimensions
// (dense kernel [out, in], vectors [n]).
std::vector<hsize_t> file_shape(const Param& p, const std::string& name) {
  const Shape& s = p.value.shape();
  if (name.find("conv2d/kernel") != std::string::npos) return {hsize_t(s.n), hsize_t(s.c), hsize_t(s.h), hsize_t(s.w)};
  if (s.n > 1) return {hsize_t(s.n), hsize_t(s.sample_count())};
  return {hsize_t(s.count())};
}

std::string shape_str(const std::vector<hsize_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

void write_weights(Model& model, hid_t file, const std::string& group) {
  h5::Id f = h5::create_group(file, group);
  {
    h5::set_attr(f, "format", kFormat);
    h5::set_attr(f, "architecture", model.architecture().dump());
    const ModelOptions& o = model.options();
    h5::set_attr(f, "input_c", int64_t(o.input.c));
    h5::set_attr(f, "input_h", int64_t(o.input.h));
    h5::set_attr(f, "input_w", int64_t(o.input.w));
    h5::set_attr(f, "classes", int64_t(o.classes));
    h5::set_attr(f, "seed", int64_t(o.seed));
    for (const auto& np : model.named_params())
      h5::write(f, "weights/" + np.name, np.param->value.to_host(), file_shape(*np.param, np.name), 0);
  }
}

void save_weights(Model& model, const std::string& path) {
  h5::quiet_errors();
  remove_stale_partials(path);
  AtomicFile out(path);
  {
    h5::Id f = h5::create_file(out.temp_path());
    write_weights(model, f, "/");
  }
  out.commit();
}

namespace {
// The group holding the model: "/" in a weights file, "/model" in a result file.
h5::Id open_model_group(hid_t f, const std::string& path, std::string* prefix = nullptr) {
  const bool in_result = h5::exists(f, "/model");
  if (prefix) *prefix = in_result ? "/model/" : "/";
  h5::Id g = h5::open_group(f, in_result ? "/model" : "/");
  if (!h5::has_attr(g, "format") || h5::get_attr_string(g, "format") != kFormat)
    fail(path, ": not a flowpic weights or result file (attribute format != ", kFormat, ")");
  return g;
}
}  // namespace

void load_weights(Model& model, const std::string& path) {
  h5::quiet_errors();
  h5::Id file = h5::open_file(path);
  std::string prefix;
  h5::Id f = open_model_group(file, path, &prefix);
  for (const auto& np : model.named_params()) {
    const std::string ds = "weights/" + np.name;
    if (!h5::exists(f, ds))
      fail(path, ": dataset ", prefix, ds, " is missing; was the file saved from a different architecture?");
    // The shape is checked before the data is read, so a damaged file cannot ask for a huge buffer.
    std::vector<hsize_t> shape = h5::dataset_shape(f, ds);
    std::vector<hsize_t> want = file_shape(*np.param, np.name);
    if (shape != want)
      fail(path, ": dataset ", prefix, ds, " has shape ", shape_str(shape), ", the model expects ", shape_str(want));
    std::vector<float> v = h5::read<float>(f, ds);
    np.param->value.copy_from_host(v);
  }
}

Model load_model(const std::string& path, Backend& backend) {
  h5::quiet_errors();
  ModelOptions o;
  json arch;
  {
    h5::Id file = h5::open_file(path);
    h5::Id f = open_model_group(file, path);
    arch = parse_json(h5::get_attr_string(f, "architecture"), path + " (architecture attribute)");
    o.input = {1, int(h5::get_attr_int(f, "input_c")), int(h5::get_attr_int(f, "input_h")),
               int(h5::get_attr_int(f, "input_w"))};
    o.classes = int(h5::get_attr_int(f, "classes"));
    o.seed = uint64_t(h5::get_attr_int(f, "seed"));
  }
  Model m = Model::from_json(arch, path + " (architecture attribute)", o, backend);
  load_weights(m, path);
  return m;
}

}  // namespace flowpic::nn
