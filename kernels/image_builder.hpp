#pragma once
// The one front end of the image builders: an image spec (FlowPic or payload image), a device and
// the host packet columns in, an ImageBuilder out. Callers (the training and classify batches, the
// image export, the benchmark) never pick a backend's classes themselves.
//  - The CPU builder runs build_flowpic_cpu / build_payload_image_cpu (kernels/image_builder_cpu.hpp,
//    OpenMP, `threads` as asked) on the host columns, which must outlive it.
//  - The CUDA builder (CUDA build only) uploads the columns once, when it is made (DevicePackets),
//    and queues FlowPicBuilderGpu / PayloadImageBuilderGpu on a non-blocking stream of its own
//    (CudaStream) or on the caller's stream; the host columns may go away once it is made.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "kernels/image_spec.hpp"

namespace flowpic {

enum class BuilderDevice : uint8_t {
  kAuto = 0,  // the GPU when one is usable (cuda_device_available()), else the CPU
  kCpu = 1,
  kGpu = 2,  // needs a CUDA build and a usable device; otherwise make_image_builder fails (one line)
};

// "auto", "cpu", "gpu"; nullopt for anything else (the caller names its option in the error).
std::optional<BuilderDevice> parse_builder_device(const std::string& name);
const char* builder_device_name(BuilderDevice device);

#ifdef FLOWPIC_HAVE_CUDA
using BuilderStream = cudaStream_t;
#else
using BuilderStream = void*;  // a CPU-only build has no streams; never read there
#endif

struct ImageBuilderOptions {
  int threads = 0;  // CPU builder: OpenMP threads, <= 0 = OpenMP's default
  // CUDA builder: queue on `stream`, the caller's (nullptr = the legacy default stream), instead
  // of a non-blocking stream of its own. The caller's stream must outlive the builder.
  bool use_caller_stream = false;
  BuilderStream stream = nullptr;
};

class ImageBuilder {
 public:
  virtual ~ImageBuilder() = default;
  ImageBuilder(const ImageBuilder&) = delete;
  ImageBuilder& operator=(const ImageBuilder&) = delete;

  const ImageSpec& spec() const { return spec_; }
  size_t image_floats() const { return flowpic::image_floats(spec_); }
  // The memory build() writes: kCpu = host memory, kGpu = device memory (never kAuto).
  virtual BuilderDevice device() const = 0;
  // The code path, for benchmarks and logs, e.g. "CPU, 2 threads", "GPU, shared-memory path".
  virtual std::string describe() const = 0;

  // Images of windows[0..count) into out + i * image_floats(), every float written. `out` is
  // memory of device(): host memory for the CPU builder, which returns when they are written;
  // device memory for the CUDA builder, which returns once the work is queued on its stream (the
  // host windows may be reused at once). Every window must lie inside the packet columns.
  virtual void build(const ImageWindow* windows, size_t count, float* out) = 0;
  // The same into host memory on either device, returning when the images are written (the CUDA
  // builder builds into a device buffer of its own, copies it back and waits for its stream).
  virtual void build_host(const ImageWindow* windows, size_t count, float* host_out) = 0;
  // The same images as their non-zero cells (FlowPic specs only; a payload spec is a one-line
  // error), in memory of device(). The CUDA builder queues the work and waits only for the cell
  // count (8 bytes), which the caller needs to size what it launches.
  virtual SparseImages build_sparse(const ImageWindow* windows, size_t count) = 0;
  // Waits until everything queued is done (the CPU builder has nothing to wait for).
  virtual void synchronize() = 0;
  // Points the builder at other host packet columns, keeping its buffers: a streaming caller builds
  // each batch from packets of its own. The CPU builder keeps the pointers (the columns must
  // outlive its builds); the CUDA builder uploads them and waits, as when it is made.
  virtual void set_packets(const PacketColumns& host_packets) = 0;

 protected:
  explicit ImageBuilder(const ImageSpec& spec) : spec_(spec) {}

 private:
  ImageSpec spec_;
};

// The builder for `spec` on `device` over `host_packets` (host memory). kAuto picks the GPU when
// one is usable. kGpu in a CPU-only build, or with no usable device, is a one-line flowpic::Error.
std::unique_ptr<ImageBuilder> make_image_builder(const ImageSpec& spec, BuilderDevice device,
                                                 const PacketColumns& host_packets,
                                                 const ImageBuilderOptions& options = {});

}  // namespace flowpic
