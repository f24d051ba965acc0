// Writes the seed corpus of every fuzz target into <dir>/<target>/, from the same builders the
// GoogleTest suites use: small valid captures of each link type (pcap micro/nano, pcapng), CSV
// lines, the shipped label maps, configs and models, and a small store, result and weights file.
//   usage: make_seeds <dir> <source dir>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "dataset/label_map.hpp"
#include "dataset/packet_store.hpp"
#include "experiments/results.hpp"
#include "fuzz/decode_links.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/weights.hpp"
#include "support/pcap_writer.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

std::string g_dir, g_src;

std::string base(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }

std::string put(const std::string& target, const std::string& name, const std::string& bytes) {
  std::string d = g_dir + "/" + target;
  mkdir(d.c_str(), 0755);
  std::string p = d + "/seed_" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}
std::string put(const std::string& target, const std::string& name, const Bytes& b) {
  return put(target, name, std::string(b.begin(), b.end()));
}
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

constexpr int64_t kBase = 1700000000LL * 1000000000LL;

template <typename Wrap>
std::vector<TestPacket> conversation(Wrap wrap, bool v6) {
  std::vector<TestPacket> v;
  int64_t t = kBase;
  auto ip = [&](bool up, const Bytes& l4, uint8_t proto) {
    return v6 ? (up ? ipv6("2001:db8::1", "2001:db8::2", proto, l4) : ipv6("2001:db8::2", "2001:db8::1", proto, l4))
              : (up ? ipv4("10.0.0.1", "10.0.0.2", proto, l4) : ipv4("10.0.0.2", "10.0.0.1", proto, l4));
  };
  auto tcp_pkt = [&](bool up, uint8_t f, size_t n) {
    v.push_back({t, wrap(ip(up, up ? tcp(5555, 443, f, n) : tcp(443, 5555, f, n), 6))});
    t += 1000000;
  };
  tcp_pkt(true, kSyn, 0);
  tcp_pkt(false, kSyn | kAck, 0);
  tcp_pkt(true, kAck, 0);
  tcp_pkt(true, kAck | kPsh, 20);
  tcp_pkt(false, kAck | kPsh, 60);
  v.push_back({t, wrap(ip(true, udp(53000, 53, 12), 17))});
  v.push_back({t + 5, wrap(ip(false, udp(53, 53000, 30), 17))});
  tcp_pkt(true, kFin | kAck, 0);
  tcp_pkt(false, kFin | kAck, 0);
  tcp_pkt(true, kAck, 0);
  return v;
}

