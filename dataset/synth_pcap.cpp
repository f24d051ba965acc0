#include "dataset/synth_pcap.hpp"

#include <pcap/pcap.h>

#include <cstring>
#include <memory>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic::synth {

namespace {

constexpr size_t kNoiseSpan = 65536;
const uint8_t kClientMac[6] = {0x02, 0x1f, 0x5e, 0x00, 0x00, 0x15};
const uint8_t kGatewayMac[6] = {0x02, 0x1f, 0x5e, 0x00, 0x00, 0x01};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xFFFF);
}

// Internet checksum: ones' complement sum of 16-bit words, folded.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1]) << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xFFFF);
}

// A DNS query for `name` (type A), or its response with `answers` A records.
size_t write_dns(uint8_t* p, size_t room, uint16_t id, const std::string& name, int answers) {
  size_t need = 12 + name.size() + 2 + 4 + 16 * static_cast<size_t>(answers);
  if (need > room) return 0;
  put16(p, id);
  put16(p + 2, answers ? 0x8180 : 0x0100);
  put16(p + 4, 1);
  put16(p + 6, static_cast<uint32_t>(answers));
  put16(p + 8, 0);
  put16(p + 10, 0);
  size_t o = 12;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    p[o++] = static_cast<uint8_t>(dot - start);
    std::memcpy(p + o, name.data() + start, dot - start);
    o += dot - start;
    start = dot + 1;
  }
  p[o++] = 0;
  put16(p + o, 1);      // A
  put16(p + o + 2, 1);  // IN
  o += 4;
  for (int a = 0; a < answers; ++a) {
    put16(p + o, 0xC00C);  // the question's name
    put16(p + o + 2, 1);
    put16(p + o + 4, 1);
    put32(p + o + 6, 300);
    put16(p + o + 10, 4);
    p[o + 12] = 198;
    p[o + 13] = 18;
    p[o + 14] = static_cast<uint8_t>(id >> 8);
    p[o + 15] = static_cast<uint8_t>(a + 1);
    o += 16;
  }
  return o;
}

}  // namespace

std::vector<uint8_t> payload_noise(uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> noise(kNoiseSpan + 65536);
  for (size_t i = 0; i < noise.size(); i += 8) {
    uint64_t v = rng.next();
    std::memcpy(noise.data() + i, &v, 8);
  }
  return noise;
}

