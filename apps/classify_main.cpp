// classify MODEL.h5 CAPTURE...: a trained model applied to new captures (experiments/classify.hpp).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "experiments/classify.hpp"
#include "experiments/sweep.hpp"

namespace flowpic {

namespace {

void classify_usage(FILE* out) {
  std::fprintf(out,
               "usage: classify MODEL_OR_RESULT.h5 CAPTURE... [--config CONFIG.json] [--labels MAP.json]...\n"
               "                [--format csv|json] [--out FILE] [--device cpu|cuda|auto] [--batch N]\n\n"
               "Applies a trained model (a run_experiment result file, or a weights file from export_weights)\n"
               "to pcap/pcapng captures (files or folders): flows are assembled as in training, cut into the\n"
               "windows of the model's representation and classified. One row per flow window (predicted class,\n"
               "confidence, 5-tuple, every class's probability) on stdout or --out; a per-class summary on stderr.\n\n"
               "  --config FILE   take the representation from this experiment config (needed for weights files\n"
               "                  that do not record it)\n"
               "  --labels FILE   label map(s) to label the flows as training did (shown beside the predictions)\n"
               "  --format F      csv (default) or json\n"
               "  --out FILE      write there (atomically) instead of stdout\n"
               "  --device D      cpu, cuda or auto (default auto)\n"
               "  --batch N       images per forward pass (default 128)\n");
}

}  // namespace

int classify_main(int argc, char** argv) {
  ClassifyOptions o;
  std::string format = "csv", out_path;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "classify: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      classify_usage(stdout);
      return 0;
    } else if (a == "--config") {
      o.config_path = value();
    } else if (a == "--labels") {
      o.label_maps.push_back(value());
    } else if (a == "--format") {
      format = value();
    } else if (a == "--out") {
      out_path = value();
    } else if (a == "--device") {
      o.device = value();
    } else if (a == "--batch") {
      std::string v = value();
      o.batch_size = std::atoi(v.c_str());
      if (o.batch_size < 1 || o.batch_size > 65536 || v.find_first_not_of("0123456789") != std::string::npos) {
        std::fprintf(stderr, "classify: --batch '%s' should be a number from 1 to 65536\n", v.c_str());
        return 2;
      }
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "classify: unknown option '%s'\n", a.c_str());
      classify_usage(stderr);
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (format != "csv" && format != "json") {
    std::fprintf(stderr, "classify: --format '%s' is not a format; allowed: csv, json\n", format.c_str());
    return 2;
  }
  if (o.device != "cpu" && o.device != "cuda" && o.device != "auto") {
    std::fprintf(stderr, "classify: --device '%s' is not a device; allowed: cpu, cuda, auto\n", o.device.c_str());
    return 2;
  }
  if (positional.size() < 2) {
    classify_usage(stderr);
    return 2;
  }
  o.model_path = positional[0];
  o.captures.assign(positional.begin() + 1, positional.end());
  try {
    Classification c = classify_captures(o);
    std::string text = format == "csv" ? classification_csv(c) : classification_json(c).dump(2) + "\n";
    if (out_path.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    } else {
      write_text_atomically(out_path, text);
    }
    std::fprintf(stderr, "%s", classification_summary(c).c_str());
    if (!out_path.empty()) std::fprintf(stderr, "classify: wrote %s\n", out_path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::classify_main(argc, argv); }
