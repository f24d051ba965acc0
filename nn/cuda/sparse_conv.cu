// The sparse-input convolution on the device (the CPU twin is sparse_conv2d_forward/backward in
// cpu_kernels.hpp; both find a cell's outputs with window_range of geometry.hpp).
//   forward:  bias fill, then one thread per (cell, filter) adding v * w to the (at most
//             ceil(kh / sh) x ceil(kw / sw)) outputs whose windows hold the cell, with float
//             atomics; then the fused ReLU in place.
//   backward: dw from the same (cell, filter) pairs against dy (masked by y > 0 with a fused
//             ReLU), accumulated per block in shared memory and added to dw with one atomic per
//             weight and block; db as a per-(sample, filter) block reduction and an ordered sum
//             over the samples (deterministic).
// The fused conv + act + max pool (the CPU twin is sparse_conv_pool_forward/backward):
//   forward:  the forward above without its ReLU into a scratch conv output, then one thread
//             per pooled output scanning its window (act applied to each value; the first
//             maximum in row-major order wins, as on the CPU) and writing the pooled value and
//             its winner (16 bits, NCHW; kPoolMasked where a fused ReLU zeroes its gradient).
//   backward: dw from the (cell, filter) pairs: for each conv output a cell feeds and each
//             pooled window holding it, dy when that output won; db as the masked plane sums of
//             dy (the pooled planes: 4x fewer values than the conv's).
// On the device the scratch conv output stays (it is bandwidth, not the 115 MB round trip
// through a CPU's caches); what the fusion removes there is the separate ReLU, cuDNN's pooling
// passes and its backward's full-size input gradient.
// A cell's sample is a binary search in the offsets. Cells with a channel outside the input are
// skipped, so a malformed batch cannot write outside the output (validate_sparse reports it).
#include <algorithm>

#include "common/cuda_check.hpp"
#include "nn/cuda/kernels.hpp"

namespace flowpic::nn::cuda {
namespace {

// What the kernels need of a ConvGeom (whose member functions are host-only).
struct Geom {
  int batch, c, h, w, m, kh, kw, sh, sw, pad_top, pad_left, oh, ow;
};

Geom device_geom(const ConvGeom& g, int batch) {
  return {batch, g.in_c, g.in_h, g.in_w, g.out_c, g.kh, g.kw, g.sh, g.sw, g.pad_top, g.pad_left, g.out_h(), g.out_w()};
}

constexpr int kThreads = 256;

unsigned blocks_for(size_t n, size_t cap) {
  return unsigned(std::max<size_t>(1, std::min<size_t>((n + kThreads - 1) / kThreads, cap)));
}

// The sample holding entry e: the largest n with offsets[n] <= e (empty samples are skipped).
__device__ int sample_of(const int64_t* __restrict__ offsets, int batch, int64_t e) {
  int lo = 0, hi = batch;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (offsets[mid] <= e)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

// One cell: its sample, channel, row and column; false when the channel is out of range.
struct Cell {
  int n, c, row, col;
};
__device__ bool decode(const Geom& g, const int64_t* __restrict__ offsets, const uint32_t* __restrict__ index,
                       int64_t e, Cell& cell) {
  const uint64_t idx = index[e], plane = uint64_t(g.h) * g.w;
  const uint64_t c = idx / plane;
  if (c >= uint64_t(g.c)) return false;
  const uint64_t rest = idx - c * plane;
  cell.c = int(c);
  cell.row = int(rest / g.w);
  cell.col = int(rest - uint64_t(cell.row) * g.w);
  cell.n = sample_of(offsets, g.batch, e);
  return true;
}

__global__ void fill_bias_kernel(size_t total, size_t plane, int m, const float* __restrict__ b,
                                 float* __restrict__ y) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x)
    y[i] = b ? b[(i / plane) % m] : 0.0f;
}

__global__ void relu_inplace_kernel(size_t total, float* __restrict__ y) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x)
    y[i] = fmaxf(y[i], 0.0f);
}

