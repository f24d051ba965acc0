#pragma once
// Strict JSON for configs, label maps and model descriptions: a syntax error names the file,
// line and column; an unknown key or a wrong type names the file, the key's path and what is allowed.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace flowpic {

using json = nlohmann::json;

// Parses a JSON file; "configs/x.json:12:5: syntax error: ..." on bad input, "cannot open" when missing.
json load_json_file(const std::string& path);
// Parses text; `origin` names it in errors.
json parse_json(const std::string& text, const std::string& origin);

// Context for errors: the file and the key path inside it ("model.layers[2].kernel").
struct JsonWhere {
  std::string file;
  std::string path;
  JsonWhere at(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  JsonWhere at(size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }
  std::string str() const;  // "file: key path"
};

// A value as JSON text for messages: one line, control characters escaped, never throws.
std::string json_text(const json& v);

// Throws when `obj` is not an object, has a key outside `allowed`, or lacks one of `required`.
void check_keys(const json& obj, const JsonWhere& where, const std::vector<std::string>& allowed,
                const std::vector<std::string>& required = {});

// Typed access with errors naming the key and the expected type.
std::string json_string(const json& obj, const std::string& key, const JsonWhere& where);
double json_number(const json& obj, const std::string& key, const JsonWhere& where);
int64_t json_int(const json& obj, const std::string& key, const JsonWhere& where);
bool json_bool(const json& obj, const std::string& key, const JsonWhere& where);
std::vector<std::string> json_strings(const json& obj, const std::string& key, const JsonWhere& where);

}  // namespace flowpic
