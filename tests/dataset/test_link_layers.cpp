// Link layers beyond Ethernet/SLL/raw/loopback: PPPoE (also under VLAN tags), PPP (9, 50, 204),
// PPPoE without Ethernet (51), Cisco HDLC (104, 205), PPI (192), and IP-in-IP tunnels with and
// without decapsulation. Frames are built byte by byte in tests/support/pcap_writer.hpp,
// independently of the decoder; every new header is also cut at every byte offset.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>

#include "common/atomic_file.hpp"
#include "dataset/decode.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "support/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kBase = 1700000000LL * 1000000000LL;
const DecodeOptions kDecap{true};

// Decodes from an exactly sized heap copy, so ASan catches any read past `caplen`.
DecodeStatus decode(int link, const Bytes& b, DecodedPacket& out, const DecodeOptions& opt = {}, size_t caplen = ~0u,
                    uint32_t wire = 0) {
  size_t n = std::min(caplen, b.size());
  std::unique_ptr<uint8_t[]> exact(new uint8_t[std::max<size_t>(n, 1)]);
  std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n), exact.get());
  return decode_packet(link, exact.get(), static_cast<uint32_t>(n), wire ? wire : static_cast<uint32_t>(b.size()), out,
                       opt);
}

Bytes v4_tcp(size_t payload = 100) { return ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5555, 443, kAck | kPsh, payload)); }
Bytes v6_udp(size_t payload = 30) { return ipv6("2001:db8::1", "2001:db8::2", 17, udp(53, 5353, payload)); }

void expect_v4_tcp(const DecodedPacket& p, size_t payload = 100) {
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.protocol, 6);
  EXPECT_EQ(p.src_port, 5555);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.src[0], 10);
  EXPECT_EQ(p.src[3], 1);
  EXPECT_EQ(p.dst[3], 2);
  EXPECT_EQ(p.ip_length, 20 + 20 + payload);
  EXPECT_EQ(p.payload_length, payload);
  EXPECT_EQ(p.tcp_flags, kAck | kPsh);
}
void expect_v6_udp(const DecodedPacket& p, size_t payload = 30) {
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.protocol, 17);
  EXPECT_EQ(p.src_port, 53);
  EXPECT_EQ(p.dst_port, 5353);
  EXPECT_EQ(p.src[0], 0x20);
  EXPECT_EQ(p.src[15], 1);
  EXPECT_EQ(p.dst[15], 2);
  EXPECT_EQ(p.ip_length, 40 + 8 + payload);
  EXPECT_EQ(p.payload_length, payload);
}

}  // namespace

TEST(LinkLayers, PppoeSessionsOverEthernetAndVlanTags) {
  DecodedPacket p;
  const std::vector<std::vector<uint16_t>> tag_stacks = {{}, {0x8100}, {0x88A8, 0x8100}, {0x88A8, 0x8100, 0x8100}};
  for (const std::vector<uint16_t>& tags : tag_stacks) {
    ASSERT_EQ(decode(kLinkEthernet, ethernet(0x8864, pppoe_session(0x0021, v4_tcp()), tags), p), DecodeStatus::kOk)
        << tags.size();
    expect_v4_tcp(p);
    EXPECT_EQ(p.tunnel_depth, 0);
    ASSERT_EQ(decode(kLinkEthernet, ethernet(0x8864, pppoe_session(0x0057, v6_udp()), tags), p), DecodeStatus::kOk);
    expect_v6_udp(p);
  }
  // Ethernet padding after the PPPoE length is not part of the packet.
  Bytes small = ethernet(0x8864, pppoe_session(0x0021, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5555, 443, kAck, 0))));
  small.resize(small.size() + 18, 0xEE);
  ASSERT_EQ(decode(kLinkEthernet, small, p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 40u);
  EXPECT_EQ(p.payload_length, 0u);
  // A snap length that cut the payload does not change the lengths (they come from the IP header).
  Bytes big = ethernet(0x8864, pppoe_session(0x0021, v4_tcp(1400)));
  ASSERT_EQ(decode(kLinkEthernet, big, p, {}, 14 + 8 + 40), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 1440u);
  // The same PPPoE headers on Linux cooked captures, and with no link header (LINKTYPE_PPP_ETHER).
  ASSERT_EQ(decode(kLinkLinuxSll, sll(0x8864, pppoe_session(0x0021, v4_tcp())), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkLinuxSll2, sll2(0x8864, pppoe_session(0x0057, v6_udp())), p), DecodeStatus::kOk);
  expect_v6_udp(p);
  ASSERT_EQ(decode(kLinkPppEther, pppoe_session(0x0021, v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
}

TEST(LinkLayers, PppoeSkipReasons) {
  DecodedPacket p;
  auto eth = [](const Bytes& pppoe) { return ethernet(0x8864, pppoe, {0x8100}); };
  EXPECT_EQ(decode(kLinkEthernet, pppoe_padi(), p), DecodeStatus::kPppoeDiscovery);
  EXPECT_EQ(decode(kLinkEthernet, ethernet(0x8863, Bytes{0x11, 0xa7, 0x2a, 0x5c, 0, 0}, {0x8100}), p),
            DecodeStatus::kPppoeDiscovery);  // PADT
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0xc021, lcp_configure_request())), p), DecodeStatus::kPppControl);
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x8021, Bytes(10, 1))), p), DecodeStatus::kPppControl);  // IPCP
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x8057, Bytes(10, 1))), p), DecodeStatus::kPppControl);  // IPV6CP
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0xc223, Bytes(10, 1))), p), DecodeStatus::kPppControl);  // CHAP
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x002b, Bytes(30, 0))), p), DecodeStatus::kNonIp);       // IPX
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0022, Bytes(30, 0))), p), DecodeStatus::kBadHeader);   // even
  // Version/type other than 0x11, a code other than 0 (session data).
  Bytes bad = pppoe_session(0x0021, v4_tcp());
  bad[0] = 0x21;
  EXPECT_EQ(decode(kLinkEthernet, eth(bad), p), DecodeStatus::kBadHeader);
  bad = pppoe_session(0x0021, v4_tcp());
  bad[1] = 0x07;
  EXPECT_EQ(decode(kLinkEthernet, eth(bad), p), DecodeStatus::kBadHeader);
  // A length longer than the frame, and one that ends inside the IP header it announces.
  const size_t whole = 2 + v4_tcp().size();
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0021, v4_tcp(), static_cast<int>(whole + 1))), p),
            DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0021, v4_tcp(), 0xffff)), p), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0021, v4_tcp(), 12)), p), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0021, v4_tcp(), 0)), p), DecodeStatus::kBadHeader);
  // ... but a length that covers the headers (the rest cut by the snap length) is fine.
  ASSERT_EQ(decode(kLinkEthernet, eth(pppoe_session(0x0021, v4_tcp())), p, {}, 18 + 6 + 2 + 40), DecodeStatus::kOk);
  expect_v4_tcp(p);
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kPppControl), "ppp_control");
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kPppoeDiscovery), "pppoe_discovery");
}

