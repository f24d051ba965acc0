#include "dataset/flow_assembler.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "common/hash_mix.hpp"

namespace flowpic {

namespace {

constexpr uint8_t kProtoTcp = 6;
// A slot whose packet buffer grew past this gives the memory back when the session ends, so one
// huge session does not pin its buffer for the rest of the file.
constexpr size_t kKeepCapacity = 4096;

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

int64_t seconds_to_ns(double s) {
  if (!(s >= 0)) fail("flow options: a time must be >= 0 seconds (got ", s, ")");
  if (s > 1e9) return INT64_MAX / 4;  // "never"
  return static_cast<int64_t>(std::llround(s * 1e9));
}

}  // namespace

size_t FlowAssembler::EndpointPairHash::operator()(const EndpointPair& k) const {
  uint64_t h = hash_combine(
      0, uint64_t{k.ip_version} << 40 | uint64_t{k.protocol} << 32 | uint64_t{k.port_lo} << 16 | k.port_hi);
  h = hash_combine(h, load64(k.addr_lo.data()));
  h = hash_combine(h, load64(k.addr_hi.data()));
  if (k.ip_version == 6) {
    h = hash_combine(h, load64(k.addr_lo.data() + 8));
    h = hash_combine(h, load64(k.addr_hi.data() + 8));
  }
  return static_cast<size_t>(h);
}

FlowAssembler::FlowAssembler(const FlowOptions& options, Sink sink)
    : options_(options),
      idle_ns_(seconds_to_ns(options.idle_timeout_s)),
      linger_ns_(seconds_to_ns(options.tcp_close_linger_s)),
      sink_(std::move(sink)) {
  record_.view = FlowView::kSession;
  if (options.max_open_sessions < 1) fail("flow options: max_open_sessions must be at least 1");
}

FlowAssembler::FlowAssembler(const FlowOptions& options, SessionListener* listener) : FlowAssembler(options, Sink()) {
  FLOWPIC_ASSERT(listener != nullptr);
  listener_ = listener;
}

FlowAssembler::EndpointPair FlowAssembler::canonical_of(const DecodedPacket& p) {
  EndpointPair k;
  k.ip_version = p.ip_version;
  k.protocol = p.protocol;
  int c = std::memcmp(p.src.data(), p.dst.data(), 16);
  bool src_low = c < 0 || (c == 0 && p.src_port <= p.dst_port);
  k.addr_lo = src_low ? p.src : p.dst;
  k.addr_hi = src_low ? p.dst : p.src;
  k.port_lo = src_low ? p.src_port : p.dst_port;
  k.port_hi = src_low ? p.dst_port : p.src_port;
  return k;
}

void FlowAssembler::unlink(List& list, uint32_t slot) {
  Session& s = slots_[slot];
  if (s.prev != kNone)
    slots_[s.prev].next = s.next;
  else
    list.head = s.next;
  if (s.next != kNone)
    slots_[s.next].prev = s.prev;
  else
    list.tail = s.prev;
  s.prev = s.next = kNone;
}

void FlowAssembler::push_back(List& list, uint32_t slot) {
  Session& s = slots_[slot];
  s.prev = list.tail;
  s.next = kNone;
  if (list.tail != kNone)
    slots_[list.tail].next = slot;
  else
    list.head = slot;
  list.tail = slot;
}

uint32_t FlowAssembler::open_session(const EndpointPair& canonical, const DecodedPacket& p, int64_t time_ns) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Session& s = slots_[slot];
  // A SYN+ACK first means its receiver opened the connection.
  bool swap = p.protocol == kProtoTcp && (p.tcp_flags & (kSyn | kAck)) == (kSyn | kAck);
  s.key.ip_version = p.ip_version;
  s.key.protocol = p.protocol;
  s.key.addr_a = swap ? p.dst : p.src;
  s.key.addr_b = swap ? p.src : p.dst;
  s.key.port_a = swap ? p.dst_port : p.src_port;
  s.key.port_b = swap ? p.src_port : p.dst_port;
  s.canonical = canonical;
  s.packets.clear();
  s.last_ns = time_ns;
  s.closed_ns = 0;
  s.fin_a = s.fin_b = s.closing = false;
  s.only_syns = true;
  s.id = next_id_++;
  push_back(active_, slot);
  index_insert(slot, static_cast<uint32_t>(EndpointPairHash()(canonical)));
  peak_open_ = std::max(peak_open_, index_count_);
  if (listener_) listener_->opened(slot, s.id, s.key);
  return slot;
}

