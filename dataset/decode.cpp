#include "dataset/decode.hpp"

#include <cstring>

namespace flowpic {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806, kEtherRarp = 0x8035;
constexpr uint16_t kEtherVlan = 0x8100, kEtherQinQ = 0x88A8, kEtherQinQOld = 0x9100;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58;
constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6Ah = 51, kIpv6DestOpts = 60,
                  kIpv6NoNext = 59;
// A chain of IPv6 extension headers longer than this is not real traffic.
constexpr int kMaxIpv6ExtensionHeaders = 16;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint32_t le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

// The bytes after the link-layer header: `len` captured, `wire` on the wire.
struct Span {
  const uint8_t* p;
  uint32_t len;
  uint32_t wire;
};

inline Span advance(const Span& s, uint32_t n) { return {s.p + n, s.len - n, s.wire > n ? s.wire - n : 0}; }

DecodeStatus from_ethertype(uint16_t type) {
  if (type == kEtherArp || type == kEtherRarp) return DecodeStatus::kArp;
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

DecodeStatus decode_ipv4(Span s, DecodedPacket& out) {
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
  return decode_transport(s.p[9], advance(s, header), total - header, out);
}

DecodeStatus decode_ipv6(Span s, DecodedPacket& out) {
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
        return decode_transport(next, rest, payload, out);
    }
    if (len > payload) return DecodeStatus::kBadHeader;
    if (len > rest.len) return DecodeStatus::kTruncated;
    next = rest.p[0];
    payload -= len;
    rest = advance(rest, len);
  }
  return DecodeStatus::kBadHeader;
}

DecodeStatus decode_ip_by_version(Span s, DecodedPacket& out) {
  if (s.len < 1) return DecodeStatus::kTruncated;
  switch (s.p[0] >> 4) {
    case 4: return decode_ipv4(s, out);
    case 6: return decode_ipv6(s, out);
    default: return DecodeStatus::kBadHeader;
  }
}

DecodeStatus decode_ethertype(uint16_t type, Span s, DecodedPacket& out) {
  if (type == kEtherIpv4) return decode_ipv4(s, out);
  if (type == kEtherIpv6) return decode_ipv6(s, out);
  return from_ethertype(type);
}

DecodeStatus decode_ethernet(Span s, DecodedPacket& out) {
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
  return decode_ethertype(type, advance(s, off + 2), out);
}

// BSD address families: AF_INET is 2 everywhere, AF_INET6 differs between systems.
DecodeStatus decode_address_family(uint32_t family, Span s, DecodedPacket& out) {
  if (family == 2) return decode_ipv4(s, out);
  if (family == 10 || family == 24 || family == 28 || family == 30) return decode_ipv6(s, out);
  return DecodeStatus::kNonIp;
}

}  // namespace

bool link_type_supported(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkRaw:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2: return true;
    default: return false;
  }
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
    case DecodeStatus::kCount: break;
  }
  return "unknown";
}

DecodeStatus decode_packet(int link_type, const uint8_t* bytes, uint32_t caplen, uint32_t wire_len,
                           DecodedPacket& out) {
  if (bytes == nullptr) caplen = 0;
  Span s{bytes, caplen, wire_len < caplen ? caplen : wire_len};
  switch (link_type) {
    case kLinkEthernet: return decode_ethernet(s, out);
    case kLinkLinuxSll:
      if (s.len < 16) return DecodeStatus::kTruncated;
      return decode_ethertype(be16(s.p + 14), advance(s, 16), out);
    case kLinkLinuxSll2:
      if (s.len < 20) return DecodeStatus::kTruncated;
      return decode_ethertype(be16(s.p), advance(s, 20), out);
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkRaw: return decode_ip_by_version(s, out);
    case kLinkIpv4: return decode_ipv4(s, out);
    case kLinkIpv6: return decode_ipv6(s, out);
    case kLinkNull: {
      if (s.len < 4) return DecodeStatus::kTruncated;
      // Host byte order of the capturing machine: a family is small, so a big value is swapped.
      uint32_t family = le32(s.p);
      if (family > 0xFFFF) family = be32(s.p);
      return decode_address_family(family, advance(s, 4), out);
    }
    case kLinkLoop:
      if (s.len < 4) return DecodeStatus::kTruncated;
      return decode_address_family(be32(s.p), advance(s, 4), out);
    default: return DecodeStatus::kUnknownLinkType;
  }
}

}  // namespace flowpic
