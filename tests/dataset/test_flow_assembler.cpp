// FlowAssembler: initiator, directions, idle timeout, TCP FIN/RST/SYN splits, out-of-order times.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "dataset/flow_assembler.hpp"
#include "support/pcap_writer.hpp"

using namespace flowpic;

namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kBase = 1700000000 * kSec;  // an absolute time in 2023

struct Collected {
  std::vector<FlowRecord> flows;
  FlowAssembler::Sink sink() {
    return [this](FlowRecord& r) { flows.push_back(r); };
  }
};

DecodedPacket packet(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport, uint8_t proto = 6,
                     uint8_t flags = kAck, uint32_t ip_len = 100) {
  DecodedPacket p;
  auto s = flowpic::testing::addr(src), d = flowpic::testing::addr(dst);
  p.ip_version = s.size() == 4 ? 4 : 6;
  std::copy(s.begin(), s.end(), p.src.begin());
  std::copy(d.begin(), d.end(), p.dst.begin());
  p.src_port = sport;
  p.dst_port = dport;
  p.protocol = proto;
  p.tcp_flags = proto == 6 ? flags : 0;
  p.ip_length = ip_len;
  p.payload_length = ip_len - 40;
  return p;
}

// Client 10.0.0.1:5000 <-> server 10.0.0.2:443.
DecodedPacket c2s(uint8_t flags = kAck, uint32_t len = 100) {
  return packet("10.0.0.1", 5000, "10.0.0.2", 443, 6, flags, len);
}
DecodedPacket s2c(uint8_t flags = kAck, uint32_t len = 100) {
  return packet("10.0.0.2", 443, "10.0.0.1", 5000, 6, flags, len);
}

}  // namespace

TEST(FlowAssembler, InitiatorDirectionsAndRelativeTimes) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(c2s(kSyn, 60), kBase);
  a.add(s2c(kSyn | kAck, 60), kBase + 1000);
  a.add(c2s(kAck, 52), kBase + 2500);
  a.add(s2c(kAck | kPsh, 1500), kBase + kSec);
  a.finish();
  ASSERT_EQ(out.flows.size(), 1u);
  const FlowRecord& f = out.flows[0];
  EXPECT_EQ(f.key.to_string(), "10.0.0.1:5000 -> 10.0.0.2:443 TCP");
  EXPECT_EQ(f.direction, (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_EQ(f.ip_length, (std::vector<uint32_t>{60, 60, 52, 1500}));
  EXPECT_EQ(f.tcp_flags[1], kSyn | kAck);
  EXPECT_DOUBLE_EQ(f.time[0], 0.0);
  EXPECT_DOUBLE_EQ(f.time[1], 1e-6);
  EXPECT_DOUBLE_EQ(f.time[3], 1.0);
  EXPECT_DOUBLE_EQ(f.start_time, 1700000000.0);
  EXPECT_EQ(f.view, FlowView::kSession);
}

TEST(FlowAssembler, SynAckFirstMakesItsReceiverTheInitiator) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(s2c(kSyn | kAck), kBase);  // the SYN was not captured
  a.add(c2s(kAck), kBase + 10);
  a.finish();
  ASSERT_EQ(out.flows.size(), 1u);
  EXPECT_EQ(out.flows[0].key.to_string(), "10.0.0.1:5000 -> 10.0.0.2:443 TCP");
  EXPECT_EQ(out.flows[0].direction, (std::vector<uint8_t>{1, 0}));
}

TEST(FlowAssembler, UdpAndIpv6KeysAndSeparateFlows) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(packet("2001:db8::1", 5353, "2001:db8::2", 53, 17), kBase);
  a.add(packet("2001:db8::2", 53, "2001:db8::1", 5353, 17), kBase + 5);
  a.add(packet("10.0.0.1", 5000, "10.0.0.2", 443, 17), kBase + 6);  // UDP, same ports as a TCP flow
  a.add(c2s(), kBase + 7);
  a.finish();
  ASSERT_EQ(out.flows.size(), 3u);
  std::set<std::string> keys;
  for (auto& f : out.flows) keys.insert(f.key.to_string());
  EXPECT_TRUE(keys.count("[2001:db8::1]:5353 -> [2001:db8::2]:53 UDP"));
  EXPECT_TRUE(keys.count("10.0.0.1:5000 -> 10.0.0.2:443 UDP"));
  EXPECT_TRUE(keys.count("10.0.0.1:5000 -> 10.0.0.2:443 TCP"));
}

