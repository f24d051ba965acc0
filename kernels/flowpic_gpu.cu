// FlowPic kernels, then their host launcher. The per-packet math is flowpic_pixel_index and
// flowpic_pixel (kernels/bin_math.hpp, kernels/image_spec.hpp), shared with the CPU builder.
#include "kernels/flowpic_gpu.hpp"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_run_length_encode.cuh>

#include <algorithm>

#include "common/cuda_check.hpp"

namespace flowpic {

namespace {

constexpr int kThreads = 256;
constexpr size_t kSharedBytes = 48 * 1024;

// ---------------------------------------------------------------------------------------------
// Kernels

// One block per window: counts in shared memory, then every pixel written once.
__global__ void __launch_bounds__(kThreads)
    flowpic_shared_kernel(PacketColumns pk, const ImageWindow* windows, FlowPicSpec spec, float* out) {
  extern __shared__ uint32_t hist[];
  __shared__ uint32_t block_max;
  const ImageWindow w = windows[blockIdx.x];
  const int n = static_cast<int>(spec.image_floats());
  for (int i = threadIdx.x; i < n; i += blockDim.x) hist[i] = 0;
  if (threadIdx.x == 0) block_max = 0;
  __syncthreads();
  for (uint64_t p = w.begin + threadIdx.x; p < w.end; p += blockDim.x) {
    const int64_t px = flowpic_pixel_index(pk, spec, w, p);
    if (px >= 0) atomicAdd(&hist[px], 1u);
  }
  __syncthreads();
  uint32_t mx = 0;
  if (spec.transform == PixelTransform::kMax) {
    uint32_t local = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) local = max(local, hist[i]);
    for (int o = 16; o > 0; o >>= 1) local = max(local, __shfl_down_sync(0xffffffffu, local, o));
    if ((threadIdx.x & 31) == 0) atomicMax(&block_max, local);
    __syncthreads();
    mx = block_max;
  }
  float* img = out + static_cast<size_t>(blockIdx.x) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) img[i] = flowpic_pixel(hist[i], spec.transform, mx);
}

// The window that packet slot s of the batch belongs to: the last w with offsets[w] <= s.
__device__ inline uint32_t window_of(const uint64_t* offsets, uint32_t count, uint64_t s) {
  uint32_t lo = 0, hi = count;  // offsets[lo] <= s < offsets[hi]
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (offsets[mid] <= s)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

// Raw counts of large images: one thread per packet slot, float atomics on the zeroed batch.
__global__ void flowpic_scatter_kernel(PacketColumns pk, const ImageWindow* windows, const uint64_t* offsets,
                                       uint32_t count, uint64_t total, FlowPicSpec spec, float* out) {
  const size_t n = spec.image_floats();
  for (uint64_t s = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; s < total;
       s += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    const uint32_t w = window_of(offsets, count, s);
    const ImageWindow win = windows[w];
    const int64_t px = flowpic_pixel_index(pk, spec, win, win.begin + (s - offsets[w]));
    if (px >= 0) atomicAdd(out + w * n + px, 1.0f);
  }
}

// Sort keys of large images: (window << 32) | pixel, or (count << 32) for a packet not in its
// image, which sorts after every real key.
__global__ void flowpic_keys_kernel(PacketColumns pk, const ImageWindow* windows, const uint64_t* offsets,
                                    uint32_t count, uint64_t total, FlowPicSpec spec, unsigned long long* keys) {
  for (uint64_t s = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; s < total;
       s += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    const uint32_t w = window_of(offsets, count, s);
    const ImageWindow win = windows[w];
    const int64_t px = flowpic_pixel_index(pk, spec, win, win.begin + (s - offsets[w]));
    keys[s] = px >= 0 ? (static_cast<unsigned long long>(w) << 32) | static_cast<unsigned long long>(px)
                      : static_cast<unsigned long long>(count) << 32;
  }
}

// Largest count of each image (for the "max" transform), from the run-length encoded keys.
__global__ void flowpic_run_max_kernel(const unsigned long long* unique, const uint32_t* run_counts,
                                       const uint32_t* num_runs, uint32_t count, uint32_t* window_max) {
  const uint32_t runs = *num_runs;
  for (uint32_t r = blockIdx.x * blockDim.x + threadIdx.x; r < runs; r += gridDim.x * blockDim.x) {
    const uint32_t w = static_cast<uint32_t>(unique[r] >> 32);
    if (w < count) atomicMax(window_max + w, run_counts[r]);
  }
}

// One write per hit pixel: the transformed count of its run.
__global__ void flowpic_run_write_kernel(const unsigned long long* unique, const uint32_t* run_counts,
                                         const uint32_t* num_runs, uint32_t count, const uint32_t* window_max,
                                         FlowPicSpec spec, float* out) {
  const uint32_t runs = *num_runs;
  const size_t n = spec.image_floats();
  for (uint32_t r = blockIdx.x * blockDim.x + threadIdx.x; r < runs; r += gridDim.x * blockDim.x) {
    const unsigned long long key = unique[r];
    const uint32_t w = static_cast<uint32_t>(key >> 32);
    if (w >= count) continue;
    const uint32_t mx = window_max ? window_max[w] : 0;
    out[w * n + (key & 0xffffffffull)] = flowpic_pixel(run_counts[r], spec.transform, mx);
  }
}

// The cells of the sparse build: run r (sorted by window, then pixel) is cell r; runs of packets
// not in their image (window == count) sort last and are not cells.
__global__ void flowpic_cells_kernel(const unsigned long long* unique, const uint32_t* run_counts,
                                     const uint32_t* num_runs, uint32_t count, const uint32_t* window_max,
                                     FlowPicSpec spec, uint32_t* index, float* value) {
  const uint32_t runs = *num_runs;
  for (uint32_t r = blockIdx.x * blockDim.x + threadIdx.x; r < runs; r += gridDim.x * blockDim.x) {
    const unsigned long long key = unique[r];
    const uint32_t w = static_cast<uint32_t>(key >> 32);
    if (w >= count) continue;
    index[r] = static_cast<uint32_t>(key & 0xffffffffull);
    value[r] = flowpic_pixel(run_counts[r], spec.transform, window_max ? window_max[w] : 0);
  }
}

// offsets[w] = the first run whose window is >= w, for w = 0..count (a binary search each).
__global__ void flowpic_cell_offsets_kernel(const unsigned long long* unique, const uint32_t* num_runs, uint32_t count,
                                            int64_t* offsets) {
  const uint32_t runs = *num_runs;
  for (uint32_t w = blockIdx.x * blockDim.x + threadIdx.x; w <= count; w += gridDim.x * blockDim.x) {
    uint32_t lo = 0, hi = runs;  // the first r in [lo, hi) with window(r) >= w
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (static_cast<uint32_t>(unique[mid] >> 32) < w)
        lo = mid + 1;
      else
        hi = mid;
    }
    offsets[w] = lo;
  }
}

