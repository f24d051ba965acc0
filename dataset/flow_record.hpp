#pragma once
// A flow as ingestion produces it (capture or CSV) before it goes into a packet store: its
// 5-tuple key and per-packet columns (dataset/packet_store.hpp keeps many of them in CSR form).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

inline constexpr uint32_t kUnknownPayload = 0xFFFFFFFFu;  // payload length not known (CSV import)

enum class FlowView : uint8_t { kSession = 0, kUnidirectional = 1 };

// TCP flag bits as in the TCP header.
enum TcpFlag : uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20 };

struct FlowKey {
  uint8_t ip_version = 4;            // 4 or 6
  uint8_t protocol = 6;              // 6 = TCP, 17 = UDP
  uint16_t port_a = 0;               // initiator
  uint16_t port_b = 0;               // responder
  std::array<uint8_t, 16> addr_a{};  // IPv4: first 4 bytes, rest zero
  std::array<uint8_t, 16> addr_b{};
  std::string addr_string(bool side_a) const;
  std::string to_string() const;  // "10.0.0.1:5555 -> 10.0.0.2:443 TCP", "[2001:db8::1]:5555 -> ..."
  bool operator==(const FlowKey& o) const {
    return ip_version == o.ip_version && protocol == o.protocol && port_a == o.port_a && port_b == o.port_b &&
           addr_a == o.addr_a && addr_b == o.addr_b;
  }
};

// A completed flow on its way into the store.
struct FlowRecord {
  FlowKey key;
  double start_time = 0;
  uint32_t source = 0;
  FlowView view = FlowView::kSession;
  std::vector<double> time;  // relative to start_time
  std::vector<uint32_t> ip_length;
  std::vector<uint32_t> payload_length;
  std::vector<uint8_t> direction;
  std::vector<uint8_t> tcp_flags;
  size_t size() const { return time.size(); }
};

// Sorts a flow's packets by time, stably (equal times keep their order), when any is out of order,
// and returns how many were: packets older than one before them (the store's packets_reordered).
uint64_t sort_by_time(FlowRecord& flow);

}  // namespace flowpic