TEST(FlowAssembler, IdleTimeoutSplits) {
  Collected out;
  FlowOptions o;
  o.idle_timeout_s = 10;
  FlowAssembler a(o, out.sink());
  auto p = packet("10.0.0.1", 1, "10.0.0.2", 2, 17);
  a.add(p, kBase);
  a.add(p, kBase + 10 * kSec);      // exactly the timeout: same flow
  a.add(p, kBase + 20 * kSec + 1);  // just over: new flow
  a.add(p, kBase + 21 * kSec);
  a.finish();
  ASSERT_EQ(out.flows.size(), 2u);
  EXPECT_EQ(out.flows[0].size(), 2u);
  EXPECT_EQ(out.flows[1].size(), 2u);
  EXPECT_NEAR(out.flows[1].start_time - out.flows[0].start_time, 20.0, 1e-6);
}

TEST(FlowAssembler, IdleFlowsAreExpiredWhileReading) {
  // Memory is bounded by open flows: 1000 short flows one after the other never pile up.
  Collected out;
  FlowOptions o;
  o.idle_timeout_s = 1;
  FlowAssembler a(o, out.sink());
  for (int i = 0; i < 1000; ++i) {
    auto p = packet("10.0.0.1", static_cast<uint16_t>(1000 + i), "10.0.0.2", 53, 17);
    a.add(p, kBase + i * 2 * kSec);
    a.add(p, kBase + i * 2 * kSec + 1000);
  }
  EXPECT_LE(a.peak_open_sessions(), 2u);
  a.finish();
  EXPECT_EQ(out.flows.size(), 1000u);
}

TEST(FlowAssembler, FinFromBothSidesThenLinger) {
  Collected out;
  FlowOptions o;
  o.tcp_close_linger_s = 1;
  FlowAssembler a(o, out.sink());
  a.add(c2s(kSyn), kBase);
  a.add(s2c(kSyn | kAck), kBase + 1);
  a.add(c2s(kFin | kAck), kBase + 2);
  a.add(c2s(kAck), kBase + 3);             // half closed: still the same session
  a.add(s2c(kFin | kAck), kBase + 4);      // both FINs: closing
  a.add(c2s(kAck), kBase + 4 + kSec / 2);  // the last ACK, within the linger
  a.add(c2s(kAck), kBase + 4 + 3 * kSec);  // after the linger: a new session
  a.finish();
  ASSERT_EQ(out.flows.size(), 2u);
  EXPECT_EQ(out.flows[0].size(), 6u);
  EXPECT_EQ(out.flows[1].size(), 1u);
}

TEST(FlowAssembler, RstClosesAndSynStartsNewSessionAtOnce) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(c2s(kSyn), kBase);
  a.add(s2c(kRst | kAck), kBase + 100);
  a.add(c2s(kSyn), kBase + 200);  // a new attempt at once, within the linger
  a.add(s2c(kSyn | kAck), kBase + 300);
  a.add(c2s(kAck), kBase + 400);
  a.add(c2s(kAck | kPsh), kBase + 500);
  a.add(c2s(kSyn), kBase + 600);  // port reuse without any close: new session
  a.finish();
  ASSERT_EQ(out.flows.size(), 3u);
  EXPECT_EQ(out.flows[0].size(), 2u);
  EXPECT_EQ(out.flows[1].size(), 4u);
  EXPECT_EQ(out.flows[2].size(), 1u);
}

TEST(FlowAssembler, RetransmittedSynsStayInOneSession) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(c2s(kSyn), kBase);
  a.add(c2s(kSyn), kBase + kSec);
  a.add(c2s(kSyn), kBase + 3 * kSec);
  a.add(s2c(kSyn | kAck), kBase + 3 * kSec + 10);
  a.finish();
  ASSERT_EQ(out.flows.size(), 1u);
  EXPECT_EQ(out.flows[0].size(), 4u);
}

