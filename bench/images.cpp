// Image builder benchmark: windows/s of FlowPic building at R = 1500 and R = 32 with 300 and 3000
// packets per window, CPU builder with 1 and 2 threads (median of several runs), and the CUDA
// builder when a device exists (windows/s, achieved GB/s against a measured device-to-device
// cudaMemcpy). The synthetic windows are written to --out-dir so scripts/bench_images_numpy.py
// times numpy.histogram2d (the authors' computation) on exactly the same packets and checks that
// its images equal ours. Run both with scripts/bench_images.sh.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "kernels/image_builder.hpp"

#ifdef FLOWPIC_HAVE_CUDA
#include "common/cuda_stream.hpp"
#include "common/device_memory.hpp"
#endif

using namespace flowpic;

namespace {

// The synthetic windows: P packets, times uniform in [0, 60] s and sorted, sizes uniform in
// [40, 1500]; a 64-bit LCG (Knuth's MMIX constants), seed 1.
struct Lcg {
  uint64_t x = 1;
  uint32_t next() {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(x >> 33);
  }
};

struct Case {
  int R;
  int packets;
  size_t windows;        // per run, CPU
  size_t numpy_windows;  // timed by the numpy script
};

struct Data {
  std::vector<double> time;
  std::vector<uint32_t> size, payload;
  std::vector<uint8_t> dir;
  std::vector<ImageWindow> windows;
  PacketColumns columns() const {
    PacketColumns c;
    c.time = time.data();
    c.ip_length = size.data();
    c.payload_length = payload.data();
    c.direction = dir.data();
    c.count = time.size();
    return c;
  }
};

Data make(const Case& c) {
  Data d;
  Lcg rng;
  const size_t n = c.windows * c.packets;
  d.time.resize(n);
  d.size.resize(n);
  d.payload.assign(n, 0);
  d.dir.assign(n, 0);
  for (size_t w = 0; w < c.windows; ++w) {
    const size_t a = w * c.packets;
    for (int i = 0; i < c.packets; ++i) {
      d.time[a + i] = rng.next() / 4294967296.0 * 2 * 60.0;  // next() is 31 bits: [0, 60)
      d.size[a + i] = 40 + rng.next() % 1461;
    }
    std::sort(d.time.begin() + a, d.time.begin() + a + c.packets);
    ImageWindow iw;
    iw.begin = a;
    iw.end = a + c.packets;
    iw.t0 = 0;
    iw.duration = 60;
    d.windows.push_back(iw);
  }
  return d;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void write_file(const std::string& path, const void* data, size_t bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, bytes, f) != bytes || std::fclose(f) != 0) fail("cannot write ", path);
}

