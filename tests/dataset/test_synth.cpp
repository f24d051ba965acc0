// The synthetic traffic generator: file names and coverage, determinism, real pcap files that
// agree with the manifest, per-category statistics in the documented ranges
// (docs/synthetic_traffic.md), Tor cell quantisation, VPN coalescing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/synth.hpp"
#include "dataset/synth_capture.hpp"
#include "dataset/synth_process.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::synth;
using flowpic::testing::TempDir;

namespace {

constexpr double kTinyScale = 0.02;  // every capture at its 10 s minimum or a little more

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

SynthReport generate(const std::string& dir, uint64_t seed, double scale = kTinyScale) {
  SynthOptions o;
  o.out_dir = dir;
  o.seed = seed;
  o.scale = scale;
  o.progress = false;
  return generate_synthetic(o);
}

// A packet read back from a pcap by this test's own parser (independent of dataset/decode).
struct ReadPacket {
  int64_t t_ns;
  uint8_t version, protocol;
  std::string src, dst;
  uint16_t sport, dport;
  uint32_t ip_length, payload;
  uint8_t flags;
  bool ip_checksum_ok = true, l4_checksum_ok = true;
};

uint32_t csum_acc(const uint8_t* p, size_t n, uint32_t acc) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) acc += uint32_t(p[n - 1]) << 8;
  return acc;
}
bool csum_ok(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return acc == 0xFFFF;
}

std::string addr_str(int version, const uint8_t* p) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(version == 4 ? AF_INET : AF_INET6, p, buf, sizeof buf);
  return buf;
}

std::vector<ReadPacket> read_pcap(const std::string& path, int* precision = nullptr) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) throw std::runtime_error(std::string("cannot open ") + path + ": " + err);
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  if (precision) {  // the file's own resolution, from its magic number
    std::string head = read_all(path).substr(0, 4);
    uint32_t magic = 0;
    std::memcpy(&magic, head.data(), 4);
    *precision = magic == 0xa1b23c4du   ? PCAP_TSTAMP_PRECISION_NANO
                 : magic == 0xa1b2c3d4u ? PCAP_TSTAMP_PRECISION_MICRO
                                        : -1;
  }
  std::vector<ReadPacket> out;
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(p, &h, &d) == 1) {
    EXPECT_EQ(h->caplen, h->len) << "full packets are written";
    ReadPacket r{};
    r.t_ns = int64_t(h->ts.tv_sec) * 1000000000LL + h->ts.tv_usec;
    uint16_t type = uint16_t(d[12] << 8 | d[13]);
    const uint8_t* ip = d + 14;
    const uint8_t *src, *dst;
    uint32_t iph;
    if (type == 0x0800) {
      r.version = 4;
      iph = (ip[0] & 15) * 4u;
      r.ip_length = uint32_t(ip[2] << 8 | ip[3]);
      r.protocol = ip[9];
      src = ip + 12;
      dst = ip + 16;
      r.ip_checksum_ok = csum_ok(csum_acc(ip, iph, 0));
    } else {
      EXPECT_EQ(type, 0x86DD);
      r.version = 6;
      iph = 40;
      r.ip_length = 40u + uint32_t(ip[4] << 8 | ip[5]);
      r.protocol = ip[6];
      src = ip + 8;
      dst = ip + 24;
    }
    EXPECT_EQ(14 + r.ip_length, h->caplen);
    r.src = addr_str(r.version, src);
    r.dst = addr_str(r.version, dst);
    const uint8_t* l4 = ip + iph;
    uint32_t l4len = r.ip_length - iph;
    r.sport = uint16_t(l4[0] << 8 | l4[1]);
    r.dport = uint16_t(l4[2] << 8 | l4[3]);
    uint32_t acc = csum_acc(src, r.version == 4 ? 4 : 16, 0);
    acc = csum_acc(dst, r.version == 4 ? 4 : 16, acc);
    acc += r.protocol + l4len;
    r.l4_checksum_ok = csum_ok(csum_acc(l4, l4len, acc));
    if (r.protocol == 6) {
      r.flags = l4[13];
      r.payload = l4len - (l4[12] >> 4) * 4u;
    } else {
      EXPECT_EQ(uint32_t(l4[4] << 8 | l4[5]), l4len);
      r.payload = l4len - 8;
    }
    out.push_back(r);
  }
  pcap_close(p);
  return out;
}