TEST(FlowAssembler, OutOfOrderTimestampsAreSortedAndCounted) {
  Collected out;
  FlowAssembler a(FlowOptions{}, out.sink());
  a.add(c2s(kAck, 101), kBase + 5 * kSec);
  a.add(s2c(kAck, 102), kBase + 2 * kSec);  // older than the first packet: the flow starts here
  a.add(c2s(kAck, 103), kBase + 7 * kSec);
  a.add(s2c(kAck, 104), kBase + 6 * kSec);
  a.add(c2s(kAck, 105), kBase + 6 * kSec);  // equal times keep arrival order
  a.finish();
  ASSERT_EQ(out.flows.size(), 1u);
  const FlowRecord& f = out.flows[0];
  EXPECT_EQ(f.ip_length, (std::vector<uint32_t>{102, 101, 104, 105, 103}));
  EXPECT_EQ(f.time, (std::vector<double>{0, 3, 4, 4, 5}));
  EXPECT_DOUBLE_EQ(f.start_time, 1700000002.0);
  // The initiator is still the sender of the first packet read.
  EXPECT_EQ(f.key.to_string(), "10.0.0.1:5000 -> 10.0.0.2:443 TCP");
  EXPECT_EQ(f.direction, (std::vector<uint8_t>{1, 0, 1, 0, 0}));
  EXPECT_EQ(a.reordered_packets(), 3u);
}

// Thousands of keys, both directions, opening and idling out in random order (the session index
// grows several times and erases in the middle of probe runs): every packet is kept, in time
// order, and every flow holds exactly the packets of its key between two idle gaps, as a plain
// map of keys splits them.
TEST(FlowAssembler, ManyInterleavedFlowsKeepEveryPacket) {
  Collected out;
  FlowOptions o;
  o.idle_timeout_s = 5;
  FlowAssembler a(o, out.sink());
  std::mt19937 rng(7);
  std::map<uint16_t, std::pair<int64_t, uint64_t>> open;  // port -> last time, packets
  std::vector<std::pair<uint16_t, uint64_t>> want;        // (port, packets) of each flow
  uint64_t n = 0;
  int64_t t = kBase;
  for (int i = 0; i < 40000; ++i) {
    t += rng() % (kSec / 100);
    uint16_t port = static_cast<uint16_t>(1000 + rng() % (i < 20000 ? 4000 : 300));
    bool up = rng() & 1;
    auto p = up ? packet("10.0.0.1", port, "10.0.0.2", 80, 17) : packet("10.0.0.2", 80, "10.0.0.1", port, 17);
    a.add(p, t);
    ++n;
    auto it = open.find(port);
    if (it != open.end() && t - it->second.first > 5 * kSec) {
      want.emplace_back(port, it->second.second);
      open.erase(it);
      it = open.end();
    }
    if (it == open.end()) it = open.emplace(port, std::make_pair(t, uint64_t{0})).first;
    it->second.first = t;
    ++it->second.second;
  }
  a.finish();
  for (const auto& [port, last_and_n] : open) want.emplace_back(port, last_and_n.second);
  uint64_t total = 0;
  std::vector<std::pair<uint16_t, uint64_t>> got;
  for (auto& f : out.flows) {
    total += f.size();
    for (size_t i = 1; i < f.size(); ++i) ASSERT_GE(f.time[i], f.time[i - 1]);
    for (size_t i = 1; i < f.size(); ++i) ASSERT_LE(f.time[i] - f.time[i - 1], 5.0 + 1e-9);
    got.emplace_back(f.key.port_a == 80 ? f.key.port_b : f.key.port_a, f.size());
  }
  EXPECT_EQ(total, n);
  EXPECT_EQ(a.open_sessions(), 0u);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_GT(want.size(), 5000u);
  EXPECT_EQ(got, want);
}

