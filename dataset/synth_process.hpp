#pragma once
// Internal to the synthetic generator: the packet processes of each category, writing into a
// Trace as seen from the client, and the encapsulations that rewrite such a trace.
#include <algorithm>
#include <string>

#include "dataset/synth_model.hpp"

namespace flowpic::synth {

// What a process needs: where to write, randomness, the client and the path to the servers.
struct Context {
  Trace& trace;
  Rng& rng;
  PortAllocator& ports;
  Path path;
  Address client_v4, client_v6;
  uint8_t group = 0;  // servers 198.18.<group>.x / 2001:db8:<group>::x
  uint16_t server_port = 443;
  double v6_share = 0;         // probability that a new connection goes over IPv6
  bool tcp_only = false;       // inside Tor everything is a TCP stream
  double rate_cap_bps = 1e12;  // inside Tor the circuit limits every transfer
  std::string app;             // for session notes

  Address server(int host, bool v6) const;
  bool pick_v6() { return v6_share > 0 && rng.chance(v6_share); }
  // A new session from the client to (server, port); the client port is fresh.
  uint32_t open_session(uint8_t protocol, const Address& server, uint16_t port, const std::string& role,
                        const std::string& note);
  // A path with this capture's RTT drawn around the base one (servers differ).
  Path server_path();
  double cap(double rate_bps) const { return rate_bps < rate_cap_bps ? rate_bps : rate_cap_bps; }
};

// Runs the process of `params` over [t0, t1) (the capture's activity).
void run_process(Context& ctx, const ProcessParams& params, double t0, double t1, bool upload);

// The application's TLS control connection: a handshake, then small keep-alive exchanges every
// keepalive_s and now and then a small message, until t1.
void run_signalling(Context& ctx, double keepalive_s, double t0, double t1);

// DNS lookups and an NTP exchange outside any tunnel (side traffic label maps filter out).
void add_background(Trace& trace, Rng& rng, PortAllocator& ports, const Address& client, double t0, double t1,
                    double dns_interval_s, const std::string& app);

// Encapsulations: everything in `inner` becomes the packets of one tunnel session (VPN) or of the
// TLS connection to a Tor guard, appended to `out`.
struct VpnParams {
  bool tcp = false;  // OpenVPN over TCP 443 instead of UDP 1194
  double keepalive_s = 10;
};
void encapsulate_vpn(const Trace& inner, Trace& out, Rng& rng, PortAllocator& ports, const Address& client,
                     const VpnParams& params, double t_end);

struct TorParams {
  uint16_t guard_port = 9001;
  double circuit_mbps = 1.5;  // circuit throughput cap (cells queue behind it)
  double delay_jitter_s = 0.015;
};
void encapsulate_tor(const Trace& inner, Trace& out, Rng& rng, PortAllocator& ports, const Address& client,
                     const TorParams& params, double t_end);

// Tor link cells: 514 bytes (4-byte circuit id), carried in TLS 1.2 AES-GCM records of up to two
// cells (29 bytes of record overhead), one record per TCP segment.
inline constexpr uint32_t kTorCellBytes = 514;
inline constexpr uint32_t kTorRelayPayload = 498;
inline constexpr uint32_t kTlsRecordOverhead = 29;

// OpenVPN (UDP: opcode, HMAC-SHA1, IV, AES-CBC padded payload with packet id; TCP adds a 2-byte
// length) around an inner IP packet of `inner_ip_bytes`: the outer transport payload.
uint32_t vpn_payload_bytes(uint32_t inner_ip_bytes, bool tcp);

}  // namespace flowpic::synth
