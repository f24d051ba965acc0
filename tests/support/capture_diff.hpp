#pragma once
// Reads a capture both ways, libpcap's loop (CaptureReader::Mode::kLibpcap) and ours (kAuto), and
// says where they differ: open errors, link type, every record (time, lengths, bytes), position(),
// and at the end records() and damage(). For the tests and the fuzz target (no GoogleTest here).
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "dataset/capture_reader.hpp"

namespace flowpic::testing {

struct CaptureDiff {
  std::string difference;  // "" when the two ways agree
  bool own_loop = false;   // kAuto read the records itself (else both ways were libpcap's)
  bool opened = false;     // false when both refused the file (with the same message)
  uint64_t records = 0;
  std::string damage;
};

// `open(mode)` opens the same capture afresh each time it is called.
inline CaptureDiff diff_capture_reading(
    const std::function<std::unique_ptr<CaptureReader>(CaptureReader::Mode)>& open) {
  CaptureDiff out;
  auto try_open = [&](CaptureReader::Mode mode, std::string& error) -> std::unique_ptr<CaptureReader> {
    try {
      return open(mode);
    } catch (const Error& e) {
      error = e.what();
      return nullptr;
    }
  };
  std::string error_lib, error_own;
  std::unique_ptr<CaptureReader> lib = try_open(CaptureReader::Mode::kLibpcap, error_lib);
  std::unique_ptr<CaptureReader> own = try_open(CaptureReader::Mode::kAuto, error_own);
  if (!lib || !own) {
    if (error_lib != error_own) out.difference = "open: libpcap [" + error_lib + "], own [" + error_own + "]";
    return out;
  }
  out.opened = true;
  out.own_loop = own->reads_records_itself();
  if (lib->reads_records_itself()) out.difference = "Mode::kLibpcap did not read with libpcap";
  if (lib->link_type() != own->link_type()) out.difference = "link types differ";
  CaptureRecord a, b;
  while (out.difference.empty()) {
    const bool more_lib = lib->next(a), more_own = own->next(b);
    const std::string at = "record " + std::to_string(lib->records()) + ": ";
    if (more_lib != more_own)
      out.difference = at + (more_lib ? "only libpcap read it" : "only the own loop read it");
    else if (lib->position() != own->position())
      out.difference = at + "position " + std::to_string(lib->position()) + " vs " + std::to_string(own->position());
    if (!more_lib || !out.difference.empty()) break;
    if (a.time_ns != b.time_ns)
      out.difference = at + "time_ns " + std::to_string(a.time_ns) + " vs " + std::to_string(b.time_ns);
    else if (a.caplen != b.caplen)
      out.difference = at + "caplen " + std::to_string(a.caplen) + " vs " + std::to_string(b.caplen);
    else if (a.wire_len != b.wire_len)
      out.difference = at + "wire_len " + std::to_string(a.wire_len) + " vs " + std::to_string(b.wire_len);
    else if (a.caplen && std::memcmp(a.data, b.data, a.caplen) != 0)
      out.difference = at + "bytes differ";
  }
  if (out.difference.empty() && lib->records() != own->records())
    out.difference = "records() " + std::to_string(lib->records()) + " vs " + std::to_string(own->records());
  if (out.difference.empty() && lib->damage() != own->damage())
    out.difference = "damage: libpcap [" + lib->damage() + "], own [" + own->damage() + "]";
  out.records = lib->records();
  out.damage = lib->damage();
  return out;
}

// The capture in memory (fmemopen: our loop reads it with fread) or a file (pread).
inline CaptureDiff diff_capture_bytes(const uint8_t* data, size_t size, size_t chunk = CaptureReader::kDefaultChunk) {
  return diff_capture_reading([&](CaptureReader::Mode mode) {
    FILE* f = fmemopen(const_cast<uint8_t*>(data), size, "rb");
    return std::make_unique<CaptureReader>(f, "mem.pcap", mode, chunk);
  });
}
inline CaptureDiff diff_capture_file(const std::string& path, size_t chunk = CaptureReader::kDefaultChunk) {
  return diff_capture_reading(
      [&](CaptureReader::Mode mode) { return std::make_unique<CaptureReader>(path, mode, chunk); });
}

}  // namespace flowpic::testing
