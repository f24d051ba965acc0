#include "dataset/capture_reader.hpp"

#include <pcap/pcap.h>

#include <cstring>

#include "common/error.hpp"

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

}  // namespace

CaptureReader::CaptureReader(const std::string& path) : name_(path) {
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
  open_checked(p, errbuf);
}

CaptureReader::CaptureReader(FILE* file, const std::string& name) : name_(name) {
  if (file == nullptr) fail(name, ": cannot read (no file)");
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) std::fclose(file);  // on success libpcap owns it and closes it in pcap_close
  open_checked(p, errbuf);
}

void CaptureReader::open_checked(pcap* handle, const char* errbuf) {
  if (handle == nullptr) fail(name_, ": ", explain_open_error(errbuf));
  pcap_ = handle;
  link_type_ = pcap_datalink(pcap_);
}

CaptureReader::~CaptureReader() {
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
  struct pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int r = pcap_next_ex(pcap_, &header, &data);
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
  FILE* f = pcap_file(pcap_);
  if (!f) return 0;
  long pos = std::ftell(f);
  return pos > 0 ? static_cast<uint64_t>(pos) : 0;
}

}  // namespace flowpic
