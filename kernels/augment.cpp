#include "kernels/augment.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "common/hash_mix.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

namespace {

const std::vector<std::string> kTypeNames = {"none",   "change_rtt",   "time_shift", "packet_loss", "horizontal_flip",
                                             "rotate", "colour_jitter"};
const std::vector<std::string> kModeNames = {"loading", "epoch"};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// The keys of each type's own parameters.
std::vector<std::string> own_keys(AugmentType t) {
  switch (t) {
    case AugmentType::kNone: return {};
    case AugmentType::kChangeRtt: return {"alpha_min", "alpha_max"};
    case AugmentType::kTimeShift: return {"max_shift_s"};
    case AugmentType::kPacketLoss: return {"loss_window_s"};
    case AugmentType::kHorizontalFlip: return {"probability"};
    case AugmentType::kRotate: return {"max_degrees"};
    case AugmentType::kColourJitter: return {"brightness", "contrast", "saturation", "hue"};
  }
  return {};
}

double number_in(const json& obj, const std::string& key, const JsonWhere& where, double def, double lo, double hi) {
  if (!obj.contains(key)) return def;
  const double v = json_number(obj, key, where);
  if (!(v >= lo && v <= hi)) fail(where.at(key).str(), ": ", v, " is out of range; allowed ", lo, " to ", hi);
  return v;
}

// A uniform double in [0, 1) from the draw's generator (53 bits).
double uniform01(uint64_t& state) { return static_cast<double>(splitmix64_next(state) >> 11) * 0x1.0p-53; }
double uniform(uint64_t& state, double lo, double hi) { return lo + (hi - lo) * uniform01(state); }

}  // namespace

std::string AugmentConfig::type_name() const { return kTypeNames[static_cast<size_t>(type)]; }

bool AugmentConfig::on_packets() const {
  return type == AugmentType::kChangeRtt || type == AugmentType::kTimeShift || type == AugmentType::kPacketLoss;
}
bool AugmentConfig::on_images() const {
  return type == AugmentType::kHorizontalFlip || type == AugmentType::kRotate || type == AugmentType::kColourJitter;
}

AugmentConfig AugmentConfig::from_json(const json& obj, const JsonWhere& where) {
  if (!obj.is_object()) fail(where.str(), ": expected an object such as {\"type\": \"change_rtt\"}");
  AugmentConfig c;
  const std::string type = obj.contains("type") ? json_string(obj, "type", where) : "none";
  const auto it = std::find(kTypeNames.begin(), kTypeNames.end(), type);
  if (it == kTypeNames.end())
    fail(where.at("type").str(), ": unknown augmentation \"", type, "\"; allowed: ", join(kTypeNames));
  c.type = static_cast<AugmentType>(it - kTypeNames.begin());
  // Every type's keys are known; another type's are an error that says which type they belong to.
  std::vector<std::string> allowed = {"type", "mode", "copies", "keep_original"};
  for (const std::string& k : own_keys(c.type)) allowed.push_back(k);
  for (auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    for (size_t t = 1; t < kTypeNames.size(); ++t)
      for (const std::string& k : own_keys(static_cast<AugmentType>(t)))
        if (k == key) fail(where.at(key).str(), ": a parameter of \"", kTypeNames[t], "\", not of \"", type, "\"");
  }
  check_keys(obj, where, allowed);
  if (obj.contains("mode")) {
    const std::string m = json_string(obj, "mode", where);
    const auto mi = std::find(kModeNames.begin(), kModeNames.end(), m);
    if (mi == kModeNames.end()) fail(where.at("mode").str(), ": unknown mode \"", m, "\"; allowed: ", join(kModeNames));
    c.mode = static_cast<AugmentMode>(mi - kModeNames.begin());
  }
  if (c.mode == AugmentMode::kEpoch)
    for (const char* k : {"copies", "keep_original"})
      if (obj.contains(k)) fail(where.at(k).str(), ": only with \"mode\": \"loading\"");
  if (obj.contains("copies")) {
    const int64_t n = json_int(obj, "copies", where);
    if (n < 1 || n > 1000) fail(where.at("copies").str(), ": ", n, " is out of range; allowed 1 to 1000");
    c.copies = static_cast<int>(n);
  }
  if (obj.contains("keep_original")) c.keep_original = json_bool(obj, "keep_original", where);
  c.alpha_min = number_in(obj, "alpha_min", where, c.alpha_min, 1e-6, 1e6);
  c.alpha_max = number_in(obj, "alpha_max", where, c.alpha_max, 1e-6, 1e6);
  if (c.alpha_max < c.alpha_min)
    fail(where.at("alpha_max").str(), ": ", c.alpha_max, " is below alpha_min ", c.alpha_min);
  c.max_shift_s = number_in(obj, "max_shift_s", where, c.max_shift_s, 0, 1e9);
  c.loss_window_s = number_in(obj, "loss_window_s", where, c.loss_window_s, 0, 1e9);
  c.probability = number_in(obj, "probability", where, c.probability, 0, 1);
  c.max_degrees = number_in(obj, "max_degrees", where, c.max_degrees, 0, 180);
  c.brightness = number_in(obj, "brightness", where, c.brightness, 0, 1e6);
  c.contrast = number_in(obj, "contrast", where, c.contrast, 0, 1e6);
  c.saturation = number_in(obj, "saturation", where, c.saturation, 0, 1e6);
  c.hue = number_in(obj, "hue", where, c.hue, 0, 0.5);
  return c;
}

