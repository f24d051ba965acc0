#pragma once
// Reading pcap and pcapng files through libpcap, with nanosecond timestamps whatever the file's
// own precision. Opens a path or an already open FILE* (so tests and fuzzers can feed in-memory
// files through fmemopen).
#include <cstdint>
#include <cstdio>
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
  // Throws flowpic::Error naming `path` when the file cannot be opened or is not a capture
  // ("<path>: not a pcap or pcapng capture (unknown file format)", "<path>: empty file").
  explicit CaptureReader(const std::string& path);
  // Takes ownership of `file` (closed with the reader, also when this throws); `name` is used in messages.
  CaptureReader(FILE* file, const std::string& name);
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

 private:
  void open_checked(pcap* handle, const char* errbuf);
  pcap* pcap_ = nullptr;
  std::string name_;
  int link_type_ = -1;
  uint64_t records_ = 0;
  std::string damage_;
};

}  // namespace flowpic