bool FlowAssembler::must_split(const Session& s, const DecodedPacket& p, int64_t time_ns, uint8_t direction) const {
  if (time_ns - s.last_ns > idle_ns_) return true;
  if (s.key.protocol != kProtoTcp) return false;
  if (s.closing && time_ns - s.closed_ns > linger_ns_) return true;
  bool fresh_syn = (p.tcp_flags & (kSyn | kAck)) == kSyn;
  return fresh_syn && !(s.only_syns && direction == 0);
}

void FlowAssembler::append(uint32_t slot, const DecodedPacket& p, int64_t time_ns) {
  Session& s = slots_[slot];
  const FlowKey& k = s.key;
  uint8_t dir = (p.src_port == k.port_a && p.dst_port == k.port_b && p.src == k.addr_a && p.dst == k.addr_b) ? 0 : 1;
  if (listener_)
    listener_->packet(slot, SessionPacket{time_ns, p.ip_length, p.payload_length, dir, p.tcp_flags});
  else
    s.packets.push_back({time_ns, p.ip_length, p.payload_length, dir, p.tcp_flags});
  s.last_ns = std::max(s.last_ns, time_ns);
  if (!s.closing) {
    unlink(active_, slot);
    push_back(active_, slot);
  }
  if (k.protocol != kProtoTcp) return;
  if (!((p.tcp_flags & (kSyn | kAck)) == kSyn && dir == 0)) s.only_syns = false;
  if (p.tcp_flags & kFin) (dir == 0 ? s.fin_a : s.fin_b) = true;
  if (!s.closing && ((p.tcp_flags & kRst) || (s.fin_a && s.fin_b))) {
    s.closing = true;
    s.closed_ns = time_ns;
    unlink(active_, slot);
    push_back(closing_, slot);
  }
}

void FlowAssembler::add(const DecodedPacket& p, int64_t time_ns) {
  if (time_ns > clock_ns_) clock_ns_ = time_ns;
  expire(clock_ns_);
  EndpointPair canonical = canonical_of(p);
  uint32_t slot = index_find(canonical, static_cast<uint32_t>(EndpointPairHash()(canonical)));
  if (slot != kNone) {
    const Session& s = slots_[slot];
    bool from_a = p.src_port == s.key.port_a && p.src == s.key.addr_a;
    if (must_split(s, p, time_ns, from_a ? 0 : 1)) {
      const bool idle = time_ns - s.last_ns > idle_ns_;
      close_session(slot, idle ? SessionEnd::kIdle : s.closing ? SessionEnd::kTcpClose : SessionEnd::kNewSyn);
      slot = kNone;
    }
  }
  if (slot == kNone) {
    if (index_count_ >= options_.max_open_sessions) {
      // Make room: end the least recently active session (closing sessions first, they are done).
      if (closing_.head != kNone) {
        close_session(closing_.head, SessionEnd::kTcpClose);
      } else {
        close_session(active_.head, SessionEnd::kEvicted);
      }
      ++ended_early_;
    }
    slot = open_session(canonical, p, time_ns);
  }
  append(slot, p, time_ns);
}

uint32_t FlowAssembler::index_find(const EndpointPair& key, uint32_t hash) const {
  if (index_.empty()) return kNone;
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const IndexEntry& e = index_[i];
    if (e.slot == kNone) return kNone;
    if (e.hash == hash && slots_[e.slot].canonical == key) return e.slot;
  }
}