int grid_for(uint64_t items) {
  return static_cast<int>(std::min<uint64_t>((items + kThreads - 1) / kThreads, 1u << 16));
}

int bits_for(uint64_t v) {
  int b = 0;
  while (b < 64 && (v >> b) != 0) ++b;
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Host launcher

FlowPicBuilderGpu::FlowPicBuilderGpu(const FlowPicSpec& spec) : spec_(spec) {
  FLOWPIC_ASSERT(spec.resolution >= 1 && spec.resolution <= 65535 && spec.max_size >= 1 && spec.max_size <= 65535);
  FLOWPIC_ASSERT(spec.image_floats() < (size_t{1} << 32));
}

// The counts plus a little static shared memory (block_max) must fit the default 48 KiB.
bool FlowPicBuilderGpu::uses_shared_memory() const {
  return spec_.image_floats() * sizeof(uint32_t) + 64 <= kSharedBytes;
}

void FlowPicBuilderGpu::build(const PacketColumns& pk, const ImageWindow* host_windows, size_t count, float* out,
                              cudaStream_t stream) {
  if (count == 0) return;
  FLOWPIC_ASSERT(out != nullptr && count < (size_t{1} << 31));
  const uint32_t n_windows = static_cast<uint32_t>(count);
  const size_t n = spec_.image_floats();
  const WindowStaging::Batch b = staging_.upload(host_windows, count, pk.count, stream);

  if (uses_shared_memory()) {
    flowpic_shared_kernel<<<n_windows, kThreads, n * sizeof(uint32_t), stream>>>(pk, b.windows, spec_, out);
    CUDA_CHECK_LAUNCH();
    return;
  }

  CUDA_CHECK(cudaMemsetAsync(out, 0, count * n * sizeof(float), stream));
  if (b.total_packets == 0) return;  // every transform maps a count of 0 to 0.0f
  if (spec_.transform == PixelTransform::kRaw) {
    flowpic_scatter_kernel<<<grid_for(b.total_packets), kThreads, 0, stream>>>(pk, b.windows, b.offsets, n_windows,
                                                                               b.total_packets, spec_, out);
    CUDA_CHECK_LAUNCH();
    return;
  }

  const uint32_t* wmax = encode_runs(pk, b, n_windows, stream);
  flowpic_run_write_kernel<<<grid_for(b.total_packets), kThreads, 0, stream>>>(
      unique_.data(), run_counts_.data(), num_runs_.data(), n_windows, wmax, spec_, out);
  CUDA_CHECK_LAUNCH();
}

const uint32_t* FlowPicBuilderGpu::encode_runs(const PacketColumns& pk, const WindowStaging::Batch& b,
                                               uint32_t n_windows, cudaStream_t stream) {
  const size_t count = n_windows;
  const uint64_t total = b.total_packets;
  FLOWPIC_ASSERT(total < (uint64_t{1} << 31));  // CUB item counts are int
  const int items = static_cast<int>(total);
  grow(keys_, total);
  grow(sorted_, total);
  grow(unique_, total);
  grow(run_counts_, total);
  grow(num_runs_, 1);
  const int end_bit = 32 + bits_for(n_windows);
  size_t sort_bytes = 0, rle_bytes = 0;
  CUDA_CHECK(
      cub::DeviceRadixSort::SortKeys(nullptr, sort_bytes, keys_.data(), sorted_.data(), items, 0, end_bit, stream));
  CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(nullptr, rle_bytes, sorted_.data(), unique_.data(), run_counts_.data(),
                                                num_runs_.data(), items, stream));
  grow(temp_, std::max(sort_bytes, rle_bytes));
  size_t temp_bytes = temp_.size();

  flowpic_keys_kernel<<<grid_for(total), kThreads, 0, stream>>>(pk, b.windows, b.offsets, n_windows, total, spec_,
                                                                keys_.data());
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cub::DeviceRadixSort::SortKeys(temp_.data(), temp_bytes, keys_.data(), sorted_.data(), items, 0, end_bit,
                                            stream));
  temp_bytes = temp_.size();
  CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(temp_.data(), temp_bytes, sorted_.data(), unique_.data(),
                                                run_counts_.data(), num_runs_.data(), items, stream));
  const uint32_t* wmax = nullptr;
  if (spec_.transform == PixelTransform::kMax) {
    grow(window_max_, count);
    CUDA_CHECK(cudaMemsetAsync(window_max_.data(), 0, count * sizeof(uint32_t), stream));
    flowpic_run_max_kernel<<<grid_for(total), kThreads, 0, stream>>>(unique_.data(), run_counts_.data(),
                                                                     num_runs_.data(), n_windows, window_max_.data());
    CUDA_CHECK_LAUNCH();
    wmax = window_max_.data();
  }
  return wmax;
}

