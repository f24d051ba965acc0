#pragma once
// The message of the flowpic::Error that a callable throws, for tests that check what an error
// says; "(no error)" when it throws none (anything else propagates and fails the test).
#include <string>

#include "common/error.hpp"

namespace flowpic::testing {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace flowpic::testing