// Statistics of a capture's non-background packets (the definitions of docs/synthetic_traffic.md).
struct Stats {
  double pps = 0, mean_size = 0, cv_iat = 0, cv_per_second = 0, large_share = 0;
  size_t packets = 0;
};

Stats stats_of(const Trace& tr) {
  std::vector<const Packet*> pk;
  for (const auto& p : tr.packets)
    if (tr.sessions[p.session].role != kRoleBackground) pk.push_back(&p);
  Stats s;
  s.packets = pk.size();
  if (pk.size() < 3) return s;
  double bytes = 0, large = 0;
  for (const Packet* p : pk) {
    uint32_t len = ip_length(tr.sessions[p->session], *p);
    bytes += len;
    large += len >= 1000;
  }
  double span = (pk.back()->t_ns - pk.front()->t_ns) * 1e-9;
  s.pps = pk.size() / span;
  s.mean_size = bytes / pk.size();
  s.large_share = large / pk.size();
  double m = 0, m2 = 0;
  size_t n = pk.size() - 1;
  for (size_t i = 1; i < pk.size(); ++i) m += (pk[i]->t_ns - pk[i - 1]->t_ns) * 1e-9;
  m /= n;
  for (size_t i = 1; i < pk.size(); ++i) {
    double d = (pk[i]->t_ns - pk[i - 1]->t_ns) * 1e-9 - m;
    m2 += d * d;
  }
  s.cv_iat = std::sqrt(m2 / n) / m;
  // Burstiness: coefficient of variation of the packet counts in 1 s bins.
  std::vector<double> bins(static_cast<size_t>(span) + 1, 0.0);
  for (const Packet* p : pk) bins[static_cast<size_t>((p->t_ns - pk.front()->t_ns) * 1e-9)] += 1;
  double bm = 0, bv = 0;
  for (double c : bins) bm += c;
  bm /= bins.size();
  for (double c : bins) bv += (c - bm) * (c - bm);
  s.cv_per_second = std::sqrt(bv / bins.size()) / bm;
  return s;
}

CaptureSpec spec_for(const std::string& name, double duration_s, uint64_t seed = 5) {
  for (CaptureSpec s : plan_captures("small", 1.0, seed))
    if (s.name == name) {
      s.duration_s = duration_s;
      return s;
    }
  throw std::runtime_error("no capture " + name);
}

}  // namespace

TEST(SynthPlan, NamesMirrorIscxAndCoverTableI) {
  auto specs = plan_captures("small", 1.0, 1);
  std::set<std::string> names;
  for (const auto& s : specs) EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
  for (const char* n :
       {"skype_audio1a.pcap", "youtube1.pcap", "scpDown1.pcap", "vpn_skype_audio1.pcap", "vpn_netflix_A.pcap",
        "VOIP_gate_Skype_Audio.pcap", "CHAT_gate_ICQ_chat.pcap", "browsing.pcap", "SSL_Browsing.pcap"})
    EXPECT_TRUE(names.count(n)) << n;
  // Reference Table I, category x encapsulation -> applications.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> got;
  for (const auto& s : specs) got[{category_name(s.category), encap_name(s.encap)}].insert(s.application);
  using S = std::set<std::string>;
  EXPECT_EQ((got[{"VoIP", "Non-VPN"}]), (S{"Hangouts", "Facebook", "VoipBuster", "Skype"}));
  EXPECT_EQ((got[{"VoIP", "VPN"}]), (S{"Hangouts", "VoipBuster", "Skype"}));
  EXPECT_EQ((got[{"VoIP", "Tor"}]), (S{"Hangouts", "Facebook", "Skype"}));
  EXPECT_EQ((got[{"Video", "Non-VPN"}]), (S{"Hangouts", "Facebook", "Netflix", "Vimeo", "YouTube", "Skype"}));
  EXPECT_EQ((got[{"Video", "VPN"}]), (S{"Netflix", "Vimeo", "YouTube"}));
  EXPECT_EQ((got[{"Video", "Tor"}]), (S{"Vimeo", "YouTube"}));
  EXPECT_EQ((got[{"File Transfer", "Non-VPN"}]), (S{"FTPS", "SCP", "SFTP", "Skype"}));
  EXPECT_EQ((got[{"File Transfer", "VPN"}]), (S{"FTPS", "SFTP", "Skype"}));
  EXPECT_EQ((got[{"File Transfer", "Tor"}]), (S{"FTP", "SFTP", "Skype"}));
  for (const char* e : {"Non-VPN", "VPN", "Tor"})
    EXPECT_TRUE((got[{"Chat", e}]).count("ICQ") && (got[{"Chat", e}]).count("AIM")) << e;
  EXPECT_EQ((got[{"Browsing", "Non-VPN"}]), (S{"Firefox", "Chrome"}));
  EXPECT_EQ((got[{"Browsing", "Tor"}]), (S{"Firefox", "Chrome"}));
  EXPECT_EQ(got.count({"Browsing", "VPN"}), 0u);
}

