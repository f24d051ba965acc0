#pragma once
// Building test captures: packet bytes layer by layer (IPv4/IPv6 with TCP/UDP/ICMP, IPv6 extension
// headers, Ethernet with VLAN tags, Linux SLL/SLL2, BSD loopback, PPPoE, PPP, Cisco HDLC, PPI;
// IP-in-IP is ipv4()/ipv6() with protocol 4 or 41 around another IP packet), written as pcap through
// libpcap's dump API (microsecond or nanosecond) or as pcapng written by hand (libpcap cannot
// write pcapng). Header-only so any suite can use it.
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowpic::testing {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void put32le(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put16le(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// "10.0.0.1" -> 4 bytes; "2001:db8::1" -> 16 bytes.
inline Bytes addr(const std::string& text) {
  Bytes b(16, 0);
  if (text.find(':') == std::string::npos) {
    unsigned a, c, d, e;
    if (std::sscanf(text.c_str(), "%u.%u.%u.%u", &a, &c, &d, &e) != 4) throw std::invalid_argument(text);
    return {static_cast<uint8_t>(a), static_cast<uint8_t>(c), static_cast<uint8_t>(d), static_cast<uint8_t>(e)};
  }
  // Only the forms the tests use: "X:Y::Z" style with one "::".
  std::vector<uint16_t> head, tail;
  bool after = false;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "::") == 0) {
      after = true;
      i += 2;
      continue;
    }
    size_t j = text.find(':', i);
    std::string part = text.substr(i, j == std::string::npos ? std::string::npos : j - i);
    (after ? tail : head).push_back(static_cast<uint16_t>(std::stoul(part, nullptr, 16)));
    if (j == std::string::npos) break;
    i = (text.compare(j, 2, "::") == 0) ? j : j + 1;
  }
  std::vector<uint16_t> words(8, 0);
  for (size_t k = 0; k < head.size(); ++k) words[k] = head[k];
  for (size_t k = 0; k < tail.size(); ++k) words[8 - tail.size() + k] = tail[k];
  for (size_t k = 0; k < 8; ++k) {
    b[2 * k] = static_cast<uint8_t>(words[k] >> 8);
    b[2 * k + 1] = static_cast<uint8_t>(words[k]);
  }
  return b;
}

// Transport headers followed by `payload` zero bytes.
inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, size_t payload, size_t option_bytes = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 2000);  // ack
  b.push_back(static_cast<uint8_t>(((20 + option_bytes) / 4) << 4));
  b.push_back(flags);
  put16(b, 65535);  // window
  put16(b, 0);      // checksum
  put16(b, 0);      // urgent
  b.resize(b.size() + option_bytes + payload, 0);
  return b;
}
inline Bytes udp(uint16_t sport, uint16_t dport, size_t payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload));
  put16(b, 0);
  b.resize(b.size() + payload, 0);
  return b;
}
inline Bytes icmp_echo(size_t payload) {
  Bytes b{8, 0, 0, 0, 0, 1, 0, 1};
  b.resize(b.size() + payload, 0);
  return b;
}

// IPv4 header (with `option_bytes` of NOP options) + transport bytes.
inline Bytes ipv4(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& transport,
                  size_t option_bytes = 0, uint16_t frag_field = 0, int total_length_override = -1) {
  Bytes b;
  size_t header = 20 + option_bytes;
  b.push_back(static_cast<uint8_t>(0x40 | (header / 4)));
  b.push_back(0);
  put16(b, static_cast<uint16_t>(total_length_override >= 0 ? total_length_override : header + transport.size()));
  put16(b, 0x1234);
  put16(b, frag_field);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  Bytes s = addr(src), d = addr(dst);
  b.insert(b.end(), s.begin(), s.begin() + 4);
  b.insert(b.end(), d.begin(), d.begin() + 4);
  b.resize(header, 1);  // NOP options
  return cat(b, transport);
}

// An IPv6 extension header to put between the fixed header and the transport.
struct Ipv6Ext {
  uint8_t type;              // 0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options
  size_t length = 8;         // bytes (multiple of 8; AH: multiple of 4)
  uint16_t frag_offset = 0;  // fragment header: offset in 8-byte units
};