json AugmentConfig::to_json() const {
  json j = {{"type", type_name()}};
  if (!active()) return j;
  j["mode"] = kModeNames[static_cast<size_t>(mode)];
  if (mode == AugmentMode::kLoading) {
    j["copies"] = copies;
    j["keep_original"] = keep_original;
  }
  switch (type) {
    case AugmentType::kNone: break;
    case AugmentType::kChangeRtt:
      j["alpha_min"] = alpha_min;
      j["alpha_max"] = alpha_max;
      break;
    case AugmentType::kTimeShift: j["max_shift_s"] = max_shift_s; break;
    case AugmentType::kPacketLoss: j["loss_window_s"] = loss_window_s; break;
    case AugmentType::kHorizontalFlip: j["probability"] = probability; break;
    case AugmentType::kRotate: j["max_degrees"] = max_degrees; break;
    case AugmentType::kColourJitter:
      j["brightness"] = brightness;
      j["contrast"] = contrast;
      j["saturation"] = saturation;
      j["hue"] = hue;
      break;
  }
  return j;
}

void AugmentConfig::check(const RepresentationConfig& rep, const JsonWhere& where) const {
  const bool flowpic = rep.type == RepresentationConfig::Type::kFlowPic;
  if (on_packets() && !(flowpic && rep.flowpic.time_axis == TimeAxis::kFixed))
    fail(where.at("type").str(), ": \"", type_name(),
         "\" changes packet times, so it needs a flowpic representation with \"time_axis\": \"fixed\" (this one is ",
         flowpic ? "a flowpic with time_axis \"span\"" : rep.type_name(), ")");
  if (type == AugmentType::kColourJitter && flowpic && rep.flowpic.image.transform != PixelTransform::kClip255 &&
      rep.flowpic.image.transform != PixelTransform::kMax)
    fail(where.at("type").str(),
         ": \"colour_jitter\" works on pixel values in [0, 1] (it clamps to them): use the flowpic transform "
         "\"clip255\" or \"max\" (this representation's counts are not in [0, 1])");
}

Augmenter::Augmenter(const AugmentConfig& config, const PacketStore& store, const RepresentationConfig& representation,
                     uint64_t seed)
    : config_(config), store_(store), representation_(representation), seed_(splitmix64(seed ^ 0xA06E27ull)) {
  config.check(representation, {"", "training.augment"});
}

