#pragma once
// Split & select, step one: which images a representation config yields from a packet store.
// A RepresentationConfig (strict JSON, embedded in experiment configs) says how flows are cut
// into windows and which are kept; build_sample_index lists one Sample per image, each carrying
// the ImageWindow the image builders (kernels/) consume, and counts what was dropped and why.
// The rules are documented in docs/representations.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "kernels/image_spec.hpp"

namespace flowpic {

struct PacketStore;

// How the store's flows become the flows that are imaged.
enum class ImageFlowView : uint8_t {
  kUnidirectional = 0,  // paper: each direction of a session is its own flow (CSV flows: the flow)
  kBidirectional = 1,   // tcbench: both directions of a session together
};
// Where the FlowPic time axis starts and how long it is.
enum class TimeAxis : uint8_t {
  kFixed = 0,  // paper: the block [start, start + block_s] spans the whole axis
  kSpan = 1,   // authors' code: the block's own first-to-last packet spans the whole axis
};
// Which blocks of a flow are candidates.
enum class BlockSelection : uint8_t {
  kAll = 0,               // every block that starts at or before the flow's last packet
  kComplete = 1,          // only blocks that end at or before the flow's last packet
  kFirst = 2,             // the first block only (mini-FlowPic, tcbench: the first T seconds)
  kFirstAndComplete = 3,  // the authors' loop: block 0 always, then the complete blocks
};

struct FlowPicConfig {
  FlowPicSpec image;  // resolution, max_size, transform, channels
  ImageFlowView flow_view = ImageFlowView::kUnidirectional;
  TimeAxis time_axis = TimeAxis::kFixed;
  double block_s = 60;   // block (window) duration
  double stride_s = 60;  // distance between block starts; = block_s: non-overlapping
  BlockSelection blocks = BlockSelection::kAll;
  bool closed_end = true;                  // a packet exactly at start + block_s belongs to the block (authors' code)
  int64_t packets_more_than = 10;          // keep a block with more packets than this (paper code: 10)
  std::optional<double> span_more_than_s;  // keep a block whose first-to-last span exceeds this (paper code: 50)
};

struct PayloadImageConfig {
  PayloadSpec image;          // side (N = side^2), max_size, variant
  int min_sizes = 3;          // sessions (and subflows) with fewer non-zero sizes are dropped
  bool all_subflows = false;  // every consecutive run of N sizes is its own sample
};

struct RepresentationConfig {
  enum class Type : uint8_t { kFlowPic = 0, kPayloadImage = 1 };
  Type type = Type::kFlowPic;
  FlowPicConfig flowpic;       // when type == kFlowPic
  PayloadImageConfig payload;  // when type == kPayloadImage

  // Strict: unknown keys and types, wrong value types and out-of-range values are errors that
  // name the file and the key path.
  static RepresentationConfig from_json(const json& obj, const JsonWhere& where);
  static RepresentationConfig load(const std::string& path);
  static RepresentationConfig parse(const std::string& text, const std::string& origin);
  // Every key, defaults resolved: what results record.
  json to_json() const;
  std::string type_name() const;

  // The builder-level spec of the images (kernels/image_builder.hpp).
  ImageSpec image_spec() const;
  int channels() const;
  int height() const;
  int width() const;
  size_t image_floats() const { return static_cast<size_t>(channels()) * height() * width(); }
};

// One image.
struct Sample {
  uint32_t flow = 0;      // flow (session) index in the store
  uint8_t direction = 2;  // 0 = initiator's packets, 1 = responder's, 2 = both
  uint32_t index = 0;     // block number within the flow (FlowPic) or subflow number (payload image)
  double start = 0;       // FlowPic: block start; payload image: time of the subflow's first size;
                          // seconds since the flow's first packet
  uint32_t packets = 0;   // packets (FlowPic) or sizes (payload image) that go into the image
  ImageWindow window;     // what the builders read
  // FlowPic: the imaged flow's first packet on the size axis (the origin of its blocks) and its
  // last one's time since it, seconds (what packet augmentations need: kernels/augment.hpp).
  double origin = 0, length = 0;
};

struct SampleIndexStats {
  uint64_t flows = 0;                     // flows looked at
  uint64_t flow_views = 0;                // imaged flows (one or two per session, by flow_view)
  uint64_t empty_flow_views = 0;          // imaged flows with no packet inside the size axis
  uint64_t oversize_packets = 0;          // packets over max_size (dropped, clipped or counted: "oversize")
  uint64_t blocks = 0;                    // candidate blocks
  uint64_t blocks_few_packets = 0;        // dropped: not more than packets_more_than packets
  uint64_t blocks_short_span = 0;         // dropped: span not more than span_more_than_s
  uint64_t sessions_unknown_payload = 0;  // payload image: dropped, payload sizes unknown (CSV)
  uint64_t sessions_few_sizes = 0;        // payload image: dropped, fewer than min_sizes sizes
  uint64_t subflows_few_sizes = 0;        // payload image: trailing subflows dropped likewise
  uint64_t samples = 0;
  json to_json() const;
};

struct SampleIndex {
  std::vector<Sample> samples;
  SampleIndexStats stats;
  std::vector<ImageWindow> windows() const;
};

// Samples of the flows in `flows` (all flows when null), in flow order, then direction, then block.
// Labels are the flow's: see sample_labels.
SampleIndex build_sample_index(const PacketStore& store, const RepresentationConfig& config,
                               const std::vector<uint32_t>* flows = nullptr);

// The label id (in the store's column `column`, -1 = none) of every sample; an error naming the
// columns the store has when it lacks this one.
std::vector<int32_t> sample_labels(const PacketStore& store, const SampleIndex& index, const std::string& column);

}  // namespace flowpic