void capture_seeds() {
  const std::string tmp = g_dir + "/tmp.pcap";
  struct Link {
    const char* name;
    int type;
    std::function<Bytes(const Bytes&)> wrap;
    bool decapsulate = false;  // decode seeds: with IP-in-IP decapsulation on
  };
  auto family = [](const Bytes& ip) { return (ip[0] >> 4) == 6 ? 10u : 2u; };
  std::vector<Link> links = {
      {"ethernet", 1, [](const Bytes& ip) { return ether_ip(ip); }},
      {"vlan", 1,
       [](const Bytes& ip) {
         return ether_ip(ip, {0x8100, 0x88A8});
       }},
      {"sll", 113, [](const Bytes& ip) { return sll((ip[0] >> 4) == 6 ? 0x86DD : 0x0800, ip); }},
      {"sll2", 276, [](const Bytes& ip) { return sll2((ip[0] >> 4) == 6 ? 0x86DD : 0x0800, ip); }},
      {"raw", 101, [](const Bytes& ip) { return ip; }},
      {"null", 0, [&](const Bytes& ip) { return loopback(family(ip), ip, false); }},
      {"loop", 108, [&](const Bytes& ip) { return loopback(family(ip), ip, true); }},
      // PPPoE under two VLAN tags, PPP (with and without address/control and protocol compression),
      // PPP in HDLC framing, Cisco HDLC, PPI around Ethernet, IP-in-IP (decoded with decapsulation).
      {"pppoe", 1,
       [](const Bytes& ip) {
         return ethernet(0x8864, pppoe_session((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip), {0x88A8, 0x8100});
       }},
      {"ppp", 9, [](const Bytes& ip) { return ppp((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip); }},
      {"ppp_pfc", 9, [](const Bytes& ip) { return ppp((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip, false, true); }},
      {"ppp_hdlc", 50, [](const Bytes& ip) { return ppp((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip); }},
      {"ppp_dir", 204, [](const Bytes& ip) { return cat(Bytes{1}, ppp((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip)); }},
      {"ppp_ether", 51, [](const Bytes& ip) { return pppoe_session((ip[0] >> 4) == 6 ? 0x57 : 0x21, ip); }},
      {"c_hdlc", 104, [](const Bytes& ip) { return cisco_hdlc((ip[0] >> 4) == 6 ? 0x86DD : 0x0800, ip); }},
      {"ppi", 192, [](const Bytes& ip) { return ppi(1, ether_ip(ip), 20); }},
      {"ipip", 1,
       [](const Bytes& ip) { return ether_ip(ipv4("192.0.2.1", "192.0.2.2", (ip[0] >> 4) == 6 ? 41 : 4, ip)); }, true},
      {"ipip_nested", 101,
       [](const Bytes& ip) {
         Bytes in6 = ipv6("2001:db8:ff::1", "2001:db8:ff::2", (ip[0] >> 4) == 6 ? 41 : 4, ip, {{60, 8}});
         return ipv4("192.0.2.1", "192.0.2.2", 41, in6);
       },
       true},
  };
  for (const auto& l : links) {
    for (bool v6 : {false, true}) {
      auto pk = conversation(l.wrap, v6);
      std::string n = std::string(l.name) + (v6 ? "_v6" : "_v4");
      const int dlt = l.type == 101 ? 12 : l.type;  // libpcap's dump API takes DLT_RAW for raw IP
      write_pcap(tmp, dlt, pk, false);
      put("capture", n + "_usec.pcap", read_bytes(tmp));
      write_pcap(tmp, dlt, pk, true);
      put("capture", n + "_nsec.pcap", read_bytes(tmp));
      put("capture", n + ".pcapng", pcapng_bytes(l.type, pk, true));
      // Raw frames for the decoder: link selector, extra wire bytes, frames separated by ff fe.
      Bytes d{fuzz::decode_selector(l.type, l.decapsulate), 0};
      for (size_t i = 0; i < pk.size(); ++i) {
        if (i) d.insert(d.end(), {0xff, 0xfe});
        d.insert(d.end(), pk[i].bytes.begin(), pk[i].bytes.end());
      }
      put("decode", n, d);
    }
  }
  // IPv6 extension headers and a fragment, IPv4 options, ARP.
  std::vector<TestPacket> odd = {
      {kBase, ether_ip(ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1, 2, kSyn, 0), {{0}, {60, 16}, {44}}))},
      {kBase + 1, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2, kAck, 10, 12), 8))},
      {kBase + 2, arp()},
      {kBase + 3, ether_ip(ipv4("10.0.0.1", "10.0.0.2", 1, icmp_echo(8)))},
  };
  // The new link layers' control traffic: PPPoE discovery, LCP, SLARP, PPI around 802.11.
  const std::vector<std::pair<int, Bytes>> control = {
      {1, pppoe_padi()},
      {1, ethernet(0x8864, pppoe_session(0xc021, lcp_configure_request()), {0x8100})},
      {9, ppp(0xc021, lcp_configure_request())},
      {104, slarp_keepalive()},
      {192, ppi(105, Bytes(40, 0), 20)},
  };
  for (const auto& [link, frame] : control) {
    Bytes c{fuzz::decode_selector(link), 0};
    put("decode", "control_" + std::to_string(link) + "_" + std::to_string(frame.size()), cat(c, frame));
  }
  write_pcap(tmp, 1, odd, true);
  put("capture", "odd.pcap", read_bytes(tmp));
  Bytes d{1, 0};
  for (size_t i = 0; i < odd.size(); ++i) {
    if (i) d.insert(d.end(), {0xff, 0xfe});
    d.insert(d.end(), odd[i].bytes.begin(), odd[i].bytes.end());
  }
  put("decode", "odd", d);
  std::remove(tmp.c_str());
}

void csv_seeds() {
  put("csv", "tcp.csv",
      "vpn_skype_audio1,10.8.8.178,52436,192.168.1.1,443,TCP,1458324575.123456,3,0.0,0.5,1.25,,60,1400,52\r\n");
  put("csv", "udp_v6.csv", "facebook_chat_4a,2001:db8::1,5000,2001:db8::2,53,UDP,1.5,2,0,0.25,,100,200,\n");
  put("csv", "reordered.csv",
      "a,1.2.3.4,1,5.6.7.8,2,6,10,4,0.5,0.1,0.3,0.2,,1,2,3,4\nb,1.2.3.4,1,5.6.7.8,2,17,0,1,0,,9\n");
}

void ucdavis_seeds() {
  put("ucdavis", "flow.txt",
      "1600000000.100000000\t0\t1350\t1\n1600000000.100318250\t0.00031825\t517\t1\n"
      "1600000000.161000000\t0.061\t80\t0\n");
  put("ucdavis", "spaces_and_reordered.txt", "10 0.5 100 0\r\n10.2 0.2 200 1\n\n10.1 0 300 0\n");
  put("ucdavis", "damaged.txt", "1\t0\t100\n1\tx\t1\t0\n1\t0\t0\t1\n1\t0\t70000\t2\n1\t-1\t5\t0\t9\n");
}