// Thread i: cell i / m, filter i % m.
__global__ void scatter_forward_kernel(Geom g, size_t work, const int64_t* __restrict__ offsets,
                                       const uint32_t* __restrict__ index, const float* __restrict__ value,
                                       const float* __restrict__ w, float* __restrict__ y) {
  const size_t plane = size_t(g.oh) * g.ow;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < work; i += size_t(gridDim.x) * blockDim.x) {
    const int64_t e = int64_t(i / g.m);
    const int f = int(i % g.m);
    Cell cell;
    if (!decode(g, offsets, index, e, cell)) continue;
    int oh0, oh1, ow0, ow1;
    window_range(cell.row, g.pad_top, g.kh, g.sh, g.oh, oh0, oh1);
    window_range(cell.col, g.pad_left, g.kw, g.sw, g.ow, ow0, ow1);
    const float v = value[e];
    const float* wf = w + (size_t(f) * g.c + cell.c) * g.kh * g.kw;
    float* yp = y + (size_t(cell.n) * g.m + f) * plane;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const int ky = cell.row + g.pad_top - oh * g.sh;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const int kx = cell.col + g.pad_left - ow * g.sw;
        atomicAdd(yp + size_t(oh) * g.ow + ow, v * wf[ky * g.kw + kx]);
      }
    }
  }
}

// dw[f][c][ky][kx] += v * dy'[n][f][oh][ow] over (cell, filter) pairs. With kShared, each block
// accumulates all m * k_size weights in shared memory (zeroed first) and adds its non-zero sums
// to dw at the end; otherwise (a kernel too large for shared memory) atomics go to dw directly.
template <bool kShared>
__global__ void scatter_dw_kernel(Geom g, size_t work, const int64_t* __restrict__ offsets,
                                  const uint32_t* __restrict__ index, const float* __restrict__ value,
                                  const float* __restrict__ relu_y, const float* __restrict__ dy,
                                  float* __restrict__ dw) {
  extern __shared__ float s_dw[];
  const int ksize = g.c * g.kh * g.kw, wcount = g.m * ksize;
  if (kShared) {
    for (int j = int(threadIdx.x); j < wcount; j += int(blockDim.x)) s_dw[j] = 0.0f;
    __syncthreads();
  }
  float* acc = kShared ? s_dw : dw;
  const size_t plane = size_t(g.oh) * g.ow;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < work; i += size_t(gridDim.x) * blockDim.x) {
    const int64_t e = int64_t(i / g.m);
    const int f = int(i % g.m);
    Cell cell;
    if (!decode(g, offsets, index, e, cell)) continue;
    int oh0, oh1, ow0, ow1;
    window_range(cell.row, g.pad_top, g.kh, g.sh, g.oh, oh0, oh1);
    window_range(cell.col, g.pad_left, g.kw, g.sw, g.ow, ow0, ow1);
    const float v = value[e];
    const size_t at = (size_t(cell.n) * g.m + f) * plane;
    float* af = acc + (f * g.c + cell.c) * g.kh * g.kw;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const int ky = cell.row + g.pad_top - oh * g.sh;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const int kx = cell.col + g.pad_left - ow * g.sw;
        const size_t p = at + size_t(oh) * g.ow + ow;
        float d = dy[p];
        if (relu_y && !(relu_y[p] > 0.0f)) d = 0.0f;
        atomicAdd(af + ky * g.kw + kx, v * d);
      }
    }
  }
  if (kShared) {
    __syncthreads();
    for (int j = int(threadIdx.x); j < wcount; j += int(blockDim.x))
      if (s_dw[j] != 0.0f) atomicAdd(dw + j, s_dw[j]);
  }
}

// The sum of every thread's `sum` in a block of kThreads threads (a power of two), in thread 0.
__device__ float block_sum(float sum) {
  __shared__ float s[kThreads];
  s[threadIdx.x] = sum;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  return s[0];
}