TEST(LinkLayers, PppWithAndWithoutFramingAndProtocolCompression) {
  DecodedPacket p;
  for (bool ac : {true, false})
    for (bool pfc : {false, true}) {
      ASSERT_EQ(decode(kLinkPpp, ppp(0x0021, v4_tcp(), ac, pfc), p), DecodeStatus::kOk) << ac << pfc;
      expect_v4_tcp(p);
      ASSERT_EQ(decode(kLinkPpp, ppp(0x0057, v6_udp(), ac, pfc), p), DecodeStatus::kOk) << ac << pfc;
      expect_v6_udp(p);
      // With a direction byte first (LINKTYPE_PPP_WITH_DIR): 0 received, 1 sent.
      ASSERT_EQ(decode(kLinkPppWithDir, cat(Bytes{1}, ppp(0x0021, v4_tcp(), ac, pfc)), p), DecodeStatus::kOk);
      expect_v4_tcp(p);
    }
  EXPECT_EQ(decode(kLinkPpp, ppp(0xc021, lcp_configure_request()), p), DecodeStatus::kPppControl);
  EXPECT_EQ(decode(kLinkPppWithDir, cat(Bytes{0}, ppp(0x8021, Bytes(10, 0), false)), p), DecodeStatus::kPppControl);
  EXPECT_EQ(decode(kLinkPpp, ppp(0x0281, Bytes(20, 0)), p), DecodeStatus::kNonIp);            // MPLS
  EXPECT_EQ(decode(kLinkPpp, ppp(0x2d, Bytes(20, 0), true, true), p), DecodeStatus::kNonIp);  // VJ compressed
  EXPECT_EQ(decode(kLinkPpp, cat(Bytes{0xff, 0x05}, ppp(0x0021, v4_tcp(), false)), p), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkPpp, ppp(0x0020, v4_tcp()), p), DecodeStatus::kBadHeader);  // even protocol
  EXPECT_EQ(decode(kLinkPpp, ppp(0x0021, v6_udp()), p), DecodeStatus::kBadHeader);  // IPv4 promised
}

TEST(LinkLayers, PppInHdlcFramingIsPppOrCiscoHdlc) {
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkPppHdlc, ppp(0x0021, v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkPppHdlc, ppp(0x0057, v6_udp(), true, true), p), DecodeStatus::kOk);
  expect_v6_udp(p);
  ASSERT_EQ(decode(kLinkPppHdlc, cisco_hdlc(0x0800, v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkPppHdlc, cisco_hdlc(0x86DD, v6_udp(), 0x8f), p), DecodeStatus::kOk);
  expect_v6_udp(p);
  EXPECT_EQ(decode(kLinkPppHdlc, ppp(0xc021, lcp_configure_request()), p), DecodeStatus::kPppControl);
  EXPECT_EQ(decode(kLinkPppHdlc, slarp_keepalive(), p), DecodeStatus::kHdlcControl);
  EXPECT_EQ(decode(kLinkPppHdlc, ppp(0x0021, v4_tcp(), false), p), DecodeStatus::kBadHeader);  // framing required
}

