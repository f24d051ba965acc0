#include "kernels/image_builder.hpp"

#include "common/device.hpp"
#include "common/error.hpp"
#include "kernels/image_builder_cpu.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/cuda_stream.hpp"
#include "common/device_memory.hpp"
#include "kernels/device_packets.hpp"
#include "kernels/flowpic_gpu.hpp"
#include "kernels/payload_image_gpu.hpp"
#endif

namespace flowpic {

std::optional<BuilderDevice> parse_builder_device(const std::string& name) {
  if (name == "auto") return BuilderDevice::kAuto;
  if (name == "cpu") return BuilderDevice::kCpu;
  if (name == "gpu") return BuilderDevice::kGpu;
  return std::nullopt;
}

const char* builder_device_name(BuilderDevice device) {
  switch (device) {
    case BuilderDevice::kAuto: return "auto";
    case BuilderDevice::kCpu: return "cpu";
    case BuilderDevice::kGpu: return "gpu";
  }
  return "?";
}

namespace {

class CpuImageBuilder final : public ImageBuilder {
 public:
  CpuImageBuilder(const ImageSpec& spec, const PacketColumns& host_packets, int threads)
      : ImageBuilder(spec), packets_(host_packets), threads_(threads) {}
  BuilderDevice device() const override { return BuilderDevice::kCpu; }
  std::string describe() const override {
    if (threads_ <= 0) return "CPU, OpenMP's default threads";
    return "CPU, " + std::to_string(threads_) + (threads_ == 1 ? " thread" : " threads");
  }
  void build(const ImageWindow* windows, size_t count, float* out) override {
    if (const auto* f = std::get_if<FlowPicSpec>(&spec()))
      build_flowpic_cpu(packets_, *f, windows, count, out, threads_);
    else
      build_payload_image_cpu(packets_, std::get<PayloadSpec>(spec()), windows, count, out, threads_);
  }
  void build_host(const ImageWindow* windows, size_t count, float* host_out) override {
    build(windows, count, host_out);
  }
  SparseImages build_sparse(const ImageWindow* windows, size_t count) override {
    const auto* f = std::get_if<FlowPicSpec>(&spec());
    if (!f) fail("sparse images are FlowPics only; this builder makes payload images");
    build_flowpic_sparse_cpu(packets_, *f, windows, count, sparse_, threads_);
    SparseImages s;
    s.offsets = sparse_.offsets.data();
    s.index = sparse_.index.data();
    s.value = sparse_.value.data();
    s.nnz = sparse_.offsets[count];
    s.count = count;
    return s;
  }
  void synchronize() override {}
  void set_packets(const PacketColumns& host_packets) override { packets_ = host_packets; }

 private:
  PacketColumns packets_;
  int threads_;
  SparseImagesHost sparse_;
};

#ifdef FLOWPIC_HAVE_CUDA
class GpuImageBuilder final : public ImageBuilder {
 public:
  GpuImageBuilder(const ImageSpec& spec, const PacketColumns& host_packets, const ImageBuilderOptions& options)
      : ImageBuilder(spec) {
    if (options.use_caller_stream) {
      stream_ = options.stream;
    } else {
      own_stream_.emplace(CudaStream::Kind::kNonBlocking);
      stream_ = own_stream_->get();
    }
    packets_ = DevicePackets(host_packets, stream_);  // the one upload; waits for it
    if (const auto* f = std::get_if<FlowPicSpec>(&spec))
      flowpic_.emplace(*f);
    else
      payload_.emplace(std::get<PayloadSpec>(spec));
  }
  BuilderDevice device() const override { return BuilderDevice::kGpu; }
  std::string describe() const override {
    if (payload_) return "GPU, warp-per-image path";
    if (flowpic_->uses_shared_memory()) return "GPU, shared-memory path";
    return flowpic_->spec().transform == PixelTransform::kRaw ? "GPU, memset+atomic path" : "GPU, memset+sort path";
  }
  void build(const ImageWindow* windows, size_t count, float* out) override {
    if (flowpic_)
      flowpic_->build(packets_.columns(), windows, count, out, stream_);
    else
      payload_->build(packets_.columns(), windows, count, out, stream_);
  }
  void build_host(const ImageWindow* windows, size_t count, float* host_out) override {
    const size_t floats = count * image_floats();
    if (images_.size() < floats) images_.resize(floats);
    build(windows, count, images_.data());
    images_.download(host_out, floats, stream_);
    synchronize();  // host_out is read next
  }
  SparseImages build_sparse(const ImageWindow* windows, size_t count) override {
    if (!flowpic_) fail("sparse images are FlowPics only; this builder makes payload images");
    return flowpic_->build_sparse(packets_.columns(), windows, count, stream_);
  }
  void synchronize() override { CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void set_packets(const PacketColumns& host_packets) override {
    synchronize();  // queued builds may still read the old columns
    packets_ = DevicePackets(host_packets, stream_);
  }

 private:
  // Declared first, destroyed last: the stream outlives the work the members below queue on it.
  std::optional<CudaStream> own_stream_;
  cudaStream_t stream_ = nullptr;
  DevicePackets packets_;
  std::optional<FlowPicBuilderGpu> flowpic_;
  std::optional<PayloadImageBuilderGpu> payload_;
  DeviceBuffer<float> images_;  // build_host's device batch
};
#endif

}  // namespace

std::unique_ptr<ImageBuilder> make_image_builder(const ImageSpec& spec, BuilderDevice device,
                                                 const PacketColumns& host_packets,
                                                 const ImageBuilderOptions& options) {
  if (device == BuilderDevice::kAuto) device = cuda_device_available() ? BuilderDevice::kGpu : BuilderDevice::kCpu;
  if (device == BuilderDevice::kCpu) return std::make_unique<CpuImageBuilder>(spec, host_packets, options.threads);
#ifdef FLOWPIC_HAVE_CUDA
  if (!cuda_device_available())
    fail("building images on the GPU needs a usable CUDA device: ", cuda_device_description());
  return std::make_unique<GpuImageBuilder>(spec, host_packets, options);
#else
  fail("building images on the GPU needs a CUDA build (configure with FLOWPIC_CUDA=ON); this is a CPU-only build");
#endif
}

}  // namespace flowpic