TEST(SynthPlan, PaperPresetFollowsTableTwo) {
  // Per category and encapsulation, the capture time is the paper's block count x 60 s.
  std::map<std::pair<std::string, std::string>, double> minutes;
  for (const auto& s : plan_captures("paper", 1.0, 1))
    minutes[{category_name(s.category), encap_name(s.encap)}] += s.duration_s / 60;
  EXPECT_NEAR((minutes[{"VoIP", "Non-VPN"}]), 3304, 1e-6);
  EXPECT_NEAR((minutes[{"Video", "VPN"}]), 302, 1e-6);
  EXPECT_NEAR((minutes[{"File Transfer", "Tor"}]), 1126, 1e-6);
  EXPECT_NEAR((minutes[{"Chat", "VPN"}]), 1061, 1e-6);
  EXPECT_NEAR((minutes[{"Browsing", "Tor"}]), 2026, 1e-6);
  EXPECT_THROW(plan_captures("huge", 1.0, 1), Error);
  EXPECT_THROW(plan_captures("small", -1.0, 1), Error);
}

TEST(SynthDeterminism, SameSeedGivesIdenticalBytesAndAnotherSeedDiffers) {
  TempDir a, b, c;
  SynthReport ra = generate(a.path(), 7), rb = generate(b.path(), 7), rc = generate(c.path(), 8);
  ASSERT_EQ(ra.files, rb.files);
  EXPECT_EQ(ra.packets, rb.packets);
  json manifest = load_json_file(a.file("manifest.json"));
  EXPECT_EQ(read_all(a.file("manifest.json")), read_all(b.file("manifest.json")));
  size_t differ = 0;
  for (const auto& f : manifest["files"]) {
    std::string name = f["name"].get<std::string>();
    std::string x = read_all(a.path() + "/captures/" + name);
    ASSERT_FALSE(x.empty()) << name;
    EXPECT_EQ(x, read_all(b.path() + "/captures/" + name)) << name << " differs between two runs with seed 7";
    differ += x != read_all(c.path() + "/captures/" + name);
  }
  EXPECT_EQ(differ, manifest["files"].size()) << "seed 8 should change every capture";
  EXPECT_TRUE(manifest["synthetic"].get<bool>());
  EXPECT_EQ(manifest["seed"].get<uint64_t>(), 7u);
  EXPECT_EQ(manifest["preset"].get<std::string>(), "small");
  EXPECT_EQ(manifest["generator_version"].get<int>(), kGeneratorVersion);
  EXPECT_NE(read_all(a.file("README.md")).find("synthetic"), std::string::npos);
}