void json_seeds() {
  for (const char* f : {"configs/labels/iscx_vpn_nonvpn.json", "configs/labels/iscx_tor.json"})
    put("label_map", base(f), "vpn_skype_audio1\n" + slurp(g_src + "/" + f));
  put("label_map", "filters.json", std::string("alpha3-2\n") + R"({"name": "m", "columns": ["category", "enc"],
    "defaults": {"enc": "Non-VPN"}, "rules": [{"match": "alpha\\d*", "labels": {"category": "A"}},
    {"match": "alp.*", "labels": {"category": "B"}}],
    "flow_filters": [{"name": "dns", "protocol": "udp", "port": 53}, {"name": "m", "address": "ff02::fb"}]})");
  // Experiment configs with the model inlined (a path would read a file).
  std::string models = g_src + "/configs/models/";
  json lenet = json::parse(slurp(models + "lenet5.json"));
  for (const char* f : {"quickstart.json", "vpn_category.json", "payload_vpn.json", "application.json",
                        "unseen_voip_no_facebook.json", "class_vs_all_chat_tor.json"}) {
    std::string text = slurp(g_src + "/configs/" + f);
    if (text.empty()) continue;
    json j = json::parse(text);
    if (j["model"].is_string()) {
      std::string m = j["model"].get<std::string>();
      std::string mt = slurp(g_src + "/" + m);
      j["model"] = mt.empty() ? lenet : json::parse(mt);
    }
    if (j.contains("representation") && j["representation"].value("resolution", 0) > 64)
      j["representation"]["resolution"] = 32;  // keep the seed's model small (fast executions)
    put("config", f, j.dump(1));
  }
  for (const char* f : {"lenet5.json", "payload_cnn.json"}) put("config", std::string("model_") + f, slurp(models + f));
  put("config", "representation.json", R"({"type": "payload_image", "side": 8, "variant": "two_channel"})");
}

void h5_seeds() {
  // A packet store with two sources, labels, a skipped table and an unmatched name.
  std::string store = g_dir + "/tmp_store.h5";
  {
    PacketStoreWriter w(store, {"category", "app"});
    SourceInfo a;
    a.name = "alpha.pcap";
    uint32_t s0 = w.add_source(a);
    a.name = "beta.pcap";
    a.status = "truncated after 3 packets: x";
    uint32_t s1 = w.add_source(a);
    for (uint32_t s : {s0, s1}) {
      w.set_current_labels({s ? "Chat" : "VoIP", s ? "" : "skype"});
      FlowRecord r;
      r.source = s;
      r.key.ip_version = s ? 6 : 4;
      r.time = {0, 0.5, 1.5};
      r.ip_length = {60, 1400, 52};
      r.payload_length = {0, 1360, kUnknownPayload};
      r.direction = {0, 1, 0};
      r.tcp_flags = {kSyn, kAck, kFin};
      w.add_flow(r);
    }
    w.add_skipped("arp", 3);
    w.add_unmatched_source("gamma");
    w.set_label_map("m", "{}");
    w.commit();
  }
  put("store", "small.h5", slurp(store));
  std::remove(store.c_str());

  // A weights file and a result file with weights, from a tiny model.
  auto backend = nn::make_cpu_backend();
  nn::ModelOptions mo;
  mo.input = {1, 1, 8, 8};
  mo.classes = 3;
  json arch = json::parse(R"({"name": "tiny", "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3},
      {"type": "relu"}, {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"},
      {"type": "dense", "units": "classes"}]})");
  nn::Model m = nn::Model::from_json(arch, "seed", mo, *backend);
  std::string wpath = g_dir + "/tmp_weights.h5";
  nn::save_weights(m, wpath);
  put("result", "weights.h5", slurp(wpath));
  std::remove(wpath.c_str());

  RunResult r;
  r.experiment = "seed";
  r.run = "seed1";
  r.config = {{"name", "seed"}};
  r.provenance = {{"command", "make_seeds"}};
  r.samples = {{"train", {{"A", 10}}}};
  r.class_names = {"A", "B", "C"};
  r.history = {{1, 0.7, 0.5, 0.6, 0.55, 1.5, 100}};
  r.best_epoch = 1;
  r.selection = "validation";
  r.data_source = "synthetic";
  r.timings = {{"total", 1.0}};
  GroupPredictions g;
  g.name = "test";
  g.flow = {0, 1};
  g.direction = {0, 2};
  g.window_start = {0, 60};
  g.truth = {0, 2};
  g.predicted = {0, 1};
  g.probabilities = {0.8f, 0.1f, 0.1f, 0.2f, 0.5f, 0.3f};
  g.metrics = compute_metrics(g.truth, g.predicted, r.class_names);
  r.groups.push_back(g);
  std::string rpath = g_dir + "/tmp_result.h5";
  write_result(rpath, r, [&](hid_t f) { nn::write_weights(m, f, "/model"); });
  put("result", "result.h5", slurp(rpath));
  std::remove(rpath.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_seeds <corpus dir> <source dir>\n";
    return 2;
  }
  g_dir = argv[1];
  g_src = argv[2];
  mkdir(g_dir.c_str(), 0755);
  try {
    capture_seeds();
    csv_seeds();
    ucdavis_seeds();
    json_seeds();
    h5_seeds();
  } catch (const std::exception& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