TEST(LinkLayers, CiscoHdlc) {
  DecodedPacket p;
  for (uint8_t address : {0x0f, 0x8f}) {
    ASSERT_EQ(decode(kLinkCiscoHdlc, cisco_hdlc(0x0800, v4_tcp(), address), p), DecodeStatus::kOk);
    expect_v4_tcp(p);
    ASSERT_EQ(decode(kLinkCiscoHdlc, cisco_hdlc(0x86DD, v6_udp(), address), p), DecodeStatus::kOk);
    expect_v6_udp(p);
    ASSERT_EQ(decode(kLinkCiscoHdlcWithDir, cat(Bytes{0}, cisco_hdlc(0x0800, v4_tcp(), address)), p),
              DecodeStatus::kOk);
    expect_v4_tcp(p);
  }
  EXPECT_EQ(decode(kLinkCiscoHdlc, slarp_keepalive(), p), DecodeStatus::kHdlcControl);
  EXPECT_EQ(decode(kLinkCiscoHdlc, cisco_hdlc(0x2000, Bytes(40, 0), 0x8f), p), DecodeStatus::kHdlcControl);  // CDP
  EXPECT_EQ(decode(kLinkCiscoHdlc, cisco_hdlc(0x0806, Bytes(28, 0)), p), DecodeStatus::kArp);
  EXPECT_EQ(decode(kLinkCiscoHdlc, cisco_hdlc(0x8847, Bytes(40, 0)), p), DecodeStatus::kNonIp);  // MPLS
  Bytes bad = cisco_hdlc(0x0800, v4_tcp());
  bad[1] = 0x03;  // control
  EXPECT_EQ(decode(kLinkCiscoHdlc, bad, p), DecodeStatus::kBadHeader);
  bad = cisco_hdlc(0x0800, v4_tcp(), 0x0e);  // address
  EXPECT_EQ(decode(kLinkCiscoHdlc, bad, p), DecodeStatus::kBadHeader);
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kHdlcControl), "hdlc_control");
}

TEST(LinkLayers, PpiAroundSupportedLinkTypes) {
  DecodedPacket p;
  for (size_t fields : {size_t{0}, size_t{20}}) {
    ASSERT_EQ(decode(kLinkPpi, ppi(1, ether_ip(v4_tcp(), {0x8100}), fields), p), DecodeStatus::kOk) << fields;
    expect_v4_tcp(p);
    ASSERT_EQ(decode(kLinkPpi, ppi(101, v6_udp(), fields), p), DecodeStatus::kOk);
    expect_v6_udp(p);
    ASSERT_EQ(decode(kLinkPpi, ppi(1, ethernet(0x8864, pppoe_session(0x0021, v4_tcp())), fields), p),
              DecodeStatus::kOk);
    expect_v4_tcp(p);
  }
  // 802.11 (105) and 802.11 radiotap (127) are not decoded; PPI in PPI is refused.
  EXPECT_EQ(decode(kLinkPpi, ppi(105, Bytes(60, 0), 20), p), DecodeStatus::kUnknownInnerLinkType);
  EXPECT_EQ(decode(kLinkPpi, ppi(127, Bytes(60, 0)), p), DecodeStatus::kUnknownInnerLinkType);
  EXPECT_EQ(decode(kLinkPpi, ppi(192, ppi(1, ether_ip(v4_tcp()))), p), DecodeStatus::kUnknownInnerLinkType);
  EXPECT_EQ(decode(kLinkPpi, ppi(0x10001, ether_ip(v4_tcp())), p), DecodeStatus::kUnknownInnerLinkType);
  // Header length below 8, beyond the frame; version 1.
  for (int len : {0, 7, 8 + 54 + 1, 0xffff})
    EXPECT_EQ(decode(kLinkPpi, ppi(1, ether_ip(v4_tcp(0)), 0, len), p), DecodeStatus::kBadHeader) << len;
  Bytes v1 = ppi(1, ether_ip(v4_tcp()));
  v1[0] = 1;
  EXPECT_EQ(decode(kLinkPpi, v1, p), DecodeStatus::kBadHeader);
  // Inner errors are the inner frame's.
  EXPECT_EQ(decode(kLinkPpi, ppi(1, arp()), p), DecodeStatus::kArp);
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kUnknownInnerLinkType), "unknown_inner_link_type");
}

