// Label maps: the first line is a capture file name to label, the rest the map's JSON.
#include <string>

#include "dataset/label_map.hpp"
#include "fuzz_support.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string name = nl == std::string::npos ? "capture" : text.substr(0, nl);
  std::string json_text = nl == std::string::npos ? text : text.substr(nl + 1);
  fuzz::expect_clean([&] {
    LabelMap m = LabelMap::parse(json_text, "fuzz.json");
    LabelMap::Match r = m.match(name + ".pcap");
    if (r.values.size() != m.columns().size()) std::abort();
    FlowKey k;
    k.protocol = 17;
    k.port_a = 53;
    (void)m.filter_for(k);
  });
  return 0;
}
