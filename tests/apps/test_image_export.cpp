// `flowpic_data images` and `render` through their library functions, on stores built in memory.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "apps/cli.hpp"
#include "apps/image_export.hpp"
#include "apps/png_render.hpp"
#include "common/atomic_file.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "kernels/image_builder_cpu.hpp"
#include "kernels/sample_index.hpp"
#include "support/error_of.hpp"
#include "support/image_reference.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
namespace ft = flowpic::testing;

namespace {

PacketStore labelled_store() {
  std::mt19937_64 rng(5);
  PacketStore s;
  for (int f = 0; f < 9; ++f) ft::add_flow(s, ft::random_flow(rng, 300, 0.3), FlowView::kSession, f % 3);
  s.labels[0].ids[4] = -1;  // an unlabelled flow
  return s;
}

ImageExportOptions quiet_cpu() {
  ImageExportOptions o;
  o.device = "cpu";
  o.progress = false;
  o.batch = 5;
  o.store_path = "in-memory";
  o.command = "test";
  return o;
}

}  // namespace

TEST(ImageExport, RawCountsAsUint16WithLabelsAndConfig) {
  ft::TempDir dir;
  PacketStore s = labelled_store();
  auto cfg = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 32})", "repr.json");
  auto sum = write_images_h5(s, cfg, dir.file("images.h5"), quiet_cpu());
  ASSERT_GT(sum.images, 10u);
  EXPECT_EQ(sum.dtype, "uint16");
  EXPECT_FALSE(file_exists(dir.file("images.h5.partial")));

  h5::Id f = h5::open_file(dir.file("images.h5"));
  std::vector<hsize_t> shape;
  auto images = h5::read<uint16_t>(f, "/images", &shape);
  EXPECT_EQ(shape, (std::vector<hsize_t>{sum.images, 1, 32, 32}));
  auto index = build_sample_index(s, cfg);
  auto w = index.windows();
  std::vector<float> ref(w.size() * 1024);
  build_flowpic_cpu(host_columns(s), cfg.flowpic.image, w.data(), w.size(), ref.data());
  ASSERT_EQ(images.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(images[i], ref[i]) << i;

  auto flows = h5::read<uint32_t>(f, "/samples/flow");
  auto dirs = h5::read<uint8_t>(f, "/samples/direction");
  auto ids = h5::read<int32_t>(f, "/labels/category/ids");
  ASSERT_EQ(flows.size(), sum.images);
  for (size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(flows[i], index.samples[i].flow);
    EXPECT_EQ(dirs[i], index.samples[i].direction);
    EXPECT_EQ(ids[i], s.labels[0].ids[flows[i]]);
  }
  EXPECT_EQ(h5::read_strings(f, "/labels/category/values"), s.labels[0].values);
  json repr = json::parse(h5::get_attr_string(f, "representation"));
  EXPECT_EQ(repr, cfg.to_json());
  json stats = json::parse(h5::get_attr_string(f, "sample_index"));
  EXPECT_EQ(stats["samples"], sum.images);
}

TEST(ImageExport, FloatImagesAndPayloadImages) {
  ft::TempDir dir;
  PacketStore s = labelled_store();
  auto cfg = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 16, "transform": "clip255"})", "r");
  auto sum = write_images_h5(s, cfg, dir.file("a.h5"), quiet_cpu());
  EXPECT_EQ(sum.dtype, "float32");
  auto opt = quiet_cpu();
  opt.dtype = "uint16";
  EXPECT_THROW(write_images_h5(s, cfg, dir.file("b.h5"), opt), Error);
  EXPECT_FALSE(file_exists(dir.file("b.h5")));

  auto pcfg = RepresentationConfig::parse(R"({"type": "payload_image", "variant": "two_channel"})", "r");
  auto psum = write_images_h5(s, pcfg, dir.file("p.h5"), quiet_cpu());
  h5::Id f = h5::open_file(dir.file("p.h5"));
  EXPECT_EQ(h5::dataset_shape(f, "/images"), (std::vector<hsize_t>{psum.images, 2, 28, 28}));
}

