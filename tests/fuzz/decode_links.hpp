#pragma once
// The link types fuzz_decode picks from (by the first input byte, low 7 bits, modulo the count;
// the high bit turns on DecodeOptions::decapsulate), shared with make_seeds so its seeds select
// the link type they were built for. New entries go at the end: old corpora keep their meaning.
#include "dataset/decode.hpp"

namespace flowpic::fuzz {

inline constexpr int kDecodeLinks[] = {
    kLinkNull, kLinkEthernet, kLinkRawDlt12,  kLinkRawDlt14,  kLinkRaw, kLinkLoop,       kLinkLinuxSll,
    kLinkIpv4, kLinkIpv6,     kLinkLinuxSll2,
    147,  // 147: unknown
    kLinkPpp,  kLinkPppHdlc,  kLinkPppEther,  kLinkCiscoHdlc, kLinkPpi, kLinkPppWithDir, kLinkCiscoHdlcWithDir,
};
inline constexpr int kDecodeLinkCount = sizeof kDecodeLinks / sizeof kDecodeLinks[0];
inline constexpr uint8_t kDecodeDecapsulate = 0x80;

// The selector byte for `link` (0 when absent), with decapsulation on or off.
inline uint8_t decode_selector(int link, bool decapsulate = false) {
  uint8_t sel = 0;
  for (int i = 0; i < kDecodeLinkCount; ++i)
    if (kDecodeLinks[i] == link) sel = static_cast<uint8_t>(i);
  return static_cast<uint8_t>(sel | (decapsulate ? kDecodeDecapsulate : 0));
}

}  // namespace flowpic::fuzz
