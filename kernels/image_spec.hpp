#pragma once
// What the image builders are asked to build: the packet columns they read (host or device
// pointers), one ImageWindow per image, and the image geometry. The sample index
// (kernels/sample_index.hpp) decides the windows; the builders never parse configs.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "kernels/bin_math.hpp"
#include "kernels/rounded_math.hpp"

namespace flowpic {

struct PacketStore;

// Per-packet columns of a packet store, as plain pointers (host memory for the CPU builder,
// device memory for the CUDA one; see DevicePackets).
struct PacketColumns {
  const double* time = nullptr;              // seconds since the flow's first packet
  const uint32_t* ip_length = nullptr;       // FlowPic size
  const uint32_t* payload_length = nullptr;  // payload image size (kUnknownPayload = unknown)
  const uint8_t* direction = nullptr;        // 0 = initiator, 1 = responder
  uint64_t count = 0;
};

// Host view of a store's packet columns (no copy).
PacketColumns host_columns(const PacketStore& store);

// Direction mask bits of an ImageWindow.
inline constexpr uint8_t kDirInitiator = 1;  // direction 0
inline constexpr uint8_t kDirResponder = 2;  // direction 1
inline constexpr uint8_t kDirBoth = 3;

// A packet augmentation of one window (training only; kernels/augment.hpp draws them). When `on`,
// each packet's time since the imaged flow's first packet, tau = t - origin, is
//  - dropped when drop_lo <= tau <= drop_hi (packet loss; drop_lo > drop_hi drops nothing),
//  - else moved to tau * scale + shift (change RTT: scale; time shift: shift), each operation
//    rounded on its own, and binned on the axis [start, start + duration) of tau, so a packet the
//    warp moves before `start` (time shift: before the flow's start) or past the axis is dropped.
// When off (every window the sample index makes), the time rule is flowpic_time_bin's, unchanged.
struct TimeWarp {
  double origin = 0;  // absolute time (in the store's per-flow seconds) of the imaged flow's first packet
  double start = 0;   // the axis start, in tau
  double scale = 1, shift = 0;
  double drop_lo = 1, drop_hi = 0;
  bool on = false;
  bool open_end = false;  // a packet moved exactly to start + duration is dropped (block_end "open")
};

// One image: packets [begin, end) of the columns whose direction bit is in `directions`.
// FlowPic: the time axis starts at t0 and spans `duration` seconds (see flowpic_time_bin); every
// packet in the range should lie inside it (the sample index guarantees that), packets outside
// are dropped like oversize ones.
// Payload image: the first N packets of the range carrying a known non-zero payload.
struct ImageWindow {
  uint64_t begin = 0, end = 0;
  double t0 = 0;
  double duration = 0;
  uint8_t directions = kDirBoth;
  TimeWarp warp;  // FlowPic with a fixed time axis only
};

// The time-axis position x of a packet arriving at t (flowpic_time_x, or the warp's rule; a
// dropped packet gets -1, which no bin takes). The one definition both builders use.
FLOWPIC_HD inline double flowpic_window_x(double t, const ImageWindow& w, int resolution) {
  if (!w.warp.on) return flowpic_time_x(t, w.t0, w.duration, resolution);
  double tau = t - w.warp.origin;
  if (tau >= w.warp.drop_lo && tau <= w.warp.drop_hi) return -1.0;
  tau = mul_rn(tau, w.warp.scale);
  tau = add_rn(tau, w.warp.shift);
  if (w.warp.open_end && tau >= w.warp.start + w.duration) return -1.0;  // the sample index's rule
  return flowpic_time_x(tau, w.warp.start, w.duration, resolution);
}

// The column of that packet, -1 when it is not on the axis (flowpic_time_bin for unwarped windows).
FLOWPIC_HD inline int flowpic_window_bin(double t, const ImageWindow& w, int resolution) {
  if (!(w.duration > 0.0)) return 0;
  return flowpic_time_bin_of_x(flowpic_window_x(t, w, resolution), resolution);
}

struct FlowPicSpec {
  int resolution = 1500;                      // R: images are R x R, rows = size, columns = time
  uint32_t max_size = kDefaultMaxPacketSize;  // the size axis spans [0, max_size]
  PixelTransform transform = PixelTransform::kRaw;
  OversizeRule oversize = OversizeRule::kDrop;  // sizes over max_size
  SizeBins size_bins = SizeBins::kExact;
  bool per_direction = false;  // two channels: initiator's packets, responder's packets
  FLOWPIC_HD int channels() const { return per_direction ? 2 : 1; }
  FLOWPIC_HD size_t image_floats() const { return static_cast<size_t>(channels()) * resolution * resolution; }
};

enum class PayloadVariant : uint8_t {
  kGrey = 0,        // one channel, min(size, max) / max
  kSigned = 1,      // one channel, responder sizes negative, mapped to [0, 1] around 0.5
  kTwoChannel = 2,  // channel 0 initiator, channel 1 responder (0 where the other side sent)
};

struct PayloadSpec {
  int side = 28;  // image side; N = side * side sizes, row-major in arrival order
  uint32_t max_size = kDefaultMaxPacketSize;
  PayloadVariant variant = PayloadVariant::kGrey;
  FLOWPIC_HD int length() const { return side * side; }
  FLOWPIC_HD int channels() const { return variant == PayloadVariant::kTwoChannel ? 2 : 1; }
  FLOWPIC_HD size_t image_floats() const { return static_cast<size_t>(channels()) * length(); }
  // The value of a position with no size (zero padding).
  FLOWPIC_HD float padding() const { return variant == PayloadVariant::kSigned ? 0.5f : 0.0f; }
};

// A batch of FlowPics as their non-zero pixels (COO), in memory of the builder's device (ImageBuilder::build_sparse),
// valid until its next build_sparse: image i's cells are [offsets[i], offsets[i + 1]), each a pixel index (c * R + row)
// * R + column (sorted, unique) and its value, exactly the dense image's.
struct SparseImages {
  const int64_t* offsets = nullptr;  // count + 1 entries
  const uint32_t* index = nullptr;
  const float* value = nullptr;
  int64_t nnz = 0;  // offsets[count], on the host
  size_t count = 0;
};

// What one builder builds: either representation (kernels/image_builder.hpp takes this; the sample
// index's RepresentationConfig::image_spec() gives the spec of an experiment's representation).
using ImageSpec = std::variant<FlowPicSpec, PayloadSpec>;
inline size_t image_floats(const ImageSpec& spec) {
  return std::visit([](const auto& s) { return s.image_floats(); }, spec);
}

// The pixel (channel, row, column: (c * R + row) * R + column) that packet p of window w adds
// one to, or -1 when the packet is not in the image (other direction, over max_size, outside the
// time axis). The one definition both builders use.
FLOWPIC_HD inline int64_t flowpic_pixel_index(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow& w,
                                              uint64_t p) {
  const uint8_t d = pk.direction[p];
  if (!(w.directions & (1u << (d & 1u)))) return -1;
  const int row = flowpic_size_row(pk.ip_length[p], spec.max_size, spec.resolution, spec.oversize, spec.size_bins);
  if (row < 0) return -1;
  const int col = flowpic_window_bin(pk.time[p], w, spec.resolution);
  if (col < 0) return -1;
  const int64_t ch = spec.per_direction ? (d & 1) : 0;
  return (ch * spec.resolution + row) * static_cast<int64_t>(spec.resolution) + col;
}

}  // namespace flowpic
