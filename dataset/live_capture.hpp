#pragma once
// Live capture from a network interface through libpcap (pcap_create / pcap_activate), for live
// classification. Only the headers are captured (a small snap length): decode_packet takes the IP
// and TCP/UDP lengths from the headers, never from the captured bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/capture_reader.hpp"

struct pcap;  // libpcap's pcap_t

namespace flowpic {

struct LiveCaptureOptions {
  std::string interface;  // as pcap_findalldevs names it ("eth0", "lo", "any")
  std::string filter;     // a BPF expression (man pcap-filter), "" = every packet
  bool promiscuous = false;
  // Ethernet 14 + two VLAN tags 8 + IPv6 40 with some extension headers + TCP 60 (all options):
  // 192 keeps every header this project decodes.
  int snap_length = 192;
  int timeout_ms = 100;         // next() returns after this long without a packet
  int buffer_bytes = 64 << 20;  // the kernel's ring: bursts wait there while the decoder is busy
};

// libpcap's counts (pcap_stats): packets the kernel handed to the capture, dropped because the
// buffer was full, and dropped by the interface or its driver (0 where not supported).
struct LiveCaptureStats {
  uint64_t received = 0, dropped = 0, interface_dropped = 0;
};

class LiveCapture {
 public:
  // Throws flowpic::Error with one line saying what to do: without the privilege to capture, how to
  // get it (run as root, or setcap cap_net_raw,cap_net_admin=eip on the program); for an unknown
  // interface, the available ones; for a bad filter, libpcap's complaint.
  explicit LiveCapture(const LiveCaptureOptions& options);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  int link_type() const { return link_type_; }
  // 1: a packet in `record` (valid until the next call); 0: none came within the timeout.
  // Throws on a capture error (the interface went down).
  int next(CaptureRecord& record);
  LiveCaptureStats stats() const;

 private:
  pcap* pcap_ = nullptr;
  std::string interface_;
  int link_type_ = -1;
  bool nano_ = false;
  int fd_ = -1, timeout_ms_ = 100;
  // pcap_stats counts in 32 bits on some platforms: widened here across wrap-arounds.
  mutable uint32_t last_recv_ = 0, last_drop_ = 0, last_ifdrop_ = 0;
  mutable LiveCaptureStats wide_;
};

// The interfaces libpcap can capture on (pcap_findalldevs), in its order.
std::vector<std::string> capture_interfaces();

}  // namespace flowpic