TEST(ImageExport, DeviceChoiceThroughTheBuilderFrontEnd) {
  ft::TempDir dir;
  PacketStore s = labelled_store();
  for (const char* rep : {R"({"type": "flowpic", "resolution": 16, "transform": "clip255"})",
                          R"({"type": "payload_image", "variant": "signed", "side": 8})"}) {
    auto cfg = RepresentationConfig::parse(rep, "r");
    auto cpu = write_images_h5(s, cfg, dir.file("cpu.h5"), quiet_cpu());
    EXPECT_EQ(cpu.device, "cpu");
    auto opt = quiet_cpu();
    opt.device = "auto";  // the GPU when one is usable: the same images either way
    auto any = write_images_h5(s, cfg, dir.file("auto.h5"), opt);
    EXPECT_EQ(any.device, cuda_device_available() ? "gpu" : "cpu");
    EXPECT_EQ(h5::read<float>(h5::open_file(dir.file("auto.h5")), "/images"),
              h5::read<float>(h5::open_file(dir.file("cpu.h5")), "/images"))
        << rep;
  }
  auto cfg = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 16})", "r");
  auto opt = quiet_cpu();
  opt.device = "tpu";
  EXPECT_EQ(ft::error_of([&] { write_images_h5(s, cfg, dir.file("x.h5"), opt); }),
            "--device: unknown value 'tpu'; allowed: auto, cpu, gpu");
  if (!cuda_device_available()) {
    opt.device = "gpu";
    const std::string e = ft::error_of([&] { write_images_h5(s, cfg, dir.file("x.h5"), opt); });
    EXPECT_EQ(e.rfind("--device gpu: building images on the GPU needs a ", 0), 0u) << e;
    EXPECT_NE(e.find("; use --device cpu"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_FALSE(file_exists(dir.file("x.h5")));
}

TEST(Render, PerClassPanelsAndSamples) {
  ft::TempDir dir;
  PacketStore s = labelled_store();
  auto cfg = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 64})", "r");
  RenderRequest req;
  req.per_class = "category";
  auto titles = render_samples_png(s, cfg, dir.file("classes.png"), req);
  EXPECT_EQ(titles, (std::vector<std::string>{"VoIP", "Video", "Chat"}));
  std::ifstream in(dir.file("classes.png"), std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");

  // --where keeps the flows with a label: one class left, and unknown columns or values named.
  req.where = {{"category", "VoIP"}};
  EXPECT_EQ(render_samples_png(s, cfg, dir.file("voip.png"), req), (std::vector<std::string>{"VoIP"}));
  req.where = {{"category", "Email"}};
  std::string e = ft::error_of([&] { render_samples_png(s, cfg, dir.file("x.png"), req); });
  EXPECT_NE(e.find("--where category=Email: no flow has that value; the column's values: VoIP, Video, Chat"),
            std::string::npos)
      << e;
  req.where = {{"encapsulation", "Non-VPN"}};
  e = ft::error_of([&] { render_samples_png(s, cfg, dir.file("x.png"), req); });
  EXPECT_NE(e.find("no label column 'encapsulation'"), std::string::npos) << e;
  EXPECT_FALSE(file_exists(dir.file("x.png")));
  req.where.clear();

  req.per_class = "application";
  try {
    render_samples_png(s, cfg, dir.file("x.png"), req);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("category"), std::string::npos) << e.what();
  }
  req.per_class.clear();
  req.samples = {0, 1};
  auto big = RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 1500})", "r");
  EXPECT_EQ(render_samples_png(s, big, dir.file("two.png"), req).size(), 2u);
  auto pay = RepresentationConfig::parse(R"({"type": "payload_image"})", "r");
  EXPECT_EQ(render_samples_png(s, pay, dir.file("pay.png"), req).size(), 2u);
  req.samples = {100000};
  EXPECT_THROW(render_samples_png(s, cfg, dir.file("y.png"), req), Error);
}