AugmentDraw Augmenter::draw(const Sample& s, uint64_t key) const {
  AugmentDraw d;
  d.window = s.window;
  uint64_t state = hash_combine(hash_combine(hash_combine(hash_combine(seed_, s.flow), s.direction), s.index), key);
  const AugmentConfig& c = config_;
  switch (c.type) {
    case AugmentType::kNone: return d;
    case AugmentType::kHorizontalFlip:
      d.image.kind = ImageAugmentKind::kHorizontalFlip;
      d.image.flip = uniform01(state) < c.probability;
      d.value = d.image.flip ? 1 : 0;
      return d;
    case AugmentType::kRotate: {
      d.value = uniform(state, -c.max_degrees, c.max_degrees);
      const double rad = d.value * (M_PI / 180.0);
      d.image.kind = ImageAugmentKind::kRotate;
      d.image.cos_a = std::cos(rad);
      d.image.sin_a = std::sin(rad);
      return d;
    }
    case AugmentType::kColourJitter: {
      // torchvision's ColorJitter.get_params: the order (a random permutation), then the factors.
      d.image.kind = ImageAugmentKind::kColourJitter;
      uint8_t order[4] = {0, 1, 2, 3};
      for (int i = 3; i > 0; --i) std::swap(order[i], order[splitmix64_next(state) % static_cast<uint64_t>(i + 1)]);
      std::copy(order, order + 4, d.image.order);
      d.image.brightness = static_cast<float>(uniform(state, std::max(0.0, 1 - c.brightness), 1 + c.brightness));
      d.image.contrast = static_cast<float>(uniform(state, std::max(0.0, 1 - c.contrast), 1 + c.contrast));
      d.image.saturation = static_cast<float>(uniform(state, std::max(0.0, 1 - c.saturation), 1 + c.saturation));
      d.image.hue = static_cast<float>(uniform(state, -c.hue, c.hue));
      d.value = d.image.brightness;
      return d;
    }
    case AugmentType::kChangeRtt:
    case AugmentType::kTimeShift:
    case AugmentType::kPacketLoss: break;
  }
  // Packet augmentations: warp the window, and widen its packet range to every packet of the flow
  // the warp can move onto the axis (flows are in time order in every store).
  const FlowPicConfig& fc = representation_.flowpic;
  TimeWarp& w = d.window.warp;
  w.on = true;
  w.origin = s.origin;
  w.start = static_cast<double>(s.index) * fc.stride_s;  // the sample index's block start
  w.open_end = !fc.closed_end;
  if (c.type == AugmentType::kChangeRtt) {
    w.scale = d.value = uniform(state, c.alpha_min, c.alpha_max);
  } else if (c.type == AugmentType::kTimeShift) {
    w.shift = d.value = uniform(state, -c.max_shift_s, c.max_shift_s);
  } else {
    d.value = uniform(state, 0.0, s.length);
    w.drop_lo = d.value - c.loss_window_s;
    w.drop_hi = d.value + c.loss_window_s;
  }
  double lo = (w.start - w.shift) / w.scale, hi = (w.start + fc.block_s - w.shift) / w.scale;
  lo -= 1e-9 * (1 + std::fabs(lo));  // a margin for rounding: the kernels' rule decides exactly
  hi += 1e-9 * (1 + std::fabs(hi));
  const double* t = store_.time.data();
  const double* first = t + store_.flow_begin(s.flow);
  const double* last = t + store_.flow_end(s.flow);
  const double* a = std::partition_point(first, last, [&](double v) { return v - s.origin < lo; });
  const double* b = std::partition_point(a, last, [&](double v) { return v - s.origin <= hi; });
  d.window.begin = static_cast<uint64_t>(a - t);
  d.window.end = static_cast<uint64_t>(b - t);
  return d;
}

}  // namespace flowpic
