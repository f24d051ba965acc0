#include "dataset/capture_reader.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "dataset/decode.hpp"

namespace flowpic {

namespace {

constexpr size_t kReadBuffer = size_t{1} << 20;

// libpcap's open errors are terse ("unknown file format", "truncated dump file; tried to read 4
// file header bytes, only got 0"); say what they mean for a user.
std::string explain_open_error(const char* errbuf) {
  std::string e = errbuf ? errbuf : "";
  if (e.find("unknown file format") != std::string::npos) return "not a pcap or pcapng capture (" + e + ")";
  if (e.find("only got 0") != std::string::npos) return "empty file (" + e + ")";
  if (e.find("truncated") != std::string::npos) return "damaged capture header (" + e + ")";
  return e;
}

constexpr long kFileHeaderBytes = 24;
constexpr size_t kRecordHeaderBytes = 16;
// libpcap's MAXIMUM_SNAPLEN: max_snaplen_for_dlt() for every link type flowpic decodes (only
// D-Bus, EBHSCR and USBPcap have larger ones), so the largest caplen libpcap accepts.
constexpr uint32_t kMaxCaplen = 262144;
// The last whole second whose nanoseconds (with a fraction under a second) fit in int64_t.
constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;

uint32_t load32(const uint8_t* p, bool big_endian) {
  if (big_endian) return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

}  // namespace

// The record loop of libpcap 1.10.3's sf-pcap.c (pcap_next_packet) for the files Mode::kAuto
// gives it, over chunks read with pread() from the file libpcap opened (or fread() where the FILE*
// has no regular file behind it, as with fmemopen). Same records, same messages, same position.
class CaptureReader::ClassicRecords {
 public:
  // A reader for `p`'s records when kAuto's conditions hold, else null (libpcap reads them).
  static std::unique_ptr<ClassicRecords> take_over(pcap_t* p, int link_type, size_t chunk_bytes);

  // 1: a record; 0: clean end of file; -1: damage, described in `error`.
  int next(CaptureRecord& record, std::string& error);
  uint64_t position() const { return position_; }

 private:
  ClassicRecords(FILE* file, bool big_endian, bool swapped, bool nanoseconds, uint32_t snapshot, size_t chunk_bytes);
  // Makes `n` bytes from begin_ available, or as many as the file has left; returns how many are,
  // or sets `error` on a read error.
  size_t fill(size_t n, std::string& error);
  ssize_t read_some(uint8_t* into, size_t n);

  FILE* file_;   // libpcap's (it closes it); read directly when fd_ < 0
  int fd_ = -1;  // a regular file's descriptor, read with pread from offset_
  off_t offset_ = kFileHeaderBytes;
  bool big_endian_;
  bool swapped_;  // the file's byte order is not the host's
  bool nanoseconds_;
  uint32_t snapshot_;  // pcap_snapshot(): the header's snap length as libpcap clamps it
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0, end_ = 0;  // the unconsumed bytes read so far
  bool eof_ = false;
  uint64_t position_ = kFileHeaderBytes;
};

std::unique_ptr<CaptureReader::ClassicRecords> CaptureReader::ClassicRecords::take_over(pcap_t* p, int link_type,
                                                                                        size_t chunk_bytes) {
  // Earlier versions may have caplen and len swapped; Kuznetzov's magic has a longer record header;
  // in Linux SLL and SLL2 records written in the other byte order libpcap swaps a CAN ID.
  FILE* f = pcap_file(p);
  const bool swapped = pcap_is_swapped(p) != 0;
  if (f == nullptr || pcap_major_version(p) != 2 || pcap_minor_version(p) != 4 || !link_type_supported(link_type) ||
      (swapped && (link_type == DLT_LINUX_SLL || link_type == DLT_LINUX_SLL2)) || pcap_snapshot(p) <= 0 ||
      static_cast<uint32_t>(pcap_snapshot(p)) > kMaxCaplen)
    return nullptr;
  // libpcap has read the 24-byte file header and nothing more; read it again for the magic, which
  // libpcap does not report. A stream that cannot seek (a pipe) stays with libpcap.
  if (std::ftell(f) != kFileHeaderBytes || std::fseek(f, 0, SEEK_SET) != 0) return nullptr;
  uint8_t header[kFileHeaderBytes];
  const bool reread = std::fread(header, 1, sizeof header, f) == sizeof header;
  if (!reread || std::ftell(f) != kFileHeaderBytes) {
    std::fseek(f, kFileHeaderBytes, SEEK_SET);  // where libpcap left it
    return nullptr;
  }
  bool big_endian = false, nanoseconds = false;
  const uint32_t magic = load32(header, false);
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
    nanoseconds = magic == 0xa1b23c4du;
  } else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
    big_endian = true;
    nanoseconds = magic == 0x4d3cb2a1u;
  } else {
    return nullptr;
  }
  return std::unique_ptr<ClassicRecords>(
      new ClassicRecords(f, big_endian, swapped, nanoseconds, static_cast<uint32_t>(pcap_snapshot(p)), chunk_bytes));
}