inline Bytes ipv6(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& transport,
                  const std::vector<Ipv6Ext>& ext = {}) {
  Bytes chain;
  for (size_t i = 0; i < ext.size(); ++i) {
    uint8_t next = i + 1 < ext.size() ? ext[i + 1].type : proto;
    Bytes h{next, 0};
    if (ext[i].type == 44) {
      put16(h, static_cast<uint16_t>(ext[i].frag_offset << 3));
      put32(h, 0xABCD);
    } else if (ext[i].type == 51) {
      h[1] = static_cast<uint8_t>(ext[i].length / 4 - 2);
      h.resize(ext[i].length, 0);
    } else {
      h[1] = static_cast<uint8_t>(ext[i].length / 8 - 1);
      h.resize(ext[i].length, 0);
    }
    chain = cat(chain, h);
  }
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(chain.size() + transport.size()));
  b.push_back(ext.empty() ? proto : ext[0].type);
  b.push_back(64);
  Bytes s = addr(src), d = addr(dst);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  return cat(cat(b, chain), transport);
}

// Link layers.
inline Bytes ethernet(uint16_t ethertype, const Bytes& payload, const std::vector<uint16_t>& vlan_tpids = {}) {
  Bytes b{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  for (uint16_t tpid : vlan_tpids) {
    put16(b, tpid);
    put16(b, 100);  // TCI: VLAN 100
  }
  put16(b, ethertype);
  return cat(b, payload);
}
inline Bytes ether_ip(const Bytes& ip, const std::vector<uint16_t>& vlan_tpids = {}) {
  return ethernet((ip[0] >> 4) == 6 ? 0x86DD : 0x0800, ip, vlan_tpids);
}
inline Bytes sll(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, 0);  // packet type: to us
  put16(b, 1);  // ARPHRD_ETHER
  put16(b, 6);
  b.insert(b.end(), {0, 1, 2, 3, 4, 5, 0, 0});
  put16(b, protocol);
  return cat(b, payload);
}
inline Bytes sll2(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);  // reserved
  put32(b, 2);  // interface index
  put16(b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  b.insert(b.end(), {0, 1, 2, 3, 4, 5, 0, 0});
  return cat(b, payload);
}
// BSD loopback: the address family in the capturing host's order (DLT_NULL, little-endian here)
// or in network order (DLT_LOOP, big_endian = true).
inline Bytes loopback(uint32_t family, const Bytes& payload, bool big_endian) {
  Bytes b;
  if (big_endian)
    put32(b, family);
  else
    put32le(b, family);
  return cat(b, payload);
}
inline Bytes arp() {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, 1);
  b.resize(28, 0);
  return ethernet(0x0806, b);
}

// PPPoE session header (RFC 2516) + PPP protocol + payload, for ethernet(0x8864, ...) or
// LINKTYPE_PPP_ETHER: version/type 0x11, code 0 (session data), session id, the PPP frame's length
// (protocol field included; `length_override` >= 0 writes a wrong one).
inline Bytes pppoe_session(uint16_t ppp_protocol, const Bytes& payload, int length_override = -1) {
  Bytes b{0x11, 0x00};
  put16(b, 0x2a5c);  // session id
  put16(b, static_cast<uint16_t>(length_override >= 0 ? length_override : 2 + payload.size()));
  put16(b, ppp_protocol);
  return cat(b, payload);
}
// A PPPoE discovery frame (ethertype 0x8863): PADI (code 0x09), session 0, one Service-Name tag.
inline Bytes pppoe_padi() {
  Bytes b{0x11, 0x09, 0x00, 0x00};
  put16(b, 4);
  put16(b, 0x0101);  // Service-Name
  put16(b, 0);
  return ethernet(0x8863, b);
}
// PPP (RFC 1661/1662): address 0xff and control 0x03 when `address_control`, then the protocol,
// one byte when `compressed` (protocol field compression: protocols below 0x100 only).
inline Bytes ppp(uint16_t protocol, const Bytes& payload, bool address_control = true, bool compressed = false) {
  Bytes b;
  if (address_control) b.insert(b.end(), {0xff, 0x03});
  if (compressed)
    b.push_back(static_cast<uint8_t>(protocol));
  else
    put16(b, protocol);
  return cat(b, payload);
}
// A PPP LCP Configure-Request (protocol 0xc021) with one magic-number option.
inline Bytes lcp_configure_request() {
  Bytes b{0x01, 0x01};
  put16(b, 10);
  b.insert(b.end(), {0x05, 0x06});
  put32(b, 0x12345678);
  return b;
}
// Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control 0, the ethertype.
inline Bytes cisco_hdlc(uint16_t protocol, const Bytes& payload, uint8_t address = 0x0f) {
  Bytes b{address, 0x00};
  put16(b, protocol);
  return cat(b, payload);
}
// A SLARP keepalive (Cisco HDLC protocol 0x8035): code 2, sequence numbers, reliability.
inline Bytes slarp_keepalive() {
  Bytes b;
  put32(b, 2);
  put32(b, 7);
  put32(b, 6);
  put16(b, 0xffff);
  return cisco_hdlc(0x8035, b, 0x8f);
}
// PPI header (version 0, flags 0, little-endian length and inner DLT) with `field_bytes` of one
// field (type 2, 802.11-common, padded with zeros), then the inner frame. `length_override` >= 0
// writes a wrong header length.
inline Bytes ppi(uint32_t dlt, const Bytes& frame, size_t field_bytes = 0, int length_override = -1) {
  Bytes b{0x00, 0x00};
  size_t len = 8 + (field_bytes ? 4 + field_bytes : 0);
  put16le(b, static_cast<uint16_t>(length_override >= 0 ? length_override : len));
  put32le(b, dlt);
  if (field_bytes) {
    put16le(b, 2);
    put16le(b, static_cast<uint16_t>(field_bytes));
    b.resize(b.size() + field_bytes, 0);
  }
  return cat(b, frame);
}

