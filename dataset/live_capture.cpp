#include "dataset/live_capture.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <unistd.h>

#include "common/error.hpp"

namespace flowpic {

std::vector<std::string> capture_interfaces() {
  std::vector<std::string> names;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_if_t* all = nullptr;
  if (pcap_findalldevs(&all, errbuf) != 0) return names;
  for (pcap_if_t* d = all; d; d = d->next)
    if (d->name) names.emplace_back(d->name);
  pcap_freealldevs(all);
  return names;
}

namespace {

std::string available_interfaces() {
  std::string s;
  for (const auto& n : capture_interfaces()) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none found (pcap_findalldevs lists none: no privilege to capture?)" : s;
}

std::string privilege_advice() {
  return "capturing needs the privilege to open raw sockets: run as root (sudo), or give the program the "
         "capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip PATH/TO/classify";
}

}  // namespace

LiveCapture::LiveCapture(const LiveCaptureOptions& o) : interface_(o.interface) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_ = pcap_create(o.interface.c_str(), errbuf);
  if (!pcap_)
    fail("cannot capture on '", o.interface, "': ", errbuf, "; available interfaces: ", available_interfaces());
  pcap_set_snaplen(pcap_, o.snap_length);
  pcap_set_promisc(pcap_, o.promiscuous ? 1 : 0);
  pcap_set_timeout(pcap_, o.timeout_ms);
  pcap_set_buffer_size(pcap_, o.buffer_bytes);
  nano_ = pcap_set_tstamp_precision(pcap_, PCAP_TSTAMP_PRECISION_NANO) == 0;
  const int r = pcap_activate(pcap_);
  if (r < 0) {
    const std::string why = pcap_geterr(pcap_);
    pcap_close(pcap_);
    pcap_ = nullptr;
    if (r == PCAP_ERROR_NO_SUCH_DEVICE)
      fail("no interface '", o.interface, "' to capture on; available interfaces: ", available_interfaces());
    if (r == PCAP_ERROR_PERM_DENIED || r == PCAP_ERROR_PROMISC_PERM_DENIED)
      fail("no permission to capture on '", o.interface, "' (", why, "): ", privilege_advice());
    if (r == PCAP_ERROR_IFACE_NOT_UP) fail("interface '", o.interface, "' is not up (", why, ")");
    fail("cannot capture on '", o.interface, "': ", why.empty() ? pcap_statustostr(r) : why.c_str());
  }
  if (nano_) nano_ = pcap_get_tstamp_precision(pcap_) == PCAP_TSTAMP_PRECISION_NANO;
  // Non-blocking reads and a poll of our own: libpcap's read timeout does not fire on Linux while
  // no packet arrives (TPACKET_V3), and a signal must end the wait.
  timeout_ms_ = o.timeout_ms;
  if (pcap_setnonblock(pcap_, 1, errbuf) != 0 || (fd_ = pcap_get_selectable_fd(pcap_)) < 0) {
    pcap_close(pcap_);
    pcap_ = nullptr;
    fail("cannot capture on '", o.interface, "': no pollable descriptor (", errbuf, ")");
  }
  link_type_ = pcap_datalink(pcap_);
  if (!o.filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(pcap_, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      const std::string why = pcap_geterr(pcap_);
      pcap_close(pcap_);
      pcap_ = nullptr;
      fail("bad capture filter '", o.filter, "': ", why, " (the syntax: man pcap-filter)");
    }
    const int s = pcap_setfilter(pcap_, &prog);
    pcap_freecode(&prog);
    if (s != 0) {
      const std::string why = pcap_geterr(pcap_);
      pcap_close(pcap_);
      pcap_ = nullptr;
      fail("cannot set the capture filter '", o.filter, "': ", why);
    }
  }
}

LiveCapture::~LiveCapture() {
  if (pcap_) pcap_close(pcap_);
}

int LiveCapture::next(CaptureRecord& record) {
  struct pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int r = pcap_next_ex(pcap_, &header, &data);
  if (r == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms_) <= 0) return 0;  // the timeout, or a signal
    r = pcap_next_ex(pcap_, &header, &data);
  }
  if (r == 1) {
    const int64_t frac = nano_ ? header->ts.tv_usec : int64_t{header->ts.tv_usec} * 1000;
    record.time_ns = static_cast<int64_t>(header->ts.tv_sec) * 1000000000LL + frac;
    record.data = data;
    record.caplen = header->caplen;
    record.wire_len = header->len;
    return 1;
  }
  if (r == 0 || r == PCAP_ERROR_BREAK) return 0;
  fail("capture on '", interface_, "' failed: ", pcap_geterr(pcap_));
}

LiveCaptureStats LiveCapture::stats() const {
  struct pcap_stat st {};
  if (pcap_stats(pcap_, &st) != 0) return wide_;
  wide_.received += static_cast<uint32_t>(st.ps_recv - last_recv_);
  wide_.dropped += static_cast<uint32_t>(st.ps_drop - last_drop_);
  wide_.interface_dropped += static_cast<uint32_t>(st.ps_ifdrop - last_ifdrop_);
  last_recv_ = st.ps_recv;
  last_drop_ = st.ps_drop;
  last_ifdrop_ = st.ps_ifdrop;
  return wide_;
}

}  // namespace flowpic
