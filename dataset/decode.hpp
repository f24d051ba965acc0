#pragma once
// Packet decoding: one captured frame -> the few fields flow assembly needs, or why it was skipped.
//
// decode_packet is a pure function of its arguments (no state, no allocation, no I/O), so it can be
// fuzzed on its own and called from any thread. It never reads past `caplen` bytes.
#include <array>
#include <cstdint>

namespace flowpic {

// Link-layer header types as stored in capture files (LINKTYPE_* values), plus the DLT_* aliases
// libpcap may report for them.
enum LinkType : int {
  kLinkNull = 0,         // BSD loopback: 4-byte address family in the capturing host's byte order
  kLinkEthernet = 1,     // Ethernet II / 802.3, with 802.1Q / 802.1ad (QinQ) tags
  kLinkRawDlt12 = 12,    // raw IP as DLT_RAW on most systems
  kLinkRawDlt14 = 14,    // raw IP as DLT_RAW on OpenBSD
  kLinkRaw = 101,        // LINKTYPE_RAW
  kLinkLoop = 108,       // OpenBSD loopback: address family in network byte order
  kLinkLinuxSll = 113,   // Linux cooked capture v1
  kLinkIpv4 = 228,       // LINKTYPE_IPV4
  kLinkIpv6 = 229,       // LINKTYPE_IPV6
  kLinkLinuxSll2 = 276,  // Linux cooked capture v2
};

bool link_type_supported(int link_type);

// Why a packet was not kept. kOk means decoded. Names (skip_reason_name) are the keys of the
// store's "skipped" table.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kArp,              // ARP / RARP
  kNonIp,            // another link-layer protocol (LLC, LLDP, IPX, MPLS, PPPoE, ...)
  kIcmp,             // ICMP / ICMPv6
  kOtherTransport,   // an IP protocol other than TCP, UDP, ICMP (GRE, ESP, SCTP, IGMP, ...)
  kIpv4Fragment,     // a non-first IPv4 fragment: no transport header, cannot be given a flow
  kIpv6Fragment,     // a non-first IPv6 fragment
  kTruncated,        // the capture holds fewer bytes than the headers need (snap length)
  kBadHeader,        // a header length or version that cannot be right
  kUnknownLinkType,  // the file's link type is not one of LinkType
  kCount
};
const char* skip_reason_name(DecodeStatus status);

struct DecodedPacket {
  uint8_t ip_version = 0;  // 4 or 6
  uint8_t protocol = 0;    // 6 = TCP, 17 = UDP
  uint8_t tcp_flags = 0;   // TcpFlag bits, 0 for UDP
  uint16_t src_port = 0, dst_port = 0;
  std::array<uint8_t, 16> src{}, dst{};  // IPv4: first 4 bytes, rest zero
  uint32_t ip_length = 0;                // IPv4 total length, IPv6 40 + payload length
  uint32_t payload_length = 0;           // transport payload bytes
};

// Decodes one frame of `caplen` captured bytes (`wire_len` on the wire). On kOk `out` is filled;
// otherwise `out` is unspecified.
//
// Lengths come from the IP header, not the capture, so a snap length that cut the payload does
// not change them. Two exceptions, both taken from the frame length instead: an IPv4 total length
// of 0 (TCP segmentation offload on the capturing host) and an IPv6 payload length of 0 (jumbogram
// or offload).
DecodeStatus decode_packet(int link_type, const uint8_t* bytes, uint32_t caplen, uint32_t wire_len, DecodedPacket& out);

}  // namespace flowpic
