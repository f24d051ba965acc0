// decode_packet: every link type, VLAN/QinQ, IPv6 extension headers, and the skip reasons.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "dataset/decode.hpp"
#include "dataset/packet_store.hpp"
#include "support/pcap_writer.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

DecodeStatus decode(int link, const Bytes& b, DecodedPacket& out, uint32_t wire = 0) {
  return decode_packet(link, b.data(), static_cast<uint32_t>(b.size()), wire ? wire : static_cast<uint32_t>(b.size()),
                       out);
}

Bytes v4_tcp(size_t payload = 100, uint8_t flags = kAck | kPsh) {
  return ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5555, 443, flags, payload));
}

void expect_v4_tcp(const DecodedPacket& p, size_t payload = 100) {
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.protocol, 6);
  EXPECT_EQ(p.src_port, 5555);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.src[0], 10);
  EXPECT_EQ(p.dst[3], 2);
  EXPECT_EQ(p.ip_length, 20 + 20 + payload);
  EXPECT_EQ(p.payload_length, payload);
  EXPECT_EQ(p.tcp_flags, kAck | kPsh);
}

}  // namespace

TEST(Decode, EthernetIpv4Tcp) {
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkEthernet, ether_ip(v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
}

TEST(Decode, EthernetPaddingDoesNotChangeLengths) {
  // A 60-byte minimum frame pads a small packet; lengths come from the IP header.
  Bytes f = ether_ip(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2, kAck, 0)));
  f.resize(60, 0);
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkEthernet, f, p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 40u);
  EXPECT_EQ(p.payload_length, 0u);
}

TEST(Decode, VlanAndQinQ) {
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkEthernet, ether_ip(v4_tcp(), {0x8100}), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkEthernet, ether_ip(v4_tcp(), {0x88A8, 0x8100}), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkEthernet, ether_ip(v4_tcp(), {0x9100, 0x8100}), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  // A tag cut short by the snap length.
  Bytes cut = ether_ip(v4_tcp(), {0x8100});
  cut.resize(15);
  EXPECT_EQ(decode(kLinkEthernet, cut, p), DecodeStatus::kTruncated);
}