// Block b sums plane b (sample b / m, filter b % m) of dy, masked by relu_y > 0 when given.
__global__ void plane_sum_kernel(size_t plane, const float* __restrict__ relu_y, const float* __restrict__ dy,
                                 float* __restrict__ partial) {
  const size_t base = size_t(blockIdx.x) * plane;
  float sum = 0.0f;
  for (size_t i = threadIdx.x; i < plane; i += blockDim.x) {
    const float d = dy[base + i];
    sum += (!relu_y || relu_y[base + i] > 0.0f) ? d : 0.0f;
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// The same over a pooled plane, masked by the winners (kPoolMasked: no gradient).
__global__ void pooled_plane_sum_kernel(size_t plane, const uint16_t* __restrict__ winners,
                                        const float* __restrict__ dy, float* __restrict__ partial) {
  const size_t base = size_t(blockIdx.x) * plane;
  float sum = 0.0f;
  for (size_t i = threadIdx.x; i < plane; i += blockDim.x) {
    const float d = dy[base + i];
    sum += winners[base + i] != kPoolMasked ? d : 0.0f;
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// What the kernels need of a PoolGeom (host-only member functions) over the conv's output.
struct Pool {
  int kh, kw, sh, sw, ph, pw;
};

// Thread i: pooled output i of N x m x ph x pw (NCHW), over the conv output z (N x m x oh x ow).
__global__ void pool_winners_kernel(Geom g, Pool p, size_t total, bool relu, const float* __restrict__ z,
                                    float* __restrict__ y, uint16_t* __restrict__ winners) {
  const size_t pplane = size_t(p.ph) * p.pw, zplane = size_t(g.oh) * g.ow;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t plane = i / pplane, rest = i - plane * pplane;
    const int py = int(rest / p.pw), px = int(rest - size_t(py) * p.pw);
    const float* src = z + plane * zplane + size_t(py) * p.sh * g.ow + size_t(px) * p.sw;
    float best = 0.0f;
    int at = 0;
    for (int ky = 0; ky < p.kh; ++ky)
      for (int kx = 0; kx < p.kw; ++kx) {
        float v = src[size_t(ky) * g.ow + kx];
        if (relu) v = fmaxf(v, 0.0f);
        const int k = ky * p.kw + kx;
        if (k == 0 || v > best) {  // strict: the first maximum wins a tie
          best = v;
          at = k;
        }
      }
    y[i] = best;
    winners[i] = relu && !(best > 0.0f) ? kPoolMasked : uint16_t(at);
  }
}

// dw[f][c][ky][kx] += v * dy[n][f][py][px] over (cell, filter) pairs, for every conv output
// (oh, ow) the cell feeds and every pooled window (py, px) holding it that (oh, ow) won. Shared
// memory as in scatter_dw_kernel.
template <bool kShared>
__global__ void pool_scatter_dw_kernel(Geom g, Pool p, size_t work, const int64_t* __restrict__ offsets,
                                       const uint32_t* __restrict__ index, const float* __restrict__ value,
                                       const uint16_t* __restrict__ winners, const float* __restrict__ dy,
                                       float* __restrict__ dw) {
  extern __shared__ float s_dw[];
  const int ksize = g.c * g.kh * g.kw, wcount = g.m * ksize;
  if (kShared) {
    for (int j = int(threadIdx.x); j < wcount; j += int(blockDim.x)) s_dw[j] = 0.0f;
    __syncthreads();
  }
  float* acc = kShared ? s_dw : dw;
  const size_t pplane = size_t(p.ph) * p.pw;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < work; i += size_t(gridDim.x) * blockDim.x) {
    const int64_t e = int64_t(i / g.m);
    const int f = int(i % g.m);
    Cell cell;
    if (!decode(g, offsets, index, e, cell)) continue;
    int oh0, oh1, ow0, ow1;
    window_range(cell.row, g.pad_top, g.kh, g.sh, g.oh, oh0, oh1);
    window_range(cell.col, g.pad_left, g.kw, g.sw, g.ow, ow0, ow1);
    const float v = value[e];
    const size_t at = (size_t(cell.n) * g.m + f) * pplane;
    float* af = acc + (f * g.c + cell.c) * g.kh * g.kw;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const int ky = cell.row + g.pad_top - oh * g.sh;
      int py0, py1;
      window_range(oh, 0, p.kh, p.sh, p.ph, py0, py1);
      if (py0 > py1) continue;  // a conv row no pooling window reads
      for (int ow = ow0; ow <= ow1; ++ow) {
        const int kx = cell.col + g.pad_left - ow * g.sw;
        int px0, px1;
        window_range(ow, 0, p.kw, p.sw, p.pw, px0, px1);
        float sum = 0.0f;
        for (int py = py0; py <= py1; ++py)
          for (int px = px0; px <= px1; ++px) {
            const size_t q = at + size_t(py) * p.pw + px;
            if (int(winners[q]) == (oh - py * p.sh) * p.kw + (ow - px * p.sw)) sum += dy[q];
          }
        if (sum != 0.0f) atomicAdd(af + ky * g.kw + kx, v * sum);
      }
    }
  }
  if (kShared) {
    __syncthreads();
    for (int j = int(threadIdx.x); j < wcount; j += int(blockDim.x))
      if (s_dw[j] != 0.0f) atomicAdd(dw + j, s_dw[j]);
  }
}

// db[f] = sum over samples n, in order, of partial[n * m + f].
__global__ void sum_samples_kernel(int batch, int m, const float* __restrict__ partial, float* __restrict__ db) {
  const int f = blockIdx.x * blockDim.x + threadIdx.x;
  if (f >= m) return;
  float s = 0.0f;
  for (int n = 0; n < batch; ++n) s += partial[size_t(n) * m + f];
  db[f] = s;
}

// Grid caps: element-wise passes as pad.cu; the scatters use enough blocks to fill the device
// (each dw block ends with up to m * k_size atomics, so not more).
constexpr size_t kElementBlocks = 65535 * 8, kScatterBlocks = 1024;
constexpr size_t kSharedLimit = 48 * 1024;  // bytes of dynamic shared memory without opting in

}  // namespace