TEST(LinkLayers, IpInIpIsSkippedUnlessDecapsulating) {
  DecodedPacket p;
  const Bytes inner4 = v4_tcp(), inner6 = v6_udp();
  struct Case {
    const char* name;
    Bytes outer;
    bool inner_v6;
  };
  std::vector<Case> cases = {
      {"4in4", ipv4("192.0.2.1", "192.0.2.2", 4, inner4), false},
      {"6in4", ipv4("192.0.2.1", "192.0.2.2", 41, inner6), true},
      {"4in6", ipv6("2001:db8:ff::1", "2001:db8:ff::2", 4, inner4), false},
      {"6in6", ipv6("2001:db8:ff::1", "2001:db8:ff::2", 41, inner6), true},
      {"6in6_ext", ipv6("2001:db8:ff::1", "2001:db8:ff::2", 41, inner6, {{0, 8}, {60, 16}}), true},
  };
  for (const Case& c : cases) {
    // Today's behaviour, kept as the default: the tunnel packet is not a flow.
    EXPECT_EQ(decode(kLinkEthernet, ether_ip(c.outer), p), DecodeStatus::kIpTunnel) << c.name;
    EXPECT_EQ(decode(kLinkRaw, c.outer, p), DecodeStatus::kIpTunnel) << c.name;
    ASSERT_EQ(decode(kLinkEthernet, ether_ip(c.outer), p, kDecap), DecodeStatus::kOk) << c.name;
    if (c.inner_v6)
      expect_v6_udp(p);
    else
      expect_v4_tcp(p);
    EXPECT_EQ(p.tunnel_depth, 1) << c.name;
    // Inside PPPoE, as DSL lines carry them.
    ASSERT_EQ(decode(kLinkEthernet, ethernet(0x8864, pppoe_session((c.outer[0] >> 4) == 6 ? 0x57 : 0x21, c.outer)), p,
                     kDecap),
              DecodeStatus::kOk)
        << c.name;
    EXPECT_EQ(p.tunnel_depth, 1);
  }
  // IPv4 inside an IPv4 that is itself inside IPv6, and so on: up to kMaxTunnelDepth tunnels.
  Bytes nested = inner4;
  for (int depth = 1; depth <= kMaxTunnelDepth + 1; ++depth) {
    bool v6 = depth % 2 == 0;
    uint8_t proto = (nested[0] >> 4) == 6 ? 41 : 4;
    nested =
        v6 ? ipv6("2001:db8:ff::1", "2001:db8:ff::2", proto, nested) : ipv4("192.0.2.1", "192.0.2.2", proto, nested);
    DecodeStatus st = decode(kLinkRaw, nested, p, kDecap);
    if (depth <= kMaxTunnelDepth) {
      ASSERT_EQ(st, DecodeStatus::kOk) << depth;
      expect_v4_tcp(p);
      EXPECT_EQ(p.tunnel_depth, depth);
    } else {
      EXPECT_EQ(st, DecodeStatus::kTunnelTooDeep) << depth;
    }
    EXPECT_EQ(decode(kLinkRaw, nested, p), DecodeStatus::kIpTunnel);
  }
  // What is inside decides: ICMP, fragments, a version other than the protocol promised.
  EXPECT_EQ(
      decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, ipv4("10.0.0.1", "10.0.0.2", 1, icmp_echo(8))), p, kDecap),
      DecodeStatus::kIcmp);
  EXPECT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, ipv4("10.0.0.1", "10.0.0.2", 17, Bytes(50, 0), 0, 100)),
                   p, kDecap),
            DecodeStatus::kIpv4Fragment);
  EXPECT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, inner6), p, kDecap), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 41, inner4), p, kDecap), DecodeStatus::kBadHeader);
  // An outer fragment that is not the first has no inner header at all.
  EXPECT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, inner4, 0, 50), p, kDecap), DecodeStatus::kIpv4Fragment);
  // An outer length that ends inside the inner headers is wrong (the bytes go on), not a snap length.
  EXPECT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, inner4, 0, 0, 20 + 30), p, kDecap),
            DecodeStatus::kBadHeader);
  // Segmentation offload on the outer header (total length 0): inner lengths as the inner header says.
  ASSERT_EQ(decode(kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, inner4, 0, 0, 0), p, kDecap), DecodeStatus::kOk);
  expect_v4_tcp(p);
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kIpTunnel), "ip_tunnel");
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kTunnelTooDeep), "tunnel_too_deep");
}

