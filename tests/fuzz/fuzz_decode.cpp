// decode_packet on raw frames of every supported link type (chosen by the first byte, whose high bit
// also turns on IP-in-IP decapsulation), then the flow assembler: reaches deep header paths faster
// than going through a capture file.
#include <cstring>
#include <vector>

#include "dataset/decode.hpp"
#include "dataset/flow_assembler.hpp"
#include "decode_links.hpp"
#include "fuzz_support.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int link = fuzz::kDecodeLinks[(data[0] & 0x7F) % fuzz::kDecodeLinkCount];
  DecodeOptions options;
  options.decapsulate = (data[0] & fuzz::kDecodeDecapsulate) != 0;
  const uint32_t extra_wire = data[1] * 16u;  // the frame was longer on the wire (snap length)
  data += 2;
  size -= 2;
  // Frames separated by "\xff\xfe" so one input can be a small conversation.
  FlowOptions opt;
  opt.idle_timeout_s = 0.5;
  FlowAssembler assembler(opt, [](FlowRecord&) {});
  int64_t t = 0;
  size_t start = 0;
  while (start <= size) {
    size_t end = start;
    while (end + 1 < size && !(data[end] == 0xff && data[end + 1] == 0xfe)) ++end;
    if (end + 1 >= size) end = size;
    // Copy so ASan sees the exact frame length.
    std::vector<uint8_t> frame(data + start, data + end);
    DecodedPacket pkt;
    DecodeStatus st = decode_packet(link, frame.empty() ? nullptr : frame.data(), static_cast<uint32_t>(frame.size()),
                                    static_cast<uint32_t>(frame.size()) + extra_wire, pkt, options);
    if (static_cast<int>(st) >= static_cast<int>(DecodeStatus::kCount)) std::abort();
    if (st == DecodeStatus::kOk) {
      if (pkt.ip_version != 4 && pkt.ip_version != 6) std::abort();
      if (pkt.protocol != 6 && pkt.protocol != 17) std::abort();
      if (pkt.tunnel_depth > (options.decapsulate ? kMaxTunnelDepth : 0)) std::abort();
      assembler.add(pkt, t);
    }
    t += 100000000 * static_cast<int64_t>(frame.empty() ? 1 : frame[0] % 8);
    start = end + 2;
  }
  assembler.finish();
  return 0;
}
