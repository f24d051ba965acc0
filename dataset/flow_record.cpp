#include "dataset/flow_record.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <numeric>

namespace flowpic {

std::string FlowKey::addr_string(bool side_a) const {
  const auto& a = side_a ? addr_a : addr_b;
  if (ip_version != 6) {
    // inet_ntop's dotted quad, written here: inet_ntop formats it through sprintf, which was a
    // cost per record of classify (two addresses a row).
    char quad[16];  // "255.255.255.255"
    char* p = quad;
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      const unsigned v = a[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
    return std::string(quad, p);
  }
  char buf[INET6_ADDRSTRLEN] = {0};
  if (!inet_ntop(AF_INET6, a.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string FlowKey::to_string() const {
  auto end = [&](bool a) {
    std::string s = addr_string(a);
    if (ip_version == 6) s = "[" + s + "]";
    return s + ":" + std::to_string(a ? port_a : port_b);
  };
  std::string proto = protocol == 6 ? "TCP" : protocol == 17 ? "UDP" : "proto " + std::to_string(protocol);
  return end(true) + " -> " + end(false) + " " + proto;
}

uint64_t sort_by_time(FlowRecord& flow) {
  const size_t n = flow.size();
  uint64_t reordered = 0;
  for (size_t i = 1, newest = 0; i < n; ++i) {
    if (flow.time[i] < flow.time[newest])
      ++reordered;
    else
      newest = i;
  }
  if (reordered == 0) return 0;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return flow.time[a] < flow.time[b]; });
  auto permute = [&](auto& column) {
    if (column.size() != n) return;  // a column the flow does not carry
    auto sorted = column;
    for (size_t i = 0; i < n; ++i) sorted[i] = column[order[i]];
    column.swap(sorted);
  };
  permute(flow.time);
  permute(flow.ip_length);
  permute(flow.payload_length);
  permute(flow.direction);
  permute(flow.tcp_flags);
  return reordered;
}

}  // namespace flowpic
