#pragma once
// Label maps: ordered rules on a capture's file name giving several label columns per flow,
// plus optional per-flow filters that drop side traffic (DNS, NTP, ...) inside a capture.
//
// Format (configs/labels/*.json, documented in docs/label_maps.md):
//   {
//     "name": "iscx_vpn_nonvpn",
//     "description": "...",
//     "columns": ["category", "traffic_type", "application", "encapsulation", "dataset"],
//     "defaults": {"dataset": "iscx-vpn2016"},          // optional: values for every matched file
//     "rules": [
//       {"match": "facebook_audio\\d+[ab]?", "labels": {"category": "VoIP", ...}},
//       ...
//     ],
//     "flow_filters": [                                  // optional
//       {"name": "dns", "protocol": "udp", "port": 53},
//       {"name": "mdns", "address": "224.0.0.251"}
//     ]
//   }
// A rule's regex must match the whole base name without extension, case-insensitively. Patterns
// are RE2 syntax, compiled and matched by RE2: time linear in the name, at most 8 MiB per compiled
// pattern (the engines used before failed on fuzz findings: std::regex backtracked for minutes,
// glibc's regcomp took gigabytes). RE2 has no lookaround or backreferences; a pattern it refuses
// is a one-line error. When no rule matches, a trailing "-N" (a split file: "scp1-2") is removed
// and the rules are tried again.
// The first matching rule wins; later matches are reported as overlaps.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataset/packet_store.hpp"

namespace flowpic {

struct FlowFilter {
  std::string name;
  int protocol = -1;                                                   // 6, 17, or -1 = any
  int port = -1;                                                       // either side, -1 = any
  std::optional<std::pair<uint8_t, std::array<uint8_t, 16>>> address;  // (ip version, bytes), either side
  bool matches(const FlowKey& key) const;
};

class LabelMap {
 public:
  class Matcher;  // the compiled pattern (label_map.cpp)
  struct Rule {
    std::string pattern;
    std::shared_ptr<const Matcher> regex;
    std::vector<std::string> values;  // one per column, "" = none
    std::string origin;               // "<file>: rules[3]"
  };
  struct Match {
    int rule = -1;                    // index of the winning rule, -1 = none matched
    std::vector<int> overlapping;     // other rules that also matched
    std::vector<std::string> values;  // one per column ("" everywhere when unmatched)
    bool matched() const { return rule >= 0; }
  };

  LabelMap() = default;
  static LabelMap load(const std::string& path);
  static LabelMap parse(const std::string& json_text, const std::string& origin);
  // Several maps consulted in order (rules of the first before the second); columns are the union.
  static LabelMap load_all(const std::vector<std::string>& paths);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }  // the JSON it came from (all maps, as a JSON list when several)
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<FlowFilter>& flow_filters() const { return filters_; }

  // `file` may carry folders and an extension; only the base name without extension is matched.
  Match match(const std::string& file) const;
  // The first filter that drops a flow with this key, nullptr when none does.
  const FlowFilter* filter_for(const FlowKey& key) const;

 private:
  std::string name_, text_;
  std::vector<std::string> columns_;
  std::vector<Rule> rules_;
  std::vector<FlowFilter> filters_;
};

// Parses "10.0.0.1" or "2001:db8::1" into (4|6, bytes); nullopt when neither.
std::optional<std::pair<uint8_t, std::array<uint8_t, 16>>> parse_ip_address(const std::string& text);

}  // namespace flowpic