TEST(Render, BitmapFontDrawsEveryCharacter) {
  const std::string text = "TIME (S) SIZE (B) 0123456789 voip.-+=/:_%?";
  const int w = text_width(text, 1) + 2, h = 9;
  std::vector<unsigned char> rgb(static_cast<size_t>(w) * h * 3, 255);
  draw_text(rgb, w, h, 1, 1, text, 1, 0, 0, 0);
  // Every glyph but the space leaves ink in its own 6-pixel cell.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ') continue;
    bool ink = false;
    for (int y = 0; y < h; ++y)
      for (int x = 1 + 6 * static_cast<int>(i); x < 6 + 6 * static_cast<int>(i); ++x) ink |= rgb[(y * w + x) * 3] == 0;
    EXPECT_TRUE(ink) << "glyph '" << text[i] << "'";
  }
  // Lower case has glyphs of its own: each letter's pixels differ from its capital's, and each
  // character outside the font is drawn as '?'.
  auto pixels = [](const std::string& t) {
    const int tw = text_width(t, 1) + 2, th = 9;
    std::vector<unsigned char> img(static_cast<size_t>(tw) * th * 3, 255);
    draw_text(img, tw, th, 1, 1, t, 1, 0, 0, 0);
    return img;
  };
  for (char c = 'a'; c <= 'z'; ++c)
    EXPECT_NE(pixels(std::string(1, c)), pixels(std::string(1, static_cast<char>(c - 'a' + 'A')))) << c;
  EXPECT_EQ(pixels("~"), pixels("?"));
}

TEST(ImagesCommand, StoreFileToImagesFileAndPicture) {
  // Through the flowpic_data subcommands: a store written by PacketStoreWriter, read back by
  // read_packet_store.
  ft::TempDir dir;
  std::mt19937_64 rng(21);
  {
    PacketStoreWriter w(dir.file("store.h5"), {"category"});
    SourceInfo info;
    info.name = "a.pcap";
    w.add_source(info);
    for (int f = 0; f < 6; ++f) {
      w.set_current_labels({f % 2 ? "Video" : "VoIP"});
      FlowRecord r;
      for (const ft::Pkt& p : ft::random_flow(rng, 400, 0.2)) {
        r.time.push_back(p.t);
        r.ip_length.push_back(p.size);
        r.payload_length.push_back(p.payload);
        r.direction.push_back(p.dir);
        r.tcp_flags.push_back(0);
      }
      w.add_flow(r);
    }
    w.commit();
  }
  std::ofstream(dir.file("repr.json")) << R"({"type": "flowpic", "resolution": 64, "flow_view": "bidirectional"})";
  EXPECT_EQ(cli::images({dir.file("store.h5"), "--config", dir.file("repr.json"), "--out", dir.file("img.h5"),
                         "--quiet", "--device", "cpu", "--batch", "3"}),
            0);
  h5::Id f = h5::open_file(dir.file("img.h5"));
  auto shape = h5::dataset_shape(f, "/images");
  ASSERT_EQ(shape.size(), 4u);
  EXPECT_GT(shape[0], 6u);
  EXPECT_EQ(h5::read_strings(f, "/labels/category/values").size(), 2u);
  EXPECT_EQ(cli::render({dir.file("store.h5"), "--config", dir.file("repr.json"), "--out", dir.file("c.png"),
                         "--per-class", "category"}),
            0);
  EXPECT_TRUE(file_exists(dir.file("c.png")));
  // Usage errors: exit status 2 (tests/apps/test_command_lines.cpp checks the messages).
  EXPECT_EQ(
      cli::images({dir.file("store.h5"), "--config", dir.file("repr.json"), "--out", dir.file("x.h5"), "--bogus"}), 2);
  EXPECT_EQ(cli::images({dir.file("store.h5")}), 2);
  EXPECT_FALSE(file_exists(dir.file("x.h5")));
}
