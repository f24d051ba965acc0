// WindowStream (windows handed out as sessions stream in) against build_sample_index on the same
// sessions as a store: the same windows, packets and stats; and its memory bounds.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "dataset/packet_store.hpp"
#include "kernels/window_stream.hpp"

namespace flowpic {
namespace {

struct TestSession {
  std::vector<int64_t> ns;
  std::vector<uint32_t> ip, payload;
  std::vector<uint8_t> dir;
};

// Sessions of random lengths (up to 5 minutes), rates and sizes, some with oversize packets.
std::vector<TestSession> random_sessions(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<TestSession> out;
  for (int f = 0; f < count; ++f) {
    TestSession s;
    const int64_t start = 1700000000LL * 1000000000LL + static_cast<int64_t>(rng() % 1000000000000ULL);
    const double length = std::uniform_real_distribution<double>(0.1, 300)(rng);
    const int n = static_cast<int>(rng() % 3000) + 1;
    std::vector<int64_t> t(n);
    for (int i = 0; i < n; ++i)
      t[i] = start + (i == 0 ? 0 : static_cast<int64_t>(std::uniform_real_distribution<double>(0, length)(rng) * 1e9));
    std::sort(t.begin(), t.end());
    if (f % 5 == 0)  // exactly on block ends
      for (int i = 1; i < n; i += 7) t[i] = start + static_cast<int64_t>(15e9) * (i % 4);
    std::sort(t.begin(), t.end());
    for (int i = 0; i < n; ++i) {
      s.ns.push_back(t[i]);
      s.ip.push_back(static_cast<uint32_t>(rng() % 1600) + 40);
      s.payload.push_back(rng() % 4 == 0 ? 0 : static_cast<uint32_t>(rng() % 1400));
      s.dir.push_back(static_cast<uint8_t>(rng() % 3 == 0));
    }
    out.push_back(s);
  }
  return out;
}

PacketStore as_store(const std::vector<TestSession>& sessions) {
  PacketStore st;
  for (const TestSession& s : sessions) {
    st.keys.emplace_back();
    st.start_time.push_back(0);
    st.source.push_back(0);
    st.view.push_back(FlowView::kSession);
    for (size_t i = 0; i < s.ns.size(); ++i) {
      st.time.push_back(static_cast<double>(s.ns[i] - s.ns[0]) * 1e-9);
      st.ip_length.push_back(s.ip[i]);
      st.payload_length.push_back(s.payload[i]);
      st.direction.push_back(s.dir[i]);
      st.tcp_flags.push_back(0);
    }
    st.offsets.push_back(st.time.size());
  }
  return st;
}

// A handed-out window's packets, copied (they are valid during the call only).
std::vector<WindowPacket> copy_packets(const CompletedWindow& w) { return {w.packets, w.packets + w.size}; }
std::vector<double> times(const std::vector<WindowPacket>& p) {
  std::vector<double> t;
  for (const WindowPacket& x : p) t.push_back(x.time);
  return t;
}

struct Streamed {
  std::vector<Sample> samples;  // flow = session index
  std::vector<std::vector<WindowPacket>> packets;
  SampleIndexStats stats;
  uint64_t peak = 0;
};

// Sessions interleaved (one packet of each in turn), as a capture would bring them.
Streamed stream(const std::vector<TestSession>& sessions, const RepresentationConfig& rep) {
  Streamed out;
  WindowStream ws(rep, [&](CompletedWindow& w) {
    Sample s = w.sample;
    s.flow = w.slot;
    out.samples.push_back(s);
    out.packets.push_back(copy_packets(w));
  });
  std::vector<size_t> next(sessions.size(), 0);
  for (uint32_t f = 0; f < sessions.size(); ++f) ws.open(f, sessions[f].ns[0]);
  for (bool any = true; any;) {
    any = false;
    for (uint32_t f = 0; f < sessions.size(); ++f) {
      const TestSession& s = sessions[f];
      if (next[f] == s.ns.size()) continue;
      const size_t i = next[f]++;
      ws.packet(f, s.ns[i], s.ip[i], s.payload[i], s.dir[i], 0);
      any = true;
      if (next[f] == s.ns.size()) ws.close(f);
    }
  }
  out.stats = ws.stats();
  out.peak = ws.counters().peak_buffered_packets;
  EXPECT_EQ(ws.counters().buffered_packets, 0u);
  EXPECT_EQ(ws.counters().late_packets, 0u);
  return out;
}

void expect_same(const std::vector<TestSession>& sessions, const std::string& rep_json) {
  SCOPED_TRACE(rep_json);
  const RepresentationConfig rep = RepresentationConfig::parse(rep_json, "test");
  const PacketStore store = as_store(sessions);
  const SampleIndex index = build_sample_index(store, rep);
  Streamed st = stream(sessions, rep);
  EXPECT_EQ(st.stats.to_json(), index.stats.to_json());
  ASSERT_EQ(st.samples.size(), index.samples.size());
  // The stream hands windows out in completion order: match them by (flow, direction, index).
  std::map<std::tuple<uint32_t, uint8_t, uint32_t>, size_t> by_key;
  for (size_t i = 0; i < st.samples.size(); ++i)
    by_key[{st.samples[i].flow, st.samples[i].direction, st.samples[i].index}] = i;
  for (const Sample& want : index.samples) {
    auto it = by_key.find({want.flow, want.direction, want.index});
    ASSERT_NE(it, by_key.end()) << "flow " << want.flow << " window " << want.index;
    const Sample& got = st.samples[it->second];
    const std::vector<WindowPacket>& p = st.packets[it->second];
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.packets, want.packets);
    EXPECT_EQ(got.window.t0, want.window.t0);
    EXPECT_EQ(got.window.duration, want.window.duration);
    EXPECT_EQ(got.window.directions, want.window.directions);
    EXPECT_EQ(got.origin, want.origin);
    // The window's packets: those of the store's window in its directions (and size axis, "drop").
    std::vector<double> expect_t;
    std::vector<uint32_t> expect_ip, expect_payload, got_ip, got_payload;
    std::vector<uint8_t> expect_dir, got_dir;
    for (uint64_t q = want.window.begin; q < want.window.end; ++q) {
      if (!(want.window.directions & (1u << store.direction[q]))) continue;
      if (rep.type == RepresentationConfig::Type::kFlowPic && rep.flowpic.image.oversize == OversizeRule::kDrop &&
          store.ip_length[q] > rep.flowpic.image.max_size)
        continue;
      expect_t.push_back(store.time[q]);
      expect_ip.push_back(store.ip_length[q]);
      expect_payload.push_back(store.payload_length[q]);
      expect_dir.push_back(store.direction[q]);
    }
    for (const WindowPacket& x : p) {
      got_ip.push_back(x.ip_length);
      got_payload.push_back(x.payload_length);
      got_dir.push_back(x.direction);
    }
    EXPECT_EQ(times(p), expect_t);
    EXPECT_EQ(got_ip, expect_ip);
    EXPECT_EQ(got_payload, expect_payload);
    EXPECT_EQ(got_dir, expect_dir);
  }
}

TEST(WindowStream, SameWindowsAsTheSampleIndex) {
  const std::vector<TestSession> sessions = random_sessions(7, 40);
  for (const char* rep : {
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "packets_more_than": 2})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 60})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "blocks": "first", "flow_view": "bidirectional"})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "blocks": "first", "max_size": 1500,
               "oversize": "clip", "flow_view": "bidirectional", "channels": "per_direction"})",
           R"({"type": "flowpic", "resolution": 64, "block_s": 30, "stride_s": 10, "blocks": "complete"})",
           R"({"type": "flowpic", "resolution": 64, "block_s": 60, "blocks": "first_and_complete",
               "time_axis": "span", "span_more_than_s": 5})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "stride_s": 20, "block_end": "open"})",
           R"({"type": "payload_image", "side": 8})",
           R"({"type": "payload_image", "side": 4, "subflows": "all", "min_sizes": 5})",
       })
    expect_same(sessions, rep);
}