TEST(Decode, LinuxCookedSllAndSll2) {
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkLinuxSll, sll(0x0800, v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkLinuxSll2, sll2(0x0800, v4_tcp()), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  Bytes v6 = ipv6("2001:db8::1", "2001:db8::2", 17, udp(53, 5353, 30));
  ASSERT_EQ(decode(kLinkLinuxSll2, sll2(0x86DD, v6), p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.ip_length, 40u + 8 + 30);
  EXPECT_EQ(p.payload_length, 30u);
  EXPECT_EQ(decode(kLinkLinuxSll, sll(0x0806, Bytes(28, 0)), p), DecodeStatus::kArp);
}

TEST(Decode, RawIpAllSpellings) {
  DecodedPacket p;
  for (int link : {int(kLinkRaw), int(kLinkRawDlt12), int(kLinkRawDlt14), int(kLinkIpv4)}) {
    ASSERT_EQ(decode(link, v4_tcp(), p), DecodeStatus::kOk) << link;
    expect_v4_tcp(p);
  }
  Bytes v6 = ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1, 2, kSyn, 0));
  ASSERT_EQ(decode(kLinkRaw, v6, p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  ASSERT_EQ(decode(kLinkIpv6, v6, p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_flags, kSyn);
  EXPECT_EQ(decode(kLinkIpv4, v6, p), DecodeStatus::kBadHeader);  // the link type promised IPv4
  EXPECT_EQ(decode(kLinkRaw, Bytes{0x50, 0, 0, 0}, p), DecodeStatus::kBadHeader);
}

TEST(Decode, BsdLoopbackBothByteOrders) {
  DecodedPacket p;
  ASSERT_EQ(decode(kLinkNull, loopback(2, v4_tcp(), false), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkNull, loopback(2, v4_tcp(), true), p), DecodeStatus::kOk);  // captured on a big-endian host
  expect_v4_tcp(p);
  ASSERT_EQ(decode(kLinkLoop, loopback(2, v4_tcp(), true), p), DecodeStatus::kOk);
  expect_v4_tcp(p);
  Bytes v6 = ipv6("::1", "::1", 17, udp(1, 2, 3));
  for (uint32_t af6 : {10u, 24u, 28u, 30u}) {
    ASSERT_EQ(decode(kLinkNull, loopback(af6, v6, false), p), DecodeStatus::kOk) << af6;
    EXPECT_EQ(p.ip_version, 6);
  }
  EXPECT_EQ(decode(kLinkNull, loopback(7, v4_tcp(), false), p), DecodeStatus::kNonIp);
}

TEST(Decode, Ipv4OptionsAndTcpOptions) {
  DecodedPacket p;
  Bytes ip = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5555, 443, kAck | kPsh, 100, 12), 8);
  ASSERT_EQ(decode(kLinkRaw, ip, p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 28u + 32 + 100);
  EXPECT_EQ(p.payload_length, 100u);
}

TEST(Decode, Ipv6ExtensionHeaders) {
  DecodedPacket p;
  Bytes t = tcp(5555, 443, kAck, 200);
  std::vector<Ipv6Ext> chain = {{0, 8}, {43, 24}, {60, 16}, {51, 12}, {44, 8, 0}};
  Bytes ip = ipv6("2001:db8::1", "2001:db8::2", 6, t, chain);
  ASSERT_EQ(decode(kLinkEthernet, ether_ip(ip), p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 40u + 8 + 24 + 16 + 12 + 8 + 20 + 200);
  EXPECT_EQ(p.payload_length, 200u);
  EXPECT_EQ(p.src_port, 5555);
  EXPECT_EQ(p.src[0], 0x20);
  EXPECT_EQ(p.src[15], 1);
  // A non-first fragment carries no transport header.
  Bytes frag = ipv6("2001:db8::1", "2001:db8::2", 6, Bytes(100, 0), {{44, 8, 100}});
  EXPECT_EQ(decode(kLinkRaw, frag, p), DecodeStatus::kIpv6Fragment);
  // An extension header longer than the payload length.
  Bytes bad = ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1, 2, kAck, 0), {{0, 8}});
  bad[41] = 200;  // hop-by-hop length: 201 * 8 bytes
  EXPECT_EQ(decode(kLinkRaw, bad, p), DecodeStatus::kBadHeader);
  // No next header, ESP.
  EXPECT_EQ(decode(kLinkRaw, ipv6("::1", "::2", 59, Bytes{}), p), DecodeStatus::kOtherTransport);
  EXPECT_EQ(decode(kLinkRaw, ipv6("::1", "::2", 50, Bytes(16, 0)), p), DecodeStatus::kOtherTransport);
  EXPECT_EQ(decode(kLinkRaw, ipv6("::1", "::2", 58, icmp_echo(8)), p), DecodeStatus::kIcmp);
}

TEST(Decode, SkipReasons) {
  DecodedPacket p;
  EXPECT_EQ(decode(kLinkEthernet, arp(), p), DecodeStatus::kArp);
  EXPECT_EQ(decode(kLinkEthernet, ethernet(0x88CC, Bytes(30, 0)), p), DecodeStatus::kNonIp);  // LLDP
  EXPECT_EQ(decode(kLinkEthernet, ethernet(100, Bytes(100, 0)), p), DecodeStatus::kNonIp);    // 802.3 length
  EXPECT_EQ(decode(kLinkEthernet, ether_ip(ipv4("1.1.1.1", "2.2.2.2", 1, icmp_echo(56))), p), DecodeStatus::kIcmp);
  EXPECT_EQ(decode(kLinkEthernet, ether_ip(ipv4("1.1.1.1", "2.2.2.2", 47, Bytes(40, 0))), p),
            DecodeStatus::kOtherTransport);
  // Non-first fragment (offset 185 * 8) and first fragment (MF set, offset 0) of IPv4.
  EXPECT_EQ(decode(kLinkRaw, ipv4("1.1.1.1", "2.2.2.2", 17, Bytes(100, 0), 0, 185), p), DecodeStatus::kIpv4Fragment);
  EXPECT_EQ(decode(kLinkRaw, ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2, 1472), 0, 0x2000), p), DecodeStatus::kOk);
  // Truncated: cut in the IP header, the TCP header, the UDP header.
  Bytes f = ether_ip(v4_tcp());
  EXPECT_EQ(decode(kLinkEthernet, Bytes(f.begin(), f.begin() + 30), p), DecodeStatus::kTruncated);
  EXPECT_EQ(decode(kLinkEthernet, Bytes(f.begin(), f.begin() + 14 + 20 + 10), p), DecodeStatus::kTruncated);
  Bytes u = ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2, 10));
  EXPECT_EQ(decode(kLinkRaw, Bytes(u.begin(), u.begin() + 24), p), DecodeStatus::kTruncated);
  EXPECT_EQ(decode(kLinkEthernet, Bytes(f.begin(), f.begin() + 10), p), DecodeStatus::kTruncated);
  // Bad header lengths: IHL below 5, total length below the header, TCP data offset below 5.
  Bytes ihl = v4_tcp();
  ihl[0] = 0x44;
  EXPECT_EQ(decode(kLinkRaw, ihl, p), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(kLinkRaw, ipv4("1.1.1.1", "2.2.2.2", 6, tcp(1, 2, kAck, 10), 0, 0, 12), p),
            DecodeStatus::kBadHeader);
  Bytes doff = v4_tcp();
  doff[20 + 12] = 0x30;
  EXPECT_EQ(decode(kLinkRaw, doff, p), DecodeStatus::kBadHeader);
  EXPECT_EQ(decode(147, v4_tcp(), p), DecodeStatus::kUnknownLinkType);
  EXPECT_FALSE(link_type_supported(147));
  EXPECT_STREQ(skip_reason_name(DecodeStatus::kIpv4Fragment), "ipv4_fragment");
}

