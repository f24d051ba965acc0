#pragma once
// A tiny packet store with UC Davis ICDM'19's label columns (app, partition, flow_id) and made-up
// packets, for the tests of tcbench's protocol (task.where, task.test_groups, split per_class).
// Every flow has a few dozen packets within its first 15 s, so each gives one tcbench FlowPic.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "dataset/packet_store.hpp"

namespace flowpic::testing {

// flows[partition][app] = how many flows of that app in that partition.
inline void write_ucdavis_like_store(const std::string& path,
                                     const std::map<std::string, std::map<std::string, int>>& flows,
                                     uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  PacketStoreWriter w(path, {"app", "partition", "flow_id"});
  SourceInfo info;
  info.name = "made-up";
  w.add_source(info);
  int id = 0;
  for (const auto& [partition, apps] : flows)
    for (const auto& [app, count] : apps)
      for (int k = 0; k < count; ++k) {
        w.set_current_labels({app, partition, app + "-" + std::to_string(id++) + ".txt"});
        FlowRecord r;
        const int packets = 20 + static_cast<int>(rng() % 40);
        double t = 0;
        for (int p = 0; p < packets; ++p) {
          r.time.push_back(t);
          t += 0.01 * static_cast<double>(1 + rng() % 20);
          r.ip_length.push_back(static_cast<uint32_t>(60 + rng() % 1400));
          r.payload_length.push_back(kUnknownPayload);
          r.direction.push_back(static_cast<uint8_t>(rng() % 2));
          r.tcp_flags.push_back(0);
        }
        w.add_flow(r);
      }
  w.commit();
}

}  // namespace flowpic::testing
