// Experiment configs typed by hand: parse_experiment, the representation config, and the model
// JSON through the CNN engine's registry (built on the CPU backend, so shapes and parameter
// counts are checked for real). The same JSON is also tried as a representation and as a model.
#include "experiments/config.hpp"
#include "fuzz_support.hpp"
#include "kernels/sample_index.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"

using namespace flowpic;

namespace {

void build_model(const json& arch, const nn::Shape& input, int classes) {
  static std::unique_ptr<nn::Backend> backend = nn::make_cpu_backend();
  nn::ModelOptions mo;
  mo.input = input;
  mo.classes = classes;
  mo.seed = 1;
  nn::Model m = nn::Model::from_json(arch, "fuzz.json: model", mo, *backend);
  (void)m.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  json j;
  try {
    j = parse_json(text, "fuzz.json");
  } catch (const Error&) {
    return 0;
  }
  fuzz::expect_clean([&] {
    ExperimentConfig c = parse_experiment(j, "fuzz.json");
    (void)c.resolved.dump();
    RepresentationConfig r = RepresentationConfig::from_json(c.representation, {c.file, "representation"});
    (void)r.to_json();
    if (c.model.is_object())
      build_model(c.model, {1, r.channels(), r.height(), r.width()}, 2 + static_cast<int>(size % 7));
  });
  fuzz::expect_clean([&] { (void)RepresentationConfig::from_json(j, {"fuzz.json", ""}).to_json(); });
  fuzz::expect_clean([&] { build_model(j, {1, 1, 32, 32}, 5); });
  fuzz::expect_clean([&] {
    json k = j;
    apply_override(k, text.substr(0, 64), "fuzz.json");
  });
  return 0;
}
