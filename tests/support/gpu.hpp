#pragma once
// GPU cases of a test: skipped without a usable CUDA device, real on a machine with one.
#include <gtest/gtest.h>

#include "common/device.hpp"

#define FLOWPIC_REQUIRE_GPU()                                                                      \
  do {                                                                                             \
    if (!::flowpic::cuda_device_available()) GTEST_SKIP() << ::flowpic::cuda_device_description(); \
  } while (0)
