#pragma once
// The one tolerance helper (llm.c style): |got - ref| <= atol + |ref| * rtol for every element.
// On failure it names the worst element; on success it reports how much of the threshold the
// worst element used, so thresholds can be kept well above what real runs need.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace flowpic::testing {

template <typename A, typename B>
::testing::AssertionResult all_close(const std::vector<A>& got, const std::vector<B>& ref, double atol, double rtol,
                                     const std::string& what = "values") {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " != reference " << ref.size();
  double worst_use = 0;
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
    double thr = atol + std::fabs(r) * rtol;
    double diff = std::fabs(g - r);
    // thr == 0 (atol 0, reference 0) allows only an exact match.
    double use = !std::isfinite(g) ? INFINITY : thr > 0 ? diff / thr : (diff == 0 ? 0.0 : INFINITY);
    if (!(use <= worst_use)) {
      worst_use = use;
      worst = i;
    }
  }
  if (!(worst_use <= 1.0))
    return ::testing::AssertionFailure() << what << ": element " << worst << " is " << double(got[worst])
                                         << ", reference " << double(ref[worst]) << " (" << worst_use
                                         << "x the tolerance atol=" << atol << " rtol=" << rtol << ")";
  return ::testing::AssertionSuccess() << what << ": worst element " << worst << " used " << 100 * worst_use
                                       << "% of the tolerance";
}

}  // namespace flowpic::testing

// EXPECT_ALL_CLOSE(got, ref, atol, rtol): prints the worst element's use of the threshold.
#define EXPECT_ALL_CLOSE(got, ref, atol, rtol)                                           \
  do {                                                                                   \
    auto flowpic_r_ = ::flowpic::testing::all_close((got), (ref), (atol), (rtol), #got); \
    EXPECT_TRUE(flowpic_r_);                                                             \
    if (flowpic_r_) std::printf("  [tolerance] %s\n", flowpic_r_.message());             \
  } while (0)
