#include "common/time_format.hpp"

#include <cstdio>

namespace flowpic {

std::string iso8601_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso8601_utc_ns(int64_t ns) {
  int64_t s = ns / 1000000000LL, frac = ns % 1000000000LL;
  if (frac < 0) s -= 1, frac += 1000000000LL;  // before 1970: floor, so the fraction counts forward
  const std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(frac));
  return out;
}

std::string utc_now_iso8601() { return iso8601_utc(std::time(nullptr)); }

}  // namespace flowpic
