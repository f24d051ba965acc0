// bench_ingest: writes a large synthetic Ethernet pcap for the ingestion benchmark
// (scripts/bench_ingest.sh runs tcpdump, flowpic_data ingest and a dpkt script on it).
//
//   bench_ingest OUT.pcap [--bytes N] [--concurrent K] [--seed S]
//
// Traffic: K flows open at any time (TCP with handshake and FINs, some UDP, some IPv6); a finished
// flow is replaced by a new one, so the file holds tens of thousands of flows. Packet sizes mix
// full-size data segments and small ACKs; ~2.5 ms between packets of the file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Flow {
  bool tcp, v6;
  uint32_t client, server;
  uint16_t cport, sport;
  int sent = 0, total = 0;
};

class PcapOut {
 public:
  explicit PcapOut(const char* path) : f_(std::fopen(path, "wb")) {
    if (!f_) {
      std::perror(path);
      std::exit(1);
    }
    buf_.reserve(1 << 22);
    uint32_t h[6] = {0xA1B2C3D4, 0x00040002, 0, 0, 65535, 1};  // µs pcap, Ethernet
    put(h, sizeof h);
  }
  ~PcapOut() {
    flush();
    std::fclose(f_);
  }
  void packet(int64_t t_us, const uint8_t* frame, uint32_t caplen, uint32_t wire) {
    uint32_t rec[4] = {static_cast<uint32_t>(t_us / 1000000), static_cast<uint32_t>(t_us % 1000000), caplen, wire};
    put(rec, sizeof rec);
    put(frame, caplen);
    bytes_ += sizeof rec + caplen;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
    if (buf_.size() > (1 << 22) - 70000) flush();
  }
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      std::perror("write");
      std::exit(1);
    }
    buf_.clear();
  }
  FILE* f_;
  std::vector<uint8_t> buf_;
  uint64_t bytes_ = 24;
};

void be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void be32(uint8_t* p, uint32_t v) {
  be16(p, v >> 16);
  be16(p + 2, v & 0xFFFF);
}

// Ethernet + IPv4/IPv6 + TCP/UDP headers, payload zeros; returns the frame length.
uint32_t build(uint8_t* f, const Flow& fl, bool up, uint8_t flags, uint32_t payload) {
  std::memset(f, 0, 14 + 40 + 20);
  f[12] = fl.v6 ? 0x86 : 0x08;
  f[13] = fl.v6 ? 0xDD : 0x00;
  uint8_t* ip = f + 14;
  uint32_t l4 = fl.tcp ? 20 : 8;
  uint32_t src = up ? fl.client : fl.server, dst = up ? fl.server : fl.client;
  uint32_t ip_hdr;
  if (fl.v6) {
    ip_hdr = 40;
    ip[0] = 0x60;
    be16(ip + 4, l4 + payload);
    ip[6] = fl.tcp ? 6 : 17;
    ip[7] = 64;
    ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8;
    be32(ip + 20, src);
    ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8;
    be32(ip + 36, dst);
  } else {
    ip_hdr = 20;
    ip[0] = 0x45;
    be16(ip + 2, ip_hdr + l4 + payload);
    ip[8] = 64;
    ip[9] = fl.tcp ? 6 : 17;
    be32(ip + 12, src);
    be32(ip + 16, dst);
  }
  uint8_t* t = ip + ip_hdr;
  be16(t, up ? fl.cport : fl.sport);
  be16(t + 2, up ? fl.sport : fl.cport);
  if (fl.tcp) {
    t[12] = 0x50;
    t[13] = flags;
  } else {
    be16(t + 4, 8 + payload);
  }
  return 14 + ip_hdr + l4 + payload;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::fprintf(argc < 2 ? stderr : stdout, "usage: bench_ingest OUT.pcap [--bytes N] [--concurrent K] [--seed S]\n");
    return argc < 2 ? 2 : 0;
  }
  double target = 1e9;
  int concurrent = 2000;
  unsigned seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string o = argv[i];
    if (o == "--bytes")
      target = std::atof(argv[i + 1]);
    else if (o == "--concurrent")
      concurrent = std::atoi(argv[i + 1]);
    else if (o == "--seed")
      seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "bench_ingest: unknown option '%s'\n", o.c_str());
      return 2;
    }
  }
  std::mt19937 rng(seed);
  uint32_t next_port = 0;
  auto new_flow = [&]() {
    Flow f;
    f.tcp = rng() % 10 < 8;
    f.v6 = rng() % 10 == 0;
    f.client = 0x0A000000u | (rng() % 250 + 1);
    f.server = 0xC0A80000u | (rng() % 5000 + 1);
    f.cport = static_cast<uint16_t>(1024 + (next_port++ % 60000));
    f.sport = f.tcp ? 443 : 3478;
    // Heavy-ish tail: most flows are short, a few are long.
    f.total = 4 + static_cast<int>(std::exponential_distribution<double>(1.0 / 25)(rng));
    return f;
  };
  std::vector<Flow> active(static_cast<size_t>(concurrent));
  for (auto& f : active) f = new_flow();
  PcapOut out(argv[1]);
  std::vector<uint8_t> frame(14 + 40 + 20 + 1500);
  int64_t t_us = 1700000000LL * 1000000;
  uint64_t packets = 0, flows = static_cast<uint64_t>(concurrent);
  while (out.bytes() < target) {
    Flow& f = active[rng() % active.size()];
    uint8_t flags = 0x10;
    bool up = rng() & 1;
    uint32_t payload = up ? (rng() % 4 == 0 ? 100 + rng() % 400 : 0) : (rng() % 5 == 0 ? rng() % 1400 : 1400);
    if (f.tcp) {
      if (f.sent == 0)
        up = true, flags = 0x02, payload = 0;
      else if (f.sent == 1)
        up = false, flags = 0x12, payload = 0;
      else if (f.sent == f.total - 2)
        up = true, flags = 0x11, payload = 0;
      else if (f.sent == f.total - 1)
        up = false, flags = 0x11, payload = 0;
    } else {
      payload = 60 + rng() % 1200;
    }
    if (f.v6 && payload > 1380) payload = 1380;
    uint32_t len = build(frame.data(), f, up, flags, payload);
    out.packet(t_us, frame.data(), len, len);
    t_us += 1 + rng() % 5000;
    ++packets;
    if (++f.sent >= f.total) {
      f = new_flow();
      ++flows;
    }
  }
  std::printf("%s: %llu bytes, %llu packets, %llu flows started (%d at a time)\n", argv[1],
              static_cast<unsigned long long>(out.bytes()), static_cast<unsigned long long>(packets),
              static_cast<unsigned long long>(flows), concurrent);
  return 0;
}