void build_frame(const Trace& trace, size_t index, const std::vector<uint8_t>& noise, std::vector<uint8_t>& frame) {
  const Packet& pk = trace.packets[index];
  const Session& s = trace.sessions[pk.session];
  const bool v6 = s.addr_a.version == 6, tcp = s.protocol == 6;
  const uint32_t iph = ip_header_bytes(s.addr_a.version);
  const uint32_t l4h = transport_header_bytes(s.protocol, pk.flags);
  const uint32_t l4len = l4h + pk.payload;
  frame.assign(14 + iph + l4len, 0);
  uint8_t* f = frame.data();
  const bool from_a = pk.dir == 0;
  std::memcpy(f, from_a ? kGatewayMac : kClientMac, 6);
  std::memcpy(f + 6, from_a ? kClientMac : kGatewayMac, 6);
  put16(f + 12, v6 ? 0x86DD : 0x0800);
  uint8_t* ip = f + 14;
  const uint8_t* src = from_a ? s.addr_a.bytes.data() : s.addr_b.bytes.data();
  const uint8_t* dst = from_a ? s.addr_b.bytes.data() : s.addr_a.bytes.data();
  const uint8_t hop = from_a ? 64 : 53;
  if (v6) {
    put32(ip, 0x60000000u | (pk.session * 2654435761u & 0xFFFFF));
    put16(ip + 4, l4len);
    ip[6] = s.protocol;
    ip[7] = hop;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
  } else {
    ip[0] = 0x45;
    put16(ip + 2, iph + l4len);
    put16(ip + 4, static_cast<uint32_t>(index * 7 + pk.session) & 0xFFFF);
    put16(ip + 6, 0x4000);  // don't fragment
    ip[8] = hop;
    ip[9] = s.protocol;
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    put16(ip + 10, fold(sum16(ip, 20)));
  }
  uint8_t* l4 = ip + iph;
  uint8_t* payload = l4 + l4h;
  const uint16_t sport = from_a ? s.port_a : s.port_b, dport = from_a ? s.port_b : s.port_a;
  put16(l4, sport);
  put16(l4 + 2, dport);
  if (tcp) {
    put32(l4 + 4, pk.seq);
    put32(l4 + 8, pk.ack);
    l4[12] = static_cast<uint8_t>((l4h / 4) << 4);
    l4[13] = pk.flags;
    put16(l4 + 14, (pk.flags & kSyn) ? 64240 : 501);
    if (pk.flags & kSyn) {  // MSS, NOP NOP SACK-permitted, NOP window scale 7
      const uint8_t opts[12] = {2,
                                4,
                                static_cast<uint8_t>((v6 ? 1440 : 1460) >> 8),
                                static_cast<uint8_t>((v6 ? 1440 : 1460) & 0xFF),
                                1,
                                1,
                                4,
                                2,
                                1,
                                3,
                                3,
                                7};
      std::memcpy(l4 + 20, opts, sizeof opts);
    }
  } else {
    put16(l4 + 4, l4len);
  }
  // Payload: opaque bytes (it is "encrypted"), or the real message of background traffic.
  size_t written = 0;
  switch (pk.kind) {
    case PayloadKind::kDnsQuery:
    case PayloadKind::kDnsResponse: {
      size_t qlen = 12 + s.note.size() + 2 + 4;
      int answers = pk.kind == PayloadKind::kDnsResponse ? static_cast<int>((pk.payload - qlen) / 16) : 0;
      written = write_dns(payload, pk.payload, static_cast<uint16_t>(pk.session * 40503u), s.note, answers);
      break;
    }
    case PayloadKind::kNtpClient:
    case PayloadKind::kNtpServer:
      if (pk.payload >= 48) {
        payload[0] = pk.kind == PayloadKind::kNtpClient ? 0x23 : 0x24;  // version 4, mode 3 / 4
        payload[1] = pk.kind == PayloadKind::kNtpClient ? 0 : 2;        // stratum
        payload[2] = 6;
        payload[3] = 0xEC;
        written = 48;
        std::memcpy(payload + 40, noise.data() + (index & 0xFFF), 8);  // transmit timestamp
      }
      break;
    case PayloadKind::kOpaque: break;
  }
  if (written < pk.payload) {
    size_t off = (index * 2654435761ull + pk.session) % kNoiseSpan;
    std::memcpy(payload + written, noise.data() + off, pk.payload - written);
  }
  // Transport checksum over the pseudo-header and the segment.
  uint32_t acc = 0;
  acc = sum16(src, v6 ? 16 : 4, acc);
  acc = sum16(dst, v6 ? 16 : 4, acc);
  acc += s.protocol;
  acc += l4len;
  acc = sum16(l4, l4len, acc);
  uint16_t ck = fold(acc);
  if (!tcp && ck == 0) ck = 0xFFFF;
  put16(l4 + (tcp ? 16 : 6), ck);
}

PcapWriteResult write_pcap(const Trace& trace, const std::string& path, bool nanosecond, uint64_t payload_seed) {
  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead_with_tstamp_precision(
      DLT_EN10MB, 65535, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO));
  if (!dead) fail("cannot write ", path, ": libpcap could not open a dead handle");
  AtomicFile out(path);
  PcapWriteResult r;
  {
    std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_open(dead.get(), out.temp_path().c_str()));
    if (!dumper) fail("cannot write ", path, ": ", pcap_geterr(dead.get()));
    const std::vector<uint8_t> noise = payload_noise(payload_seed);
    std::vector<uint8_t> frame;
    for (size_t i = 0; i < trace.packets.size(); ++i) {
      const Packet& p = trace.packets[i];
      build_frame(trace, i, noise, frame);
      pcap_pkthdr h{};
      h.ts.tv_sec = static_cast<time_t>(p.t_ns / 1000000000LL);
      int64_t frac = p.t_ns % 1000000000LL;
      h.ts.tv_usec = static_cast<suseconds_t>(nanosecond ? frac : frac / 1000);
      h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
      pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &h, frame.data());
      r.ip_bytes += frame.size() - 14;
    }
    if (pcap_dump_flush(dumper.get()) != 0) fail("cannot write ", path, ": write failed (disk full?)");
  }
  out.commit();
  r.packets = trace.packets.size();
  r.file_bytes = file_size(path);
  return r;
}

}  // namespace flowpic::synth