struct TestPacket {
  int64_t time_ns = 0;
  Bytes bytes;
  uint32_t wire_len = 0;  // 0 = bytes.size()
};

// A pcap file through libpcap's dump API; nanosecond or microsecond timestamps.
inline void write_pcap(const std::string& path, int link_type, const std::vector<TestPacket>& packets,
                       bool nanosecond = false, int snaplen = 262144) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(
      link_type, snaplen, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  if (!dead) throw std::runtime_error("pcap_open_dead failed");
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) {
    std::string e = pcap_geterr(dead);
    pcap_close(dead);
    throw std::runtime_error("pcap_dump_open " + path + ": " + e);
  }
  for (const auto& p : packets) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(p.time_ns / 1000000000);
    int64_t frac = p.time_ns % 1000000000;
    h.ts.tv_usec = static_cast<suseconds_t>(nanosecond ? frac : frac / 1000);
    h.caplen = static_cast<uint32_t>(p.bytes.size());
    h.len = p.wire_len ? p.wire_len : h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, p.bytes.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

// pcapng bytes written by hand: section header, one interface (if_tsresol 9 = nanoseconds when
// `nanosecond`, else the default microseconds), one enhanced packet block per packet.
inline Bytes pcapng_bytes(int link_type, const std::vector<TestPacket>& packets, bool nanosecond = true) {
  Bytes out;
  auto block = [&](uint32_t type, const Bytes& body) {
    uint32_t total = static_cast<uint32_t>(12 + body.size());
    put32le(out, type);
    put32le(out, total);
    out.insert(out.end(), body.begin(), body.end());
    put32le(out, total);
  };
  Bytes shb;
  put32le(shb, 0x1A2B3C4D);  // byte-order magic
  put16le(shb, 1);
  put16le(shb, 0);
  put32le(shb, 0xFFFFFFFF);  // section length unknown
  put32le(shb, 0xFFFFFFFF);
  block(0x0A0D0D0A, shb);
  Bytes idb;
  put16le(idb, static_cast<uint16_t>(link_type));
  put16le(idb, 0);
  put32le(idb, 262144);
  if (nanosecond) {
    put16le(idb, 9);  // if_tsresol
    put16le(idb, 1);
    idb.insert(idb.end(), {9, 0, 0, 0});
    put16le(idb, 0);  // opt_endofopt
    put16le(idb, 0);
  }
  block(0x00000001, idb);
  for (const auto& p : packets) {
    uint64_t ts = nanosecond ? static_cast<uint64_t>(p.time_ns) : static_cast<uint64_t>(p.time_ns / 1000);
    Bytes epb;
    put32le(epb, 0);  // interface 0
    put32le(epb, static_cast<uint32_t>(ts >> 32));
    put32le(epb, static_cast<uint32_t>(ts));
    put32le(epb, static_cast<uint32_t>(p.bytes.size()));
    put32le(epb, p.wire_len ? p.wire_len : static_cast<uint32_t>(p.bytes.size()));
    epb.insert(epb.end(), p.bytes.begin(), p.bytes.end());
    while (epb.size() % 4) epb.push_back(0);
    block(0x00000006, epb);
  }
  return out;
}

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}
inline Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace flowpic::testing
