#include "dataset/label_map.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <re2/re2.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"

namespace flowpic {

std::optional<std::pair<uint8_t, std::array<uint8_t, 16>>> parse_ip_address(const std::string& text) {
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) return std::make_pair(uint8_t{4}, bytes);
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) return std::make_pair(uint8_t{6}, bytes);
  return std::nullopt;
}

bool FlowFilter::matches(const FlowKey& key) const {
  if (protocol >= 0 && key.protocol != protocol) return false;
  if (port >= 0 && key.port_a != port && key.port_b != port) return false;
  if (address) {
    if (key.ip_version != address->first) return false;
    if (key.addr_a != address->second && key.addr_b != address->second) return false;
  }
  return true;
}

// A whole-name, case-insensitive matcher on RE2 (see label_map.hpp for why).
class LabelMap::Matcher {
 public:
  static constexpr int64_t kMaxMem = int64_t{8} << 20;  // RE2's budget for the compiled program

  // Throws std::string with the reason (one line) when RE2 refuses the pattern.
  explicit Matcher(const std::string& pattern) : re_(pattern, options()) {
    if (re_.ok()) return;
    if (re_.error_code() == RE2::ErrorPatternTooLarge)
      throw std::string("cannot be used: its compiled program is over RE2's 8 MiB limit (max_mem)");
    throw std::string("is not a valid regular expression: ") + re_.error() + hint(re_.error_code(), re_.error_arg()) +
        " (RE2 syntax, see docs/label_maps.md)";
  }
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;
  bool matches(const std::string& text) const { return RE2::FullMatch(text, re_); }

