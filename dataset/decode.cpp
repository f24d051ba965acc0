#include "dataset/decode.hpp"

#include <cstring>

namespace flowpic {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806, kEtherRarp = 0x8035;
constexpr uint16_t kEtherVlan = 0x8100, kEtherQinQ = 0x88A8, kEtherQinQOld = 0x9100;
constexpr uint16_t kEtherPppoeDiscovery = 0x8863, kEtherPppoeSession = 0x8864;
// Cisco HDLC's own protocols, in the ethertype field: SLARP (0x8035, RARP's number on Ethernet) and CDP.
constexpr uint16_t kHdlcSlarp = 0x8035, kHdlcCdp = 0x2000;
constexpr uint8_t kHdlcUnicast = 0x0F, kHdlcBroadcast = 0x8F;
constexpr uint16_t kPppIpv4 = 0x0021, kPppIpv6 = 0x0057;
constexpr uint8_t kPppAddress = 0xFF, kPppControl = 0x03;
constexpr uint8_t kProtoIcmp = 1, kProtoIpInIp = 4, kProtoTcp = 6, kProtoUdp = 17, kProtoIpv6InIp = 41,
                  kProtoIcmpv6 = 58;
constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6Ah = 51, kIpv6DestOpts = 60,
                  kIpv6NoNext = 59;
// A chain of IPv6 extension headers longer than this is not real traffic.
constexpr int kMaxIpv6ExtensionHeaders = 16;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[1] << 8 | p[0]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint32_t le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

// The bytes after the link-layer header: `len` captured, `wire` on the wire (always >= len).
struct Span {
  const uint8_t* p;
  uint32_t len;
  uint32_t wire;
};

inline Span advance(const Span& s, uint32_t n) { return {s.p + n, s.len - n, s.wire > n ? s.wire - n : 0}; }

// The first `n` bytes of `s` as a header says they are (PPPoE length, outer IP length); n <= s.wire.
inline Span limit(const Span& s, uint32_t n) { return {s.p, s.len < n ? s.len : n, n}; }

// A decode of limit(s, n) that ran out of bytes although `s` has more captured: the length field
// that set `n` cut a header short, so it is wrong (bad_header), not a snap length (truncated_header).
inline DecodeStatus blame_length(DecodeStatus st, const Span& s, uint32_t n) {
  return st == DecodeStatus::kTruncated && s.len > n ? DecodeStatus::kBadHeader : st;
}

DecodeStatus decode_link(int link_type, Span s, const DecodeOptions& opt, DecodedPacket& out);
DecodeStatus decode_ipv4(Span s, const DecodeOptions& opt, DecodedPacket& out);
DecodeStatus decode_ipv6(Span s, const DecodeOptions& opt, DecodedPacket& out);

DecodeStatus from_ethertype(uint16_t type) {
  if (type == kEtherArp || type == kEtherRarp) return DecodeStatus::kArp;
  if (type == kEtherPppoeDiscovery) return DecodeStatus::kPppoeDiscovery;
  return DecodeStatus::kNonIp;
}

DecodeStatus decode_transport(uint8_t proto, Span s, uint32_t transport_bytes, DecodedPacket& out) {
  out.protocol = proto;
  if (proto == kProtoTcp) {
    // Ports, sequence, acknowledgement, data offset and flags: the first 14 bytes.
    if (s.len < 14) return DecodeStatus::kTruncated;
    uint32_t header = (s.p[12] >> 4) * 4u;
    if (header < 20 || header > transport_bytes) return DecodeStatus::kBadHeader;
    out.src_port = be16(s.p);
    out.dst_port = be16(s.p + 2);
    out.tcp_flags = s.p[13] & 0x3F;
    out.payload_length = transport_bytes - header;
    return DecodeStatus::kOk;
  }
  if (proto == kProtoUdp) {
    if (s.len < 8) return DecodeStatus::kTruncated;
    if (transport_bytes < 8) return DecodeStatus::kBadHeader;
    out.src_port = be16(s.p);
    out.dst_port = be16(s.p + 2);
    out.tcp_flags = 0;
    out.payload_length = transport_bytes - 8;
    return DecodeStatus::kOk;
  }
  if (proto == kProtoIcmp || proto == kProtoIcmpv6) return DecodeStatus::kIcmp;
  return DecodeStatus::kOtherTransport;
}

// What an IP header's protocol / next header field names, `bytes` long as that header says.
// IP-in-IP is skipped, or decapsulated: the inner IP packet then decides everything.
DecodeStatus decode_ip_payload(uint8_t proto, Span s, uint32_t bytes, const DecodeOptions& opt, DecodedPacket& out) {
  if (proto != kProtoIpInIp && proto != kProtoIpv6InIp) return decode_transport(proto, s, bytes, out);
  if (!opt.decapsulate) return DecodeStatus::kIpTunnel;
  if (out.tunnel_depth >= kMaxTunnelDepth) return DecodeStatus::kTunnelTooDeep;
  ++out.tunnel_depth;
  Span inner = limit(s, bytes < s.wire ? bytes : s.wire);
  DecodeStatus st = proto == kProtoIpInIp ? decode_ipv4(inner, opt, out) : decode_ipv6(inner, opt, out);
  return blame_length(st, s, inner.len);
}

DecodeStatus decode_ipv4(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 20) return DecodeStatus::kTruncated;
  if ((s.p[0] >> 4) != 4) return DecodeStatus::kBadHeader;
  uint32_t header = (s.p[0] & 0x0F) * 4u;
  if (header < 20) return DecodeStatus::kBadHeader;
  if (s.len < header) return DecodeStatus::kTruncated;
  uint32_t total = be16(s.p + 2);
  if (total == 0) total = s.wire;  // segmentation offload: the length field is left at 0
  if (total < header) return DecodeStatus::kBadHeader;
  if ((be16(s.p + 6) & 0x1FFF) != 0) return DecodeStatus::kIpv4Fragment;
  out.ip_version = 4;
  out.ip_length = total;
  out.src = {};
  out.dst = {};
  std::memcpy(out.src.data(), s.p + 12, 4);
  std::memcpy(out.dst.data(), s.p + 16, 4);
  if (s.p[9] == kProtoIcmpv6) return DecodeStatus::kOtherTransport;
  return decode_ip_payload(s.p[9], advance(s, header), total - header, opt, out);
}

