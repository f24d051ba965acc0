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

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// fail("cannot open ", path, ": ", reason) throws flowpic::Error with the pieces joined.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace flowpic

// Internal invariant: a violation is a bug in flowpic, reported with file and line.
#define FLOWPIC_ASSERT(cond)                                                                \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::flowpic::fail("internal error: ", #cond, " failed at ", __FILE__, ":", __LINE__);  \
  } while (0)
