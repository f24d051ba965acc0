// pcap/pcapng bytes -> CaptureReader (fmemopen + the FILE* entry point) -> decode_packet
// -> FlowAssembler: what `flowpic_data ingest` does with one capture (with and without
// --decapsulate), without the store. Then CaptureReader's own record loop for classic pcap against
// libpcap's, record by record: from memory (fread) at the default chunk and at a small one that
// cuts records everywhere, and from a file (pread); a difference aborts.
#include <cstdio>

#include "dataset/capture_reader.hpp"
#include "dataset/decode.hpp"
#include "dataset/flow_assembler.hpp"
#include "fuzz_support.hpp"
#include "support/capture_diff.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // fmemopen of 0 bytes fails with EINVAL on older glibc
  FILE* f = fmemopen(const_cast<uint8_t*>(data), size, "rb");
  if (!f) return 0;
  fuzz::expect_clean([&] {
    CaptureReader reader(f, "fuzz.pcap");
    const int link = reader.link_type();
    (void)reader.link_type_name();
    FlowOptions opt;
    opt.idle_timeout_s = 5;
    uint64_t packets = 0;
    FlowAssembler assembler(opt, [&](FlowRecord& r) {
      packets += r.size();
      for (size_t i = 0; i < r.size(); ++i)
        if (!(r.time[i] >= 0)) std::abort();  // times in a flow start at 0 and are sorted
    });
    CaptureRecord rec;
    DecodedPacket pkt;
    DecodeOptions decapsulate;
    decapsulate.decapsulate = true;
    while (reader.next(rec)) {
      (void)reader.position();
      if (!link_type_supported(link)) continue;
      // Both ways: as flowpic_data ingest decodes by default, and with --decapsulate.
      DecodeStatus plain = decode_packet(link, rec.data, rec.caplen, rec.wire_len, pkt);
      if (plain == DecodeStatus::kOk && pkt.tunnel_depth != 0) std::abort();
      if (decode_packet(link, rec.data, rec.caplen, rec.wire_len, pkt, decapsulate) == DecodeStatus::kOk)
        assembler.add(pkt, rec.time_ns);
    }
    assembler.finish();
    if (assembler.open_sessions() != 0) std::abort();
  });
  fuzz::InputFile file(data, size, ".pcap");
  for (const testing::CaptureDiff& d :
       {testing::diff_capture_bytes(data, size), testing::diff_capture_bytes(data, size, 37),
        testing::diff_capture_file(file.path(), 37)}) {
    if (!d.difference.empty()) {
      std::fprintf(stderr, "CaptureReader's own loop and libpcap's differ: %s\n", d.difference.c_str());
      std::abort();
    }
  }
  return 0;
}
