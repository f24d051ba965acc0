#pragma once
// Writes a synthetic capture as a real pcap file through libpcap's dump API: Ethernet, IPv4 or
// IPv6, TCP (with SYN options) or UDP, correct lengths and checksums, opaque payload bytes (real
// DNS and NTP messages for the background traffic). Written atomically (temporary name, rename).
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/synth_trace.hpp"

namespace flowpic::synth {

struct PcapWriteResult {
  uint64_t packets = 0;
  uint64_t file_bytes = 0;  // size of the pcap file
  uint64_t ip_bytes = 0;    // sum of the packets' IP lengths
};

// `trace` must be finished (finish_trace); its timestamps are written at the given resolution.
PcapWriteResult write_pcap(const Trace& trace, const std::string& path, bool nanosecond, uint64_t payload_seed);

// The Ethernet frame of packet `index` (exposed for tests); `noise` is the payload source.
void build_frame(const Trace& trace, size_t index, const std::vector<uint8_t>& noise, std::vector<uint8_t>& frame);
std::vector<uint8_t> payload_noise(uint64_t seed);

}  // namespace flowpic::synth
