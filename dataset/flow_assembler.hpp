#pragma once
// Flow assembly: decoded packets -> bidirectional sessions (FlowView::kSession).
//
// Rules (docs/packet_store.md repeats them for users of the store):
//  - Key: the canonical 5-tuple (IP version, protocol, the two (address, port) ends in either order).
//  - Initiator (side a, direction 0) = sender of the session's first packet; for TCP, when that
//    first packet is a SYN+ACK, its receiver (the SYN was missed).
//  - A session ends when no packet came for FlowOptions::idle_timeout_s; the next packet of the
//    key starts a new one.
//  - TCP: after a RST, or FINs from both sides, packets still join for tcp_close_linger_s (the
//    last ACKs), then a new session starts. A SYN without ACK starts a new session at once unless
//    the session so far holds only such SYNs from the same side (retransmissions).
//  - Out-of-order timestamps: packets are kept in arrival order while the session is open; when it
//    closes they are sorted by time (stable, so equal times keep arrival order), the session starts
//    at its earliest packet, and packets that arrived earlier than a packet before them are counted
//    (reordered_packets). Idle and linger times are measured from the latest time seen so far.
//  - At most FlowOptions::max_open_sessions are open: a packet that would open one more first ends
//    the least recently active session (counted in sessions_ended_early).
//  - Memory is bounded by the sessions open at once: sessions are kept in a list ordered by last
//    activity, and every packet ends (in O(1) amortised) those idle for longer than the timeout
//    relative to the newest timestamp of the file. finish() ends the rest (sessions never span files).
//  - Streaming (a SessionListener instead of a Sink): the assembler keeps no packets; it tells the
//    listener of each session opened, each packet as it joins (arrival order, direction already
//    resolved) and each session's end, with the session's slot (a small index, reused once the
//    session has ended) and its id (sessions numbered from 0 in the order they opened). Live
//    classification and streaming classify keep only what their windows still need.
#include <cstdint>
#include <functional>
#include <vector>

#include "dataset/decode.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

// How packets become sessions (ingestion records them in the store's flow_options).
struct FlowOptions {
  // A session with no packet for this long ends; the next packet starts a new one.
  double idle_timeout_s = 120.0;
  // After a TCP RST, or FINs from both sides, packets still join the session for this long
  // (the last ACKs); a SYN without ACK starts a new session at once.
  double tcp_close_linger_s = 1.0;
  // Memory bound: at most this many sessions are open at once (about 200 bytes each plus their
  // packets). A capture with more concurrent 5-tuples (a scan, a flood of tiny flows) ends the
  // least recently active session early to make room; such sessions are counted and reported
  // (IngestReport::sessions_ended_early), and the store's flow_options records the cap.
  size_t max_open_sessions = size_t{1} << 20;
};

// One packet of a session as the streaming listener sees it.
struct SessionPacket {
  int64_t time_ns;
  uint32_t ip_length, payload_length;
  uint8_t direction, tcp_flags;  // direction: 0 = from the initiator (side a)
};

// Why a session ended.
enum class SessionEnd : uint8_t {
  kIdle = 0,      // no packet for idle_timeout_s
  kTcpClose = 1,  // RST or both FINs, after the linger time (or a new SYN after them)
  kNewSyn = 2,    // a SYN without ACK started a new session of the same 5-tuple
  kEvicted = 3,   // max_open_sessions reached: the least recently active one made room
  kFinish = 4,    // finish(): the end of the file or of the capture
};

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void opened(uint32_t slot, uint64_t id, const FlowKey& key) = 0;
  virtual void packet(uint32_t slot, const SessionPacket& packet) = 0;
  virtual void closed(uint32_t slot, uint64_t id, SessionEnd why) = 0;
};

class FlowAssembler {
 public:
  // Receives each completed session; the record is reused after the call returns.
  using Sink = std::function<void(FlowRecord&)>;