// Every new header cut at every byte offset: with the frame longer on the wire (a snap length) the
// result is truncated_header until the transport ports and flags are in, then the packet; with the
// cut frame as the whole packet it is never decoded (and never read past, under ASan).
TEST(LinkLayers, TruncationAtEveryByteOffset) {
  struct Case {
    const char* name;
    int link;
    Bytes frame;
    size_t needed;  // bytes up to the end of what the decoder reads (14 bytes of TCP, 8 of UDP)
    DecodeOptions opt;
  };
  const Bytes t4 = v4_tcp(40);
  const Bytes ip6in4 = ipv4("192.0.2.1", "192.0.2.2", 41, v6_udp(10));
  std::vector<Case> cases = {
      {"pppoe", kLinkEthernet, ethernet(0x8864, pppoe_session(0x0021, t4)), 14 + 8 + 20 + 14, {}},
      {"pppoe_qinq",
       kLinkEthernet,
       ethernet(0x8864, pppoe_session(0x0057, v6_udp(10)), {0x88A8, 0x8100}),
       22 + 8 + 40 + 8,
       {}},
      {"ppp_ether", kLinkPppEther, pppoe_session(0x0021, t4), 8 + 20 + 14, {}},
      {"ppp", kLinkPpp, ppp(0x0021, t4), 4 + 20 + 14, {}},
      {"ppp_pfc", kLinkPpp, ppp(0x0057, v6_udp(10), false, true), 1 + 40 + 8, {}},
      {"ppp_dir", kLinkPppWithDir, cat(Bytes{1}, ppp(0x0021, t4, true, true)), 4 + 20 + 14, {}},
      {"ppp_hdlc", kLinkPppHdlc, ppp(0x0021, t4), 4 + 20 + 14, {}},
      {"ppp_hdlc_cisco", kLinkPppHdlc, cisco_hdlc(0x0800, t4), 4 + 20 + 14, {}},
      {"c_hdlc", kLinkCiscoHdlc, cisco_hdlc(0x86DD, v6_udp(10)), 4 + 40 + 8, {}},
      {"c_hdlc_dir", kLinkCiscoHdlcWithDir, cat(Bytes{0}, cisco_hdlc(0x0800, t4)), 5 + 20 + 14, {}},
      {"ppi_ether", kLinkPpi, ppi(1, ether_ip(t4), 20), 32 + 14 + 20 + 14, {}},
      {"ppi_raw", kLinkPpi, ppi(101, t4), 8 + 20 + 14, {}},
      {"4in4", kLinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, t4), 20 + 20 + 14, kDecap},
      {"6in4_pppoe", kLinkEthernet, ethernet(0x8864, pppoe_session(0x0021, ip6in4)), 14 + 8 + 20 + 40 + 8, kDecap},
      {"4in6_ext", kLinkIpv6, ipv6("2001:db8:ff::1", "2001:db8:ff::2", 4, t4, {{60, 8}}), 40 + 8 + 20 + 14, kDecap},
  };
  for (const Case& c : cases) {
    DecodedPacket whole, p;
    ASSERT_EQ(decode(c.link, c.frame, whole, c.opt), DecodeStatus::kOk) << c.name;
    for (size_t n = 0; n <= c.frame.size(); ++n) {
      DecodeStatus st = decode(c.link, c.frame, p, c.opt, n);  // wire: the whole frame
      if (n < c.needed) {
        ASSERT_EQ(st, DecodeStatus::kTruncated) << c.name << " cut at " << n;
      } else {
        ASSERT_EQ(st, DecodeStatus::kOk) << c.name << " cut at " << n;
        EXPECT_EQ(p.src, whole.src);
        EXPECT_EQ(p.dst_port, whole.dst_port);
        EXPECT_EQ(p.ip_length, whole.ip_length) << c.name << " cut at " << n;
        EXPECT_EQ(p.payload_length, whole.payload_length);
      }
      if (n < c.needed) {
        st = decode(c.link, c.frame, p, c.opt, n, static_cast<uint32_t>(std::max<size_t>(n, 1)));  // wire: n
        EXPECT_TRUE(st == DecodeStatus::kTruncated || st == DecodeStatus::kBadHeader)
            << c.name << " cut at " << n << ": " << skip_reason_name(st);
      }
    }
  }
}

