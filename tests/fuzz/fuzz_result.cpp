// A damaged result or weights file: read_result, and load_model (architecture attribute -> model
// -> weights) on the same bytes.
#include "experiments/results.hpp"
#include "fuzz_support.hpp"
#include "nn/backend.hpp"
#include "nn/weights.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputFile in(data, size, ".h5");
  fuzz::expect_clean([&] {
    RunResult r = read_result(in.path());
    (void)r.config.dump();
  });
  fuzz::expect_clean([&] {
    static std::unique_ptr<nn::Backend> backend = nn::make_cpu_backend();
    nn::Model m = nn::load_model(in.path(), *backend);
    (void)m.parameter_count();
  });
  fuzz::expect_no_open_hdf5_ids();
  return 0;
}
