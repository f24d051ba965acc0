#include "kernels/window_stream.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "dataset/flow_record.hpp"
#include "kernels/bin_math.hpp"

namespace flowpic {

WindowStream::WindowStream(const RepresentationConfig& representation, Emit emit)
    : rep_(representation), emit_(std::move(emit)) {}

WindowStream::~WindowStream() = default;

void WindowStream::open(uint32_t slot, int64_t first_time_ns) {
  if (slot >= sessions_.size()) sessions_.resize(static_cast<size_t>(slot) + 1);
  Session& s = sessions_[slot];
  FLOWPIC_ASSERT(!s.open);
  s.open = true;
  s.start_ns = s.newest_ns = first_time_ns;
  s.windows = 0;
  s.sizes = s.sub_sizes = s.subflow = 0;
  s.payload_done = s.unknown_payload = false;
  for (View& v : s.view) {
    clear(v);
    v.any = v.done = false;
    v.origin = v.last = 0;
    v.next_block = 0;
  }
  if (rep_.type == RepresentationConfig::Type::kPayloadImage) {
    s.views = 0;
  } else if (rep_.flowpic.flow_view == ImageFlowView::kBidirectional) {
    s.views = 1;
    s.view[0].mask = kDirBoth;
    s.view[0].direction = 2;
  } else {
    s.views = 2;
    s.view[0].mask = kDirInitiator;
    s.view[0].direction = 0;
    s.view[1].mask = kDirResponder;
    s.view[1].direction = 1;
  }
  ++open_;
}

int64_t WindowStream::start_ns(uint32_t slot) const { return sessions_.at(slot).start_ns; }
uint32_t WindowStream::windows_of(uint32_t slot) const { return sessions_.at(slot).windows; }

void WindowStream::drop_front(View& v, size_t n) {
  v.head += n;
  counters_.buffered_packets -= n;
  if (v.head == v.buf.size()) {
    v.buf.clear();
    v.head = 0;
  } else if (v.head > 1024 && v.head * 2 > v.buf.size()) {
    v.buf.erase(v.buf.begin(), v.buf.begin() + static_cast<std::ptrdiff_t>(v.head));
    v.head = 0;
  }
  v.head_time = v.head < v.buf.size() ? v.buf[v.head].time : std::numeric_limits<double>::infinity();
}

void WindowStream::clear(View& v) {
  counters_.buffered_packets -= v.buf.size() - v.head;
  v.buf.clear();
  if (v.buf.capacity() > 4096) std::vector<Buffered>().swap(v.buf);
  v.head = 0;
  v.head_time = std::numeric_limits<double>::infinity();
}

// The same conditions, in the same order, as build_sample_index's block loop, with the view's
// last packet so far: each only becomes true as `last` grows, so a candidate now stays one.
bool WindowStream::candidate(const View& v, uint64_t k) const {
  const FlowPicConfig& c = rep_.flowpic;
  const double start = static_cast<double>(k) * c.stride_s;
  const double end = start + c.block_s;
  if (start > v.last) return false;
  if (c.blocks == BlockSelection::kFirst && k > 0) return false;
  if (c.blocks == BlockSelection::kComplete && end > v.last) return false;
  if (c.blocks == BlockSelection::kFirstAndComplete) {
    const double authors_blocks = std::trunc(v.last / c.stride_s - c.block_s / c.stride_s) + 1.0;
    if (!(static_cast<double>(k) < authors_blocks)) return false;
  }
  return true;
}

void WindowStream::finalize_block(uint32_t slot, Session& s, View& v) {
  const FlowPicConfig& c = rep_.flowpic;
  const uint64_t k = v.next_block;
  const double start = static_cast<double>(k) * c.stride_s;
  const double end = start + c.block_s;
  ++stats_.blocks;
  // The block's live packets [a, b), and below the ones to drop, read off buf only where the
  // view's bounds (its first live packet, head_time, and its newest, last) leave them in doubt,
  // and then the end boundaries from the back: buf is sorted, and its newest packets (the one
  // that ended the block among them) are the ones in cache. Most blocks are handed out to pass
  // the time with a few packets or none, many of them the other direction's view, whose buffer
  // has left the cache: reading it from the front was most of this function.
  const size_t size = v.buf.size();
  auto tau = [&](size_t i) { return v.buf[i].time - v.origin; };
  size_t a = v.head;
  if (!(v.head_time - v.origin >= start))
    while (a < size && tau(a) < start) ++a;
  size_t b = size;
  if (!(c.closed_end ? v.last <= end : v.last < end))
    while (b > a && !(c.closed_end ? tau(b - 1) <= end : tau(b - 1) < end)) --b;
  const uint64_t n = b - a;
  if (static_cast<int64_t>(n) <= c.packets_more_than) {
    ++stats_.blocks_few_packets;
  } else if (c.span_more_than_s && !(v.buf[b - 1].time - v.buf[a].time > *c.span_more_than_s)) {
    ++stats_.blocks_short_span;
  } else {
    Sample& o = out_.sample;
    o = Sample{};
    o.direction = v.direction;
    o.index = static_cast<uint32_t>(k);
    o.start = v.origin + start;
    o.packets = static_cast<uint32_t>(n);
    o.origin = v.origin;
    o.length = v.last;  // so far (the store's is the whole flow's; only packet augmentations read it)
    o.window.begin = 0;
    o.window.end = n;
    o.window.directions = v.mask;
    if (c.time_axis == TimeAxis::kFixed) {
      o.window.t0 = v.origin + start;
      o.window.duration = c.block_s;
    } else {
      o.window.t0 = v.buf[a].time;
      o.window.duration = v.buf[b - 1].time - v.buf[a].time;
    }
    emit(slot, s, v, a, b);
  }
  v.next_block = k + 1;
  if (c.blocks == BlockSelection::kFirst) {
    v.done = true;
    clear(v);
    return;
  }
  // No pending block starts before the next one: the packets before its start are no longer needed.
  const double next_start = static_cast<double>(k + 1) * c.stride_s;
  size_t keep = v.buf.size();  // [keep, size) stay; all of them go when even the newest is before next_start
  if (!(v.last < next_start))
    while (keep > v.head && !(v.buf[keep - 1].time - v.origin < next_start)) --keep;
  const size_t drop = keep - v.head;
  drop_front(v, drop);
}

void WindowStream::pass_time(uint32_t slot, Session& s, double t) {
  const FlowPicConfig& c = rep_.flowpic;
  for (int i = 0; i < s.views; ++i) {
    View& v = s.view[i];
    if (!v.any || v.done) continue;
    const double tau = t - v.origin;
    while (!v.done && candidate(v, v.next_block)) {
      const double end = static_cast<double>(v.next_block) * c.stride_s + c.block_s;
      if (!(c.closed_end ? tau > end : tau >= end)) break;
      finalize_block(slot, s, v);
    }
  }
}

void WindowStream::add_flowpic(uint32_t, Session& s, View& v, const Buffered& b) {
  if (v.done) return;
  if (!v.any) {
    v.any = true;
    v.origin = b.time;
    v.last = 0;
  }
  const double tau = b.time - v.origin;
  const double next_start = static_cast<double>(v.next_block) * rep_.flowpic.stride_s;
  if (tau < 0 || (tau < next_start && tau < v.last)) {
    ++counters_.late_packets;  // before the view's first packet, or in a window already handed out
    return;
  }
  if (tau >= v.last || v.buf.size() == v.head || !(b.time < v.buf.back().time)) {
    v.buf.push_back(b);
  } else {
    auto at = std::upper_bound(v.buf.begin() + static_cast<std::ptrdiff_t>(v.head), v.buf.end(), b.time,
                               [](double t, const Buffered& x) { return t < x.time; });
    v.buf.insert(at, b);
  }
  v.head_time = std::min(v.head_time, b.time);  // b went in at or after head
  (void)s;
  v.last = std::max(v.last, tau);
  ++counters_.buffered_packets;
  counters_.peak_buffered_packets = std::max(counters_.peak_buffered_packets, counters_.buffered_packets);
}

void WindowStream::emit_payload(uint32_t slot, Session& s, size_t end) {
  View& v = s.view[0];
  Sample& o = out_.sample;
  o = Sample{};
  o.direction = 2;
  o.index = static_cast<uint32_t>(s.subflow);
  o.start = v.buf[v.head].time;
  o.packets = static_cast<uint32_t>(s.sub_sizes);
  o.window.begin = 0;
  o.window.end = end - v.head;
  o.window.directions = kDirBoth;
  emit(slot, s, v, v.head, end);
}

void WindowStream::emit(uint32_t slot, Session& s, const View& v, size_t begin, size_t end) {
  out_.slot = slot;
  out_.packets = v.buf.data() + begin;
  out_.size = end - begin;
  ++s.windows;
  ++stats_.samples;
  emit_(out_);
}

void WindowStream::add_payload(uint32_t slot, Session& s, const Buffered& b) {
  if (b.payload_length == kUnknownPayload) s.unknown_payload = true;
  if (s.payload_done || s.unknown_payload) return;
  const bool counts = payload_counts(b.payload_length);
  View& v = s.view[0];
  if (s.sub_sizes == 0 && !counts) return;  // before the subflow's first size
  v.buf.push_back(b);
  v.head_time = std::min(v.head_time, b.time);
  ++counters_.buffered_packets;
  counters_.peak_buffered_packets = std::max(counters_.peak_buffered_packets, counters_.buffered_packets);
  if (!counts) return;
  ++s.sizes;
  ++s.sub_sizes;
  const PayloadImageConfig& c = rep_.payload;
  if (s.sub_sizes < static_cast<uint64_t>(c.image.length())) return;
  emit_payload(slot, s, v.buf.size());
  clear(v);
  ++s.subflow;
  s.sub_sizes = 0;
  if (!c.all_subflows) s.payload_done = true;
}

void WindowStream::packet(uint32_t slot, int64_t time_ns, uint32_t ip_length, uint32_t payload_length,
                          uint8_t direction, uint8_t tcp_flags) {
  Session& s = sessions_.at(slot);
  FLOWPIC_ASSERT(s.open);
  if (time_ns < s.start_ns) {
    ++counters_.late_packets;
    return;
  }
  const Buffered b{static_cast<double>(time_ns - s.start_ns) * 1e-9, ip_length, payload_length, direction, tcp_flags};
  const bool in_order = time_ns >= s.newest_ns;
  s.newest_ns = std::max(s.newest_ns, time_ns);
  if (rep_.type == RepresentationConfig::Type::kPayloadImage) {
    if (!in_order) {
      ++counters_.late_packets;
      return;
    }
    add_payload(slot, s, b);
    return;
  }
  const FlowPicConfig& c = rep_.flowpic;
  View& v = s.view[s.views == 1 ? 0 : (direction & 1)];
  bool keep = true;
  if (ip_length > c.image.max_size) {
    ++stats_.oversize_packets;
    if (c.image.oversize == OversizeRule::kDrop) keep = false;
  }
  if (keep) add_flowpic(slot, s, v, b);
  if (in_order) pass_time(slot, s, b.time);
}

void WindowStream::advance(int64_t now_ns) {
  if (rep_.type != RepresentationConfig::Type::kFlowPic) return;
  for (uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    Session& s = sessions_[slot];
    if (!s.open || now_ns <= s.newest_ns) continue;
    pass_time(slot, s, static_cast<double>(now_ns - s.start_ns) * 1e-9);
  }
}

void WindowStream::close(uint32_t slot) {
  Session& s = sessions_.at(slot);
  FLOWPIC_ASSERT(s.open);
  ++stats_.flows;
  if (rep_.type == RepresentationConfig::Type::kPayloadImage) {
    const PayloadImageConfig& c = rep_.payload;
    if (s.unknown_payload) {
      ++stats_.sessions_unknown_payload;
    } else {
      ++stats_.flow_views;
      if (s.sizes < static_cast<uint64_t>(c.min_sizes)) {
        ++stats_.sessions_few_sizes;
      } else if (!s.payload_done && s.sub_sizes > 0) {
        if (s.sub_sizes < static_cast<uint64_t>(c.min_sizes)) {
          ++stats_.subflows_few_sizes;
        } else {
          // The window ends at the subflow's last size.
          const View& v = s.view[0];
          size_t end = v.buf.size();
          while (end > v.head && !payload_counts(v.buf[end - 1].payload_length)) --end;
          emit_payload(slot, s, end);
        }
      }
    }
  } else {
    for (int i = 0; i < s.views; ++i) {
      View& v = s.view[i];
      ++stats_.flow_views;
      if (!v.any) {
        ++stats_.empty_flow_views;
        continue;
      }
      while (!v.done && candidate(v, v.next_block)) finalize_block(slot, s, v);
    }
  }
  for (View& v : s.view) clear(v);
  s.open = false;
  --open_;
}

}  // namespace flowpic