TEST(LinkLayers, RandomFramesOfTheNewLinkTypesNeverCrash) {
  // Mutations of valid frames of every new link type, decapsulating or not; under ASan in the
  // sanitizer build (the fuzz target fuzz_decode covers the same ground for longer).
  std::vector<std::pair<int, Bytes>> seeds = {
      {kLinkEthernet, ethernet(0x8864, pppoe_session(0x0021, ipv4("1.1.1.1", "2.2.2.2", 4, v4_tcp(8))), {0x8100})},
      {kLinkPpp, ppp(0x0057, ipv6("::1", "::2", 41, v6_udp(4)))},
      {kLinkPppHdlc, cisco_hdlc(0x0800, v4_tcp(8))},
      {kLinkCiscoHdlc, cisco_hdlc(0x86DD, ipv6("::1", "::2", 4, v4_tcp(8), {{0, 8}}))},
      {kLinkPpi, ppi(1, ethernet(0x8864, pppoe_session(0x0021, v4_tcp(8))), 12)},
      {kLinkPppWithDir, cat(Bytes{1}, ppp(0x21, v4_tcp(8), false, true))},
  };
  uint32_t x = 2463534242u;
  auto rnd = [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  DecodedPacket p;
  for (int i = 0; i < 30000; ++i) {
    const auto& [link, seed] = seeds[rnd() % seeds.size()];
    Bytes b = seed;
    for (uint32_t k = rnd() % 4; k > 0; --k) b[rnd() % b.size()] = static_cast<uint8_t>(rnd());
    b.resize(rnd() % (b.size() + 1));
    DecodeOptions opt{(rnd() & 1) != 0};
    DecodeStatus st = decode(link, b, p, opt, b.size(), static_cast<uint32_t>(b.size() + rnd() % 64));
    ASSERT_LT(static_cast<int>(st), static_cast<int>(DecodeStatus::kCount));
    if (st == DecodeStatus::kOk) {
      ASSERT_TRUE(p.ip_version == 4 || p.ip_version == 6);
      ASSERT_TRUE(p.protocol == 6 || p.protocol == 17);
      ASSERT_LE(p.tunnel_depth, opt.decapsulate ? kMaxTunnelDepth : 0);
    }
  }
}

// ---- Ingestion: captures of each link type, the skip counts, and --decapsulate. ----

namespace {

// A TCP conversation 10.0.0.1:<port> <-> 10.0.0.2:443 (handshake, 2 exchanges, FINs: 10 packets),
// each IP packet wrapped into a frame by `wrap`.
std::vector<TestPacket> conversation(const std::function<Bytes(const Bytes&)>& wrap, uint16_t port) {
  std::vector<TestPacket> v;
  int64_t t = kBase;
  auto add = [&](bool up, uint8_t f, size_t n) {
    Bytes ip = up ? ipv4("10.0.0.1", "10.0.0.2", 6, tcp(port, 443, f, n))
                  : ipv4("10.0.0.2", "10.0.0.1", 6, tcp(443, port, f, n));
    v.push_back({t, wrap(ip)});
    t += 1000;
  };
  add(true, kSyn, 0);
  add(false, kSyn | kAck, 0);
  add(true, kAck, 0);
  for (int i = 0; i < 2; ++i) {
    add(true, kAck | kPsh, 100);
    add(false, kAck | kPsh, 700);
  }
  add(true, kFin | kAck, 0);
  add(false, kFin | kAck, 0);
  add(true, kAck, 0);
  return v;
}

IngestOptions quiet() {
  IngestOptions o;
  o.progress = false;
  return o;
}

bool contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(LinkLayersIngest, EveryNewLinkTypeWithItsControlTraffic) {
  TempDir dir;
  struct Case {
    std::string name;
    int dlt;
    std::function<Bytes(const Bytes&)> wrap;
    std::vector<Bytes> control;  // frames that are skipped
    std::map<std::string, uint64_t> skipped;
  };
  std::vector<Case> cases = {
      {"pppoe",
       DLT_EN10MB,
       [](const Bytes& ip) {
         return ethernet(0x8864, pppoe_session(0x0021, ip), {0x88A8, 0x8100});
       },
       {pppoe_padi(), ethernet(0x8864, pppoe_session(0xc021, lcp_configure_request()), {0x88A8, 0x8100}),
        ethernet(0x8864, pppoe_session(0x8021, Bytes(10, 1))),
        ethernet(0x8864, pppoe_session(0x0021, v4_tcp(), 0x7fff))},
       {{"pppoe_discovery", 1}, {"ppp_control", 2}, {"bad_header", 1}}},
      {"ppp",
       DLT_PPP,
       [](const Bytes& ip) { return ppp(0x0021, ip, false, true); },
       {ppp(0xc021, lcp_configure_request())},
       {{"ppp_control", 1}}},
      {"ppp_hdlc",
       DLT_PPP_SERIAL,
       [](const Bytes& ip) { return ppp(0x0021, ip); },
       {ppp(0x8021, Bytes(10, 0)), slarp_keepalive()},
       {{"ppp_control", 1}, {"hdlc_control", 1}}},
      {"ppp_dir", 204, [](const Bytes& ip) { return cat(Bytes{0}, ppp(0x0021, ip)); }, {}, {}},
      {"ppp_ether", 51, [](const Bytes& ip) { return pppoe_session(0x0021, ip); }, {}, {}},
      {"c_hdlc",
       DLT_C_HDLC,
       [](const Bytes& ip) { return cisco_hdlc(0x0800, ip); },
       {slarp_keepalive(), cisco_hdlc(0x2000, Bytes(30, 0), 0x8f)},
       {{"hdlc_control", 2}}},
      {"ppi",
       DLT_PPI,
       [](const Bytes& ip) { return ppi(1, ether_ip(ip), 20); },
       {ppi(105, Bytes(40, 0), 20)},
       {{"unknown_inner_link_type", 1}}},
  };
  std::map<std::string, uint64_t> all_skipped;
  std::vector<std::string> files;
  for (const auto& c : cases) {
    std::vector<TestPacket> pk = conversation(c.wrap, 6000);
    for (size_t i = 0; i < c.control.size(); ++i) pk.push_back({kBase + 500 + static_cast<int64_t>(i), c.control[i]});
    files.push_back(dir.file(c.name + ".pcap"));
    write_pcap(files.back(), c.dlt, pk);
    for (const auto& [k, n] : c.skipped) all_skipped[k] += n;

    // Each file alone: its skip counts.
    IngestReport r = ingest_captures({files.back()}, dir.file(c.name + ".h5"), quiet());
    EXPECT_EQ(r.files_damaged, 0u) << c.name << "\n" << r.summary();
    EXPECT_EQ(r.packets_kept, 10u) << c.name;
    EXPECT_EQ(r.skipped, c.skipped) << c.name;
  }
  IngestReport r = ingest_captures(files, dir.file("all.h5"), quiet());
  EXPECT_EQ(r.files_damaged, 0u) << r.summary();
  PacketStore s = read_packet_store(dir.file("all.h5"));
  ASSERT_EQ(s.num_flows(), cases.size());
  for (size_t f = 0; f < cases.size(); ++f) {
    EXPECT_EQ(s.flow_end(f) - s.flow_begin(f), 10u) << cases[f].name;
    EXPECT_EQ(s.keys[f].to_string(), "10.0.0.1:6000 -> 10.0.0.2:443 TCP") << cases[f].name;
    EXPECT_EQ(s.ip_length[s.flow_begin(f) + 4], 740u) << cases[f].name;  // 20 + 20 + 700, from the responder
    EXPECT_EQ(s.direction[s.flow_begin(f) + 4], 1) << cases[f].name;
  }
  EXPECT_EQ(s.skipped, all_skipped);
  EXPECT_NE(s.flow_options.find("\"decapsulate\":false"), std::string::npos) << s.flow_options;
}

TEST(LinkLayersIngest, UnknownLinkTypeMessageListsTheSupportedOnes) {
  TempDir dir;
  write_pcap(dir.file("wifi.pcap"), 105, {{kBase, Bytes(60, 0)}});  // 802.11 without PPI
  write_pcap(dir.file("good.pcap"), DLT_C_HDLC, conversation([](const Bytes& ip) { return cisco_hdlc(0x800, ip); }, 1));
  IngestReport r = ingest_captures({dir.file("wifi.pcap"), dir.file("good.pcap")}, dir.file("s.h5"), quiet());
  EXPECT_EQ(r.files_damaged, 1u);
  EXPECT_TRUE(contains(r.warnings, "wifi.pcap: unknown link type 105")) << r.warnings[0];
  EXPECT_TRUE(contains(r.warnings, "Cisco HDLC, PPI")) << r.warnings[0];
}

TEST(LinkLayersIngest, IpInIpTunnelsSkippedByDefaultDecapsulatedOnRequest) {
  TempDir dir;
  // One conversation in IPv4-in-IPv4 between two tunnel ends, one in IPv6-in-IPv4 (6in4) inside PPPoE,
  // and a plain UDP packet outside any tunnel.
  auto tunnel4 = [](const Bytes& ip) { return ether_ip(ipv4("192.0.2.1", "192.0.2.2", 4, ip)); };
  std::vector<TestPacket> pk = conversation(tunnel4, 7000);
  int64_t t = kBase + 100000;
  for (int i = 0; i < 3; ++i) {
    Bytes inner = i % 2 ? ipv6("2001:db8::2", "2001:db8::1", 17, udp(5353, 53, 200))
                        : ipv6("2001:db8::1", "2001:db8::2", 17, udp(53, 5353, 30));
    pk.push_back({t + i, ethernet(0x8864, pppoe_session(0x0021, ipv4("198.51.100.1", "198.51.100.2", 41, inner)))});
  }
  pk.push_back({t + 10, ether_ip(ipv4("10.9.9.9", "10.9.9.8", 17, udp(1, 2, 5)))});
  // Five tunnels deep: too deep even when decapsulating.
  Bytes deep = v4_tcp();
  for (int d = 0; d < kMaxTunnelDepth + 1; ++d) deep = ipv4("192.0.2.1", "192.0.2.2", 4, deep);
  pk.push_back({t + 20, ether_ip(deep)});
  write_pcap(dir.file("tunnels.pcap"), DLT_EN10MB, pk);
  const uint64_t tunnelled = 10 + 3 + 1;

  // Default: the tunnel packets are skipped (as flowpic always did), counted as ip_tunnel, and the
  // summary says how to decapsulate.
  IngestReport off = ingest_captures({dir.file("tunnels.pcap")}, dir.file("off.h5"), quiet());
  EXPECT_FALSE(off.decapsulate);
  EXPECT_EQ(off.flows, 1u);
  EXPECT_EQ(off.packets_kept, 1u);
  EXPECT_EQ(off.packets_decapsulated, 0u);
  EXPECT_EQ(off.skipped, (std::map<std::string, uint64_t>{{"ip_tunnel", tunnelled}}));
  EXPECT_TRUE(contains(off.warnings, "--decapsulate")) << off.summary();
  EXPECT_EQ(off.summary().find("decapsulation"), std::string::npos);
  PacketStore s_off = read_packet_store(dir.file("off.h5"));
  EXPECT_NE(s_off.flow_options.find("\"decapsulate\":false"), std::string::npos) << s_off.flow_options;
  EXPECT_EQ(s_off.skipped, off.skipped);

  // --decapsulate: the inner packets are the flows, with the inner addresses, ports and lengths.
  IngestOptions o = quiet();
  o.decode.decapsulate = true;
  IngestReport on = ingest_captures({dir.file("tunnels.pcap")}, dir.file("on.h5"), o);
  EXPECT_TRUE(on.decapsulate);
  EXPECT_EQ(on.flows, 3u);
  EXPECT_EQ(on.packets_kept, 10u + 3 + 1);
  EXPECT_EQ(on.packets_decapsulated, 10u + 3);
  EXPECT_EQ(on.skipped, (std::map<std::string, uint64_t>{{"tunnel_too_deep", 1}}));
  EXPECT_FALSE(contains(on.warnings, "--decapsulate"));
  EXPECT_NE(on.summary().find("decapsulation: on (IP-in-IP inner packets are the flows), 13 packets decoded from "
                              "inside tunnels"),
            std::string::npos)
      << on.summary();
  PacketStore s = read_packet_store(dir.file("on.h5"));
  EXPECT_NE(s.flow_options.find("\"decapsulate\":true"), std::string::npos) << s.flow_options;
  EXPECT_NE(s.flow_options.find("\"max_tunnel_depth\":4"), std::string::npos) << s.flow_options;
  std::map<std::string, size_t> by_key;
  for (size_t f = 0; f < s.num_flows(); ++f) by_key[s.keys[f].to_string()] = f;
  ASSERT_EQ(by_key.count("10.0.0.1:7000 -> 10.0.0.2:443 TCP"), 1u);
  size_t f = by_key["10.0.0.1:7000 -> 10.0.0.2:443 TCP"];
  ASSERT_EQ(s.flow_end(f) - s.flow_begin(f), 10u);
  EXPECT_EQ(s.ip_length[s.flow_begin(f) + 3], 140u);  // the inner IP length, not 160
  EXPECT_EQ(s.payload_length[s.flow_begin(f) + 3], 100u);
  EXPECT_EQ(s.tcp_flags[s.flow_begin(f)], kSyn);
  ASSERT_EQ(by_key.count("[2001:db8::1]:53 -> [2001:db8::2]:5353 UDP"), 1u);
  f = by_key["[2001:db8::1]:53 -> [2001:db8::2]:5353 UDP"];
  ASSERT_EQ(s.flow_end(f) - s.flow_begin(f), 3u);
  EXPECT_EQ(s.ip_length[s.flow_begin(f)], 40u + 8 + 30);
  EXPECT_EQ(s.ip_length[s.flow_begin(f) + 1], 40u + 8 + 200);
  EXPECT_EQ(s.direction[s.flow_begin(f) + 1], 1);
  EXPECT_EQ(by_key.count("10.9.9.9:1 -> 10.9.9.8:2 UDP"), 1u);
}

TEST(LinkLayersIngest, DecapsulateOnTheCommandLine) {
  const char* bin_dir = std::getenv("FLOWPIC_BIN_DIR");
  std::string bin = std::string(bin_dir ? bin_dir : FLOWPIC_BINARY_DIR) + "/apps/flowpic_data";
  if (!file_exists(bin)) GTEST_SKIP() << "flowpic_data not built";
  TempDir dir;
  write_pcap(dir.file("t.pcap"), DLT_RAW,
             conversation([](const Bytes& ip) { return ipv6("2001:db8:ff::1", "2001:db8:ff::2", 4, ip); }, 8000));
  auto run = [&](const std::string& args, std::string& out) {
    FILE* p = popen((bin + " " + args + " 2>&1").c_str(), "r");
    out.clear();
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
  };
  std::string out;
  ASSERT_EQ(run("ingest --help", out), 0);
  EXPECT_NE(out.find("--decapsulate"), std::string::npos) << out;
  ASSERT_EQ(run("ingest " + dir.file("t.pcap") + " --out " + dir.file("off.h5") + " --quiet", out), 0) << out;
  EXPECT_NE(out.find("ip_tunnel: 10"), std::string::npos) << out;
  EXPECT_NE(out.find("warning: 10 IP-in-IP tunnel packets were skipped"), std::string::npos) << out;
  ASSERT_EQ(run("ingest " + dir.file("t.pcap") + " --out " + dir.file("on.h5") + " --quiet --decapsulate", out), 0)
      << out;
  EXPECT_NE(out.find("kept 10, flows 1"), std::string::npos) << out;
  EXPECT_NE(out.find("decapsulation: on"), std::string::npos) << out;
  ASSERT_EQ(run("info " + dir.file("on.h5"), out), 0) << out;
  EXPECT_NE(out.find("\"decapsulate\":true"), std::string::npos) << out;
}
