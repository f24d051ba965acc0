#pragma once
// CudaStream: the move-only owner of a cudaStream_t (beside the owners of common/device_memory.hpp).
// Created non-blocking (no implicit synchronisation with the legacy default stream) or blocking,
// destroyed in the destructor with a print-only check. In a CPU-only build this header declares
// nothing (there are no streams), so it may be included unconditionally.
#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>

#include <utility>

#include "common/cuda_check.hpp"

namespace flowpic {

class CudaStream {
 public:
  enum class Kind : unsigned { kNonBlocking = cudaStreamNonBlocking, kBlocking = cudaStreamDefault };
  explicit CudaStream(Kind kind = Kind::kNonBlocking) {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, static_cast<unsigned>(kind)));
  }
  ~CudaStream() { release(); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  CudaStream(CudaStream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&& o) noexcept {
    if (this != &o) {
      release();
      stream_ = std::exchange(o.stream_, nullptr);
    }
    return *this;
  }

  // nullptr only after a move.
  cudaStream_t get() const { return stream_; }
  // Waits for everything queued on the stream; throws on an asynchronous error.
  void synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  void release() noexcept {
    if (stream_) CUDA_CHECK_WARN(cudaStreamDestroy(stream_));
    stream_ = nullptr;
  }
  cudaStream_t stream_ = nullptr;
};

}  // namespace flowpic
#endif  // FLOWPIC_HAVE_CUDA
