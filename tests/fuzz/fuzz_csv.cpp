// Lines of the FlowPic authors' CSV through the row parser used by `flowpic_data import-csv`.
#include <cmath>
#include <string_view>

#include "dataset/csv_row.hpp"
#include "fuzz_support.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  AuthorsCsvRowParser parser;
  FlowRecord flow;
  std::string name;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    uint64_t reordered = 0;
    std::string err = parser.parse(line, flow, name, reordered);
    if (err.empty()) {
      const size_t n = flow.size();
      if (n == 0 || flow.ip_length.size() != n || flow.payload_length.size() != n || flow.direction.size() != n)
        std::abort();
      if (flow.time[0] != 0) std::abort();
      for (size_t i = 0; i < n; ++i)
        if (!(flow.time[i] >= 0) || !std::isfinite(flow.time[i]) || (i && flow.time[i] < flow.time[i - 1]))
          std::abort();
      if (!std::isfinite(flow.start_time)) std::abort();
    } else if (err.find('\n') != std::string::npos) {
      std::abort();
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