CaptureReader::ClassicRecords::ClassicRecords(FILE* file, bool big_endian, bool swapped, bool nanoseconds,
                                              uint32_t snapshot, size_t chunk_bytes)
    : file_(file),
      big_endian_(big_endian),
      swapped_(swapped),
      nanoseconds_(nanoseconds),
      snapshot_(snapshot),
      buffer_(std::max<size_t>(chunk_bytes, kRecordHeaderBytes)) {
  struct stat st;
  const int fd = fileno(file);
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) fd_ = fd;
}

ssize_t CaptureReader::ClassicRecords::read_some(uint8_t* into, size_t n) {
  if (fd_ < 0) {
    const size_t got = std::fread(into, 1, n, file_);
    return got == 0 && std::ferror(file_) ? -1 : static_cast<ssize_t>(got);
  }
  ssize_t got;
  do got = pread(fd_, into, n, offset_);
  while (got < 0 && errno == EINTR);
  if (got > 0) offset_ += got;
  return got;
}

size_t CaptureReader::ClassicRecords::fill(size_t n, std::string& error) {
  if (end_ - begin_ >= n || eof_) return end_ - begin_;
  if (buffer_.size() - begin_ < n) {
    // The record runs past the buffer's end: move its start to the front, growing the buffer for
    // a record longer than it (at most a header and kMaxCaplen bytes).
    if (buffer_.size() < n) buffer_.resize(n);
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ - begin_ < n && !eof_) {
    const ssize_t got = read_some(buffer_.data() + end_, buffer_.size() - end_);
    if (got < 0) {
      error = std::string("error reading dump file: ") + std::strerror(errno);
      break;
    }
    eof_ = got == 0;
    end_ += static_cast<size_t>(got);
  }
  return end_ - begin_;
}

int CaptureReader::ClassicRecords::next(CaptureRecord& record, std::string& error) {
  const size_t header_bytes = fill(kRecordHeaderBytes, error);
  if (!error.empty()) return -1;
  if (header_bytes == 0) return 0;
  if (header_bytes < kRecordHeaderBytes) {
    error = "truncated dump file; tried to read " + std::to_string(kRecordHeaderBytes) + " header bytes, only got " +
            std::to_string(header_bytes);
    position_ += header_bytes;
    return -1;
  }
  const uint8_t* h = buffer_.data() + begin_;
  // libpcap 1.10.3 widens the 32-bit seconds and fraction with their sign in a file of the host's
  // byte order (bpf_int32 fields), without it in a swapped one (SWAPLONG's result is unsigned).
  const uint32_t raw_seconds = load32(h, big_endian_), raw_fraction = load32(h + 4, big_endian_);
  const int64_t seconds = swapped_ ? int64_t{raw_seconds} : int64_t{static_cast<int32_t>(raw_seconds)};
  const int64_t fraction = swapped_ ? int64_t{raw_fraction} : int64_t{static_cast<int32_t>(raw_fraction)};
  const uint32_t caplen = load32(h + 8, big_endian_);
  const uint32_t wire_len = load32(h + 12, big_endian_);
  if (caplen > kMaxCaplen) {
    // libpcap says "bigger than maximum of" only when the snap length is over the maximum, which
    // take_over() leaves to libpcap.
    error = "invalid packet capture length " + std::to_string(caplen) + ", bigger than snaplen of " +
            std::to_string(snapshot_);
    position_ += kRecordHeaderBytes;
    return -1;
  }
  const size_t data_bytes = fill(kRecordHeaderBytes + caplen, error) - kRecordHeaderBytes;
  if (!error.empty()) return -1;
  if (data_bytes < caplen) {
    // libpcap reads up to the snap length first, then discards the rest; it names what it was reading.
    const uint32_t tried = caplen > snapshot_ && data_bytes < snapshot_ ? snapshot_ : caplen;
    error = "truncated dump file; tried to read " + std::to_string(tried) + " captured bytes, only got " +
            std::to_string(data_bytes);
    position_ += kRecordHeaderBytes + data_bytes;
    return -1;
  }
  record.time_ns = seconds * 1000000000 + (nanoseconds_ ? fraction : fraction * 1000);
  record.data = buffer_.data() + begin_ + kRecordHeaderBytes;
  record.caplen = std::min(caplen, snapshot_);  // libpcap cuts a record longer than the snap length
  record.wire_len = wire_len;
  begin_ += kRecordHeaderBytes + caplen;
  position_ += kRecordHeaderBytes + caplen;
  return 1;
}

