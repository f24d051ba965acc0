// DevicePackets and WindowStaging (host code only: uploads).
#include "kernels/device_packets.hpp"

#include <algorithm>
#include <cstring>

namespace flowpic {

DevicePackets::DevicePackets(const PacketColumns& host, cudaStream_t stream) : count_(host.count) {
  time_.upload(host.time, host.count, stream);
  ip_length_.upload(host.ip_length, host.count, stream);
  payload_length_.upload(host.payload_length, host.count, stream);
  direction_.upload(host.direction, host.count, stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));  // the host columns may go away after this
}

PacketColumns DevicePackets::columns() const {
  PacketColumns c;
  c.time = time_.data();
  c.ip_length = ip_length_.data();
  c.payload_length = payload_length_.data();
  c.direction = direction_.data();
  c.count = count_;
  return c;
}

WindowStaging::Batch WindowStaging::upload(const ImageWindow* host_windows, size_t count, uint64_t packet_count,
                                           cudaStream_t stream) {
  static_assert(sizeof(ImageWindow) % alignof(uint64_t) == 0, "offsets follow the windows");
  const size_t wbytes = count * sizeof(ImageWindow);
  const size_t bytes = wbytes + (count + 1) * sizeof(uint64_t);
  // The pinned buffer is rewritten below: wait for the previous batch's copy out of it (only that
  // copy, queued long ago; not the kernels).
  if (pending_) CUDA_CHECK(cudaEventSynchronize(copied_.get()));
  host_.reserve(bytes);
  if (device_.size() < bytes) device_.resize(std::max(bytes, device_.size() + device_.size() / 2));
  std::memcpy(host_.data(), host_windows, wbytes);
  auto* offsets = reinterpret_cast<uint64_t*>(host_.data() + wbytes);
  Batch b;
  offsets[0] = 0;
  for (size_t i = 0; i < count; ++i) {
    const ImageWindow& w = host_windows[i];
    FLOWPIC_ASSERT(w.begin <= w.end && w.end <= packet_count);
    const uint64_t n = w.end - w.begin;
    offsets[i + 1] = offsets[i] + n;
    b.max_packets = std::max(b.max_packets, n);
  }
  b.total_packets = offsets[count];
  CUDA_CHECK(cudaMemcpyAsync(device_.data(), host_.data(), bytes, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaEventRecord(copied_.get(), stream));
  pending_ = true;
  b.windows = reinterpret_cast<const ImageWindow*>(device_.data());
  b.offsets = reinterpret_cast<const uint64_t*>(device_.data() + wbytes);
  return b;
}

}  // namespace flowpic
