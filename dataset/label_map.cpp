#include "dataset/label_map.hpp"

#include <arpa/inet.h>
#include <regex.h>

#include <algorithm>
#include <cctype>

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

// A whole-name, case-insensitive matcher on the POSIX engine (see label_map.hpp for why).
class LabelMap::Matcher {
 public:
  // Throws std::string with the reason when the pattern cannot be used.
  explicit Matcher(const std::string& ecmascript) {
    std::string ere = "^(" + to_ere(ecmascript) + ")$";
    int rc = regcomp(&re_, ere.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &re_, buf, sizeof buf);
      throw std::string(buf);
    }
  }
  ~Matcher() { regfree(&re_); }
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;
  bool matches(const std::string& text) const { return regexec(&re_, text.c_str(), 0, nullptr, 0) == 0; }

 private:
  // ECMAScript -> POSIX extended: the class escapes become bracket expressions, (?: becomes (,
  // lazy quantifiers (*? +? ??) match the same names as greedy ones for a whole-name match.
  static std::string to_ere(const std::string& p) {
    std::string out;
    bool in_class = false;
    for (size_t i = 0; i < p.size(); ++i) {
      char c = p[i];
      if (c == '\\' && i + 1 < p.size()) {
        char n = p[++i];
        const char* cls = nullptr;
        switch (n) {
          case 'd': cls = in_class ? "0-9" : "[0-9]"; break;
          case 'w': cls = in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]"; break;
          case 's': cls = in_class ? "[:space:]" : "[[:space:]]"; break;
          case 'D': if (!in_class) cls = "[^0-9]"; break;
          case 'W': if (!in_class) cls = "[^A-Za-z0-9_]"; break;
          case 'S': if (!in_class) cls = "[^[:space:]]"; break;
          default: break;
        }
        if (cls) out += cls;
        else if (n >= '1' && n <= '9') throw std::string("backreferences (\\" + std::string(1, n) + ") are not supported");
        else if (std::isalnum(static_cast<unsigned char>(n))) throw std::string("the escape \\") + n + " is not supported (use \\d, \\w, \\s or a bracket expression)";
        else if (in_class) out += n == ']' || n == '\\' || n == '-' || n == '^' ? std::string("\\") + n : std::string(1, n);
        else out += std::string("\\") + n;
        continue;
      }
      if (in_class) {
        if (c == ']') in_class = false;
        out += c;
        continue;
      }
      if (c == '[') {
        in_class = true;
        out += c;
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
        if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // a leading ] is literal
        continue;
      }
      if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
        if (i + 2 < p.size() && p[i + 2] == ':') {
          out += '(';
          i += 2;
          continue;
        }
        throw std::string("lookaheads ((?= and (?!) are not supported");
      }
      if (c == '?' && i > 0 && (p[i - 1] == '*' || p[i - 1] == '+' || p[i - 1] == '?' || p[i - 1] == '}') &&
          !(i > 1 && p[i - 2] == '\\'))
        continue;  // lazy quantifier
      out += c;
    }
    return out;
  }
  regex_t re_{};
};

namespace {

// Repetition is expanded by the regex engines when compiling: "(a{255}){255}" alone is 65025
// copies, and glibc copies the tree for each stacked quantifier ("a+++...", a fuzz finding that
// took gigabytes). Counts are limited to 255 (a file name's length) and may not nest, and a
// quantifier may not follow another (a lazy '?' excepted).
std::string repetition_problem(const std::string& p) {
  std::vector<bool> group_has_count{false};  // one entry per open group, [0] = the whole pattern
  bool in_class = false, after_quantifier = false, lazy = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    const bool quantifier = !in_class && (c == '*' || c == '+' || c == '?' || c == '{');
    if (quantifier) {
      if (c == '?' && after_quantifier && !lazy) {
        lazy = true;  // "a*?": lazy, the same names for a whole-name match
        continue;
      }
      if (after_quantifier) return "a quantifier follows another one (like a** or a+{2})";
    }
    after_quantifier = quantifier;
    lazy = false;
    if (c == '\\') { ++i; continue; }
    if (in_class) { if (c == ']') in_class = false; continue; }
    if (c == '[') { in_class = true; if (i + 1 < p.size() && p[i + 1] == ']') ++i; continue; }
    if (c == '(') { group_has_count.push_back(false); continue; }
    if (c == ')') {
      bool inner = group_has_count.size() > 1 && group_has_count.back();
      if (group_has_count.size() > 1) group_has_count.pop_back();
      if (inner && i + 1 < p.size() && p[i + 1] == '{') return "counted repetition ({n}) may not be nested";
      group_has_count.back() = group_has_count.back() || inner;
      continue;
    }
    if (c == '{') {
      size_t j = i + 1;
      long n = 0;
      bool digits = false;
      while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) || p[j] == ',')) {
        if (p[j] == ',') n = 0;
        else if ((n = n * 10 + (p[j] - '0')) > 255) return "a repetition count over 255 (longer than any file name)";
        digits = true;
        ++j;
      }
      if (digits && j < p.size() && p[j] == '}') {
        group_has_count.back() = true;
        i = j;  // after_quantifier stays set: "{2}*" is refused too
      } else {
        after_quantifier = false;  // a literal '{'
      }
    }
  }
  return "";
}

FlowFilter parse_filter(const json& j, const JsonWhere& w) {
  check_keys(j, w, {"name", "protocol", "port", "address"}, {"name"});
  FlowFilter f;
  f.name = json_string(j, "name", w);
  if (f.name.empty()) fail(w.at("name").str(), ": must not be empty");
  if (j.contains("protocol")) {
    std::string p = json_string(j, "protocol", w);
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
    if (p == "tcp") f.protocol = 6;
    else if (p == "udp") f.protocol = 17;
    else fail(w.at("protocol").str(), ": '", p, "' is not a protocol; allowed: tcp, udp");
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
  check_keys(j, w, {"name", "description", "columns", "defaults", "rules", "flow_filters"}, {"name", "columns", "rules"});
  LabelMap m;
  m.name_ = json_string(j, "name", w);
  m.text_ = json_text;
  m.columns_ = json_strings(j, "columns", w);
  if (m.columns_.empty()) fail(w.at("columns").str(), ": at least one label column is needed");
  for (size_t i = 0; i < m.columns_.size(); ++i) {
    if (m.columns_[i].empty()) fail(w.at("columns").at(i).str(), ": empty column name");
    for (size_t k = 0; k < i; ++k)
      if (m.columns_[k] == m.columns_[i]) fail(w.at("columns").at(i).str(), ": column '", m.columns_[i], "' is listed twice");
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
    if (std::string why = repetition_problem(r.pattern); !why.empty())
      fail(rw.at("match").str(), ": '", r.pattern, "' cannot be used: ", why);
    try {
      (void)std::regex(r.pattern, std::regex::ECMAScript | std::regex::icase);  // the documented syntax
      r.regex = std::make_shared<const Matcher>(r.pattern);
    } catch (const std::regex_error& e) {
      fail(rw.at("match").str(), ": '", r.pattern, "' is not a valid regular expression: ", e.what());
    } catch (const std::string& why) {
      fail(rw.at("match").str(), ": '", r.pattern, "' cannot be used: ", why);
    }
    r.values = defaults;
    const json& labels = rules[i]["labels"];
    JsonWhere lw = rw.at("labels");
    if (!labels.is_object() || labels.empty()) fail(lw.str(), ": expected an object of column -> value");
    for (auto it = labels.begin(); it != labels.end(); ++it) r.values[column_index(it.key(), lw)] = json_string(labels, it.key(), lw);
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
