#include "kernels/sample_index.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

namespace {

const std::vector<std::string> kTypes = {"flowpic", "payload_image"};
const std::vector<std::string> kTransforms = {"raw", "clip255", "log1p", "max"};
const std::vector<std::string> kChannels = {"merged", "per_direction"};
const std::vector<std::string> kFlowViews = {"unidirectional", "bidirectional"};
const std::vector<std::string> kTimeAxes = {"fixed", "span"};
const std::vector<std::string> kBlocks = {"all", "complete", "first", "first_and_complete"};
const std::vector<std::string> kOversize = {"drop", "clip", "count"};
const std::vector<std::string> kSizeBins = {"exact", "scaled"};
const std::vector<std::string> kBlockEnds = {"closed", "open"};
const std::vector<std::string> kSubflows = {"first", "all"};
const std::vector<std::string> kVariants = {"grey", "signed", "two_channel"};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// The index of obj[key] in `names`; `def` when the key is absent.
int choice(const json& obj, const std::string& key, const JsonWhere& where, const std::vector<std::string>& names,
           int def) {
  if (!obj.contains(key)) return def;
  std::string v = json_string(obj, key, where);
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == v) return static_cast<int>(i);
  fail(where.at(key).str(), ": unknown value \"", v, "\"; allowed: ", join(names));
}

int64_t int_in(const json& obj, const std::string& key, const JsonWhere& where, int64_t def, int64_t lo, int64_t hi) {
  if (!obj.contains(key)) return def;
  int64_t v = json_int(obj, key, where);
  if (v < lo || v > hi) fail(where.at(key).str(), ": ", v, " is out of range; allowed ", lo, " to ", hi);
  return v;
}

double positive(const json& obj, const std::string& key, const JsonWhere& where, double def) {
  if (!obj.contains(key)) return def;
  double v = json_number(obj, key, where);
  if (!(v > 0) || !std::isfinite(v)) fail(where.at(key).str(), ": must be a positive number of seconds, got ", v);
  return v;
}

FlowPicConfig parse_flowpic(const json& obj, const JsonWhere& where) {
  check_keys(obj, where,
             {"type", "resolution", "max_size", "transform", "channels", "flow_view", "time_axis", "block_s",
              "stride_s", "blocks", "block_end", "packets_more_than", "span_more_than_s", "oversize", "size_bins"},
             {"type"});
  FlowPicConfig c;
  c.image.resolution = static_cast<int>(int_in(obj, "resolution", where, 1500, 8, 1500));
  c.image.max_size = static_cast<uint32_t>(int_in(obj, "max_size", where, kDefaultMaxPacketSize, 1, 65535));
  c.image.transform = static_cast<PixelTransform>(choice(obj, "transform", where, kTransforms, 0));
  c.image.per_direction = choice(obj, "channels", where, kChannels, 0) == 1;
  c.image.oversize = static_cast<OversizeRule>(choice(obj, "oversize", where, kOversize, 0));
  c.image.size_bins = static_cast<SizeBins>(choice(obj, "size_bins", where, kSizeBins, 0));
  c.flow_view = static_cast<ImageFlowView>(choice(obj, "flow_view", where, kFlowViews, 0));
  c.time_axis = static_cast<TimeAxis>(choice(obj, "time_axis", where, kTimeAxes, 0));
  c.block_s = positive(obj, "block_s", where, 60.0);
  c.stride_s = positive(obj, "stride_s", where, c.block_s);
  c.blocks = static_cast<BlockSelection>(choice(obj, "blocks", where, kBlocks, 0));
  c.closed_end = choice(obj, "block_end", where, kBlockEnds, 0) == 0;
  c.packets_more_than = int_in(obj, "packets_more_than", where, 10, 0, int64_t{1} << 40);
  if (obj.contains("span_more_than_s") && !obj["span_more_than_s"].is_null()) {
    double v = json_number(obj, "span_more_than_s", where);
    if (!(v >= 0) || !std::isfinite(v))
      fail(where.at("span_more_than_s").str(), ": must be a number of seconds >= 0 or null (off), got ", v);
    c.span_more_than_s = v;
  }
  if (c.image.per_direction && c.flow_view != ImageFlowView::kBidirectional)
    fail(where.at("channels").str(),
         ": \"per_direction\" needs \"flow_view\": \"bidirectional\" (a unidirectional flow has one direction)");
  return c;
}