SparseImages FlowPicBuilderGpu::build_sparse(const PacketColumns& pk, const ImageWindow* host_windows, size_t count,
                                             cudaStream_t stream) {
  FLOWPIC_ASSERT(count < (size_t{1} << 31));
  const uint32_t n_windows = static_cast<uint32_t>(count);
  grow(cell_offsets_, count + 1);
  SparseImages s;
  s.count = count;
  s.offsets = cell_offsets_.data();
  const WindowStaging::Batch b = staging_.upload(host_windows, count, pk.count, stream);
  if (b.total_packets == 0) {
    CUDA_CHECK(cudaMemsetAsync(cell_offsets_.data(), 0, (count + 1) * sizeof(int64_t), stream));
    s.index = cell_index_.data();
    s.value = cell_value_.data();
    return s;  // nnz 0; nothing to wait for
  }
  const uint32_t* wmax = encode_runs(pk, b, n_windows, stream);
  grow(cell_index_, b.total_packets);
  grow(cell_value_, b.total_packets);
  flowpic_cells_kernel<<<grid_for(b.total_packets), kThreads, 0, stream>>>(unique_.data(), run_counts_.data(),
                                                                           num_runs_.data(), n_windows, wmax, spec_,
                                                                           cell_index_.data(), cell_value_.data());
  CUDA_CHECK_LAUNCH();
  flowpic_cell_offsets_kernel<<<grid_for(count + 1), kThreads, 0, stream>>>(unique_.data(), num_runs_.data(), n_windows,
                                                                            cell_offsets_.data());
  CUDA_CHECK_LAUNCH();
  cell_count_.reserve(1);
  CUDA_CHECK(cudaMemcpyAsync(cell_count_.data(), cell_offsets_.data() + count, sizeof(int64_t), cudaMemcpyDeviceToHost,
                             stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  s.index = cell_index_.data();
  s.value = cell_value_.data();
  s.nnz = *cell_count_.data();
  return s;
}

}  // namespace flowpic
