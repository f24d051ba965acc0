#pragma once
// The packet columns of a store being written: blocks of packets appended to the /packets datasets
// on a background thread (used by PacketStoreWriter; layout in docs/packet_store.md).
#include <hdf5.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common/h5.hpp"
#include "dataset/flow_record.hpp"

namespace flowpic {

// The five packet columns of a run of packets.
struct PacketBlock {
  std::vector<double> time;
  std::vector<uint32_t> ip_length, payload_length;
  std::vector<uint8_t> direction, tcp_flags;
  size_t size() const { return time.size(); }
  void clear();
  void append(const FlowRecord& f);
};

// Appends packet blocks to the /packets datasets on a thread of its own, so that compressing
// them (most of the store's write cost) overlaps with reading and assembling the next packets.
// Other threads may use HDF5 meanwhile (merge reads its inputs) only because the library is
// built thread-safe (it serialises calls); with a library that is not, blocks are written on
// the caller's thread instead.
class BackgroundPacketWriter {
 public:
  // Blocks are handed over when they hold this many packets (also the HDF5 chunk rows).
  static constexpr size_t kBlockRows = 1 << 16;

  explicit BackgroundPacketWriter(hid_t file);
  // Without finish(): the store is being abandoned, so queued blocks are dropped, not written.
  ~BackgroundPacketWriter();
  BackgroundPacketWriter(const BackgroundPacketWriter&) = delete;
  BackgroundPacketWriter& operator=(const BackgroundPacketWriter&) = delete;

  // Queues a filled block and returns an empty one to fill next; rethrows a write error.
  PacketBlock submit(PacketBlock&& block);
  // Writes what is queued, stops the thread, flushes the datasets and closes them.
  void finish();

 private:
  void stop();
  void run();
  void write(const PacketBlock& b);

  h5::Appender time_, ip_length_, payload_length_, direction_, tcp_flags_;
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<PacketBlock> queue_;
  std::vector<PacketBlock> spare_;
  std::exception_ptr error_;
  bool threaded_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace flowpic