// Blocks whose packets all lie near or on their end, between sparse ones: finalize_block reads
// the buffer only where the view's first live and newest packet times leave the block's packets
// in doubt, and these put them on the edges of that doubt. Both block ends, gaps between blocks
// (stride 20 > 15) and overlaps (stride 10 < 30).
TEST(WindowStream, BlocksWithPacketsOnlyAtTheirEnd) {
  const int64_t t0 = 1700000000LL * 1000000000LL;
  auto session = [&](std::vector<double> at, int variant) {
    TestSession s;
    for (size_t i = 0; i < at.size(); ++i) {
      s.ns.push_back(t0 + static_cast<int64_t>(std::llround(at[i] * 1e9)));
      s.ip.push_back(100 + static_cast<uint32_t>(i));
      s.payload.push_back(50);
      s.dir.push_back(static_cast<uint8_t>(variant & i & 1));
    }
    return s;
  };
  std::vector<TestSession> sessions;
  for (int variant = 0; variant < 4; ++variant) {
    std::vector<double> at = {0, 14.5, 14.9, 14.99, 15.0, 15.0, 29.999, 30.0, 30.0, 30.0, 59.95, 60.0, 74.9, 75, 200};
    for (double& t : at) t += variant * 0.001;  // on the ends, and just past them
    sessions.push_back(session(at, variant));
  }
  // Block [30, 45]'s only packets on its end (45 s: exact in double after the ns to s conversion),
  // and block [10, 40)'s in its last second.
  sessions.push_back(session({0, 1, 2, 3, 45, 45, 45, 46, 100}, 0));
  sessions.push_back(session({0, 39.5, 39.6, 39.7, 41, 100}, 0));
  for (const char* rep : {
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "packets_more_than": 2})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "packets_more_than": 0, "block_end": "open"})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 15, "stride_s": 20, "packets_more_than": 1})",
           R"({"type": "flowpic", "resolution": 32, "block_s": 30, "stride_s": 10, "packets_more_than": 2,
               "block_end": "open", "flow_view": "bidirectional"})",
       })
    expect_same(sessions, rep);

  // An empty block followed by packets in the gap before the next block's start: they are
  // dropped when the empty block is handed out, not kept until the next one is.
  const RepresentationConfig gaps = RepresentationConfig::parse(
      R"({"type": "flowpic", "resolution": 32, "block_s": 15, "stride_s": 20, "flow_view": "bidirectional"})", "test");
  WindowStream ws(gaps, [](CompletedWindow&) {});
  ws.open(0, t0);
  for (double t : {0.0, 36.0, 37.0}) ws.packet(0, t0 + static_cast<int64_t>(t * 1e9), 100, 50, 0, 0);
  EXPECT_EQ(ws.counters().buffered_packets, 1u);  // 36 ends [20, 35], empty, and goes (before 40); 37 waits
  ws.packet(0, t0 + 60000000000LL, 100, 50, 0, 0);
  EXPECT_EQ(ws.counters().buffered_packets, 1u);  // 60 ends [40, 55]: 37 goes, 60 waits
  ws.close(0);
}