CaptureReader::CaptureReader(const std::string& path, Mode mode, size_t chunk_bytes) : name_(path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  // The file opened here, with a 1 MB stdio buffer: libpcap reads each record through stdio,
  // whose default buffer (the file system's block, 4 KB) meant one read() per few records.
  // "-" (standard input) and a file that cannot be opened go to libpcap, for its behaviour and
  // its error message.
  FILE* f = path == "-" ? nullptr : std::fopen(path.c_str(), "rb");
  pcap_t* p = nullptr;
  if (f) {
    std::setvbuf(f, nullptr, _IOFBF, kReadBuffer);
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) std::fclose(f);  // on success libpcap owns it and closes it in pcap_close
  } else {
    p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  }
  open_checked(p, errbuf, path == "-" ? Mode::kLibpcap : mode, chunk_bytes);
}

CaptureReader::CaptureReader(FILE* file, const std::string& name, Mode mode, size_t chunk_bytes) : name_(name) {
  if (file == nullptr) fail(name, ": cannot read (no file)");
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) std::fclose(file);  // on success libpcap owns it and closes it in pcap_close
  open_checked(p, errbuf, mode, chunk_bytes);
}

void CaptureReader::open_checked(pcap* handle, const char* errbuf, Mode mode, size_t chunk_bytes) {
  if (handle == nullptr) fail(name_, ": ", explain_open_error(errbuf));
  pcap_ = handle;
  link_type_ = pcap_datalink(pcap_);
  if (mode == Mode::kAuto) own_ = ClassicRecords::take_over(pcap_, link_type_, chunk_bytes);
}

CaptureReader::~CaptureReader() {
  own_.reset();  // before libpcap closes the file it reads
  if (pcap_) pcap_close(pcap_);
}

std::string CaptureReader::link_type_name() const {
  const char* n = pcap_datalink_val_to_name(link_type_);
  const char* d = pcap_datalink_val_to_description(link_type_);
  std::string s = std::to_string(link_type_);
  if (n) s += std::string(" ") + n;
  if (d) s += std::string(" (") + d + ")";
  return s;
}

bool CaptureReader::next(CaptureRecord& record) {
  if (!damage_.empty()) return false;
  if (own_) {
    if (own_->next(record, damage_) != 1) return false;
    ++records_;
    return true;
  }
  struct pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int r = pcap_next_ex(pcap_, &header, &data);
  if (r == 1 && header->ts.tv_sec > kMaxSeconds) {
    // Only a pcapng time can be that late (classic pcap has 32-bit seconds): damage, not an
    // overflow here or in the flow assembler's time differences.
    damage_ = "time stamp " + std::to_string(header->ts.tv_sec) +
              " s is past the year 2262, the last that nanoseconds in 64 bits reach";
    return false;
  }
  if (r == 1) {
    ++records_;
    // With nanosecond precision requested, tv_usec holds nanoseconds.
    record.time_ns = static_cast<int64_t>(header->ts.tv_sec) * 1000000000LL + header->ts.tv_usec;
    record.data = data;
    record.caplen = header->caplen;
    record.wire_len = header->len;
    return true;
  }
  if (r == PCAP_ERROR_BREAK) return false;  // clean end of file
  const char* e = pcap_geterr(pcap_);
  damage_ = (e && *e) ? e : "unreadable record";
  return false;
}

uint64_t CaptureReader::position() const {
  if (own_) return own_->position();
  FILE* f = pcap_file(pcap_);
  if (!f) return 0;
  long pos = std::ftell(f);
  return pos > 0 ? static_cast<uint64_t>(pos) : 0;
}

}  // namespace flowpic