TEST(SynthPcap, CapturesReadBackWithLibpcapMatchTheManifest) {
  TempDir dir;
  generate(dir.path(), 3);
  json manifest = load_json_file(dir.file("manifest.json"));
  bool saw_v6 = false, saw_nano = false, saw_micro = false;
  for (const auto& f : manifest["files"]) {
    const std::string name = f["name"].get<std::string>();
    SCOPED_TRACE(name);
    int precision = -1;
    auto pk = read_pcap(dir.path() + "/captures/" + name, &precision);
    ASSERT_EQ(pk.size(), f["packets"].get<size_t>());
    bool nano = f["tstamp_precision"] == "nano";
    EXPECT_EQ(precision, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    (nano ? saw_nano : saw_micro) = true;
    // Sessions by (proto, a, port a, b, port b) as the manifest lists them.
    using Key = std::tuple<int, std::string, int, std::string, int>;
    struct Seen {
      uint64_t packets = 0, packets_a = 0, ip_bytes = 0;
      int64_t first = 0, last = 0, max_gap = 0;
      bool first_from_a = false, starts_with_syn = false;
    };
    std::map<Key, Seen> seen;
    uint64_t ip_bytes = 0;
    int64_t prev_t = 0;
    for (const auto& p : pk) {
      EXPECT_TRUE(p.ip_checksum_ok);
      EXPECT_TRUE(p.l4_checksum_ok);
      EXPECT_GE(p.t_ns, prev_t) << "packets are in time order";
      if (!nano) {
        EXPECT_EQ(p.t_ns % 1000, 0);
      }
      prev_t = p.t_ns;
      ip_bytes += p.ip_length;
      Key fwd{p.protocol, p.src, p.sport, p.dst, p.dport}, rev{p.protocol, p.dst, p.dport, p.src, p.sport};
      bool is_rev = !seen.count(fwd) && seen.count(rev);
      Seen& s = seen[is_rev ? rev : fwd];
      if (s.packets == 0) {
        s.first = p.t_ns;
        s.first_from_a = true;
        s.starts_with_syn = p.protocol == 6 && (p.flags & (kSyn | kAck)) == kSyn;
      } else {
        s.max_gap = std::max(s.max_gap, p.t_ns - s.last);
      }
      s.last = p.t_ns;
      ++s.packets;
      s.packets_a += !is_rev;
      s.ip_bytes += p.ip_length;
      saw_v6 |= p.version == 6;
    }
    EXPECT_EQ(ip_bytes, f["ip_bytes"].get<uint64_t>());
    ASSERT_EQ(seen.size(), f["sessions"].size());
    bool dns = false, ntp = false;
    for (const auto& s : f["sessions"]) {
      Key k{s["protocol"] == "TCP" ? 6 : 17, s["addr_a"].get<std::string>(), s["port_a"].get<int>(),
            s["addr_b"].get<std::string>(), s["port_b"].get<int>()};
      ASSERT_TRUE(seen.count(k)) << s.dump();
      const Seen& g = seen[k];
      EXPECT_EQ(g.packets, s["packets"].get<uint64_t>());
      EXPECT_EQ(g.packets_a, s["packets_a"].get<uint64_t>());
      EXPECT_EQ(g.ip_bytes, s["ip_bytes"].get<uint64_t>());
      EXPECT_EQ(g.first, s["first_time_ns"].get<int64_t>());
      EXPECT_EQ(g.last, s["last_time_ns"].get<int64_t>());
      // What ingestion needs to find exactly these sessions: TCP opens with a SYN from side a,
      // and no session is silent for anything near the 120 s idle timeout.
      if (s["protocol"] == "TCP") {
        EXPECT_TRUE(g.starts_with_syn) << s.dump();
      }
      EXPECT_LT(g.max_gap, 110 * 1000000000LL) << s.dump();
      dns |= s["port_b"] == 53 && s["role"] == kRoleBackground;
      ntp |= s["port_b"] == 123 && s["role"] == kRoleBackground;
    }
    EXPECT_TRUE(dns && ntp) << "background DNS and NTP";
  }
  EXPECT_TRUE(saw_nano && saw_micro) << "both timestamp resolutions are written";
  EXPECT_TRUE(saw_v6) << "some sessions go over IPv6";
}

TEST(SynthTor, AllTrafficIsOneGuardConnectionOfWholeCells) {
  for (const char* name : {"VOIP_gate_Skype_Audio.pcap", "VIDEO_Youtube_HTML5_Gateway.pcap", "CHAT_gate_ICQ_chat.pcap",
                           "FILE-TRANSFER_gate_SFTP_filetransfer.pcap", "BROWSING_gate_SSL_Browsing.pcap"}) {
    SCOPED_TRACE(name);
    Trace tr = generate_capture(spec_for(name, 300));
    std::set<uint32_t> sessions;
    size_t with_payload = 0, quantised = 0;
    for (const auto& p : tr.packets) {
      const Session& s = tr.sessions[p.session];
      if (s.role == kRoleBackground) continue;
      sessions.insert(p.session);
      EXPECT_EQ(s.role, kRoleTor);
      EXPECT_EQ(s.protocol, 6);
      EXPECT_TRUE(s.port_b == 9001 || s.port_b == 443);
      if (p.payload == 0) continue;
      ++with_payload;
      uint32_t cells = (p.payload - kTlsRecordOverhead) / kTorCellBytes;
      quantised += p.payload >= kTlsRecordOverhead + kTorCellBytes &&
                   p.payload == kTlsRecordOverhead + cells * kTorCellBytes && cells <= 2;
    }
    EXPECT_EQ(sessions.size(), 1u);
    // Only the TLS and link handshakes (about ten records) are not whole cells.
    EXPECT_GE(quantised + 12, with_payload);
    EXPECT_GT(with_payload, 40u);
  }
}

TEST(SynthVpn, FlowsAreCoalescedIntoOneTunnelWithHeaderOverhead) {
  for (const char* name : {"vpn_skype_audio1.pcap", "vpn_netflix_A.pcap", "vpn_sftp_A.pcap", "vpn_icq_chat1a.pcap",
                           "vpn_bittorrent.pcap"}) {
    SCOPED_TRACE(name);
    Trace tr = generate_capture(spec_for(name, 300));
    std::set<uint32_t> sessions;
    size_t with_payload = 0, encrypted_form = 0;
    for (const auto& p : tr.packets) {
      const Session& s = tr.sessions[p.session];
      if (s.role == kRoleBackground) continue;
      sessions.insert(p.session);
      EXPECT_EQ(s.role, kRoleTunnel);
      EXPECT_TRUE((s.protocol == 17 && s.port_b == 1194) || (s.protocol == 6 && s.port_b == 443));
      EXPECT_LE(ip_length(s, p), 1500u);
      if (p.payload == 0) continue;
      // Data packets: header overhead (37 bytes, +2 over TCP) and a whole number of cipher blocks.
      uint32_t fixed = s.protocol == 6 ? 39 : 37;
      ++with_payload;
      encrypted_form += p.payload >= fixed + 32 && (p.payload - fixed) % 16 == 0;
    }
    EXPECT_EQ(sessions.size(), 1u) << "every application flow rides the one tunnel";
    // Only the control-channel handshake (14 packets) is not of the data form; pings are.
    EXPECT_GE(encrypted_form + 14, with_payload);
    EXPECT_GT(with_payload, 40u);
  }
  EXPECT_EQ(vpn_payload_bytes(40, false), 85u);  // 40-byte inner ACK: +45 payload, +73 on the wire with UDP/IPv4
  EXPECT_EQ(vpn_payload_bytes(1400, false) + 28, 1473u);
}

TEST(SynthStats, CategoryStatisticsFallInTheDocumentedRanges) {
  // docs/synthetic_traffic.md, "Statistics": per Non-VPN capture of 300 s, over its
  // non-background packets: packets per second, mean IP size, burstiness (coefficient of variation
  // of the packet counts in 1 s bins) and share of packets of 1000 bytes or more; by process.
  struct Range {
    double pps_lo, pps_hi, size_lo, size_hi, burst_lo, burst_hi, large_lo, large_hi;
  };
  const std::map<std::string, Range> ranges = {
      {"voip_call", {30, 160, 70, 220, 0, 0.8, 0, 0.02}},
      {"video_call", {60, 300, 300, 700, 0, 0.8, 0.03, 0.35}},
      {"video_stream", {25, 250, 800, 1200, 1.0, 4, 0.5, 0.75}},
      {"bulk_transfer", {50, 400, 850, 1200, 0, 0.8, 0.55, 0.75}},
      {"chat", {0.05, 2, 80, 400, 2, 10, 0, 0.12}},
      {"browsing", {2, 100, 400, 1200, 2.5, 12, 0.2, 0.8}},
  };
  for (uint64_t seed : {11, 12, 13}) {
    for (const auto& spec : plan_captures("small", 1.0, seed)) {
      std::string model = process_name(app_model(spec.category, spec.application).params);
      if (spec.encap != Encap::kNonVpn || spec.category == Category::kEmail || spec.category == Category::kP2p)
        continue;
      ASSERT_TRUE(ranges.count(model)) << model;
      CaptureSpec s = spec;
      s.duration_s = 300;
      Stats st = stats_of(generate_capture(s));
      const Range& r = ranges.at(model);
      if (seed == 11)
        std::printf("  %-14s %-22s pps %7.2f  mean %6.1f  cv(iat) %6.2f  burstiness %5.2f  large %.3f\n",
                    category_name(spec.category), spec.name.c_str(), st.pps, st.mean_size, st.cv_iat, st.cv_per_second,
                    st.large_share);
      SCOPED_TRACE(spec.name + " seed " + std::to_string(seed));
      EXPECT_GE(st.pps, r.pps_lo);
      EXPECT_LE(st.pps, r.pps_hi);
      EXPECT_GE(st.mean_size, r.size_lo);
      EXPECT_LE(st.mean_size, r.size_hi);
      EXPECT_GE(st.cv_per_second, r.burst_lo);
      EXPECT_LE(st.cv_per_second, r.burst_hi);
      EXPECT_GE(st.large_share, r.large_lo);
      EXPECT_LE(st.large_share, r.large_hi);
    }
  }
}