// Memory: a 10-minute session at 100 packets/s keeps one 60 s block's packets at most; with the
// first 15 s only, none once they are handed out.
TEST(WindowStream, KeepsOnlyWhatPendingWindowsNeed) {
  TestSession s;
  for (int i = 0; i < 60000; ++i) {
    s.ns.push_back(int64_t{1700000000} * 1000000000 + int64_t{i} * 10000000);
    s.ip.push_back(100);
    s.payload.push_back(60);
    s.dir.push_back(0);
  }
  Streamed blocks =
      stream({s}, RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 32, "block_s": 60})", "t"));
  EXPECT_EQ(blocks.samples.size(), 10u);
  EXPECT_LE(blocks.peak, 6002u);  // 60 s x 100/s, plus the packet exactly at the end
  Streamed first = stream({s}, RepresentationConfig::parse(
                                   R"({"type": "flowpic", "resolution": 32, "block_s": 15, "blocks": "first"})", "t"));
  EXPECT_EQ(first.samples.size(), 1u);
  EXPECT_LE(first.peak, 1502u);

  // Handed out once the session's time is past the block end, before the session closes.
  const RepresentationConfig rep =
      RepresentationConfig::parse(R"({"type": "flowpic", "resolution": 32, "block_s": 15, "blocks": "first"})", "t");
  size_t emitted = 0;
  WindowStream ws(rep, [&](CompletedWindow&) { ++emitted; });
  ws.open(0, s.ns[0]);
  for (int i = 0; i < 1500; ++i) ws.packet(0, s.ns[i], 100, 60, 0, 0);  // up to 14.99 s
  EXPECT_EQ(emitted, 0u);
  ws.advance(s.ns[0] + 15000000001);  // the clock passes the end (live): the window is complete
  EXPECT_EQ(emitted, 1u);
  EXPECT_EQ(ws.counters().buffered_packets, 0u);
  for (int i = 1500; i < 3000; ++i) ws.packet(0, s.ns[i], 100, 60, 0, 0);
  EXPECT_EQ(ws.counters().buffered_packets, 0u);
  ws.close(0);
  EXPECT_EQ(emitted, 1u);
  EXPECT_EQ(ws.stats().samples, 1u);
}

// Out of order: a packet older than the newest goes in time order while its window is pending; one
// for a window already handed out is counted and left out.
TEST(WindowStream, OutOfOrderPackets) {
  const RepresentationConfig rep = RepresentationConfig::parse(
      R"({"type": "flowpic", "resolution": 32, "block_s": 10, "packets_more_than": 0})", "t");
  std::vector<std::vector<double>> got;
  WindowStream ws(rep, [&](CompletedWindow& w) { got.push_back(times(copy_packets(w))); });
  const int64_t s = int64_t{1} << 60, sec = 1000000000;
  ws.open(0, s);
  ws.packet(0, s, 100, 10, 0, 0);
  ws.packet(0, s + 3 * sec, 100, 10, 0, 0);
  ws.packet(0, s + 2 * sec, 100, 10, 0, 0);   // reordered within block 0
  ws.packet(0, s + 12 * sec, 100, 10, 0, 0);  // block 0 complete
  ws.packet(0, s + 5 * sec, 100, 10, 0, 0);   // late: block 0 is gone
  ws.close(0);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::vector<double>{0, 2, 3}));
  EXPECT_EQ(got[1], (std::vector<double>{12}));
  EXPECT_EQ(ws.counters().late_packets, 1u);
}

}  // namespace
}  // namespace flowpic
