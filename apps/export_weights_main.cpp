// export_weights RESULT.h5 OUT.h5: a result file's trained model as a weights file (docs/weights.md).
#include <cstdio>
#include <string>
#include <vector>

#include "experiments/classify.hpp"

namespace flowpic {

int export_weights_main(int argc, char** argv) {
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: export_weights RESULT.h5 OUT.h5\n\nWrites the trained model of a run_experiment result file as a\n"
                  "weights file (docs/weights.md), adding the class names and the representation as\n"
                  "attributes so that classify and other frameworks can use it alone.\n");
      return 0;
    }
    if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "export_weights: unknown option '%s'\n", a.c_str());
      return 2;
    }
    pos.push_back(a);
  }
  if (pos.size() != 2) {
    std::fprintf(stderr, "usage: export_weights RESULT.h5 OUT.h5\n");
    return 2;
  }
  try {
    const ExportedWeights w = export_weights(pos[0], pos[1]);
    std::fprintf(stderr, "export_weights: wrote %s (%zu parameters, %zu classes)\n", pos[1].c_str(), w.parameters, w.classes);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_weights: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::export_weights_main(argc, argv); }
