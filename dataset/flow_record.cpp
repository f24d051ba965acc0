#include "dataset/flow_record.hpp"

#include <arpa/inet.h>

namespace flowpic {

std::string FlowKey::addr_string(bool side_a) const {
  const auto& a = side_a ? addr_a : addr_b;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf)) return "?";
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

}  // namespace flowpic
