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
  kLinkNull = 0,                // BSD loopback: 4-byte address family in the capturing host's byte order
  kLinkEthernet = 1,            // Ethernet II / 802.3, with 802.1Q / 802.1ad (QinQ) tags, PPPoE sessions
  kLinkPpp = 9,                 // PPP: optional address/control 0xff 0x03, then the PPP protocol (1 or 2 bytes)
  kLinkRawDlt12 = 12,           // raw IP as DLT_RAW on most systems
  kLinkRawDlt14 = 14,           // raw IP as DLT_RAW on OpenBSD
  kLinkPppHdlc = 50,            // PPP in HDLC-like framing (0xff 0x03 ...), or Cisco HDLC (0x0f / 0x8f ...)
  kLinkPppEther = 51,           // a PPPoE header with no Ethernet header before it
  kLinkRaw = 101,               // LINKTYPE_RAW
  kLinkCiscoHdlc = 104,         // Cisco HDLC: address, control, 2-byte ethertype
  kLinkLoop = 108,              // OpenBSD loopback: address family in network byte order
  kLinkLinuxSll = 113,          // Linux cooked capture v1
  kLinkPpi = 192,               // Per-Packet Information header, then a frame of the link type it names
  kLinkPppWithDir = 204,        // a direction byte, then PPP as kLinkPpp
  kLinkCiscoHdlcWithDir = 205,  // a direction byte, then Cisco HDLC
  kLinkIpv4 = 228,              // LINKTYPE_IPV4
  kLinkIpv6 = 229,              // LINKTYPE_IPV6
  kLinkLinuxSll2 = 276,         // Linux cooked capture v2
};

bool link_type_supported(int link_type);
// The supported link types in words, for messages ("Ethernet (VLAN tags, PPPoE), Linux cooked SLL/SLL2, ...").
const char* supported_link_types();

// IP-in-IP tunnels (IPv4 protocol 4 / IPv6 next header 4: IPv4 inside; protocol / next header 41:
// IPv6 inside) nested deeper than this are skipped (tunnel_too_deep) when decapsulating.
inline constexpr int kMaxTunnelDepth = 4;

struct DecodeOptions {
  // false: a packet whose IP payload is an IP-in-IP tunnel is skipped (ip_tunnel), as flowpic
  // always did (before it was counted as other_transport). true: the innermost IP packet, up to
  // kMaxTunnelDepth tunnels deep, is decoded instead: its addresses, ports and lengths.
  bool decapsulate = false;
};

// Why a packet was not kept. kOk means decoded. Names (skip_reason_name) are the keys of the
// store's "skipped" table.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kArp,                   // ARP / RARP
  kNonIp,                 // another link-layer protocol (LLC, LLDP, IPX, MPLS, a PPP protocol other than IP, ...)
  kIcmp,                  // ICMP / ICMPv6
  kOtherTransport,        // an IP protocol other than TCP, UDP, ICMP (GRE, ESP, SCTP, IGMP, ...)
  kIpv4Fragment,          // a non-first IPv4 fragment: no transport header, cannot be given a flow
  kIpv6Fragment,          // a non-first IPv6 fragment
  kTruncated,             // the capture holds fewer bytes than the headers need (snap length)
  kBadHeader,             // a header length or version that cannot be right
  kUnknownLinkType,       // the file's link type is not one of LinkType
  kPppControl,            // PPP link and network control (LCP, IPCP, IPV6CP, PAP, CHAP, ...: protocols 0x8000-0xffff)
  kPppoeDiscovery,        // PPPoE discovery (ethertype 0x8863: PADI, PADO, PADR, PADS, PADT)
  kHdlcControl,           // Cisco HDLC keepalives and neighbour announcements (SLARP 0x8035, CDP 0x2000)
  kUnknownInnerLinkType,  // a PPI header names a link type flowpic does not decode (802.11, ...)
  kIpTunnel,              // an IP-in-IP tunnel packet, not decapsulated (DecodeOptions::decapsulate)
  kTunnelTooDeep,         // decapsulating: more than kMaxTunnelDepth IP-in-IP tunnels nested
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
  uint8_t tunnel_depth = 0;              // IP-in-IP tunnels taken off (0 unless DecodeOptions::decapsulate)
};

// Decodes one frame of `caplen` captured bytes (`wire_len` on the wire). On kOk `out` is filled;
// otherwise `out` is unspecified.
//
// Lengths come from the IP header, not the capture, so a snap length that cut the payload does
// not change them. Two exceptions, both taken from the frame length instead: an IPv4 total length
// of 0 (TCP segmentation offload on the capturing host) and an IPv6 payload length of 0 (jumbogram
// or offload). Decapsulating, all of this is about the innermost IP packet.
DecodeStatus decode_packet(int link_type, const uint8_t* bytes, uint32_t caplen, uint32_t wire_len, DecodedPacket& out,
                           const DecodeOptions& options = {});

}  // namespace flowpic