 private:
  static RE2::Options options() {
    RE2::Options o;  // UTF-8, Perl-like syntax
    o.set_case_sensitive(false);
    o.set_never_capture(true);  // groups only group: nothing is extracted
    o.set_max_mem(kMaxMem);
    o.set_log_errors(false);  // the error goes into the one-line message, never to stderr
    return o;
  }
  // What RE2's message leaves unsaid for the constructs other engines have and RE2 has not.
  static std::string hint(RE2::ErrorCode code, const std::string& arg) {
    if (code == RE2::ErrorBadEscape && arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9')
      return "; backreferences are not supported";
    if (code == RE2::ErrorBadPerlOp &&
        (arg.rfind("(?=", 0) == 0 || arg.rfind("(?!", 0) == 0 || arg.rfind("(?<", 0) == 0))
      return "; lookaround is not supported";
    if (code == RE2::ErrorRepeatOp) return "; a quantifier may not follow another one";
    if (code == RE2::ErrorRepeatSize) return "; counts go up to 1000, nested counts multiplied";
    return "";
  }
  RE2 re_;
};

namespace {

FlowFilter parse_filter(const json& j, const JsonWhere& w) {
  check_keys(j, w, {"name", "protocol", "port", "address"}, {"name"});
  FlowFilter f;
  f.name = json_string(j, "name", w);
  if (f.name.empty()) fail(w.at("name").str(), ": must not be empty");
  if (j.contains("protocol")) {
    std::string p = json_string(j, "protocol", w);
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
    if (p == "tcp")
      f.protocol = 6;
    else if (p == "udp")
      f.protocol = 17;
    else
      fail(w.at("protocol").str(), ": '", p, "' is not a protocol; allowed: tcp, udp");
  }
  if (j.contains("port")) {
    int64_t port = json_int(j, "port", w);
    if (port < 0 || port > 65535) fail(w.at("port").str(), ": ", port, " is not a port number (0-65535)");
    f.port = static_cast<int>(port);
  }
  if (j.contains("address")) {
    std::string a = json_string(j, "address", w);
    f.address = parse_ip_address(a);
    if (!f.address) fail(w.at("address").str(), ": '", a, "' is not an IPv4 or IPv6 address");
  }
  if (f.protocol < 0 && f.port < 0 && !f.address)
    fail(w.str(), ": a filter needs at least one of protocol, port, address (it would drop every flow)");
  return f;
}

}  // namespace

LabelMap LabelMap::parse(const std::string& json_text, const std::string& origin) {
  json j = parse_json(json_text, origin);
  JsonWhere w{origin, ""};
  check_keys(j, w, {"name", "description", "columns", "defaults", "rules", "flow_filters"},
             {"name", "columns", "rules"});
  LabelMap m;
  m.name_ = json_string(j, "name", w);
  m.text_ = json_text;
  m.columns_ = json_strings(j, "columns", w);
  if (m.columns_.empty()) fail(w.at("columns").str(), ": at least one label column is needed");
  for (size_t i = 0; i < m.columns_.size(); ++i) {
    if (m.columns_[i].empty()) fail(w.at("columns").at(i).str(), ": empty column name");
    for (size_t k = 0; k < i; ++k)
      if (m.columns_[k] == m.columns_[i])
        fail(w.at("columns").at(i).str(), ": column '", m.columns_[i], "' is listed twice");
  }
  auto column_index = [&](const std::string& key, const JsonWhere& at) {
    auto it = std::find(m.columns_.begin(), m.columns_.end(), key);
    if (it == m.columns_.end()) {
      std::string allowed;
      for (const auto& c : m.columns_) allowed += (allowed.empty() ? "" : ", ") + c;
      fail(at.at(key).str(), ": not a label column; the map's columns are: ", allowed);
    }
    return static_cast<size_t>(it - m.columns_.begin());
  };

  std::vector<std::string> defaults(m.columns_.size());
  if (j.contains("defaults")) {
    const json& d = j["defaults"];
    JsonWhere dw = w.at("defaults");
    if (!d.is_object()) fail(dw.str(), ": expected an object of column -> value");
    for (auto it = d.begin(); it != d.end(); ++it) defaults[column_index(it.key(), dw)] = json_string(d, it.key(), dw);
  }

  const json& rules = j["rules"];
  if (!rules.is_array()) fail(w.at("rules").str(), ": expected a list of rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    JsonWhere rw = w.at("rules").at(i);
    check_keys(rules[i], rw, {"match", "labels", "comment"}, {"match", "labels"});
    Rule r;
    r.pattern = json_string(rules[i], "match", rw);
    r.origin = rw.str();
    if (r.pattern.size() > 1000) fail(rw.at("match").str(), ": the pattern is longer than 1000 characters");
    try {
      r.regex = std::make_shared<const Matcher>(r.pattern);
    } catch (const std::string& why) {
      fail(rw.at("match").str(), ": '", r.pattern, "' ", why);
    }
    r.values = defaults;
    const json& labels = rules[i]["labels"];
    JsonWhere lw = rw.at("labels");
    if (!labels.is_object() || labels.empty()) fail(lw.str(), ": expected an object of column -> value");
    for (auto it = labels.begin(); it != labels.end(); ++it)
      r.values[column_index(it.key(), lw)] = json_string(labels, it.key(), lw);
    m.rules_.push_back(std::move(r));
  }

  if (j.contains("flow_filters")) {
    const json& fl = j["flow_filters"];
    if (!fl.is_array()) fail(w.at("flow_filters").str(), ": expected a list of filters");
    for (size_t i = 0; i < fl.size(); ++i) m.filters_.push_back(parse_filter(fl[i], w.at("flow_filters").at(i)));
  }
  return m;
}

LabelMap LabelMap::load(const std::string& path) {
  // load_json_file gives the "cannot open" error; re-read the text to keep it verbatim.
  json j = load_json_file(path);
  return parse(j.dump(2), path);
}

LabelMap LabelMap::load_all(const std::vector<std::string>& paths) {
  if (paths.empty()) return LabelMap();
  if (paths.size() == 1) return load(paths[0]);
  LabelMap all;
  json texts = json::array();
  for (const auto& p : paths) {
    LabelMap m = load(p);
    all.name_ += (all.name_.empty() ? "" : "+") + m.name_;
    texts.push_back(json::parse(m.text_));
    // Columns: union in order of first appearance; each rule's values re-laid onto the union.
    for (const auto& c : m.columns_)
      if (std::find(all.columns_.begin(), all.columns_.end(), c) == all.columns_.end()) all.columns_.push_back(c);
    for (auto& r : m.rules_) {
      std::vector<std::string> values(all.columns_.size());
      for (size_t k = 0; k < m.columns_.size(); ++k)
        values[std::find(all.columns_.begin(), all.columns_.end(), m.columns_[k]) - all.columns_.begin()] = r.values[k];
      r.values = std::move(values);
      all.rules_.push_back(std::move(r));
    }
    // The same filter in two maps (both ISCX maps drop DNS, NTP...) is kept once.
    for (auto& f : m.filters_) {
      auto same = [&](const FlowFilter& g) {
        return g.name == f.name && g.protocol == f.protocol && g.port == f.port && g.address == f.address;
      };
      if (std::none_of(all.filters_.begin(), all.filters_.end(), same)) all.filters_.push_back(std::move(f));
    }
  }
  for (auto& r : all.rules_) r.values.resize(all.columns_.size());
  all.text_ = texts.dump(2);
  return all;
}

LabelMap::Match LabelMap::match(const std::string& file) const {
  Match out;
  out.values.assign(columns_.size(), "");
  std::string name = stem(file);
  auto try_name = [&](const std::string& n) {
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (!rules_[i].regex->matches(n)) continue;
      if (out.rule < 0) {
        out.rule = static_cast<int>(i);
        out.values = rules_[i].values;
      } else {
        out.overlapping.push_back(static_cast<int>(i));
      }
    }
  };
  try_name(name);
  if (out.rule < 0) {
    // A split file ("scp1-2", "ftps_down_1a-1"): drop the trailing -N and try again.
    // (No std::regex here: it recurses per character and a long name would overflow the stack.)
    size_t dash = name.find_last_of('-');
    if (dash != std::string::npos && dash + 1 < name.size() &&
        name.find_first_not_of("0123456789", dash + 1) == std::string::npos)
      try_name(name.substr(0, dash));
  }
  return out;
}

const FlowFilter* LabelMap::filter_for(const FlowKey& key) const {
  for (const auto& f : filters_)
    if (f.matches(key)) return &f;
  return nullptr;
}

}  // namespace flowpic