TEST(Decode, SnapLengthAndOffloadLengths) {
  DecodedPacket p;
  // Captured with a 64-byte snap length: lengths still from the IP header.
  Bytes full = ether_ip(v4_tcp(1400));
  ASSERT_EQ(decode_packet(kLinkEthernet, full.data(), 64, static_cast<uint32_t>(full.size()), p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 1440u);
  EXPECT_EQ(p.payload_length, 1400u);
  // Segmentation offload: IPv4 total length 0, the frame is bigger than any MTU.
  Bytes tso = ether_ip(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5555, 443, kAck, 9000), 0, 0, 0));
  ASSERT_EQ(decode(kLinkEthernet, tso, p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_length, 20u + 20 + 9000);
  EXPECT_EQ(p.payload_length, 9000u);
}

TEST(Decode, RandomBytesNeverCrashOrOverread) {
  // A poor man's fuzz run with a fixed seed: every link type, random lengths and contents, and
  // frames cut from valid packets. Runs under ASan in sanitizer builds.
  std::mt19937 rng(12345);
  DecodedPacket p;
  const int links[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147};
  Bytes valid = ether_ip(ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1, 2, kAck, 64), {{0, 8}, {44, 8, 0}}));
  for (int i = 0; i < 20000; ++i) {
    size_t n = rng() % 200;
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (i % 3 == 0) b.assign(valid.begin(), valid.begin() + std::min(n, valid.size()));
    if (i % 7 == 0 && !b.empty()) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    // Exactly-sized heap buffer so an over-read is caught by ASan.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[std::max<size_t>(n, 1)]);
    std::copy(b.begin(), b.end(), exact.get());
    int link = links[rng() % (sizeof links / sizeof links[0])];
    DecodeStatus st =
        decode_packet(link, exact.get(), static_cast<uint32_t>(n), static_cast<uint32_t>(n + rng() % 3000), p);
    ASSERT_LT(static_cast<int>(st), static_cast<int>(DecodeStatus::kCount));
  }
  EXPECT_EQ(decode_packet(kLinkEthernet, nullptr, 0, 0, p), DecodeStatus::kTruncated);
}