// Windows for the numpy script: <dir>/windows_R<R>_P<P>.bin = header (5 x int64: R, P, windows,
// duration, max_size) then times (float64) and sizes (uint32); and our images of the first
// `check` windows (float32, N x R x R) in images_R<R>_P<P>.bin.
void export_for_numpy(const std::string& dir, const Case& c, const Data& d, size_t count,
                      const std::vector<float>& ours, size_t check) {
  const std::string tag = "_R" + std::to_string(c.R) + "_P" + std::to_string(c.packets) + ".bin";
  std::vector<unsigned char> buf;
  int64_t hdr[5] = {c.R, c.packets, static_cast<int64_t>(count), 60, 1500};
  auto put = [&](const void* p, size_t n) {
    buf.insert(buf.end(), static_cast<const unsigned char*>(p), static_cast<const unsigned char*>(p) + n);
  };
  put(hdr, sizeof hdr);
  put(d.time.data(), count * c.packets * sizeof(double));
  put(d.size.data(), count * c.packets * sizeof(uint32_t));
  write_file(dir + "/windows" + tag, buf.data(), buf.size());
  write_file(dir + "/images" + tag, ours.data(), check * static_cast<size_t>(c.R) * c.R * sizeof(float));
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  int runs = 5;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out-dir" && i + 1 < argc)
      out_dir = argv[++i];
    else if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--quick")
      quick = true;
    else {
      std::fprintf(stderr, "usage: bench_images [--out-dir DIR] [--runs N] [--quick]\n");
      return 2;
    }
  }
  try {
    const size_t k = quick ? 8 : 1;
    const std::vector<Case> cases = {
        {1500, 300, 64 / k, quick ? 4u : 16u},
        {1500, 3000, 64 / k, quick ? 4u : 16u},
        {32, 300, 20000 / k, 2000 / k},
        {32, 3000, 4000 / k, 1000 / k},
    };
    std::printf("# bench_images: FlowPic windows/s, fixed 60 s axis, median of %d runs\n", runs);
    std::printf("# CPU: %d hardware threads visible to OpenMP; GPU: %s\n", omp_get_num_procs(),
                cuda_device_description().c_str());
    std::printf("| R | packets/window | builder | windows/run | windows/s | ms/window | GB/s written |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const Case& c : cases) {
      Data d = make(c);
      FlowPicSpec spec;
      spec.resolution = c.R;
      const size_t floats = spec.image_floats();
      // The batch is a whole run for R = 32; at R = 1500 (9 MB/image) 16 images at a time.
      const size_t batch = c.R >= 1000 ? 16 : c.windows;
      std::vector<float> out(batch * floats);
      for (int threads : {1, 2}) {
        ImageBuilderOptions opt;
        opt.threads = threads;
        const std::unique_ptr<ImageBuilder> cpu = make_image_builder(spec, BuilderDevice::kCpu, d.columns(), opt);
        std::vector<double> secs;
        for (int r = 0; r < runs + 1; ++r) {  // the first run warms up
          auto t0 = std::chrono::steady_clock::now();
          for (size_t a = 0; a < c.windows; a += batch) {
            size_t n = std::min(batch, c.windows - a);
            cpu->build(d.windows.data() + a, n, out.data());
          }
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (r > 0) secs.push_back(s);
        }
        double s = median(secs);
        std::printf("| %d | %d | %s | %zu | %.0f | %.4f | %.2f |\n", c.R, c.packets, cpu->describe().c_str(), c.windows,
                    c.windows / s, 1e3 * s / c.windows, c.windows * floats * 4.0 / s / 1e9);
        std::fflush(stdout);
      }
      // The reference images: the CPU builder with OpenMP's default threads.
      const std::unique_ptr<ImageBuilder> reference = make_image_builder(spec, BuilderDevice::kCpu, d.columns());
      if (!out_dir.empty()) {
        const size_t check = std::min<size_t>(8, c.numpy_windows);
        std::vector<float> ours(check * floats);
        reference->build(d.windows.data(), check, ours.data());
        export_for_numpy(out_dir, c, d, c.numpy_windows, ours, check);
      }
#ifdef FLOWPIC_HAVE_CUDA
      if (cuda_device_available()) {
        // The builder queues on our stream, so the events below time exactly its work.
        CudaStream stream;
        ImageBuilderOptions opt;
        opt.use_caller_stream = true;
        opt.stream = stream.get();
        const std::unique_ptr<ImageBuilder> builder = make_image_builder(spec, BuilderDevice::kGpu, d.columns(), opt);
        // More windows on the GPU: repeat the CPU windows so a batch fills the device.
        const size_t gpu_batch = c.R >= 1000 ? 256 : 65536;
        std::vector<ImageWindow> w(gpu_batch);
        for (size_t i = 0; i < gpu_batch; ++i) w[i] = d.windows[i % c.windows];
        DeviceBuffer<float> images(gpu_batch * floats);
        cudaEvent_t e0, e1;
        CUDA_CHECK(cudaEventCreate(&e0));
        CUDA_CHECK(cudaEventCreate(&e1));
        std::vector<double> secs;
        for (int r = 0; r < runs + 1; ++r) {
          CUDA_CHECK(cudaEventRecord(e0, stream.get()));
          builder->build(w.data(), w.size(), images.data());
          CUDA_CHECK(cudaEventRecord(e1, stream.get()));
          CUDA_CHECK(cudaEventSynchronize(e1));
          float ms = 0;
          CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
          if (r > 0) secs.push_back(ms / 1e3);
        }
        const double s = median(secs);
        // Bytes: images written plus packet columns read (time 8 B + size 4 B + direction 1 B).
        const double bytes = gpu_batch * floats * 4.0 + gpu_batch * static_cast<double>(c.packets) * 13.0;
        // Reference bandwidth: cudaMemcpy device to device of 1 GiB (read + write counted).
        const size_t copy_bytes = size_t{1} << 30;
        DeviceBuffer<unsigned char> src(copy_bytes), dst(copy_bytes);
        std::vector<double> copy;
        for (int r = 0; r < 4; ++r) {
          CUDA_CHECK(cudaEventRecord(e0, stream.get()));
          CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), copy_bytes, cudaMemcpyDeviceToDevice, stream.get()));
          CUDA_CHECK(cudaEventRecord(e1, stream.get()));
          CUDA_CHECK(cudaEventSynchronize(e1));
          float ms = 0;
          CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
          if (r > 0) copy.push_back(ms / 1e3);
        }
        const double copy_gbs = 2.0 * copy_bytes / median(copy) / 1e9;
        // The GPU images must equal the CPU builder's: check the first few.
        const size_t check = std::min<size_t>(8, c.windows);
        std::vector<float> cpu(check * floats), gpu(check * floats);
        reference->build(d.windows.data(), check, cpu.data());
        images.download(gpu.data(), gpu.size(), stream.get());
        stream.synchronize();
        const bool equal = cpu == gpu;
        std::printf("| %d | %d | %s; equal to CPU: %s | %zu | %.0f | %.5f | %.1f (%.0f%% of D2D copy %.0f GB/s) |\n",
                    c.R, c.packets, builder->describe().c_str(), equal ? "yes" : "NO", gpu_batch, gpu_batch / s,
                    1e3 * s / gpu_batch, bytes / s / 1e9, 100.0 * (bytes / s / 1e9) / copy_gbs, copy_gbs);
        CUDA_CHECK(cudaEventDestroy(e0));
        CUDA_CHECK(cudaEventDestroy(e1));
      } else {
        std::printf("| %d | %d | GPU | skipped: %s | | | |\n", c.R, c.packets, cuda_device_description().c_str());
      }
#else
      std::printf("| %d | %d | GPU | skipped: CPU-only build | | | |\n", c.R, c.packets);
#endif
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_images: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