PayloadImageConfig parse_payload(const json& obj, const JsonWhere& where) {
  check_keys(obj, where, {"type", "side", "length", "max_size", "min_sizes", "subflows", "variant"}, {"type"});
  PayloadImageConfig c;
  int side = static_cast<int>(int_in(obj, "side", where, 28, 1, 1024));
  if (obj.contains("length")) {
    int64_t n = int_in(obj, "length", where, 784, 1, 1024 * 1024);
    int64_t r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
    if (r * r != n) fail(where.at("length").str(), ": ", n, " is not a square (the image is side x side)");
    if (obj.contains("side") && r != side)
      fail(where.at("length").str(), ": ", n, " disagrees with \"side\": ", side, " (length = side * side)");
    side = static_cast<int>(r);
  }
  c.image.side = side;
  c.image.max_size = static_cast<uint32_t>(int_in(obj, "max_size", where, kDefaultMaxPacketSize, 1, 65535));
  c.image.variant = static_cast<PayloadVariant>(choice(obj, "variant", where, kVariants, 0));
  c.min_sizes = static_cast<int>(int_in(obj, "min_sizes", where, 3, 1, int64_t{side} * side));
  c.all_subflows = choice(obj, "subflows", where, kSubflows, 0) == 1;
  return c;
}

}  // namespace

RepresentationConfig RepresentationConfig::from_json(const json& obj, const JsonWhere& where) {
  if (!obj.is_object()) fail(where.str(), ": expected a representation object with a \"type\"");
  std::string type = json_string(obj, "type", where);
  RepresentationConfig r;
  if (type == "flowpic") {
    r.type = Type::kFlowPic;
    r.flowpic = parse_flowpic(obj, where);
  } else if (type == "payload_image") {
    r.type = Type::kPayloadImage;
    r.payload = parse_payload(obj, where);
  } else {
    fail(where.at("type").str(), ": unknown representation type \"", type, "\"; allowed: ", join(kTypes));
  }
  return r;
}

RepresentationConfig RepresentationConfig::load(const std::string& path) {
  return from_json(load_json_file(path), JsonWhere{path, ""});
}

RepresentationConfig RepresentationConfig::parse(const std::string& text, const std::string& origin) {
  return from_json(parse_json(text, origin), JsonWhere{origin, ""});
}

std::string RepresentationConfig::type_name() const { return kTypes[static_cast<int>(type)]; }

json RepresentationConfig::to_json() const {
  json j;
  j["type"] = type_name();
  if (type == Type::kFlowPic) {
    const FlowPicConfig& c = flowpic;
    j["resolution"] = c.image.resolution;
    j["max_size"] = c.image.max_size;
    j["transform"] = kTransforms[static_cast<int>(c.image.transform)];
    j["channels"] = kChannels[c.image.per_direction ? 1 : 0];
    j["oversize"] = kOversize[static_cast<int>(c.image.oversize)];
    j["size_bins"] = kSizeBins[static_cast<int>(c.image.size_bins)];
    j["flow_view"] = kFlowViews[static_cast<int>(c.flow_view)];
    j["time_axis"] = kTimeAxes[static_cast<int>(c.time_axis)];
    j["block_s"] = c.block_s;
    j["stride_s"] = c.stride_s;
    j["blocks"] = kBlocks[static_cast<int>(c.blocks)];
    j["block_end"] = kBlockEnds[c.closed_end ? 0 : 1];
    j["packets_more_than"] = c.packets_more_than;
    j["span_more_than_s"] = c.span_more_than_s ? json(*c.span_more_than_s) : json(nullptr);
  } else {
    const PayloadImageConfig& c = payload;
    j["side"] = c.image.side;
    j["length"] = c.image.length();
    j["max_size"] = c.image.max_size;
    j["variant"] = kVariants[static_cast<int>(c.image.variant)];
    j["min_sizes"] = c.min_sizes;
    j["subflows"] = kSubflows[c.all_subflows ? 1 : 0];
  }
  return j;
}