void sparse_conv_forward(const ConvGeom& cg, int batch, int64_t nnz, const int64_t* offsets, const uint32_t* index,
                         const float* value, const float* w, const float* b, float* y, bool relu, cudaStream_t s) {
  FLOWPIC_ASSERT(cg.valid() && batch > 0 && nnz >= 0);
  const Geom g = device_geom(cg, batch);
  const size_t plane = size_t(g.oh) * g.ow, total = size_t(batch) * g.m * plane;
  fill_bias_kernel<<<blocks_for(total, kElementBlocks), kThreads, 0, s>>>(total, plane, g.m, b, y);
  CUDA_CHECK_LAUNCH();
  if (nnz > 0) {
    const size_t work = size_t(nnz) * g.m;
    scatter_forward_kernel<<<blocks_for(work, kElementBlocks), kThreads, 0, s>>>(g, work, offsets, index, value, w, y);
    CUDA_CHECK_LAUNCH();
  }
  if (relu) {
    relu_inplace_kernel<<<blocks_for(total, kElementBlocks), kThreads, 0, s>>>(total, y);
    CUDA_CHECK_LAUNCH();
  }
}

void sparse_conv_backward(const ConvGeom& cg, int batch, int64_t nnz, const int64_t* offsets, const uint32_t* index,
                          const float* value, const float* relu_y, const float* dy, float* dw, float* db,
                          float* db_partial, cudaStream_t s) {
  FLOWPIC_ASSERT(cg.valid() && batch > 0 && nnz >= 0);
  FLOWPIC_ASSERT(!db || db_partial);
  const Geom g = device_geom(cg, batch);
  const size_t plane = size_t(g.oh) * g.ow, wcount = size_t(g.m) * cg.k_size();
  CUDA_CHECK(cudaMemsetAsync(dw, 0, wcount * sizeof(float), s));
  if (nnz > 0) {
    const size_t work = size_t(nnz) * g.m, shared = wcount * sizeof(float);
    const unsigned blocks = blocks_for(work, kScatterBlocks);
    if (shared <= kSharedLimit)
      scatter_dw_kernel<true><<<blocks, kThreads, shared, s>>>(g, work, offsets, index, value, relu_y, dy, dw);
    else
      scatter_dw_kernel<false><<<blocks, kThreads, 0, s>>>(g, work, offsets, index, value, relu_y, dy, dw);
    CUDA_CHECK_LAUNCH();
  }
  if (db) {
    const size_t planes = size_t(batch) * g.m;
    FLOWPIC_ASSERT(planes <= 0x7fffffffu);
    plane_sum_kernel<<<unsigned(planes), kThreads, 0, s>>>(plane, relu_y, dy, db_partial);
    CUDA_CHECK_LAUNCH();
    sum_samples_kernel<<<unsigned((g.m + 127) / 128), 128, 0, s>>>(batch, g.m, db_partial, db);
    CUDA_CHECK_LAUNCH();
  }
}