DecodeStatus decode_ipv6(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 40) return DecodeStatus::kTruncated;
  if ((s.p[0] >> 4) != 6) return DecodeStatus::kBadHeader;
  uint32_t payload = be16(s.p + 4);
  if (payload == 0 && s.wire > 40) payload = s.wire - 40;  // jumbogram or offload
  out.ip_version = 6;
  out.ip_length = 40 + payload;
  std::memcpy(out.src.data(), s.p + 8, 16);
  std::memcpy(out.dst.data(), s.p + 24, 16);
  uint8_t next = s.p[6];
  Span rest = advance(s, 40);
  for (int i = 0; i < kMaxIpv6ExtensionHeaders; ++i) {
    uint32_t len;
    switch (next) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOpts:
        if (rest.len < 8) return DecodeStatus::kTruncated;
        len = (rest.p[1] + 1u) * 8u;
        break;
      case kIpv6Fragment:
        if (rest.len < 8) return DecodeStatus::kTruncated;
        if ((be16(rest.p + 2) >> 3) != 0) return DecodeStatus::kIpv6Fragment;
        len = 8;
        break;
      case kIpv6Ah:
        if (rest.len < 8) return DecodeStatus::kTruncated;
        len = (rest.p[1] + 2u) * 4u;
        break;
      case kIpv6NoNext: return DecodeStatus::kOtherTransport;
      default:
        if (next == kProtoIcmp) return DecodeStatus::kOtherTransport;  // ICMPv4 inside IPv6 is not ICMP
        return decode_ip_payload(next, rest, payload, opt, out);
    }
    if (len > payload) return DecodeStatus::kBadHeader;
    if (len > rest.len) return DecodeStatus::kTruncated;
    next = rest.p[0];
    payload -= len;
    rest = advance(rest, len);
  }
  return DecodeStatus::kBadHeader;
}

DecodeStatus decode_ip_by_version(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 1) return DecodeStatus::kTruncated;
  switch (s.p[0] >> 4) {
    case 4: return decode_ipv4(s, opt, out);
    case 6: return decode_ipv6(s, opt, out);
    default: return DecodeStatus::kBadHeader;
  }
}

// The PPP protocol field (RFC 1661) and what follows it. Two bytes, or one when protocol field
// compression dropped a leading zero byte: protocol numbers are odd in their low byte and even in
// their high byte, so an odd first byte is a whole (compressed) protocol.
DecodeStatus decode_ppp_protocol(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 1) return DecodeStatus::kTruncated;
  uint16_t proto = s.p[0];
  uint32_t n = 1;
  if ((proto & 1) == 0) {
    if (s.len < 2) return DecodeStatus::kTruncated;
    proto = be16(s.p);
    n = 2;
    if ((proto & 1) == 0) return DecodeStatus::kBadHeader;  // no protocol number is even
  }
  if (proto == kPppIpv4) return decode_ipv4(advance(s, n), opt, out);
  if (proto == kPppIpv6) return decode_ipv6(advance(s, n), opt, out);
  // 0x8000-0xbfff: network control protocols (IPCP 0x8021, IPV6CP 0x8057, CCP, ...);
  // 0xc000-0xffff: link-layer control (LCP 0xc021, PAP 0xc023, LQR, CHAP 0xc223, ...).
  if (proto >= 0x8000) return DecodeStatus::kPppControl;
  return DecodeStatus::kNonIp;  // another network protocol (IPX, MPLS, VJ-compressed TCP, multilink, ...)
}

