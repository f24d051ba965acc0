#pragma once
// The synthetic generator's in-memory capture: sessions (5-tuples) and the packets seen at the
// capture point (the client host), plus the transport helpers that produce realistic packet
// sequences (TCP handshake, MSS segmentation paced at a bottleneck rate, delayed ACKs, loss with
// fast retransmission, FIN teardown; UDP datagrams with jitter and loss).
//
// Times are seconds since the capture's start while generating; finish_trace() sorts the packets
// and fixes their absolute nanosecond timestamps at the capture's resolution, which is exactly
// what the pcap file holds.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/synth_random.hpp"

namespace flowpic::synth {

enum class PayloadKind : uint8_t { kOpaque = 0, kDnsQuery, kDnsResponse, kNtpClient, kNtpServer };

struct Address {
  uint8_t version = 4;
  std::array<uint8_t, 16> bytes{};
  std::string str() const;
  static Address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // 2001:db8:<group>::<host> (documentation prefix) or fd00::<host> for the client
  static Address v6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t host);
};

// Roles of sessions in the manifest: what produced them.
inline constexpr const char* kRoleApplication = "application";  // the capture's activity itself
inline constexpr const char* kRoleSignalling = "signalling";    // the application's control connection
inline constexpr const char* kRoleTunnel = "tunnel";            // a VPN tunnel carrying everything else
inline constexpr const char* kRoleTor = "tor";                  // the TLS connection to the Tor guard
inline constexpr const char* kRoleBackground = "background";    // DNS / NTP side traffic

struct Session {
  uint8_t protocol = 6;    // 6 TCP, 17 UDP
  Address addr_a, addr_b;  // a = initiator (always the capturing client here)
  uint16_t port_a = 0, port_b = 0;
  std::string role = kRoleApplication;
  std::string note;  // what it is ("youtube video connection"); the query name for DNS
};

struct Packet {
  double t = 0;      // seconds since the capture's start (generation time)
  int64_t t_ns = 0;  // absolute timestamp in ns, set by finish_trace (at the capture's resolution)
  uint32_t session = 0;
  uint32_t seq = 0, ack = 0;  // TCP sequence and acknowledgement numbers
  uint16_t payload = 0;       // transport payload bytes
  uint8_t dir = 0;            // 0 = from side a (the initiator), 1 = from side b
  uint8_t flags = 0;          // TCP flags (TcpFlag bits of packet_store.hpp), 0 for UDP
  PayloadKind kind = PayloadKind::kOpaque;
};

struct Trace {
  std::vector<Session> sessions;
  std::vector<Packet> packets;
  uint32_t add_session(Session s) {
    sessions.push_back(std::move(s));
    return static_cast<uint32_t>(sessions.size() - 1);
  }
};

// Header bytes below the transport payload: IPv4 20 / IPv6 40, TCP 20 (+12 of options on SYNs:
// MSS, SACK-permitted, window scale) / UDP 8.
uint32_t ip_header_bytes(uint8_t version);
uint32_t transport_header_bytes(uint8_t protocol, uint8_t flags);
// IPv4 total length, or 40 + payload length for IPv6: the packet size flowpic stores.
uint32_t ip_length(const Session& s, const Packet& p);

// Sorts by time (stable for ties, so the generation order of simultaneous packets is kept) and
// sets t_ns = start_ns + t rounded to the capture's resolution (1 ns or 1 us).
void finish_trace(Trace& trace, int64_t start_ns, bool nanosecond);

// The network path of one connection as seen from the client.
struct Path {
  double rtt = 0.05;      // round-trip time, seconds
  double jitter = 0.002;  // s.d. of extra delay on packets arriving from the far side, seconds
  double loss = 0.005;    // probability that a data packet is lost
  uint32_t mss = 1460;    // TCP maximum segment size (smaller inside a VPN)
};

// Allocates client ports so that no 5-tuple is ever reused within a capture (a reused tuple
// would merge two sessions on ingestion).
class PortAllocator {
 public:
  explicit PortAllocator(Rng& rng) : next_(static_cast<uint16_t>(rng.integer(33000, 45000))), rng_(rng) {}
  uint16_t next() {
    next_ = static_cast<uint16_t>(next_ + rng_.integer(1, 9));
    if (next_ > 65000) next_ = 33000;
    return next_;
  }

 private:
  uint16_t next_;
  Rng& rng_;
};

// One TCP connection, client (side a) to server (side b), capture at the client. Packets are
// appended to the trace in any order (finish_trace sorts them); every method returns the time at
// which its last packet is seen, and the connection remembers the latest time it produced so
// that close() never precedes a retransmission.
class TcpConnection {
 public:
  TcpConnection(Trace& trace, uint32_t session, Rng& rng, const Path& path);
  // SYN at t, SYN-ACK one RTT later, ACK; returns when the client may send.
  double open(double t);
  // `bytes` from side `dir` starting at t, in MSS segments paced at `rate_bps` (the bottleneck),
  // ACKed by the other side every second segment; lost segments are retransmitted one RTT later
  // after duplicate ACKs. Returns the time the last segment is seen at the capture point.
  double send(uint8_t dir, double t, uint64_t bytes, double rate_bps);
  // A small application message (one or a few segments, PSH) and its ACK.
  double message(uint8_t dir, double t, uint32_t bytes) { return send(dir, t, bytes, 20e6); }
  // FIN from `who` at t (or after the last packet), FIN-ACK from the other side, final ACK.
  double close(double t, uint8_t who = 0);
  // One data segment (PSH|ACK) seen at exactly t, and a pure ACK: for callers that do their own
  // segmentation and ACK policy (the Tor link).
  void segment(uint8_t dir, double t, uint16_t payload);
  void pure_ack(uint8_t dir, double t);
  double last_time() const { return last_; }
  uint32_t session() const { return session_; }
  const Path& path() const { return path_; }

 private:
  void emit(double t, uint8_t dir, uint16_t payload, uint8_t flags, uint32_t seq);
  Trace& trace_;
  uint32_t session_;
  Rng& rng_;
  Path path_;
  uint32_t next_seq_[2];
  double busy_[2] = {0, 0};  // when each side's sender is free again (segments are serialised)
  double last_ = 0;
  bool closed_ = false;
};

// A UDP datagram; packets from side b get the path's jitter and may be lost. Returns the time seen
// (a negative value when lost).
double udp_datagram(Trace& trace, uint32_t session, Rng& rng, const Path& path, uint8_t dir, double t, uint16_t payload,
                    bool may_lose = true, PayloadKind kind = PayloadKind::kOpaque);

}  // namespace flowpic::synth
