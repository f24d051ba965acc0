// flowpic_data images / render: images of a packet store to HDF5, and pictures of them.
#include <climits>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli.hpp"
#include "apps/command_line.hpp"
#include "apps/image_export.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic::cli {

namespace {

// What images and render share: the store, the representation config, the file to write.
struct StoreConfigOut {
  std::string store, config, out;
};

void add_store_config_out(CLI::App* sub, StoreConfigOut& s, const char* out_type, const char* out_help) {
  sub->add_option("STORE.h5", s.store, "the packet store")->required()->type_name("");
  sub->add_option("--config", s.config, "the representation config")->required()->type_name("REPR.json");
  sub->add_option("--out", s.out, out_help)->required()->type_name(out_type);
}

CLI::Validator column_equals_value() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        const size_t eq = v.find('=');
        if (eq == std::string::npos || eq == 0)
          return "expected COLUMN=VALUE, e.g. encapsulation=Non-VPN, got '" + v + "'";
        return "";
      },
      "");
}

}  // namespace

Action add_images(CLI::App& flowpic_data) {
  struct State : StoreConfigOut {
    ImageExportOptions o;
    int batch = 64;
    bool quiet = false;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub =
      add_command(flowpic_data, "images", "build the images a representation config yields, into an HDF5 file",
                  "Builds every image a representation config yields from a packet store and writes them, with\n"
                  "their labels, flows, directions and block starts (layout: docs/representations.md).");
  add_store_config_out(sub, *s, "IMAGES.h5", "the images file to write");
  sub->add_option("--device", s->o.device, "builder (auto: the GPU when one is usable)")
      ->type_name("D")
      ->check(CLI::IsMember({"auto", "cpu", "gpu"}));
  sub->add_option("--dtype", s->o.dtype, "pixel type (auto: uint16 for raw FlowPic counts, else float32)")
      ->type_name("T")
      ->check(CLI::IsMember({"auto", "float32", "uint16"}));
  sub->add_option("--threads", s->o.threads, "CPU builder threads (default: all)")
      ->type_name("N")
      ->check(CLI::Range(0, INT_MAX).description(""));
  sub->add_option("--batch", s->batch, "images built at a time (default 64)")
      ->type_name("N")
      ->check(CLI::Range(1, INT_MAX).description(""));
  sub->add_option("--deflate", s->o.deflate, "zlib level 0-9 (default 4; 1 is faster, files larger)")
      ->type_name("N")
      ->check(CLI::Range(0, 9).description(""));
  sub->add_flag("--quiet", s->quiet, "no progress");
  return [s](const std::string& command) {
    RepresentationConfig config = RepresentationConfig::load(s->config);
    PacketStore store = read_packet_store(s->store);
    ImageExportOptions opt = s->o;
    opt.batch = static_cast<size_t>(s->batch);
    opt.progress = !s->quiet;
    opt.store_path = s->store;
    opt.command = command;
    ImageExportSummary r = write_images_h5(store, config, s->out, opt);
    std::printf("%s: %llu images (%s, %d x %d x %d, built on the %s)\n", s->out.c_str(),
                static_cast<unsigned long long>(r.images), r.dtype.c_str(), config.channels(), config.height(),
                config.width(), r.device.c_str());
    std::printf("dropped and counted: %s\n", r.stats.to_json().dump().c_str());
    if (r.saturated_pixels)
      std::printf("warning: %llu pixels over 65535 stored as 65535 (use --dtype float32)\n",
                  static_cast<unsigned long long>(r.saturated_pixels));
    return 0;
  };
}

Action add_render(CLI::App& flowpic_data) {
  struct State : StoreConfigOut {
    RenderRequest req;
    std::vector<int> samples;
    std::vector<std::string> where;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub = add_command(
      flowpic_data, "render", "draw samples as a PNG (FlowPics on a log colour scale, one per class on request)",
      "Draws samples as a PNG: FlowPics on a log colour scale (size up, time right), payload images in grey.");
  add_store_config_out(sub, *s, "PICTURE.png", "the picture to write");
  CLI::Option* sample =
      sub->add_option("--sample", s->samples, "a sample number (repeatable: panels side by side; default 0)")
          ->type_name("N")
          ->take_all()
          ->check(CLI::Range(0, INT_MAX).description(""));
  CLI::Option* per_class =
      sub->add_option("--per-class", s->req.per_class,
                      "one panel per value of a label column, e.g. category (the paper's figure 2)")
          ->type_name("COLUMN");
  sub->add_option("--where", s->where,
                  "with --per-class: only flows with that label (repeatable), e.g. encapsulation=Non-VPN")
      ->type_name("COLUMN=VALUE")
      ->take_all()
      ->check(column_equals_value())
      ->needs(per_class);
  sample->excludes(per_class);
  sub->add_option("--panel", s->req.panel_px, "drawn panel side in pixels (default: automatic)")
      ->type_name("PX")
      ->check(CLI::Range(0, INT_MAX).description(""));
  return [s](const std::string&) {
    RepresentationConfig config = RepresentationConfig::load(s->config);
    PacketStore store = read_packet_store(s->store);
    RenderRequest req = s->req;
    for (int n : s->samples) req.samples.push_back(static_cast<size_t>(n));
    for (const auto& w : s->where) {
      const size_t eq = w.find('=');
      req.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    auto titles = render_samples_png(store, config, s->out, req);
    std::printf("%s: %zu panel(s):", s->out.c_str(), titles.size());
    for (auto& t : titles) std::printf(" [%s]", t.c_str());
    std::printf("\n");
    return 0;
  };
}

}  // namespace flowpic::cli
