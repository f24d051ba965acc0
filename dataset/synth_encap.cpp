// Encapsulations of the synthetic generator: a VPN tunnel (OpenVPN over UDP or TCP) and the TLS
// link to a Tor guard, each turning a whole inner trace into one wire session.
#include <algorithm>
#include <cmath>
#include <memory>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/synth_process.hpp"

namespace flowpic::synth {

namespace {

// ACKs of a TCP link that carries its own records: every second segment of a direction is
// acknowledged at once, a lone one after the delayed-ACK timer (when no second one came in time).
class AckClock {
 public:
  AckClock(TcpConnection& c, Rng& rng) : c_(c), rng_(rng) {}
  void data(uint8_t dir, double t) {
    expire(dir, t);
    if (++pending_[dir] >= 2) {
      ack(dir, t, false);
      pending_[dir] = 0;
    } else {
      pending_t_[dir] = t;
    }
  }
  void finish() {
    for (uint8_t d = 0; d < 2; ++d) expire(d, 1e18);
  }

 private:
  void expire(uint8_t dir, double t) {
    if (pending_[dir] == 1 && t - pending_t_[dir] > 0.04) {
      ack(dir, pending_t_[dir], true);
      pending_[dir] = 0;
    }
  }
  // The receiver of `dir`'s data acknowledges: the client at once (seen now), the far end one RTT later.
  void ack(uint8_t dir, double t, bool delayed) {
    double d = delayed ? rng_.uniform(0.004, 0.04) : rng_.uniform(30e-6, 300e-6);
    if (dir == 1)
      c_.pure_ack(0, t + d);
    else
      c_.pure_ack(1, t + c_.path().rtt + d + std::fabs(rng_.normal()) * c_.path().jitter);
  }
  TcpConnection& c_;
  Rng& rng_;
  int pending_[2] = {0, 0};
  double pending_t_[2] = {0, 0};
};

void push_udp(Trace& out, uint32_t session, uint8_t dir, double t, uint32_t payload) {
  Packet p;
  p.t = t;
  p.session = session;
  p.dir = dir;
  p.payload = static_cast<uint16_t>(payload);
  out.packets.push_back(p);
}

}  // namespace

uint32_t vpn_payload_bytes(uint32_t inner_ip_bytes, bool tcp) {
  uint32_t body = (inner_ip_bytes + 4 + 1 + 15) / 16 * 16;  // packet id, then CBC padding (at least one byte)
  return (tcp ? 2u : 0u) + 1 + 20 + 16 + body;              // length, opcode, HMAC-SHA1, IV
}

void encapsulate_vpn(const Trace& inner, Trace& out, Rng& rng, PortAllocator& ports, const Address& client,
                     const VpnParams& vp, double t_end) {
  Session s;
  s.protocol = vp.tcp ? 6 : 17;
  s.addr_a = client;
  s.addr_b = Address::v4(198, 19, 200, 10);
  s.port_a = ports.next();
  s.port_b = vp.tcp ? 443 : 1194;
  s.role = kRoleTunnel;
  s.note = vp.tcp ? "OpenVPN tunnel over TCP" : "OpenVPN tunnel over UDP";
  const uint32_t id = out.add_session(s);
  Path path;
  path.rtt = rng.uniform(0.02, 0.06);
  path.jitter = 0.001;
  path.loss = 0;  // losses happen, and are repaired, inside the tunnel
  double first = inner.packets.empty() ? 1.0 : inner.packets.front().t;
  double t = std::max(0.0, first - rng.uniform(1.5, 2.5));

  std::unique_ptr<TcpConnection> tcp;
  std::unique_ptr<AckClock> acks;
  double last[2] = {t, t};
  auto emit = [&](uint8_t dir, double at, uint32_t payload) {
    at = std::max(at, last[dir] + 1e-6);
    if (tcp) {
      tcp->segment(dir, at, static_cast<uint16_t>(payload));
      acks->data(dir, at);
    } else {
      push_udp(out, id, dir, at, payload);
    }
    last[dir] = at;
  };
  // Keep-alive pings in each direction when it has sent nothing for keepalive_s.
  auto pings_until = [&](uint8_t dir, double until) {
    while (until - last[dir] > vp.keepalive_s)
      emit(dir, last[dir] + vp.keepalive_s * rng.uniform(0.98, 1.0), vpn_payload_bytes(16, vp.tcp));
  };

  if (vp.tcp) {
    tcp = std::make_unique<TcpConnection>(out, id, rng, path);
    acks = std::make_unique<AckClock>(*tcp, rng);
    t = tcp->open(t);
    last[0] = last[1] = t;
  }
  // Control channel: hard reset, then the TLS handshake carried in control packets, key exchange.
  const uint32_t hs[][2] = {{0, 42},  {1, 54}, {0, 330}, {1, 1160}, {1, 1160}, {1, 720}, {0, 1090},
                            {0, 420}, {1, 62}, {1, 290}, {0, 62},   {0, 350},  {1, 380}, {0, 62}};
  double at = t + 0.001;
  for (const auto& h : hs) {
    if (h[0] == 1) at += path.rtt * 0.5;
    emit(static_cast<uint8_t>(h[0]), at, h[1]);
    if (h[0] == 1) at += path.rtt * 0.5;
    at += 0.0005;
  }
  for (const Packet& p : inner.packets) {
    uint32_t inner_len = ip_length(inner.sessions[p.session], p);
    double when = p.t + rng.uniform(20e-6, 150e-6);  // encryption
    pings_until(p.dir, when);
    pings_until(1 - p.dir, when);
    emit(p.dir, when, vpn_payload_bytes(inner_len, vp.tcp));
  }
  pings_until(0, t_end);
  pings_until(1, t_end);
  if (acks) acks->finish();
}

void encapsulate_tor(const Trace& inner, Trace& out, Rng& rng, PortAllocator& ports, const Address& client,
                     const TorParams& tp, double t_end) {
  Session s;
  s.protocol = 6;
  s.addr_a = client;
  s.addr_b = Address::v4(198, 19, static_cast<uint8_t>(rng.integer(1, 199)), static_cast<uint8_t>(rng.integer(1, 254)));
  s.port_a = ports.next();
  s.port_b = tp.guard_port;
  s.role = kRoleTor;
  s.note = "TLS link to the Tor guard";
  const uint32_t id = out.add_session(s);
  Path path;
  path.rtt = rng.uniform(0.02, 0.1);
  path.jitter = 0.002;
  path.loss = 0;
  TcpConnection link(out, id, rng, path);
  AckClock acks(link, rng);
  double first = inner.packets.empty() ? 1.0 : inner.packets.front().t;
  double t = link.open(std::max(0.0, first - rng.uniform(3.0, 4.0)));
  // TLS handshake, then the link handshake (VERSIONS, CERTS, AUTH_CHALLENGE, NETINFO): the only
  // records that are not whole cells.
  t = link.message(0, t, static_cast<uint32_t>(rng.integer(220, 320)));
  t = link.send(1, t + path.rtt, static_cast<uint32_t>(rng.integer(1500, 2600)), 20e6);
  t = link.message(0, t + 0.002, static_cast<uint32_t>(rng.integer(120, 200)));
  t = link.message(1, t + path.rtt, static_cast<uint32_t>(rng.integer(51, 250)));
  t = link.message(0, t + 0.001, 7 + kTlsRecordOverhead);
  t = link.send(1, t + path.rtt, static_cast<uint32_t>(rng.integer(1300, 1900)), 20e6);
  const uint32_t one = kTlsRecordOverhead + kTorCellBytes;
  t = link.message(0, t + 0.001, one);  // NETINFO
  for (int hop = 1; hop <= 3; ++hop) {  // CREATE2 / EXTEND2 and their answers
    t = link.message(0, t + 0.002, one);
    t = link.message(1, t + path.rtt + 0.08 * hop * rng.uniform(0.5, 1.5), one);
  }
  const double ready = t + 0.001;

  struct Cell {
    double t;
    uint8_t dir;
  };
  std::vector<Cell> cells;
  for (const Packet& p : inner.packets) {
    int n;
    if (p.flags & kSyn)
      n = 1;  // BEGIN (SYN) or CONNECTED (SYN-ACK)
    else if (p.flags & kFin)
      n = 1;  // END
    else
      n = static_cast<int>((p.payload + kTorRelayPayload - 1) / kTorRelayPayload);
    for (int i = 0; i < n; ++i) cells.push_back({p.t + std::fabs(rng.normal()) * tp.delay_jitter_s, p.dir});
  }
  std::stable_sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) { return a.t < b.t; });
  // Each direction's cells queue behind the circuit's throughput; every 50 cells received the
  // client sends a SENDME cell back.
  double free_at[2] = {ready, ready};
  const double cell_time = kTorCellBytes * 8.0 / (tp.circuit_mbps * 1e6);
  std::vector<Cell> sent;
  sent.reserve(cells.size() + cells.size() / 40 + 16);
  uint64_t received = 0;
  for (const Cell& c : cells) {
    double tx = std::max(c.t, free_at[c.dir]);
    free_at[c.dir] = tx + cell_time;
    sent.push_back({tx, c.dir});
    if (c.dir == 1 && ++received % 50 == 0) sent.push_back({tx + rng.uniform(0.0005, 0.002), 0});
  }
  std::stable_sort(sent.begin(), sent.end(), [](const Cell& a, const Cell& b) { return a.t < b.t; });
  // Records of one or two cells (cells of a direction within 0.5 ms share one), one per segment;
  // a padding cell when the link has been silent for a minute.
  double last = ready, prev[2] = {ready, ready};
  auto record = [&](uint8_t dir, double at, uint32_t ncells) {
    at = std::max(at, prev[dir] + 1e-6);
    link.segment(dir, at, static_cast<uint16_t>(kTlsRecordOverhead + kTorCellBytes * ncells));
    acks.data(dir, at);
    prev[dir] = at;
    last = std::max(last, at);
  };
  auto padding_until = [&](double until) {
    while (until - last > 60) record(0, last + rng.uniform(55, 60), 1);
  };
  for (size_t i = 0; i < sent.size();) {
    size_t j = i + 1;
    if (j < sent.size() && sent[j].dir == sent[i].dir && sent[j].t - sent[i].t < 0.0005) ++j;
    padding_until(sent[i].t);
    record(sent[i].dir, sent[j - 1].t, static_cast<uint32_t>(j - i));
    i = j;
  }
  padding_until(t_end);
  acks.finish();
}

}  // namespace flowpic::synth