namespace flowpic {
namespace {

// The streaming listener: sessions numbered in opening order, packets as they join, and ends with
// their reason; max_open_sessions evicts the least recently active session and counts it.
class Recorder final : public SessionListener {
 public:
  std::vector<std::string> events;
  void opened(uint32_t slot, uint64_t id, const FlowKey& key) override {
    events.push_back("open " + std::to_string(id) + " slot " + std::to_string(slot) + " " + key.to_string());
  }
  void packet(uint32_t slot, const SessionPacket& p) override {
    events.push_back("packet slot " + std::to_string(slot) + " dir " + std::to_string(p.direction));
  }
  void closed(uint32_t slot, uint64_t id, SessionEnd why) override {
    events.push_back("close " + std::to_string(id) + " slot " + std::to_string(slot) + " why " +
                     std::to_string(static_cast<int>(why)));
  }
};

DecodedPacket udp_packet(uint8_t src_last, uint16_t sport, uint16_t dport) {
  DecodedPacket p;
  p.ip_version = 4;
  p.protocol = 17;
  p.src = {10, 0, 0, src_last};
  p.dst = {10, 0, 0, 200};
  p.src_port = sport;
  p.dst_port = dport;
  p.ip_length = 100;
  p.payload_length = 72;
  return p;
}

TEST(FlowAssemblerListener, EvictsTheLeastRecentlyActiveAndCountsIt) {
  FlowOptions o;
  o.max_open_sessions = 2;
  o.idle_timeout_s = 10;
  Recorder r;
  FlowAssembler a(o, &r);
  const int64_t s = 1000000000;
  a.add(udp_packet(1, 1000, 53), 1 * s);  // session 0
  a.add(udp_packet(2, 1000, 53), 2 * s);  // session 1
  a.add(udp_packet(1, 1000, 53), 3 * s);  // session 0 active again: 1 is now the oldest-idle
  a.add(udp_packet(3, 1000, 53), 4 * s);  // session 2 evicts 1
  EXPECT_EQ(a.sessions_ended_early(), 1u);
  EXPECT_EQ(a.open_sessions(), 2u);
  auto swapped = udp_packet(1, 1000, 53);
  std::swap(swapped.src, swapped.dst);
  std::swap(swapped.src_port, swapped.dst_port);
  a.add(swapped, 5 * s);  // session 0's responder
  a.advance(20 * s);      // both idle for more than 10 s
  EXPECT_EQ(a.open_sessions(), 0u);
  const std::vector<std::string> want = {
      "open 0 slot 0 10.0.0.1:1000 -> 10.0.0.200:53 UDP",
      "packet slot 0 dir 0",
      "open 1 slot 1 10.0.0.2:1000 -> 10.0.0.200:53 UDP",
      "packet slot 1 dir 0",
      "packet slot 0 dir 0",
      "close 1 slot 1 why 3",  // evicted
      "open 2 slot 1 10.0.0.3:1000 -> 10.0.0.200:53 UDP",
      "packet slot 1 dir 0",
      "packet slot 0 dir 1",
      "close 2 slot 1 why 0",
      "close 0 slot 0 why 0",  // idle, least recently active first
  };
  EXPECT_EQ(r.events, want);
}

}  // namespace
}  // namespace flowpic

// FlowKey::addr_string writes IPv4 addresses itself (classify prints two per record): the text
// is inet_ntop's for every octet value; IPv6 still goes through inet_ntop.
TEST(FlowKeyText, AddressesAreInetNtopsText) {
  std::mt19937_64 rng(7);
  FlowKey k;
  k.ip_version = 4;
  for (int i = 0; i < 2000; ++i) {
    for (int b = 0; b < 4; ++b)
      k.addr_a[b] = static_cast<uint8_t>(i < 256 ? (b == 0 ? i : b == 1 ? 255 - i : b == 2 ? 0 : 255) : rng());
    char want[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, k.addr_a.data(), want, sizeof want), nullptr);
    ASSERT_EQ(k.addr_string(true), want);
  }
  k.ip_version = 6;
  for (int b = 0; b < 16; ++b) k.addr_b[b] = static_cast<uint8_t>(b == 15 ? 1 : 0);
  EXPECT_EQ(k.addr_string(false), "::1");
}
