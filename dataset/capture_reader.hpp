#pragma once
// Reading pcap and pcapng files, with nanosecond timestamps whatever the file's own precision.
// libpcap opens every file; the records of a standard classic pcap are then read by our own loop
// (large read() chunks, records handed out in place), those of every other file by libpcap.
// Opens a path or an already open FILE* (so tests and fuzzers can feed in-memory files through
// fmemopen).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

struct pcap;  // libpcap's pcap_t

namespace flowpic {

// One record as libpcap returns it; `data` stays valid until the next call to next().
struct CaptureRecord {
  int64_t time_ns = 0;  // seconds since the Unix epoch, in nanoseconds
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;    // bytes captured
  uint32_t wire_len = 0;  // bytes on the wire
};

class CaptureReader {
 public:
  // Who reads the records. kAuto: a classic pcap of version 2.4 with the standard or nanosecond
  // magic and a link type flowpic decodes is read by our own loop, which gives exactly what
  // libpcap 1.10's would (libpcap's per-record stdio reads were a tenth of the capture thread);
  // every other file by libpcap. kLibpcap: every file by libpcap (the reference tests compare with).
  enum class Mode { kAuto, kLibpcap };
  // Bytes our loop reads at a time (an L2-sized buffer: mmap was no faster, and a file that shrinks
  // under a mapping is a SIGBUS). A record longer than the chunk grows the buffer; tests use small
  // chunks to cut records at chunk ends.
  static constexpr size_t kDefaultChunk = size_t{1} << 20;

  // Throws flowpic::Error naming `path` when the file cannot be opened or is not a capture
  // ("<path>: not a pcap or pcapng capture (unknown file format)", "<path>: empty file").
  explicit CaptureReader(const std::string& path, Mode mode = Mode::kAuto, size_t chunk_bytes = kDefaultChunk);
  // Takes ownership of `file` (closed with the reader, also when this throws); `name` is used in messages.
  CaptureReader(FILE* file, const std::string& name, Mode mode = Mode::kAuto, size_t chunk_bytes = kDefaultChunk);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  int link_type() const { return link_type_; }
  std::string link_type_name() const;  // "EN10MB (Ethernet)", or the number when libpcap has no name
  // The next record; false at the end of the file or at damage (see damage()).
  bool next(CaptureRecord& record);
  uint64_t records() const { return records_; }
  // "" when the file ended cleanly, else libpcap's message for what stopped the reading
  // (a truncated last record, a bad record length, ...).
  const std::string& damage() const { return damage_; }
  // Bytes of the file consumed so far (for progress); 0 when unknown.
  uint64_t position() const;
  // True when our own loop reads the records (see Mode), false when libpcap does.
  bool reads_records_itself() const { return own_ != nullptr; }

 private:
  class ClassicRecords;
  void open_checked(pcap* handle, const char* errbuf, Mode mode, size_t chunk_bytes);
  pcap* pcap_ = nullptr;
  std::unique_ptr<ClassicRecords> own_;  // null: libpcap reads the records
  std::string name_;
  int link_type_ = -1;
  uint64_t records_ = 0;
  std::string damage_;
};

}  // namespace flowpic
