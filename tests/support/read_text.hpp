#pragma once
// A whole file as text, for tests that check what a program wrote ("" when it cannot be read:
// the assertion on its content then says what was missing).
#include <fstream>
#include <iterator>
#include <string>

namespace flowpic::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace flowpic::testing
