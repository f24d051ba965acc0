// classify MODEL.h5 CAPTURE...: a trained model applied to new captures (experiments/classify.hpp).
#include <cstdio>
#include <string>
#include <vector>

#include "apps/command_line.hpp"
#include "common/atomic_file.hpp"
#include "experiments/classify.hpp"

namespace flowpic {

int classify_main(int argc, char** argv) {
  auto app = cli::make_app(
      "classify",
      "Applies a trained model (a run_experiment result file, or a weights file from export_weights)\n"
      "to pcap/pcapng captures (files or folders): flows are assembled as in training, cut into the\n"
      "windows of the model's representation and classified. One row per flow window (predicted class,\n"
      "confidence, 5-tuple, every class's probability) on stdout or --out; a per-class summary on stderr.");
  ClassifyOptions o;
  std::string format = "csv", out_path;
  app->add_option("MODEL_OR_RESULT.h5", o.model_path, "a run_experiment result file or an export_weights weights file")
      ->required()
      ->type_name("");
  app->add_option("CAPTURE", o.captures, "pcap/pcapng captures, or folders of them")
      ->required()
      ->take_all()
      ->type_name("");
  app->add_option("--config", o.config_path,
                  "take the representation from this experiment config (needed for weights files\n"
                  "that do not record it)")
      ->type_name("FILE");
  app->add_option("--labels", o.label_maps,
                  "label map(s) to label the flows as training did (shown beside the predictions;\n"
                  "repeatable)")
      ->type_name("FILE")
      ->take_all();
  app->add_option("--format", format, "csv (default) or json")->type_name("F")->check(CLI::IsMember({"csv", "json"}));
  app->add_option("--out", out_path, "write there (atomically) instead of stdout")->type_name("FILE");
  app->add_option("--device", o.device, "cpu, cuda or auto (default auto)")
      ->type_name("D")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app->add_option("--batch", o.batch_size, "images per forward pass (default 128; 1 to 65536)")
      ->type_name("N")
      ->check(CLI::Range(1, 65536).description(""));
  return cli::run_command_line(*app, argc, argv, [&] {
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
  });
}

}  // namespace flowpic

int main(int argc, char** argv) { return flowpic::classify_main(argc, argv); }
