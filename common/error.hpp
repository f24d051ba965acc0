#pragma once
// One exception type for every user-facing failure. Messages are one line: what was wrong,
// where (file, field, flow), and what to do.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace flowpic {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Text from outside (a JSON key, a --set argument, a field of a file) made safe to quote in a
// one-line message: control characters become \n, \r, \t or \xNN.
inline std::string printable(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else
      out += static_cast<char>(c);
  }
  return out;
}

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// fail("cannot open ", path, ": ", reason) throws flowpic::Error with the pieces joined. The
// message is one line whatever the pieces hold: a value from a config or a file may contain a
// newline (found by fuzzing), so control characters are escaped here, once for every message.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(printable(detail::concat(std::forward<Args>(args)...)));
}

}  // namespace flowpic

// Internal invariant: a violation is a bug in flowpic, reported with file and line.
#define FLOWPIC_ASSERT(cond)                                                                         \
  do {                                                                                               \
    if (!(cond)) ::flowpic::fail("internal error: ", #cond, " failed at ", __FILE__, ":", __LINE__); \
  } while (0)
