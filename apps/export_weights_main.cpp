// export_weights RESULT.h5 OUT.h5: a result file's trained model as a weights file (docs/weights.md).
#include <cstdio>
#include <string>

#include "apps/command_line.hpp"
#include "experiments/classify.hpp"

namespace flowpic {

int export_weights_main(int argc, char** argv) {
  auto app = cli::make_app("export_weights",
                           "Writes the trained model of a run_experiment result file as a weights file\n"
                           "(docs/weights.md), adding the class names and the representation as attributes\n"
                           "so that classify and other frameworks can use it alone.");
  std::string result, out;
  app->add_option("RESULT.h5", result, "a run_experiment result file")->required()->type_name("");
  app->add_option("OUT.h5", out, "the weights file to write")->required()->type_name("");
  return cli::run_command_line(*app, argc, argv, [&] {
    const ExportedWeights w = export_weights(result, out);
    std::fprintf(stderr, "export_weights: wrote %s (%zu parameters, %zu classes)\n", out.c_str(), w.parameters,
                 w.classes);
    return 0;
  });
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::export_weights_main(argc, argv); }