// PPP frames of LINKTYPE_PPP: RFC 1662's address and control bytes (0xff 0x03) when present, then
// the protocol. 0xff is never a compressed protocol (0x00ff is reserved for that reason).
DecodeStatus decode_ppp(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len >= 1 && s.p[0] == kPppAddress) {
    if (s.len < 2) return DecodeStatus::kTruncated;
    if (s.p[1] != kPppControl) return DecodeStatus::kBadHeader;
    s = advance(s, 2);
  }
  return decode_ppp_protocol(s, opt, out);
}

// A PPPoE session header (RFC 2516): version and type (1, 1), code 0, session id, the length of the
// PPP frame that follows (protocol field included). Bytes after that length are link padding.
DecodeStatus decode_pppoe_session(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 6) return DecodeStatus::kTruncated;
  if (s.p[0] != 0x11 || s.p[1] != 0x00) return DecodeStatus::kBadHeader;
  uint32_t length = be16(s.p + 4);
  Span ppp = advance(s, 6);
  if (length > ppp.wire) return DecodeStatus::kBadHeader;  // longer than the frame
  return blame_length(decode_ppp_protocol(limit(ppp, length), opt, out), ppp, length);
}

DecodeStatus decode_ethertype(uint16_t type, Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (type == kEtherIpv4) return decode_ipv4(s, opt, out);
  if (type == kEtherIpv6) return decode_ipv6(s, opt, out);
  if (type == kEtherPppoeSession) return decode_pppoe_session(s, opt, out);
  return from_ethertype(type);
}

DecodeStatus decode_ethernet(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 14) return DecodeStatus::kTruncated;
  uint32_t off = 12;
  uint16_t type = be16(s.p + off);
  // 802.1Q and 802.1ad tags, any number (QinQ has two): each is TPID + TCI, 4 bytes.
  while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
    if (s.len < off + 6) return DecodeStatus::kTruncated;
    off += 4;
    type = be16(s.p + off);
  }
  if (type <= 1500) return DecodeStatus::kNonIp;  // 802.3 length field: LLC/SNAP, not IP
  return decode_ethertype(type, advance(s, off + 2), opt, out);
}

// Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control 0, then an ethertype.
DecodeStatus decode_cisco_hdlc(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 4) return DecodeStatus::kTruncated;
  if ((s.p[0] != kHdlcUnicast && s.p[0] != kHdlcBroadcast) || s.p[1] != 0) return DecodeStatus::kBadHeader;
  uint16_t type = be16(s.p + 2);
  if (type == kHdlcSlarp || type == kHdlcCdp) return DecodeStatus::kHdlcControl;
  return decode_ethertype(type, advance(s, 4), opt, out);
}

// PPI (Per-Packet Information): version 0, flags, header length and the inner frame's link type,
// both little-endian; the fields (radio information, ...) up to the header length are skipped.
DecodeStatus decode_ppi(Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (s.len < 8) return DecodeStatus::kTruncated;
  if (s.p[0] != 0) return DecodeStatus::kBadHeader;
  uint32_t header = le16(s.p + 2);
  if (header < 8 || header > s.wire) return DecodeStatus::kBadHeader;
  if (header > s.len) return DecodeStatus::kTruncated;
  uint32_t inner = le32(s.p + 4);
  if (inner > 0xFFFF || inner == kLinkPpi || !link_type_supported(static_cast<int>(inner)))
    return DecodeStatus::kUnknownInnerLinkType;
  return decode_link(static_cast<int>(inner), advance(s, header), opt, out);
}

// BSD address families: AF_INET is 2 everywhere, AF_INET6 differs between systems.
DecodeStatus decode_address_family(uint32_t family, Span s, const DecodeOptions& opt, DecodedPacket& out) {
  if (family == 2) return decode_ipv4(s, opt, out);
  if (family == 10 || family == 24 || family == 28 || family == 30) return decode_ipv6(s, opt, out);
  return DecodeStatus::kNonIp;
}

