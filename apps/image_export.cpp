#include "apps/image_export.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/progress.hpp"
#include "common/time_format.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/image_builder.hpp"

namespace flowpic {

namespace {}  // namespace

ImageExportSummary write_images_h5(const PacketStore& store, const RepresentationConfig& config,
                                   const std::string& out_path, const ImageExportOptions& opt) {
  ImageExportSummary sum;
  const bool raw_counts =
      config.type == RepresentationConfig::Type::kFlowPic && config.flowpic.image.transform == PixelTransform::kRaw;
  if (opt.dtype == "auto")
    sum.dtype = raw_counts ? "uint16" : "float32";
  else if (opt.dtype == "float32" || opt.dtype == "uint16")
    sum.dtype = opt.dtype;
  else
    fail("--dtype: unknown value '", opt.dtype, "'; allowed: auto, float32, uint16");
  if (sum.dtype == "uint16" && !raw_counts)
    fail("--dtype uint16 stores raw FlowPic counts only; this representation's pixels are not integers (use float32)");
  const std::optional<BuilderDevice> device = parse_builder_device(opt.device);
  if (!device) fail("--device: unknown value '", opt.device, "'; allowed: auto, cpu, gpu");
  ImageBuilderOptions builder_options;
  builder_options.threads = opt.threads;
  std::unique_ptr<ImageBuilder> builder;
  try {
    builder = make_image_builder(config.image_spec(), *device, host_columns(store), builder_options);
  } catch (const Error& e) {
    fail("--device ", opt.device, ": ", e.what(), "; use --device cpu");
  }
  sum.device = builder_device_name(builder->device());

  SampleIndex index = build_sample_index(store, config);
  sum.stats = index.stats;
  sum.images = index.samples.size();
  const size_t n = index.samples.size();
  const hsize_t C = config.channels(), H = config.height(), W = config.width();
  const size_t floats = config.image_floats();

  AtomicFile file(out_path);
  {
    h5::quiet_errors();
    h5::Id f = h5::create_file(file.temp_path());
    h5::set_attr(f, "format", "flowpic images");
    h5::set_attr(f, "format_version", int64_t{2});  // 2: fixed-length strings
    h5::set_attr(f, "representation", config.to_json().dump());
    h5::set_attr(f, "sample_index", index.stats.to_json().dump());
    h5::set_attr(f, "store", opt.store_path);
    h5::set_attr(f, "command", opt.command);
    h5::set_attr(f, "created", utc_now_iso8601());
    h5::set_attr(f, "dtype", sum.dtype);
    h5::set_attr(f, "device", sum.device);

    // Per-sample columns.
    std::vector<uint32_t> flow(n), block(n), packets(n);
    std::vector<uint8_t> direction(n);
    std::vector<double> start(n);
    for (size_t i = 0; i < n; ++i) {
      const Sample& s = index.samples[i];
      flow[i] = s.flow;
      direction[i] = s.direction;
      block[i] = s.index;
      start[i] = s.start;
      packets[i] = s.packets;
    }
    h5::write(f, "/samples/flow", flow);
    h5::write(f, "/samples/direction", direction);
    h5::write(f, "/samples/index", block);
    h5::write(f, "/samples/start", start);
    h5::write(f, "/samples/packets", packets);
    for (const LabelColumn& col : store.labels) {
      std::vector<int32_t> ids(n);
      for (size_t i = 0; i < n; ++i) ids[i] = col.ids.at(index.samples[i].flow);
      h5::write(f, "/labels/" + col.name + "/ids", ids);
      h5::write_strings(f, "/labels/" + col.name + "/values", col.values);
    }

    // Images, chunked one per image, built and written a batch at a time.
    const bool u16 = sum.dtype == "uint16";
    h5::Appender images = u16 ? h5::Appender::of<uint16_t>(f, "/images", {C, H, W}, 1, opt.deflate)
                              : h5::Appender::of<float>(f, "/images", {C, H, W}, 1, opt.deflate);
    h5::set_attr(f, "image_shape", "N x C x H x W (C = channels, H = rows = size, W = columns = time)");
    const size_t batch = std::max<size_t>(1, opt.batch);
    std::vector<float> host(std::min(batch, std::max<size_t>(n, 1)) * floats);
    std::vector<uint16_t> host16(u16 ? host.size() : 0);
    std::vector<ImageWindow> windows;
    Progress progress("images", static_cast<double>(n), "images");
    for (size_t a = 0; a < n; a += batch) {
      const size_t count = std::min(batch, n - a);
      windows.resize(count);
      for (size_t i = 0; i < count; ++i) windows[i] = index.samples[a + i].window;
      builder->build_host(windows.data(), count, host.data());
      if (u16) {
        for (size_t i = 0; i < count * floats; ++i) {
          float v = host[i];
          if (v > 65535.0f) {
            ++sum.saturated_pixels;
            v = 65535.0f;
          }
          host16[i] = static_cast<uint16_t>(v);
        }
        images.append(host16.data(), count);
      } else {
        images.append(host.data(), count);
      }
      if (opt.progress) progress.update(static_cast<double>(a + count));
    }
    images.finish();
    h5::set_attr(f, "saturated_pixels", static_cast<int64_t>(sum.saturated_pixels));
    if (opt.progress) progress.finish(std::to_string(n) + " images");
  }
  file.commit();
  return sum;
}

}  // namespace flowpic

