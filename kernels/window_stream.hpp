#pragma once
// The sample index (kernels/sample_index.hpp) over a stream of sessions instead of a packet store:
// packets arrive one at a time per session, and each window (a FlowPic block, the first T seconds,
// a payload image's subflow) is handed out as soon as it is complete, with its packets (read in
// place from the session's buffer), while the session may still be open. Live classification and
// streaming classify use it.
//
// The windows, their packets, their Sample fields (direction, index, start, packets, window t0 and
// duration) and the SampleIndexStats are those build_sample_index gives for the store ingestion
// would have written, for sessions whose packets arrive in time order. A window is complete
//  - FlowPic: when a packet of the session (any direction) or the clock (advance()) is past the
//    block's end (closed end: strictly after it), and the block is already a candidate under the
//    representation's "blocks" rule with the packets seen so far ("all": it starts at or before the
//    view's last packet; "first": block 0; "complete", "first_and_complete": it ends at or before the
//    view's last packet); else when the session closes (close()), with its final last packet;
//  - payload image: when its subflow holds N sizes, or when the session closes.
// Memory: a session keeps only the packets a pending window can still use: those at or after the
// start of its earliest pending block (FlowPic), or since the first size of its current subflow
// (payload image); after the last window a representation can take (the first block, the first
// subflow) it keeps none.
// Out-of-order timestamps: a packet older than the session's newest is put in time order (after
// equal times) when its window is still pending; one that belongs to a window already handed out,
// or that is older than the session's first packet, is counted (late_packets) and left out: the
// only case where the stream and the store differ.
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "kernels/sample_index.hpp"

namespace flowpic {

// A window's packet (time since the session's first packet, as the store would hold it).
struct WindowPacket {
  double time;
  uint32_t ip_length, payload_length;
  uint8_t direction, tcp_flags;
};

struct CompletedWindow {
  uint32_t slot = 0;  // the session's slot (as given to packet())
  Sample sample;      // flow unset (0); window.begin/end index `packets`
  // The window's packets in time order: the session's own buffer, valid during the call only (no
  // copy is made; the consumer copies what it keeps).
  const WindowPacket* packets = nullptr;
  size_t size = 0;
};

struct WindowStreamCounters {
  uint64_t late_packets = 0;      // older than a window already handed out: left out
  uint64_t buffered_packets = 0;  // packets held now, all sessions
  uint64_t peak_buffered_packets = 0;
};

class WindowStream {
 public:
  using Emit = std::function<void(CompletedWindow&)>;  // the window is reused after the call
  WindowStream(const RepresentationConfig& representation, Emit emit);
  ~WindowStream();

  // A session starts in `slot` (a small index; a slot is reused only after close()).
  void open(uint32_t slot, int64_t first_time_ns);
  // A packet of the session in `slot`: time, IP and payload lengths, direction (0 = initiator).
  void packet(uint32_t slot, int64_t time_ns, uint32_t ip_length, uint32_t payload_length, uint8_t direction,
              uint8_t tcp_flags);
  // Hands out the FlowPic windows of every open session that `now_ns` is past (a live clock).
  void advance(int64_t now_ns);
  // The session ends: its remaining windows, and its share of the stats.
  void close(uint32_t slot);

  // The session's first packet time (the store's start_time), nanoseconds.
  int64_t start_ns(uint32_t slot) const;
  // Windows handed out so far for the session in `slot`.
  uint32_t windows_of(uint32_t slot) const;
  size_t open_sessions() const { return open_; }
  const SampleIndexStats& stats() const { return stats_; }
  const WindowStreamCounters& counters() const { return counters_; }

 private:
  using Buffered = WindowPacket;
  struct View {
    uint8_t mask = kDirBoth, direction = 2;
    bool any = false, done = false;
    double origin = 0, last = 0;  // first kept packet's time; last kept packet's time since it
    uint64_t next_block = 0;
    std::vector<Buffered> buf;  // kept packets at or after the earliest pending block's start
    size_t head = 0;            // buf[head..] are live
    // buf[head].time, or +infinity when none is live: with `last`, what finalize_block knows of
    // the live packets' times without reading buf.
    double head_time = std::numeric_limits<double>::infinity();
  };
  struct Session {
    bool open = false;
    int64_t start_ns = 0, newest_ns = 0;
    uint32_t windows = 0;
    int views = 0;
    View view[2];
    // payload image
    uint64_t sizes = 0, sub_sizes = 0, subflow = 0;
    bool payload_done = false, unknown_payload = false;
  };

  bool candidate(const View& v, uint64_t k) const;
  void finalize_block(uint32_t slot, Session& s, View& v);
  void pass_time(uint32_t slot, Session& s, double t);
  void add_flowpic(uint32_t slot, Session& s, View& v, const Buffered& b);
  void add_payload(uint32_t slot, Session& s, const Buffered& b);
  void emit_payload(uint32_t slot, Session& s, size_t end);
  void emit(uint32_t slot, Session& s, const View& v, size_t begin, size_t end);
  void drop_front(View& v, size_t n);
  void clear(View& v);

  RepresentationConfig rep_;
  Emit emit_;
  std::vector<Session> sessions_;
  size_t open_ = 0;
  SampleIndexStats stats_;
  WindowStreamCounters counters_;
  CompletedWindow out_;
};

}  // namespace flowpic