void FlowAssembler::index_insert(uint32_t slot, uint32_t hash) {
  if (2 * (index_count_ + 1) > index_.size()) {  // grow: at most half full
    std::vector<IndexEntry> old(std::max<size_t>(64, 2 * index_.size()));
    old.swap(index_);
    const size_t mask = index_.size() - 1;
    for (const IndexEntry& e : old) {
      if (e.slot == kNone) continue;
      size_t i = e.hash & mask;
      while (index_[i].slot != kNone) i = (i + 1) & mask;
      index_[i] = e;
    }
  }
  const size_t mask = index_.size() - 1;
  size_t i = hash & mask;
  while (index_[i].slot != kNone) i = (i + 1) & mask;
  index_[i] = IndexEntry{hash, slot};
  ++index_count_;
}

void FlowAssembler::index_erase(uint32_t slot) {
  const size_t mask = index_.size() - 1;
  size_t i = static_cast<uint32_t>(EndpointPairHash()(slots_[slot].canonical)) & mask;
  while (index_[i].slot != slot) {
    FLOWPIC_ASSERT(index_[i].slot != kNone);
    i = (i + 1) & mask;
  }
  // Backward shift: an entry after the hole moves into it unless its home lies cyclically in
  // (hole, entry], where a probe from its home never passes the hole.
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (index_[j].slot == kNone) break;
    const size_t home = index_[j].hash & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = IndexEntry{};
  --index_count_;
}

void FlowAssembler::advance(int64_t now_ns) {
  if (now_ns > clock_ns_) clock_ns_ = now_ns;
  expire(clock_ns_);
}

void FlowAssembler::expire(int64_t now_ns) {
  while (active_.head != kNone && now_ns - slots_[active_.head].last_ns > idle_ns_)
    close_session(active_.head, SessionEnd::kIdle);
  while (closing_.head != kNone) {
    const Session& s = slots_[closing_.head];
    if (now_ns - s.closed_ns <= linger_ns_ && now_ns - s.last_ns <= idle_ns_) break;
    close_session(closing_.head, SessionEnd::kTcpClose);
  }
}

void FlowAssembler::close_session(uint32_t slot, SessionEnd why) {
  Session& s = slots_[slot];
  unlink(s.closing ? closing_ : active_, slot);
  index_erase(slot);
  if (listener_)
    listener_->closed(slot, s.id, why);
  else
    emit(s);
  if (s.packets.capacity() > kKeepCapacity) std::vector<Packet>().swap(s.packets);
  s.packets.clear();
  free_slots_.push_back(slot);
}

void FlowAssembler::finish() {
  while (active_.head != kNone) close_session(active_.head, SessionEnd::kFinish);
  while (closing_.head != kNone) close_session(closing_.head, SessionEnd::kFinish);
  clock_ns_ = INT64_MIN;
}

void FlowAssembler::emit(Session& s) {
  const std::vector<Packet>& pk = s.packets;
  const size_t n = pk.size();
  if (n == 0) return;
  // Count packets older than one before them; sort (stably) only when there are any.
  uint64_t reordered = 0;
  int64_t newest = pk[0].time_ns;
  for (size_t i = 1; i < n; ++i) {
    if (pk[i].time_ns < newest)
      ++reordered;
    else
      newest = pk[i].time_ns;
  }
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
  if (reordered) {
    std::stable_sort(order_.begin(), order_.end(),
                     [&](uint32_t a, uint32_t b) { return pk[a].time_ns < pk[b].time_ns; });
    reordered_ += reordered;
  }
  const int64_t start_ns = pk[order_[0]].time_ns;
  FlowRecord& r = record_;
  r.key = s.key;
  r.view = FlowView::kSession;
  r.start_time = static_cast<double>(start_ns / 1000000000) + static_cast<double>(start_ns % 1000000000) * 1e-9;
  r.time.resize(n);
  r.ip_length.resize(n);
  r.payload_length.resize(n);
  r.direction.resize(n);
  r.tcp_flags.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Packet& p = pk[order_[i]];
    r.time[i] = static_cast<double>(p.time_ns - start_ns) * 1e-9;
    r.ip_length[i] = p.ip_length;
    r.payload_length[i] = p.payload_length;
    r.direction[i] = p.direction;
    r.tcp_flags[i] = p.tcp_flags;
  }
  sink_(r);
}

}  // namespace flowpic