#include "apps/png_render.hpp"

namespace flowpic {

std::vector<std::string> render_samples_png(const PacketStore& store, const RepresentationConfig& config,
                                            const std::string& path, const RenderRequest& req) {
  SampleIndex index = build_sample_index(store, config);
  if (index.samples.empty())
    fail("render: the representation yields no samples from this store (", index.stats.to_json().dump(), ")");
  std::vector<size_t> chosen;
  std::vector<std::string> titles;
  if (!req.per_class.empty()) {
    const LabelColumn* col = nullptr;
    std::string names;
    for (const LabelColumn& c : store.labels) {
      names += (names.empty() ? "" : ", ") + c.name;
      if (c.name == req.per_class) col = &c;
    }
    if (!col) fail("--per-class: the store has no label column '", req.per_class, "'; it has: ", names);
    // --where COLUMN=VALUE: the column's id of VALUE, checked against the store up front.
    std::vector<std::pair<const LabelColumn*, int32_t>> where;
    for (const auto& [column, value] : req.where) {
      const LabelColumn* wc = nullptr;
      for (const LabelColumn& c : store.labels)
        if (c.name == column) wc = &c;
      if (!wc) fail("--where ", column, "=", value, ": the store has no label column '", column, "'; it has: ", names);
      int32_t id = wc->id_of(value);
      if (id < 0) {
        std::string values;
        for (const auto& v : wc->values) values += (values.empty() ? "" : ", ") + v;
        fail("--where ", column, "=", value, ": no flow has that value; the column's values: ", values);
      }
      where.emplace_back(wc, id);
    }
    auto eligible = [&](uint32_t flow) {
      for (const auto& [wc, id] : where)
        if (wc->ids.at(flow) != id) return false;
      return true;
    };
    for (size_t v = 0; v < col->values.size(); ++v) {
      size_t best = index.samples.size();
      for (size_t i = 0; i < index.samples.size(); ++i)
        if (col->ids.at(index.samples[i].flow) == static_cast<int32_t>(v) && eligible(index.samples[i].flow) &&
            (best == index.samples.size() || index.samples[i].packets > index.samples[best].packets))
          best = i;
      if (best == index.samples.size()) continue;
      chosen.push_back(best);
      titles.push_back(col->values[v]);
    }
    if (chosen.empty())
      fail("--per-class ", req.per_class, ": no sample has a label in that column",
           where.empty() ? "" : " among the --where flows");
  } else {
    chosen = req.samples.empty() ? std::vector<size_t>{0} : req.samples;
    for (size_t s : chosen) {
      if (s >= index.samples.size())
        fail("--sample ", s, " is out of range: the representation yields ", index.samples.size(), " samples");
      const Sample& x = index.samples[s];
      std::string t = "FLOW " + std::to_string(x.flow) + (x.direction < 2 ? (x.direction ? " RESP" : " INIT") : "") +
                      " #" + std::to_string(x.index);
      if (!store.labels.empty()) {
        int32_t id = store.labels[0].ids.at(x.flow);
        if (id >= 0) t += " " + store.labels[0].values.at(id);
      }
      titles.push_back(t);
    }
  }

  RepresentationConfig draw = config;
  RenderOptions opt;
  opt.panel_px = req.panel_px;
  if (config.type == RepresentationConfig::Type::kFlowPic) {
    draw.flowpic.image.transform = PixelTransform::kRaw;  // counts, drawn on a log scale
    opt.flowpic = true;
    opt.x_max = config.flowpic.time_axis == TimeAxis::kFixed ? config.flowpic.block_s : 0;
    opt.y_max = config.flowpic.image.max_size;
  } else {
    opt.flowpic = false;
  }
  std::vector<ImageWindow> windows;
  for (size_t s : chosen) windows.push_back(index.samples[s].window);
  const size_t floats = draw.image_floats();
  std::vector<float> pixels(windows.size() * floats);
  // A handful of images: the CPU builder (uploading the store to a GPU would cost more).
  make_image_builder(draw.image_spec(), BuilderDevice::kCpu, host_columns(store))
      ->build_host(windows.data(), windows.size(), pixels.data());
  std::vector<RenderPanel> panels(windows.size());
  for (size_t i = 0; i < windows.size(); ++i) {
    panels[i].title = titles[i];
    panels[i].channels = draw.channels();
    panels[i].height = draw.height();
    panels[i].width = draw.width();
    panels[i].pixels.assign(pixels.begin() + i * floats, pixels.begin() + (i + 1) * floats);
  }
  write_panels_png(path, panels, opt);
  return titles;
}

}  // namespace flowpic
