// flowpic_data images / render: images of a packet store to HDF5, and pictures of them.
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "apps/cli.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/sample_index.hpp"
#include "apps/image_export.hpp"

namespace flowpic::cli {

namespace {

const char* kImagesUsage =
    "usage: flowpic_data images STORE.h5 --config REPR.json --out IMAGES.h5 [options]\n"
    "  Builds every image a representation config yields from a packet store and writes them, with\n"
    "  their labels, flows, directions and block starts (layout: docs/representations.md).\n"
    "  --device auto|cpu|gpu     builder (auto: the GPU when one is usable)\n"
    "  --dtype auto|float32|uint16  pixel type (auto: uint16 for raw FlowPic counts, else float32)\n"
    "  --threads N               CPU builder threads (default: all)\n"
    "  --batch N                 images built at a time (default 64)\n"
    "  --deflate N               zlib level 0-9 (default 4; 1 is faster, files larger)\n"
    "  --quiet                   no progress\n";

const char* kRenderUsage =
    "usage: flowpic_data render STORE.h5 --config REPR.json --out PICTURE.png [options]\n"
    "  Draws samples as a PNG: FlowPics on a log colour scale (size up, time right), payload images in grey.\n"
    "  --sample N                a sample number (repeatable: panels side by side; default 0)\n"
    "  --per-class COLUMN        one panel per value of a label column, e.g. category (the paper's figure 2)\n"
    "  --where COLUMN=VALUE      with --per-class: only flows with that label (repeatable), e.g. encapsulation=Non-VPN\n"
    "  --panel PX                drawn panel side in pixels (default: automatic)\n";

std::string command_line(const char* name, const Args& args) {
  std::string s = std::string("flowpic_data ") + name;
  for (const auto& a : args) s += " " + a;
  return s;
}

// Options of the form --name value; positional arguments go to `positional`.
struct Parsed {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  bool has(const std::string& k) const {
    for (auto& o : options)
      if (o.first == k) return true;
    return false;
  }
  std::string get(const std::string& k, const std::string& def = "") const {
    for (auto& o : options)
      if (o.first == k) return o.second;
    return def;
  }
};

Parsed parse(const Args& args, const std::vector<std::string>& with_value, const std::vector<std::string>& flags,
             const char* usage) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      p.positional.push_back(a);
      continue;
    }
    bool known = false;
    for (auto& f : flags)
      if (a == f) {
        p.options.emplace_back(a, "");
        known = true;
      }
    for (auto& f : with_value)
      if (a == f) {
        if (i + 1 >= args.size()) throw Error(detail::concat(a, " needs a value\n", usage));  // with the usage text
        p.options.emplace_back(a, args[++i]);
        known = true;
      }
    if (!known) throw Error(detail::concat("unknown option ", a, "\n", usage));
  }
  return p;
}

int to_int(const std::string& option, const std::string& v) {
  try {
    size_t used = 0;
    int x = std::stoi(v, &used);
    if (used == v.size() && x >= 0) return x;
  } catch (...) {
  }
  fail(option, ": expected a whole number >= 0, got '", v, "'");
}

}  // namespace

int images(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kImagesUsage, stdout);
    return 0;
  }
  Parsed p = parse(args, {"--config", "--out", "--device", "--dtype", "--threads", "--batch", "--deflate"}, {"--quiet"},
                   kImagesUsage);
  if (p.positional.size() != 1 || !p.has("--config") || !p.has("--out")) {
    std::fputs(kImagesUsage, stderr);
    return 2;
  }
  RepresentationConfig config = RepresentationConfig::load(p.get("--config"));
  PacketStore store = read_packet_store(p.positional[0]);
  ImageExportOptions opt;
  opt.device = p.get("--device", "auto");
  opt.dtype = p.get("--dtype", "auto");
  opt.threads = p.has("--threads") ? to_int("--threads", p.get("--threads")) : 0;
  opt.batch = p.has("--batch") ? std::max(1, to_int("--batch", p.get("--batch"))) : 64;
  opt.deflate = p.has("--deflate") ? to_int("--deflate", p.get("--deflate")) : 4;
  if (opt.deflate > 9) fail("--deflate: a level from 0 to 9, got ", opt.deflate);
  opt.progress = !p.has("--quiet");
  opt.store_path = p.positional[0];
  opt.command = command_line("images", args);
  ImageExportSummary s = write_images_h5(store, config, p.get("--out"), opt);
  std::printf("%s: %llu images (%s, %d x %d x %d, built on the %s)\n", p.get("--out").c_str(),
              static_cast<unsigned long long>(s.images), s.dtype.c_str(), config.channels(), config.height(),
              config.width(), s.device.c_str());
  std::printf("dropped and counted: %s\n", s.stats.to_json().dump().c_str());
  if (s.saturated_pixels)
    std::printf("warning: %llu pixels over 65535 stored as 65535 (use --dtype float32)\n",
                static_cast<unsigned long long>(s.saturated_pixels));
  return 0;
}

int render(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kRenderUsage, stdout);
    return 0;
  }
  Parsed p = parse(args, {"--config", "--out", "--sample", "--per-class", "--where", "--panel"}, {}, kRenderUsage);
  if (p.positional.size() != 1 || !p.has("--config") || !p.has("--out")) {
    std::fputs(kRenderUsage, stderr);
    return 2;
  }
  RepresentationConfig config = RepresentationConfig::load(p.get("--config"));
  PacketStore store = read_packet_store(p.positional[0]);
  RenderRequest req;
  for (auto& o : p.options)
    if (o.first == "--sample") req.samples.push_back(static_cast<size_t>(to_int("--sample", o.second)));
  req.per_class = p.get("--per-class");
  if (!req.per_class.empty() && !req.samples.empty()) fail("--sample and --per-class exclude each other");
  for (auto& o : p.options) {
    if (o.first != "--where") continue;
    size_t eq = o.second.find('=');
    if (eq == std::string::npos || eq == 0) fail("--where ", o.second, ": expected COLUMN=VALUE, e.g. encapsulation=Non-VPN");
    req.where.emplace_back(o.second.substr(0, eq), o.second.substr(eq + 1));
  }
  if (!req.where.empty() && req.per_class.empty()) fail("--where goes with --per-class");
  req.panel_px = p.has("--panel") ? to_int("--panel", p.get("--panel")) : 0;
  auto titles = render_samples_png(store, config, p.get("--out"), req);
  std::printf("%s: %zu panel(s):", p.get("--out").c_str(), titles.size());
  for (auto& t : titles) std::printf(" [%s]", t.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace flowpic::cli