  FlowAssembler(const FlowOptions& options, Sink sink);
  // Streaming: sessions are reported to `listener` (which must outlive the assembler); no packets kept.
  FlowAssembler(const FlowOptions& options, SessionListener* listener);
  void add(const DecodedPacket& packet, int64_t time_ns);
  // Moves the clock to `now_ns` (when later than the newest packet) and ends the sessions idle or
  // done lingering by then: what a live capture does while no packet arrives.
  void advance(int64_t now_ns);
  // Ends every open session, oldest activity first.
  void finish();

  size_t open_sessions() const { return index_count_; }
  size_t peak_open_sessions() const { return peak_open_; }
  uint64_t reordered_packets() const { return reordered_; }
  uint64_t sessions_ended_early() const { return ended_early_; }

 private:
  // Canonical key: the (address, port) ends ordered so both directions find the same session.
  struct EndpointPair {
    uint8_t ip_version, protocol;
    uint16_t port_lo, port_hi;
    std::array<uint8_t, 16> addr_lo, addr_hi;
    bool operator==(const EndpointPair& o) const {
      return ip_version == o.ip_version && protocol == o.protocol && port_lo == o.port_lo && port_hi == o.port_hi &&
             addr_lo == o.addr_lo && addr_hi == o.addr_hi;
    }
  };
  struct EndpointPairHash {
    size_t operator()(const EndpointPair& k) const;
  };
  struct Packet {
    int64_t time_ns;
    uint32_t ip_length, payload_length;
    uint8_t direction, tcp_flags;
  };
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  struct Session {
    FlowKey key;
    EndpointPair canonical;
    std::vector<Packet> packets;  // capacity kept when the slot is reused
    int64_t last_ns = 0;          // latest packet time
    int64_t closed_ns = 0;        // time of the RST or second FIN
    bool fin_a = false, fin_b = false, closing = false, only_syns = true;
    uint32_t prev = kNone, next = kNone;  // in the activity list or the closing list
    uint64_t id = 0;                      // opening order
  };
  // An intrusive doubly linked list of session slots.
  struct List {
    uint32_t head = kNone, tail = kNone;
  };

  static EndpointPair canonical_of(const DecodedPacket& p);
  uint32_t open_session(const EndpointPair& canonical, const DecodedPacket& p, int64_t time_ns);
  void append(uint32_t slot, const DecodedPacket& p, int64_t time_ns);
  void close_session(uint32_t slot, SessionEnd why);
  bool must_split(const Session& s, const DecodedPacket& p, int64_t time_ns, uint8_t direction) const;
  void expire(int64_t now_ns);
  void unlink(List& list, uint32_t slot);
  void push_back(List& list, uint32_t slot);
  void emit(Session& s);
  // The open sessions by canonical key: open addressing, linear probing, at most half full, each
  // entry a slot and its key's hash (the key itself is the session's `canonical`); erasing shifts
  // the entries after it back, so there are no tombstones. One probe is usually one cache line,
  // where std::unordered_map walked a node per lookup (classify shares the cores with inference,
  // which evicts such nodes: 0.5 s of the capture thread's CPU on the 1 GB benchmark capture).
  struct IndexEntry {
    uint32_t hash = 0;
    uint32_t slot = kNone;
  };
  uint32_t index_find(const EndpointPair& key, uint32_t hash) const;
  void index_insert(uint32_t slot, uint32_t hash);
  void index_erase(uint32_t slot);

  FlowOptions options_;
  int64_t idle_ns_, linger_ns_;
  Sink sink_;
  SessionListener* listener_ = nullptr;
  uint64_t next_id_ = 0;
  std::vector<IndexEntry> index_;  // size a power of two
  size_t index_count_ = 0;
  std::vector<Session> slots_;
  std::vector<uint32_t> free_slots_;
  List active_;                   // ordered by last activity: head = least recent
  List closing_;                  // ordered by close time: head = oldest
  int64_t clock_ns_ = INT64_MIN;  // newest timestamp seen
  FlowRecord record_;             // reused for every emitted session
  std::vector<uint32_t> order_;   // reused sort permutation
  size_t peak_open_ = 0;
  uint64_t reordered_ = 0, ended_early_ = 0;
};

}  // namespace flowpic