ImageSpec RepresentationConfig::image_spec() const {
  if (type == Type::kFlowPic) return flowpic.image;
  return payload.image;
}

int RepresentationConfig::channels() const {
  return type == Type::kFlowPic ? flowpic.image.channels() : payload.image.channels();
}
int RepresentationConfig::height() const {
  return type == Type::kFlowPic ? flowpic.image.resolution : payload.image.side;
}
int RepresentationConfig::width() const { return height(); }

json SampleIndexStats::to_json() const {
  return json{{"flows", flows},
              {"flow_views", flow_views},
              {"empty_flow_views", empty_flow_views},
              {"oversize_packets", oversize_packets},
              {"blocks", blocks},
              {"blocks_few_packets", blocks_few_packets},
              {"blocks_short_span", blocks_short_span},
              {"sessions_unknown_payload", sessions_unknown_payload},
              {"sessions_few_sizes", sessions_few_sizes},
              {"subflows_few_sizes", subflows_few_sizes},
              {"samples", samples}};
}

std::vector<ImageWindow> SampleIndex::windows() const {
  std::vector<ImageWindow> w(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) w[i] = samples[i].window;
  return w;
}

namespace {

// The blocks of one imaged flow: the packets of `store` flow f whose direction is in `mask`.
void flowpic_blocks(const PacketStore& store, const FlowPicConfig& c, uint32_t f, uint8_t mask, uint8_t direction,
                    std::vector<uint64_t>& kept, SampleIndex& out) {
  SampleIndexStats& st = out.stats;
  kept.clear();
  for (uint64_t p = store.offsets[f]; p < store.offsets[f + 1]; ++p) {
    if (!(mask & (1u << store.direction[p]))) continue;
    if (store.ip_length[p] > c.image.max_size) {
      ++st.oversize_packets;
      if (c.image.oversize == OversizeRule::kDrop) continue;
    }
    kept.push_back(p);
  }
  ++st.flow_views;
  if (kept.empty()) {
    ++st.empty_flow_views;
    return;
  }
  const double* t = store.time.data();
  const double origin = t[kept.front()];
  const double last = t[kept.back()] - origin;  // the flow's length, from its first kept packet
  auto time_of = [&](size_t i) { return t[kept[i]] - origin; };
  // The authors' loop, range(int(ts[-1] / stride - block / stride) + 1): Python's int() truncates
  // towards zero like the cast, so a flow shorter than a block still has block 0.
  const double authors_blocks = std::trunc(last / c.stride_s - c.block_s / c.stride_s) + 1.0;
  size_t lo = 0;  // blocks start in increasing order: the search can resume
  for (uint64_t k = 0;; ++k) {
    const double start = static_cast<double>(k) * c.stride_s;
    const double end = start + c.block_s;
    if (start > last) break;
    if (c.blocks == BlockSelection::kFirst && k > 0) break;
    if (c.blocks == BlockSelection::kComplete && end > last) break;
    if (c.blocks == BlockSelection::kFirstAndComplete && !(static_cast<double>(k) < authors_blocks)) break;
    ++st.blocks;
    // Packets with start <= tau <= end (closed) or start <= tau < end (open), tau = t - origin.
    size_t a = lo, b;
    while (a < kept.size() && time_of(a) < start) ++a;
    lo = a;
    b = a;
    while (b < kept.size() && (c.closed_end ? time_of(b) <= end : time_of(b) < end)) ++b;
    const uint64_t n = b - a;
    if (static_cast<int64_t>(n) <= c.packets_more_than) {
      ++st.blocks_few_packets;
      continue;
    }
    const double first = t[kept[a]], final_t = t[kept[b - 1]];
    if (c.span_more_than_s && !(final_t - first > *c.span_more_than_s)) {
      ++st.blocks_short_span;
      continue;
    }
    Sample s;
    s.flow = f;
    s.direction = direction;
    s.index = static_cast<uint32_t>(k);
    s.start = origin + start;
    s.packets = static_cast<uint32_t>(n);
    s.origin = origin;
    s.length = last;
    s.window.begin = kept[a];
    s.window.end = kept[b - 1] + 1;
    s.window.directions = mask;
    if (c.time_axis == TimeAxis::kFixed) {
      s.window.t0 = origin + start;
      s.window.duration = c.block_s;
    } else {
      s.window.t0 = first;
      s.window.duration = final_t - first;
    }
    out.samples.push_back(s);
  }
}

void payload_subflows(const PacketStore& store, const PayloadImageConfig& c, uint32_t f, std::vector<uint64_t>& sizes,
                      SampleIndex& out) {
  SampleIndexStats& st = out.stats;
  sizes.clear();
  for (uint64_t p = store.offsets[f]; p < store.offsets[f + 1]; ++p) {
    if (store.payload_length[p] == kUnknownPayload) {
      ++st.sessions_unknown_payload;
      return;
    }
    if (payload_counts(store.payload_length[p])) sizes.push_back(p);
  }
  ++st.flow_views;
  if (sizes.size() < static_cast<size_t>(c.min_sizes)) {
    ++st.sessions_few_sizes;
    return;
  }
  const size_t n = static_cast<size_t>(c.image.length());
  for (size_t k = 0; k * n < sizes.size(); ++k) {
    if (k > 0 && !c.all_subflows) break;
    const size_t a = k * n, b = std::min(sizes.size(), a + n);
    if (b - a < static_cast<size_t>(c.min_sizes)) {
      ++st.subflows_few_sizes;
      continue;
    }
    Sample s;
    s.flow = f;
    s.direction = 2;
    s.index = static_cast<uint32_t>(k);
    s.start = store.time[sizes[a]];
    s.packets = static_cast<uint32_t>(b - a);
    s.window.begin = sizes[a];
    s.window.end = sizes[b - 1] + 1;
    s.window.directions = kDirBoth;
    out.samples.push_back(s);
  }
}

}  // namespace

