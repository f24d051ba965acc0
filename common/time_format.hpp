#pragma once
// Times written into files (the "created" attributes of stores, image files and results, the
// synthetic captures' start times): ISO 8601 in UTC.
#include <cstdint>
#include <ctime>
#include <string>

namespace flowpic {

// "2016-02-01T09:49:45Z"
std::string iso8601_utc(std::time_t t);
// "2016-02-01T09:49:45.767301388Z" for a time in nanoseconds since the epoch (capture timestamps).
std::string iso8601_utc_ns(int64_t ns);
// iso8601_utc of the current time.
std::string utc_now_iso8601();

}  // namespace flowpic