DecodeStatus decode_link(int link_type, Span s, const DecodeOptions& opt, DecodedPacket& out) {
  switch (link_type) {
    case kLinkEthernet: return decode_ethernet(s, opt, out);
    case kLinkLinuxSll:
      if (s.len < 16) return DecodeStatus::kTruncated;
      return decode_ethertype(be16(s.p + 14), advance(s, 16), opt, out);
    case kLinkLinuxSll2:
      if (s.len < 20) return DecodeStatus::kTruncated;
      return decode_ethertype(be16(s.p), advance(s, 20), opt, out);
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkRaw: return decode_ip_by_version(s, opt, out);
    case kLinkIpv4: return decode_ipv4(s, opt, out);
    case kLinkIpv6: return decode_ipv6(s, opt, out);
    case kLinkNull: {
      if (s.len < 4) return DecodeStatus::kTruncated;
      // Host byte order of the capturing machine: a family is small, so a big value is swapped.
      uint32_t family = le32(s.p);
      if (family > 0xFFFF) family = be32(s.p);
      return decode_address_family(family, advance(s, 4), opt, out);
    }
    case kLinkLoop:
      if (s.len < 4) return DecodeStatus::kTruncated;
      return decode_address_family(be32(s.p), advance(s, 4), opt, out);
    case kLinkPpp: return decode_ppp(s, opt, out);
    case kLinkPppWithDir:
      if (s.len < 1) return DecodeStatus::kTruncated;
      return decode_ppp(advance(s, 1), opt, out);
    case kLinkPppHdlc:
      // RFC 1662 framing always starts with 0xff; Cisco's with its address byte (RFC 1547, 4.3.1).
      if (s.len < 1) return DecodeStatus::kTruncated;
      if (s.p[0] == kPppAddress) return decode_ppp(s, opt, out);
      if (s.p[0] == kHdlcUnicast || s.p[0] == kHdlcBroadcast) return decode_cisco_hdlc(s, opt, out);
      return DecodeStatus::kBadHeader;
    case kLinkPppEther: return decode_pppoe_session(s, opt, out);
    case kLinkCiscoHdlc: return decode_cisco_hdlc(s, opt, out);
    case kLinkCiscoHdlcWithDir:
      if (s.len < 1) return DecodeStatus::kTruncated;
      return decode_cisco_hdlc(advance(s, 1), opt, out);
    case kLinkPpi: return decode_ppi(s, opt, out);
    default: return DecodeStatus::kUnknownLinkType;
  }
}

}  // namespace

bool link_type_supported(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkPpp:
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkPppHdlc:
    case kLinkPppEther:
    case kLinkRaw:
    case kLinkCiscoHdlc:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkPpi:
    case kLinkPppWithDir:
    case kLinkCiscoHdlcWithDir:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2: return true;
    default: return false;
  }
}

const char* supported_link_types() {
  return "Ethernet (VLAN tags, PPPoE), Linux cooked SLL/SLL2, raw IP, BSD loopback, PPP (also in HDLC framing, "
         "with direction, PPPoE), Cisco HDLC, PPI (around any of these)";
}

const char* skip_reason_name(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kArp: return "arp";
    case DecodeStatus::kNonIp: return "non_ip";
    case DecodeStatus::kIcmp: return "icmp";
    case DecodeStatus::kOtherTransport: return "other_transport";
    case DecodeStatus::kIpv4Fragment: return "ipv4_fragment";
    case DecodeStatus::kIpv6Fragment: return "ipv6_fragment";
    case DecodeStatus::kTruncated: return "truncated_header";
    case DecodeStatus::kBadHeader: return "bad_header";
    case DecodeStatus::kUnknownLinkType: return "unknown_link_type";
    case DecodeStatus::kPppControl: return "ppp_control";
    case DecodeStatus::kPppoeDiscovery: return "pppoe_discovery";
    case DecodeStatus::kHdlcControl: return "hdlc_control";
    case DecodeStatus::kUnknownInnerLinkType: return "unknown_inner_link_type";
    case DecodeStatus::kIpTunnel: return "ip_tunnel";
    case DecodeStatus::kTunnelTooDeep: return "tunnel_too_deep";
    case DecodeStatus::kCount: break;
  }
  return "unknown";
}

DecodeStatus decode_packet(int link_type, const uint8_t* bytes, uint32_t caplen, uint32_t wire_len, DecodedPacket& out,
                           const DecodeOptions& options) {
  if (bytes == nullptr) caplen = 0;
  out.tunnel_depth = 0;
  return decode_link(link_type, Span{bytes, caplen, wire_len < caplen ? caplen : wire_len}, options, out);
}

}  // namespace flowpic
