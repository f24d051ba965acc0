#include "common/json_util.hpp"

#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace flowpic {

std::string JsonWhere::str() const {
  if (path.empty()) return file;
  return file + ": " + printable(path);  // keys are the user's text: keep the message on one line
}

std::string json_text(const json& v) {
  // Never throws (a string from --set may not be UTF-8) and never spans lines.
  return printable(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

json parse_json(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < text.size() && i + 1 < e.byte; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string msg = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line L, column C: reason"
    size_t colon = msg.find(": ", msg.find("parse error"));
    std::string reason = colon == std::string::npos ? msg : msg.substr(colon + 2);
    fail(origin, ":", line, ":", col, ": JSON syntax error: ", reason);
  } catch (const json::exception& e) {
    // A number too large for a double ("1e999") is out_of_range.406, not a parse_error.
    std::string msg = e.what();
    size_t close = msg.find("] ");
    fail(origin, ": JSON error: ", close == std::string::npos ? msg : msg.substr(close + 2));
  }
}

json load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", path, ": no such file or not readable");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path);
}

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}
const json& member(const json& obj, const std::string& key, const JsonWhere& where) {
  if (!obj.is_object()) fail(where.str(), ": expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(where.at(key).str(), ": required key is missing");
  return *it;
}
}  // namespace

void check_keys(const json& obj, const JsonWhere& where, const std::vector<std::string>& allowed,
                const std::vector<std::string>& required) {
  if (!obj.is_object()) fail(where.str(), ": expected an object, got ", obj.type_name());
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it.key();
    if (!ok) fail(where.at(it.key()).str(), ": unknown key; allowed here: ", join(allowed));
  }
  for (const auto& r : required)
    if (!obj.contains(r)) fail(where.at(r).str(), ": required key is missing");
}

std::string json_string(const json& obj, const std::string& key, const JsonWhere& where) {
  const json& v = member(obj, key, where);
  if (!v.is_string()) fail(where.at(key).str(), ": expected a string, got ", v.type_name());
  return v.get<std::string>();
}
double json_number(const json& obj, const std::string& key, const JsonWhere& where) {
  const json& v = member(obj, key, where);
  if (!v.is_number()) fail(where.at(key).str(), ": expected a number, got ", v.type_name());
  return v.get<double>();
}
int64_t json_int(const json& obj, const std::string& key, const JsonWhere& where) {
  const json& v = member(obj, key, where);
  if (!v.is_number_integer()) fail(where.at(key).str(), ": expected an integer, got ", json_text(v));
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
    fail(where.at(key).str(), ": ", json_text(v), " is too large");
  return v.get<int64_t>();
}
bool json_bool(const json& obj, const std::string& key, const JsonWhere& where) {
  const json& v = member(obj, key, where);
  if (!v.is_boolean()) fail(where.at(key).str(), ": expected true or false, got ", json_text(v));
  return v.get<bool>();
}
std::vector<std::string> json_strings(const json& obj, const std::string& key, const JsonWhere& where) {
  const json& v = member(obj, key, where);
  if (!v.is_array()) fail(where.at(key).str(), ": expected a list of strings, got ", v.type_name());
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) fail(where.at(key).at(i).str(), ": expected a string, got ", v[i].type_name());
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

}  // namespace flowpic