SampleIndex build_sample_index(const PacketStore& store, const RepresentationConfig& config,
                               const std::vector<uint32_t>* flows) {
  const size_t nflows = store.offsets.size() - 1;
  FLOWPIC_ASSERT(store.offsets.size() >= 1 && store.offsets.back() == store.time.size());
  FLOWPIC_ASSERT(store.view.size() == nflows);
  SampleIndex out;
  std::vector<uint64_t> scratch;
  const size_t count = flows ? flows->size() : nflows;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t f = flows ? (*flows)[i] : static_cast<uint32_t>(i);
    if (f >= nflows) fail("sample index: flow ", f, " is out of range (the store has ", nflows, " flows)");
    ++out.stats.flows;
    if (config.type == RepresentationConfig::Type::kPayloadImage) {
      payload_subflows(store, config.payload, f, scratch, out);
      continue;
    }
    const FlowPicConfig& c = config.flowpic;
    if (c.flow_view == ImageFlowView::kBidirectional) {
      flowpic_blocks(store, c, f, kDirBoth, 2, scratch, out);
    } else if (store.view[f] == FlowView::kUnidirectional) {
      flowpic_blocks(store, c, f, kDirBoth, 0, scratch, out);
    } else {
      flowpic_blocks(store, c, f, kDirInitiator, 0, scratch, out);
      flowpic_blocks(store, c, f, kDirResponder, 1, scratch, out);
    }
  }
  out.stats.samples = out.samples.size();
  return out;
}

std::vector<int32_t> sample_labels(const PacketStore& store, const SampleIndex& index, const std::string& column) {
  std::string names;
  for (const LabelColumn& c : store.labels) {
    if (c.name == column) {
      std::vector<int32_t> ids(index.samples.size());
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = c.ids.at(index.samples[i].flow);
      return ids;
    }
    names += (names.empty() ? "" : ", ") + c.name;
  }
  fail("the packet store has no label column '", column, "'; it has: ", names.empty() ? "none" : names);
}

}  // namespace flowpic
