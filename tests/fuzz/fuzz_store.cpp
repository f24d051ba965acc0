// A damaged packet store: read_packet_store (everything, validated) and the streaming reader.
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "fuzz_support.hpp"

using namespace flowpic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputFile in(data, size, ".h5");
  fuzz::expect_clean([&] {
    PacketStore s = read_packet_store(in.path());
    for (size_t f = 0; f < s.num_flows(); ++f) {
      (void)s.keys[f].to_string();
      for (const auto& c : s.labels) (void)s.label_of(f, c.name);
    }
  });
  fuzz::expect_clean([&] {
    PacketStoreReader r(in.path());
    PacketStore part;
    if (r.flows().num_flows()) r.read_packets(r.flows().num_flows() - 1, 1, part);
    (void)describe_store(in.path());
  });
  fuzz::expect_no_open_hdf5_ids();
  return 0;
}