namespace {
Pool device_pool(const PoolGeom& p) { return {p.kh, p.kw, p.sh, p.sw, p.out_h(), p.out_w()}; }
}  // namespace

void sparse_conv_pool_forward(const ConvGeom& cg, const PoolGeom& cp, int batch, int64_t nnz, const int64_t* offsets,
                              const uint32_t* index, const float* value, const float* w, const float* b, float* z,
                              float* y, uint16_t* winners, bool relu, cudaStream_t s) {
  FLOWPIC_ASSERT(cg.valid() && batch > 0 && nnz >= 0);
  FLOWPIC_ASSERT(cp.c == cg.out_c && cp.in_h == cg.out_h() && cp.in_w == cg.out_w() && cp.out_h() > 0 &&
                 cp.out_w() > 0 && pool_window_fits_winners(cp));
  sparse_conv_forward(cg, batch, nnz, offsets, index, value, w, b, z, false, s);
  const Geom g = device_geom(cg, batch);
  const Pool p = device_pool(cp);
  const size_t total = size_t(batch) * g.m * p.ph * p.pw;
  pool_winners_kernel<<<blocks_for(total, kElementBlocks), kThreads, 0, s>>>(g, p, total, relu, z, y, winners);
  CUDA_CHECK_LAUNCH();
}

void sparse_conv_pool_backward(const ConvGeom& cg, const PoolGeom& cp, int batch, int64_t nnz, const int64_t* offsets,
                               const uint32_t* index, const float* value, const uint16_t* winners, const float* dy,
                               float* dw, float* db, float* db_partial, cudaStream_t s) {
  FLOWPIC_ASSERT(cg.valid() && batch > 0 && nnz >= 0);
  FLOWPIC_ASSERT(!db || db_partial);
  const Geom g = device_geom(cg, batch);
  const Pool p = device_pool(cp);
  const size_t pplane = size_t(p.ph) * p.pw, wcount = size_t(g.m) * cg.k_size();
  CUDA_CHECK(cudaMemsetAsync(dw, 0, wcount * sizeof(float), s));
  if (nnz > 0) {
    const size_t work = size_t(nnz) * g.m, shared = wcount * sizeof(float);
    const unsigned blocks = blocks_for(work, kScatterBlocks);
    if (shared <= kSharedLimit)
      pool_scatter_dw_kernel<true><<<blocks, kThreads, shared, s>>>(g, p, work, offsets, index, value, winners, dy, dw);
    else
      pool_scatter_dw_kernel<false><<<blocks, kThreads, 0, s>>>(g, p, work, offsets, index, value, winners, dy, dw);
    CUDA_CHECK_LAUNCH();
  }
  if (db) {
    const size_t planes = size_t(batch) * g.m;
    FLOWPIC_ASSERT(planes <= 0x7fffffffu);
    pooled_plane_sum_kernel<<<unsigned(planes), kThreads, 0, s>>>(pplane, winners, dy, db_partial);
    CUDA_CHECK_LAUNCH();
    sum_samples_kernel<<<unsigned((g.m + 127) / 128), 128, 0, s>>>(batch, g.m, db_partial, db);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace flowpic::nn::cuda
