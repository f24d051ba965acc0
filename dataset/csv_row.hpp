#pragma once
// One line of the FlowPic authors' per-session CSV -> one unidirectional flow (the format is
// described at the top of csv_import.cpp). Separate from the import so tests and the fuzzer can
// call it on single lines.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataset/packet_store.hpp"

namespace flowpic {

class AuthorsCsvRowParser {
 public:
  // Returns "" and fills `flow` (view kUnidirectional, times sorted, first at 0), `pcap_name` and
  // `reordered` (packets that were out of time order) on success; else one line saying what is wrong.
  std::string parse(std::string_view line, FlowRecord& flow, std::string& pcap_name, uint64_t& reordered);

 private:
  uint64_t normalise_times(FlowRecord& flow, double start_time);
  std::vector<std::string_view> fields_;
};

}  // namespace flowpic
