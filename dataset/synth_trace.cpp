#include "dataset/synth_trace.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic::synth {

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(version == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

Address Address::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Address r;
  r.version = 4;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

Address Address::v6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t host) {
  Address r;
  r.version = 6;
  const uint16_t groups[4] = {g0, g1, g2, 0};
  for (int i = 0; i < 4; ++i) {
    r.bytes[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    r.bytes[2 * i + 1] = static_cast<uint8_t>(groups[i] & 0xFF);
  }
  r.bytes[14] = static_cast<uint8_t>(host >> 8);
  r.bytes[15] = static_cast<uint8_t>(host & 0xFF);
  return r;
}

uint32_t ip_header_bytes(uint8_t version) { return version == 6 ? 40 : 20; }

uint32_t transport_header_bytes(uint8_t protocol, uint8_t flags) {
  if (protocol == 17) return 8;
  return (flags & kSyn) ? 32 : 20;
}

uint32_t ip_length(const Session& s, const Packet& p) {
  return ip_header_bytes(s.addr_a.version) + transport_header_bytes(s.protocol, p.flags) + p.payload;
}

void finish_trace(Trace& trace, int64_t start_ns, bool nanosecond) {
  std::stable_sort(trace.packets.begin(), trace.packets.end(),
                   [](const Packet& x, const Packet& y) { return x.t < y.t; });
  for (auto& p : trace.packets) {
    FLOWPIC_ASSERT(p.t >= 0);
    int64_t ns = start_ns + static_cast<int64_t>(std::floor(p.t * 1e9));
    if (!nanosecond) ns -= ns % 1000;
    p.t_ns = ns;
  }
}

TcpConnection::TcpConnection(Trace& trace, uint32_t session, Rng& rng, const Path& path)
    : trace_(trace), session_(session), rng_(rng), path_(path) {
  next_seq_[0] = static_cast<uint32_t>(rng.next());
  next_seq_[1] = static_cast<uint32_t>(rng.next());
}

void TcpConnection::emit(double t, uint8_t dir, uint16_t payload, uint8_t flags, uint32_t seq) {
  FLOWPIC_ASSERT(!closed_);
  Packet p;
  p.t = t;
  p.session = session_;
  p.dir = dir;
  p.flags = flags;
  p.payload = payload;
  p.seq = seq;
  p.ack = (flags & kAck) ? next_seq_[1 - dir] : 0;
  trace_.packets.push_back(p);
  last_ = std::max(last_, t);
}

double TcpConnection::open(double t) {
  emit(t, 0, 0, kSyn, next_seq_[0]++);
  double synack = t + path_.rtt + std::fabs(rng_.normal()) * path_.jitter;
  emit(synack, 1, 0, kSyn | kAck, next_seq_[1]++);
  double ack = synack + rng_.uniform(30e-6, 200e-6);
  emit(ack, 0, 0, kAck, next_seq_[0]);
  busy_[0] = busy_[1] = ack;
  return ack;
}

double TcpConnection::send(uint8_t dir, double t, uint64_t bytes, double rate_bps) {
  t = std::max(t, busy_[dir]);
  double tt = t, seen_last = t, prev_arrival = t;
  int unacked = 0;
  uint64_t left = bytes;
  while (left > 0) {
    uint16_t seg = static_cast<uint16_t>(std::min<uint64_t>(left, path_.mss));
    left -= seg;
    uint32_t seq = next_seq_[dir];
    next_seq_[dir] += seg;
    uint8_t flags = kAck | (left == 0 ? kPsh : 0);
    bool lost = rng_.chance(path_.loss);
    double seen;
    if (dir == 0) {
      // Leaves the client at once: seen even when lost further on, then sent again after the
      // duplicate ACKs (about one RTT).
      seen = tt;
      emit(seen, 0, seg, flags, seq);
      if (lost) emit(seen + path_.rtt * rng_.uniform(1.05, 1.5), 0, seg, kAck, seq);
      if (++unacked >= 2 || left == 0) {
        emit(seen + path_.rtt + std::fabs(rng_.normal()) * path_.jitter, 1, 0, kAck, next_seq_[1]);
        unacked = 0;
      }
    } else {
      // Arrives after the path's jitter, never before the segment ahead of it.
      seen = std::max(prev_arrival + 1e-6, tt + std::fabs(rng_.normal()) * path_.jitter * 0.25);
      prev_arrival = seen;
      if (lost) {
        // Not seen; the next segments draw a duplicate ACK and the retransmission arrives a
        // round trip later.
        emit(seen + rng_.uniform(30e-6, 150e-6), 0, 0, kAck, next_seq_[0]);
        emit(seen + path_.rtt * rng_.uniform(1.0, 1.3), 1, seg, kAck, seq);
      } else {
        emit(seen, 1, seg, flags, seq);
      }
      if (++unacked >= 2 || left == 0) {
        // Delayed ACK: at once for every second segment, up to 40 ms for a lone last one.
        double delay = unacked >= 2 ? rng_.uniform(30e-6, 300e-6) : rng_.uniform(0.004, 0.040);
        emit(seen + delay, 0, 0, kAck, next_seq_[0]);
        unacked = 0;
      }
    }
    seen_last = std::max(seen_last, seen);
    tt += (seg + 40) * 8.0 / rate_bps * rng_.uniform(0.85, 1.15);
  }
  busy_[dir] = tt;
  return seen_last;
}

void TcpConnection::segment(uint8_t dir, double t, uint16_t payload) {
  uint32_t seq = next_seq_[dir];
  next_seq_[dir] += payload;
  emit(t, dir, payload, kPsh | kAck, seq);
  busy_[dir] = std::max(busy_[dir], t);
}

void TcpConnection::pure_ack(uint8_t dir, double t) { emit(t, dir, 0, kAck, next_seq_[dir]); }

double TcpConnection::close(double t, uint8_t who) {
  t = std::max(t, last_ + 1e-3);
  if (who == 0) {
    emit(t, 0, 0, kFin | kAck, next_seq_[0]++);
    double fin = t + path_.rtt + std::fabs(rng_.normal()) * path_.jitter;
    emit(fin, 1, 0, kFin | kAck, next_seq_[1]++);
    emit(fin + rng_.uniform(30e-6, 200e-6), 0, 0, kAck, next_seq_[0]);
  } else {
    emit(t, 1, 0, kFin | kAck, next_seq_[1]++);
    double fin = t + rng_.uniform(50e-6, 500e-6);
    emit(fin, 0, 0, kFin | kAck, next_seq_[0]++);
    emit(fin + path_.rtt + std::fabs(rng_.normal()) * path_.jitter, 1, 0, kAck, next_seq_[1]);
  }
  closed_ = true;
  return last_;
}

double udp_datagram(Trace& trace, uint32_t session, Rng& rng, const Path& path, uint8_t dir, double t, uint16_t payload,
                    bool may_lose, PayloadKind kind) {
  double seen = t;
  if (dir == 1) {
    if (may_lose && rng.chance(path.loss)) return -1;
    seen = t + std::fabs(rng.normal()) * path.jitter;
  }
  Packet p;
  p.t = seen;
  p.session = session;
  p.dir = dir;
  p.payload = payload;
  p.kind = kind;
  trace.packets.push_back(p);
  return seen;
}

}  // namespace flowpic::synth
