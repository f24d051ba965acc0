#include "dataset/packet_column_writer.hpp"

namespace flowpic {

namespace {

// Deflate level of the integer packet columns (after shuffle): level 1 shrinks them about 4x;
// higher levels gain little and cost more time. The float64 times are stored uncompressed: they
// shrink by under 20% and deflating them cost more than the rest of ingestion (bench_ingest.sh).
constexpr int kPacketDeflate = 1;
constexpr int kTimeDeflate = 0;
// Filled blocks waiting for the background writer; submit() waits when this many are queued.
constexpr size_t kMaxQueuedBlocks = 2;

}  // namespace

void PacketBlock::clear() {
  time.clear();
  ip_length.clear();
  payload_length.clear();
  direction.clear();
  tcp_flags.clear();
}

void PacketBlock::append(const FlowRecord& f) {
  time.insert(time.end(), f.time.begin(), f.time.end());
  ip_length.insert(ip_length.end(), f.ip_length.begin(), f.ip_length.end());
  payload_length.insert(payload_length.end(), f.payload_length.begin(), f.payload_length.end());
  direction.insert(direction.end(), f.direction.begin(), f.direction.end());
  tcp_flags.insert(tcp_flags.end(), f.tcp_flags.begin(), f.tcp_flags.end());
}

BackgroundPacketWriter::BackgroundPacketWriter(hid_t file) {
  hbool_t threadsafe = 0;
  threaded_ = H5is_library_threadsafe(&threadsafe) >= 0 && threadsafe;
  time_ = h5::Appender::of<double>(file, "/packets/time", {}, kBlockRows, kTimeDeflate);
  ip_length_ = h5::Appender::of<uint32_t>(file, "/packets/ip_length", {}, kBlockRows, kPacketDeflate);
  payload_length_ = h5::Appender::of<uint32_t>(file, "/packets/payload_length", {}, kBlockRows, kPacketDeflate);
  direction_ = h5::Appender::of<uint8_t>(file, "/packets/direction", {}, kBlockRows, kPacketDeflate);
  tcp_flags_ = h5::Appender::of<uint8_t>(file, "/packets/tcp_flags", {}, kBlockRows, kPacketDeflate);
  if (threaded_) thread_ = std::thread([this] { run(); });
}

BackgroundPacketWriter::~BackgroundPacketWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
  }
  stop();
}

PacketBlock BackgroundPacketWriter::submit(PacketBlock&& block) {
  if (!threaded_) {
    write(block);
    block.clear();
    return std::move(block);
  }
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] { return queue_.size() < kMaxQueuedBlocks || error_; });
  if (error_) std::rethrow_exception(error_);
  queue_.push_back(std::move(block));
  work_.notify_one();
  PacketBlock next;
  if (!spare_.empty()) {
    next = std::move(spare_.back());
    spare_.pop_back();
  }
  return next;
}

void BackgroundPacketWriter::finish() {
  stop();
  if (error_) std::rethrow_exception(error_);
  time_.finish();
  ip_length_.finish();
  payload_length_.finish();
  direction_.finish();
  tcp_flags_.finish();
  time_ = {};
  ip_length_ = {};
  payload_length_ = {};
  direction_ = {};
  tcp_flags_ = {};
}

void BackgroundPacketWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BackgroundPacketWriter::run() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // error printing is per thread; flowpic reports errors itself
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping and drained
    PacketBlock b = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      if (!error_) write(b);  // error_ is only set on this thread
    } catch (...) {
      lock.lock();
      error_ = std::current_exception();
      space_.notify_all();
      continue;
    }
    b.clear();
    lock.lock();
    spare_.push_back(std::move(b));
    space_.notify_all();
  }
}

void BackgroundPacketWriter::write(const PacketBlock& b) {
  time_.append(b.time.data(), b.size());
  ip_length_.append(b.ip_length.data(), b.size());
  payload_length_.append(b.payload_length.data(), b.size());
  direction_.append(b.direction.data(), b.size());
  tcp_flags_.append(b.tcp_flags.data(), b.size());
}

}  // namespace flowpic
