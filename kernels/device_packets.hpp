#pragma once
// Device-side inputs of the image kernels (CUDA build only):
//  - DevicePackets: a store's packet columns uploaded once and kept on the device;
//  - WindowStaging: the windows of one batch, copied through pinned memory on the caller's stream;
// (PinnedBuffer and CudaEvent, the RAII owners they use, are in common/device_memory.hpp.)
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "common/device_memory.hpp"
#include "kernels/image_spec.hpp"

namespace flowpic {

class DevicePackets {
 public:
  DevicePackets() = default;
  // Copies the columns to the device. The host columns may be pageable memory, so this waits
  // for the copies to finish before returning (it runs once per store, not per batch).
  explicit DevicePackets(const PacketColumns& host, cudaStream_t stream = nullptr);
  DevicePackets(DevicePackets&&) noexcept = default;
  DevicePackets& operator=(DevicePackets&&) noexcept = default;

  // The same columns as device pointers, for the builders.
  PacketColumns columns() const;
  uint64_t count() const { return count_; }
  size_t bytes() const { return time_.bytes() + ip_length_.bytes() + payload_length_.bytes() + direction_.bytes(); }

 private:
  DeviceBuffer<double> time_;
  DeviceBuffer<uint32_t> ip_length_, payload_length_;
  DeviceBuffer<uint8_t> direction_;
  uint64_t count_ = 0;
};

// The windows of a batch and their packet offsets (exclusive prefix sum of end - begin, computed
// on the host while staging, so the total is known without reading anything back), uploaded on
// the caller's stream. The device copy stays valid for work queued on that stream until the next
// upload; one WindowStaging (one builder) per stream.
class WindowStaging {
 public:
  struct Batch {
    const ImageWindow* windows = nullptr;  // device
    const uint64_t* offsets = nullptr;     // device, count + 1 entries
    uint64_t total_packets = 0;
    uint64_t max_packets = 0;  // of one window
  };
  // Every window must lie inside the packet columns (end <= packet_count).
  Batch upload(const ImageWindow* host_windows, size_t count, uint64_t packet_count, cudaStream_t stream);

 private:
  PinnedBuffer<unsigned char> host_;
  DeviceBuffer<unsigned char> device_;
  CudaEvent copied_;
  bool pending_ = false;
};

}  // namespace flowpic
