#pragma once
// The CPU kernels of every layer, templated on the scalar type. The cpu backend runs them in
// float; the gradient-check tests run the very same code in double (with dgemm), so the checked
// math is the math that trains. Raw pointers, NCHW, batch-parallel with OpenMP.
//
// Determinism: per-thread partial sums (weight gradients) are reduced in thread order after the
// parallel loop, so a run is bit-identical for a given thread count.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/background_delta.hpp"
#include "nn/geometry.hpp"
#include "nn/random.hpp"
#include "nn/simd.hpp"
#include "nn/update_math.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace flowpic::nn::cpu {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
// Element-wise loops below this many elements run on one thread: a parallel region costs more
// than it saves there (LeNet's biases, the dense layers' activations).
constexpr long kParallelMin = 1 << 15;

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// OpenBLAS runs single-threaded: the kernels parallelise over the batch with OpenMP and call
// GEMM from inside the parallel loop. Set once per process, before the first GEMM (gemm() below
// calls it): a GEMM that OpenBLAS split over its own threads would round differently from the
// same GEMM run whole, and with several threads calling GEMM at once (classify's runners) whether
// it splits depends on timing, so results would change from run to run.
extern "C" void openblas_set_num_threads(int);
inline void single_threaded_blas() {
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
}

// Row-major C = alpha * op(A) * op(B) + beta * C.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  single_threaded_blas();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  single_threaded_blas();
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

// ---------------------------------------------------------------------------------------------
// Convolution: im2col over a band of output rows (so the column buffer stays in cache, even for
// the 1500x1500 stride-5 first layer whose full im2col would be 36 MB per image) and one GEMM
// per band.

// Output columns [lo, hi) of kernel column kx read inside the input row (ix = ox*sw + kx - pad_left
// in [0, in_w)); outside that range the padding contributes zeros. Hoisting the bounds out of the
// inner loops makes them branch-free (and a plain copy at stride 1).
inline void valid_columns(const ConvGeom& g, int kx, int& lo, int& hi) {
  const int OW = g.out_w(), off = kx - g.pad_left;
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = g.in_w - 1 - off < 0 ? 0 : (g.in_w - 1 - off) / g.sw + 1;
  lo = std::min(lo, OW);
  hi = std::max(lo, std::min(hi, OW));
}

// col[k * ld + j], k = (c, ky, kx), j = (oy - r0) * OW + ox, for output rows [r0, r1). `ld` is
// the row length of the column matrix: several images' columns can sit side by side.
template <typename T>
void im2col_band(const ConvGeom& g, const T* x, int r0, int r1, T* col, size_t ld) {
  const int OW = g.out_w(), sw = g.sw;
  const size_t cols = ld;
  for (int c = 0; c < g.in_c; ++c)
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx) {
        T* dst = col + (size_t(c * g.kh + ky) * g.kw + kx) * cols;
        const T* plane = x + size_t(c) * g.in_h * g.in_w;
        int lo, hi;
        valid_columns(g, kx, lo, hi);
        const int off = kx - g.pad_left;
        for (int oy = r0; oy < r1; ++oy) {
          int iy = oy * g.sh + ky - g.pad_top;
          T* d = dst + size_t(oy - r0) * OW;
          if (iy < 0 || iy >= g.in_h) {
            std::fill(d, d + OW, T(0));
            continue;
          }
          const T* row = plane + size_t(iy) * g.in_w + off;
          if (lo > 0) std::fill(d, d + lo, T(0));  // guarded: an empty fill is still a memset call
          if (sw == 1) {
#pragma omp simd
            for (int ox = lo; ox < hi; ++ox) d[ox] = row[ox];  // rows are short: no memmove call
          } else {
            for (int ox = lo; ox < hi; ++ox) d[ox] = row[ox * sw];
          }
          if (hi < OW) std::fill(d + hi, d + OW, T(0));
        }
      }
}

// The adjoint of im2col_band: dx += scatter(col).
template <typename T>
void col2im_band(const ConvGeom& g, const T* col, int r0, int r1, T* dx, size_t ld) {
  const int OW = g.out_w(), sw = g.sw;
  const size_t cols = ld;
  for (int c = 0; c < g.in_c; ++c)
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx) {
        const T* src = col + (size_t(c * g.kh + ky) * g.kw + kx) * cols;
        T* plane = dx + size_t(c) * g.in_h * g.in_w;
        int lo, hi;
        valid_columns(g, kx, lo, hi);
        const int off = kx - g.pad_left;
        for (int oy = r0; oy < r1; ++oy) {
          int iy = oy * g.sh + ky - g.pad_top;
          if (iy < 0 || iy >= g.in_h) continue;
          const T* s = src + size_t(oy - r0) * OW;
          T* row = plane + size_t(iy) * g.in_w + off;
          if (sw == 1) {
            for (int ox = lo; ox < hi; ++ox) row[ox] += s[ox];
          } else {
            for (int ox = lo; ox < hi; ++ox) row[ox * sw] += s[ox];
          }
        }
      }
}

// d = src where y > 0, else 0; returns the sum of d. Loads are unconditional and the pointers
// restrict-qualified so that GCC if-converts and vectorises (a branch here is a coin flip).
template <typename T>
T masked_copy_sum(size_t n, const T* __restrict y, const T* __restrict src, T* __restrict d) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) {
    T g = src[i];
    T v = y[i] > T(0) ? g : T(0);
    d[i] = v;
    s += v;
  }
  return s;
}
template <typename T>
T copy_sum(size_t n, const T* __restrict src, T* __restrict d) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) {
    d[i] = src[i];
    s += src[i];
  }
  return s;
}

// How the work is cut: a large output (the 1500x1500 first layer) into bands of output rows of
// one image, so the column buffer stays in cache (its full im2col would be 36 MB per image); a
// small output (LeNet) into groups of whole images side by side in one column matrix, so each
// GEMM is wide enough to run near peak. Either way the column buffer has
// FLOWPIC_CONV_COLUMN_ELEMENTS elements.
struct ConvTiling {
  int images = 1;  // images per GEMM (> 1 only with rows == out_h)
  int rows = 1;    // output rows per GEMM
};
#ifndef FLOWPIC_CONV_COLUMN_ELEMENTS
// 64K elements (256 KiB) keep the column buffer in L2 while the GEMM reads it: measured
// against 16K, 128K, 256K and 1M on LeNet and the paper network (results/bench/nn.md).
#define FLOWPIC_CONV_COLUMN_ELEMENTS (size_t(1) << 16)
#endif
inline ConvTiling conv_tiling(const ConvGeom& g, int batch, int band_override) {
  const size_t target = FLOWPIC_CONV_COLUMN_ELEMENTS, per_row = size_t(g.k_size()) * g.out_w(),
               per_image = per_row * g.out_h();
  ConvTiling t;
  t.rows = g.out_h();
  if (band_override > 0) {
    t.rows = std::min(band_override, g.out_h());
  } else if (band_override < 0) {
    t.images = -band_override;
  } else if (per_image >= target) {
    t.rows = int(std::max<size_t>(1, std::min<size_t>(target / per_row, g.out_h())));
  } else {
    // Whole images; keep at least two groups per thread so the threads stay balanced.
    int by_size = int(target / per_image), by_threads = std::max(1, batch / (2 * max_threads()));
    t.images = std::max(1, std::min(by_size, by_threads));
  }
  return t;
}

// y[n][oc] = b[oc] + sum w[oc][c][ky][kx] * x[n][c][..]; w is OIHW, b may be null.
// `band` > 0 forces rows per GEMM, < 0 forces -band images per GEMM (0: conv_tiling decides);
// tests use it to cover band seams and image groups. With `relu`, y = max(conv + b, 0), applied
// while the band is in cache.
template <typename T>
void conv2d_forward(const ConvGeom& g, int batch, const T* x, const T* w, const T* b, T* y, int band = 0,
                    bool relu = false) {
  single_threaded_blas();
  const int OH = g.out_h(), OW = g.out_w(), K = g.k_size(), M = g.out_c;
  const size_t in_size = size_t(g.in_c) * g.in_h * g.in_w, P = size_t(OH) * OW;
  const ConvTiling t = conv_tiling(g, batch, band);
  const int bands = (OH + t.rows - 1) / t.rows, groups = (batch + t.images - 1) / t.images;
  const long items = t.images > 1 ? groups : long(batch) * bands;
#pragma omp parallel
  {
    std::vector<T> col(size_t(K) * t.images * t.rows * OW), ybuf(t.images > 1 ? size_t(M) * t.images * P : 0);
#pragma omp for schedule(static)
    for (long item = 0; item < items; ++item) {
      if (t.images == 1) {
        const int n = int(item / bands), r0 = int(item % bands) * t.rows, r1 = std::min(OH, r0 + t.rows);
        const size_t cols = size_t(r1 - r0) * OW;
        T* yn = y + n * M * P;
        im2col_band(g, x + n * in_size, r0, r1, col.data(), cols);
        gemm(false, false, M, int(cols), K, T(1), w, K, col.data(), int(cols), T(0), yn + size_t(r0) * OW, int(P));
        if (b || relu)
          for (int oc = 0; oc < M; ++oc) {
            T* p = yn + oc * P + size_t(r0) * OW;
            const T bias = b ? b[oc] : T(0), floor = relu ? T(0) : -std::numeric_limits<T>::infinity();
            for (size_t i = 0; i < cols; ++i) p[i] = std::max(p[i] + bias, floor);
          }
      } else {
        const int n0 = int(item) * t.images, G = std::min(t.images, batch - n0);
        const size_t ld = size_t(G) * P;
        for (int gi = 0; gi < G; ++gi) im2col_band(g, x + (n0 + gi) * in_size, 0, OH, col.data() + gi * P, ld);
        gemm(false, false, M, int(ld), K, T(1), w, K, col.data(), int(ld), T(0), ybuf.data(), int(ld));
        for (int gi = 0; gi < G; ++gi)
          for (int oc = 0; oc < M; ++oc) {
            const T* src = ybuf.data() + oc * ld + gi * P;
            T* dst = y + (size_t(n0 + gi) * M + oc) * P;
            const T bias = b ? b[oc] : T(0), floor = relu ? T(0) : -std::numeric_limits<T>::infinity();
            for (size_t i = 0; i < P; ++i) dst[i] = std::max(src[i] + bias, floor);
          }
      }
    }
  }
}

// dw, db are overwritten; dx (overwritten) may be null when the input needs no gradient.
// Bands of one image stay in one thread (their input gradients overlap at the seams).
// With `relu_y` (the output of a forward pass with relu), dy is masked by relu_y > 0 as it is read.
template <typename T>
void conv2d_backward(const ConvGeom& g, int batch, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     int band = 0, const T* relu_y = nullptr) {
  single_threaded_blas();
  const int OH = g.out_h(), OW = g.out_w(), K = g.k_size(), M = g.out_c;
  const size_t in_size = size_t(g.in_c) * g.in_h * g.in_w, P = size_t(OH) * OW;
  const size_t wcount = size_t(M) * K;
  const ConvTiling t = conv_tiling(g, batch, band);
  const int groups = (batch + t.images - 1) / t.images;
  const int threads = max_threads();
  std::vector<std::vector<T>> dw_part(threads), db_part(threads);
#pragma omp parallel
  {
    const int th = thread_id();
    dw_part[th].assign(wcount, T(0));
    db_part[th].assign(M, T(0));
    std::vector<T> col(size_t(K) * t.images * t.rows * OW), dcol(dx ? col.size() : 0);
    std::vector<T> dybuf(size_t(M) * t.images * t.rows * OW);
#pragma omp for schedule(static)
    for (int item = 0; item < groups; ++item) {
      const int n0 = item * t.images, G = std::min(t.images, batch - n0);
      if (dx) std::fill(dx + n0 * in_size, dx + (n0 + G) * in_size, T(0));
      // Copies rows [r0, r1) of image n's output gradient, masked when a ReLU was fused, into
      // dst (row length ld) and adds them to the bias gradient.
      auto gather = [&](int n, int r0, int r1, T* dst, size_t ld) {
        const size_t cols = size_t(r1 - r0) * OW;
        for (int oc = 0; oc < M; ++oc) {
          const size_t at = (size_t(n) * M + oc) * P + size_t(r0) * OW;
          const T* src = dy + at;
          T* d = dst + oc * ld;
          db_part[th][oc] += relu_y ? masked_copy_sum(cols, relu_y + at, src, d) : copy_sum(cols, src, d);
        }
      };
      if (t.images == 1) {
        const T* xn = x + n0 * in_size;
        for (int r0 = 0; r0 < OH; r0 += t.rows) {
          const int r1 = std::min(OH, r0 + t.rows);
          const size_t cols = size_t(r1 - r0) * OW;
          gather(n0, r0, r1, dybuf.data(), cols);
          im2col_band(g, xn, r0, r1, col.data(), cols);
          gemm(false, true, M, K, int(cols), T(1), dybuf.data(), int(cols), col.data(), int(cols), T(1),
               dw_part[th].data(), K);
          if (dx) {
            gemm(true, false, K, int(cols), M, T(1), w, K, dybuf.data(), int(cols), T(0), dcol.data(), int(cols));
            col2im_band(g, dcol.data(), r0, r1, dx + n0 * in_size, cols);
          }
        }
      } else {
        const size_t ld = size_t(G) * P;
        for (int gi = 0; gi < G; ++gi) {
          im2col_band(g, x + (n0 + gi) * in_size, 0, OH, col.data() + gi * P, ld);
          gather(n0 + gi, 0, OH, dybuf.data() + gi * P, ld);
        }
        gemm(false, true, M, K, int(ld), T(1), dybuf.data(), int(ld), col.data(), int(ld), T(1), dw_part[th].data(), K);
        if (dx) {
          gemm(true, false, K, int(ld), M, T(1), w, K, dybuf.data(), int(ld), T(0), dcol.data(), int(ld));
          for (int gi = 0; gi < G; ++gi) col2im_band(g, dcol.data() + gi * P, 0, OH, dx + (n0 + gi) * in_size, ld);
        }
      }
    }
  }
  std::fill(dw, dw + wcount, T(0));
  if (db) std::fill(db, db + M, T(0));
  for (int th = 0; th < threads; ++th) {
    if (dw_part[th].empty()) continue;
    for (size_t i = 0; i < wcount; ++i) dw[i] += dw_part[th][i];
    if (db)
      for (int oc = 0; oc < M; ++oc) db[oc] += db_part[th][oc];
  }
}

// ---------------------------------------------------------------------------------------------
// Convolution over a sparse input (nn/sparse.hpp: per sample, the non-zero cells as strictly
// increasing pixel indices (c * H + row) * W + col with their values), for a first layer over
// almost-empty images. Same semantics as conv2d_forward/backward; no input gradient.
//
// The output is cut into bands of output rows of one image (about FLOWPIC_SPARSE_BAND_ELEMENTS
// outputs, so a band stays in L2). Per band, the cells whose rows feed it are summed into a
// channel-last buffer (all filters of an output position side by side, so a cell adds a
// contiguous vector), which is written out once, NCHW, with the bias and the fused ReLU; backward
// reads dy (and y for the mask) once per band into such a buffer, summing db on the way. Those
// single passes over the output are the floor of this layer's cost. A sample's cells are sorted by (channel, row), so
// the cells feeding a band are one contiguous run per channel, found by binary search; a cell feeding two bands (rows
// where the windows overlap) is visited by both, each writing its own rows. Which outputs a cell feeds is window_range
// (geometry.hpp), shared with the CUDA kernels.
#ifndef FLOWPIC_SPARSE_BAND_ELEMENTS
#define FLOWPIC_SPARSE_BAND_ELEMENTS (size_t(1) << 15)
#endif

// Output rows per band; `band` > 0 forces it (tests cover the seams).
inline int sparse_conv_band_rows(const ConvGeom& g, int band) {
  if (band > 0) return std::min(band, g.out_h());
  const size_t per_row = size_t(g.out_c) * g.out_w();
  return int(std::max<size_t>(1, std::min<size_t>(FLOWPIC_SPARSE_BAND_ELEMENTS / per_row, g.out_h())));
}

// Calls f(entry, channel, row, col) for every cell of one sample whose row feeds output rows
// [r0, r1), in index order. `first`..`last` are the sample's indices.
template <typename F>
void for_cells_feeding_band(const ConvGeom& g, const uint32_t* first, const uint32_t* last, int r0, int r1, F&& f) {
  const int ilo = std::max(0, r0 * g.sh - g.pad_top), ihi = std::min(g.in_h, (r1 - 1) * g.sh - g.pad_top + g.kh);
  if (ilo >= ihi) return;
  const uint64_t W = uint64_t(g.in_w), H = uint64_t(g.in_h);
  for (int c = 0; c < g.in_c; ++c) {
    const uint32_t* e = std::lower_bound(first, last, (c * H + uint64_t(ilo)) * W,
                                         [](uint32_t a, uint64_t b) { return uint64_t(a) < b; });
    const uint64_t end = (c * H + uint64_t(ihi)) * W;
    for (; e < last && uint64_t(*e) < end; ++e) {
      const uint32_t rest = uint32_t(*e / W);
      f(e, c, int(rest % H), int(*e - uint64_t(rest) * W));
    }
    first = e;
  }
}

// Calls f(oh, ow, k) for every output of rows [r0, r1) whose window holds input (c, row, col),
// with k = (c * kh + ky) * kw + kx the weight tap that reads it there, rows then columns: the one
// walk of the sparse kernels' forward and weight-gradient accumulations.
template <typename F>
inline void for_cell_taps(const ConvGeom& g, int OH, int OW, int c, int row, int col, int r0, int r1, F&& f) {
  int oh0, oh1, ow0, ow1;
  window_range(row, g.pad_top, g.kh, g.sh, OH, oh0, oh1);
  window_range(col, g.pad_left, g.kw, g.sw, OW, ow0, ow1);
  oh0 = std::max(oh0, r0);
  oh1 = std::min(oh1, r1 - 1);
  for (int oh = oh0; oh <= oh1; ++oh) {
    const int ky = row + g.pad_top - oh * g.sh;
    for (int ow = ow0; ow <= ow1; ++ow) f(oh, ow, (size_t(c * g.kh + ky) * g.kw + (col + g.pad_left - ow * g.sw)));
  }
}

// Adds one cell (channel c, row, col, value v) to the outputs of rows [r0, r1) whose windows hold
// it, against the weights transposed to K x M: acc(oh, ow) gives the output's channel-last
// accumulator (its M filters side by side; a band buffer, or a slot given on first touch). The one
// accumulation of the sparse forward kernels, so that the plain and the pooled ones (every route)
// sum every output in the same order: the cells in index order.
template <typename T, typename Acc>
inline void sparse_add_cell(const ConvGeom& g, int OH, int OW, const T* wt, T v, int c, int row, int col, int r0,
                            int r1, Acc&& acc_at) {
  const int M = g.out_c;
  for_cell_taps(g, OH, OW, c, row, col, r0, r1, [&](int oh, int ow, size_t k) {
    const T* __restrict wk = wt + k * M;
    T* __restrict acc = acc_at(oh, ow);
#pragma omp simd
    for (int f = 0; f < M; ++f) acc[f] += v * wk[f];
  });
}

// y[n][f] = b[f] + sum over cells (c, r, col, v) of v * w[f][c][r - oh*sh + pad_top][col - ow*sw +
// pad_left], for every (oh, ow) whose window holds the cell; with `relu`, max(., 0). `offsets`
// has batch + 1 entries; index and value are indexed by entry (offsets[0] = 0). A band is summed
// channel-last in a per-thread buffer (a cell's filters are one contiguous vector, against the
// weights transposed to K x M), then written once to y with the bias and the activation.
template <typename T>
void sparse_conv2d_forward(const ConvGeom& g, int batch, const int64_t* offsets, const uint32_t* index, const T* value,
                           const T* w, const T* b, T* y, bool relu = false, int band = 0) {
  const int OH = g.out_h(), OW = g.out_w(), M = g.out_c, K = g.k_size();
  const size_t P = size_t(OH) * OW;
  std::vector<T> wt(size_t(K) * M);
  for (int f = 0; f < M; ++f)
    for (int k = 0; k < K; ++k) wt[size_t(k) * M + f] = w[size_t(f) * K + k];
  const int rows = sparse_conv_band_rows(g, band), bands = (OH + rows - 1) / rows;
  const long items = long(batch) * bands;
#pragma omp parallel
  {
    std::vector<T> buf(size_t(rows) * OW * M);
#pragma omp for schedule(static)
    for (long item = 0; item < items; ++item) {
      const int n = int(item / bands), r0 = int(item % bands) * rows, r1 = std::min(OH, r0 + rows);
      const size_t cols = size_t(r1 - r0) * OW;
      T* bp = buf.data();
      std::fill_n(bp, cols * M, T(0));
      for_cells_feeding_band(g, index + offsets[n], index + offsets[n + 1], r0, r1,
                             [&](const uint32_t* e, int c, int row, int col) {
                               sparse_add_cell(g, OH, OW, wt.data(), value[e - index], c, row, col, r0, r1,
                                               [&](int oh, int ow) { return bp + (size_t(oh - r0) * OW + ow) * M; });
                             });
      T* yn = y + size_t(n) * M * P + size_t(r0) * OW;
      const T floor = relu ? T(0) : -std::numeric_limits<T>::infinity();
      for (int f = 0; f < M; ++f) {
        T* p = yn + f * P;
        const T bias = b ? b[f] : T(0);
        for (size_t i = 0; i < cols; ++i) p[i] = std::max(bp[i * M + f] + bias, floor);
      }
    }
  }
}

// The adjoint of sparse_add_cell: adds v times the channel-last band gradient bp of every output
// of rows [r0, r1) that the cell feeds to the weight gradient dwt (K x M). The one weight-gradient
// accumulation of the sparse backward kernels.
template <typename T>
inline void sparse_grad_cell(const ConvGeom& g, int OH, int OW, T v, int c, int row, int col, int r0, int r1,
                             const T* bp, T* dwt) {
  const int M = g.out_c;
  for_cell_taps(g, OH, OW, c, row, col, r0, r1, [&](int oh, int ow, size_t k) {
    T* __restrict dk = dwt + k * M;
    const T* __restrict gp = bp + (size_t(oh - r0) * OW + ow) * M;
#pragma omp simd
    for (int f = 0; f < M; ++f) dk[f] += v * gp[f];
  });
}

// dw (OIHW) and db (when non-null) are overwritten. With `relu_y` (forward's output with a fused
// ReLU) dy is masked by relu_y > 0 as it is read. Per band, one pass over dy (and relu_y) copies
// the masked gradient channel-last into a per-thread buffer and sums db; the cells then add v
// times a contiguous vector of filters to dw (as K x M). Per-thread partial sums over bands of
// images (static schedule), reduced in thread order: bit-identical for a given thread count.
template <typename T>
void sparse_conv2d_backward(const ConvGeom& g, int batch, const int64_t* offsets, const uint32_t* index, const T* value,
                            const T* dy, T* dw, T* db, const T* relu_y = nullptr, int band = 0) {
  const int OH = g.out_h(), OW = g.out_w(), M = g.out_c, K = g.k_size();
  const size_t P = size_t(OH) * OW, wcount = size_t(K) * M;
  const int rows = sparse_conv_band_rows(g, band), bands = (OH + rows - 1) / rows;
  const long items = long(batch) * bands;
  const int threads = max_threads();
  std::vector<std::vector<T>> dw_part(threads), db_part(threads);  // dw_part as K x M
#pragma omp parallel
  {
    const int th = thread_id();
    dw_part[th].assign(wcount, T(0));
    db_part[th].assign(M, T(0));
    T* dwt = dw_part[th].data();
    std::vector<T> buf(size_t(rows) * OW * M);
#pragma omp for schedule(static)
    for (long item = 0; item < items; ++item) {
      const int n = int(item / bands), r0 = int(item % bands) * rows, r1 = std::min(OH, r0 + rows);
      const size_t cols = size_t(r1 - r0) * OW, base = size_t(n) * M * P + size_t(r0) * OW;
      T* bp = buf.data();
      for (int f = 0; f < M; ++f) {
        const T* d = dy + base + f * P;
        T sum = 0;
        if (relu_y) {
          const T* yy = relu_y + base + f * P;
          for (size_t i = 0; i < cols; ++i) {
            T gv = d[i];  // unconditional load: if-converted
            gv = yy[i] > T(0) ? gv : T(0);
            bp[i * M + f] = gv;
            sum += gv;
          }
        } else {
          for (size_t i = 0; i < cols; ++i) {
            bp[i * M + f] = d[i];
            sum += d[i];
          }
        }
        db_part[th][f] += sum;
      }
      for_cells_feeding_band(g, index + offsets[n], index + offsets[n + 1], r0, r1,
                             [&](const uint32_t* e, int c, int row, int col) {
                               sparse_grad_cell(g, OH, OW, value[e - index], c, row, col, r0, r1, bp, dwt);
                             });
    }
  }
  std::fill(dw, dw + wcount, T(0));
  if (db) std::fill(db, db + M, T(0));
  for (int th = 0; th < threads; ++th) {
    if (dw_part[th].empty()) continue;
    for (int f = 0; f < M; ++f)
      for (int k = 0; k < K; ++k) dw[size_t(f) * K + k] += dw_part[th][size_t(k) * M + f];
    if (db)
      for (int f = 0; f < M; ++f) db[f] += db_part[th][f];
  }
}

// ---------------------------------------------------------------------------------------------
// The sparse-input convolution fused with its ReLU and the max pooling after it: conv -> act ->
// max_pool2d in one pass that never writes the convolution's output. Same results as
// sparse_conv2d_forward followed by maxpool_forward (bit for bit: the same accumulation, and the
// same tie rule, the first maximum in the window's row-major scan order wins).
//
// Forward, per sample on the cell route (a sparse sample), in proportion to its cells: y's planes
// (and the winners) are first filled with the background, act(bias) and winner 0 (what an unreached
// window holds: all ties, the first wins); the conv outputs the cells reach get channel-last
// accumulators in the order they are first touched (a slot per output, zeroed then), the pooled
// windows holding them are listed, and only those windows are scanned, an unreached position in
// them reading as act(bias). On the band route (a dense sample) a band of pooled rows has its conv
// rows (overlapping windows recompute the shared rows) summed channel-last in a per-thread buffer
// zeroed at once, as in sparse_conv2d_forward, and every window is scanned. The scan is one rule
// (the strict > of maxpool_backward), and every output the same sum, on either route. Forward
// writes the pooled output (NCHW) and, channel-last (N x PH x PW x M), each pooled output's winner:
// its offset ky * pool_kw + kx in the window, or kPoolMasked when a fused ReLU zeroes the winner's
// gradient (winner value <= 0), which is all backward needs of the forward pass.
//
// Backward, per sample: one pass over dy copies it channel-last with the masked outputs zeroed
// (summing db on the way); then each cell, for each conv output it feeds and each pooled window
// holding that output, adds v * dy to the weight gradient when that output won the window
// (usually one window: with pool stride = pool size the windows do not overlap).
// (kPoolMasked and pool_window_fits_winners: geometry.hpp.)

// How a sample goes through the fused op. A sample whose cells reach a good part of the conv
// outputs takes the band route: forward zeroes a band buffer at once and scans every window
// (sparse_pool_forward_bands), and backward (sparse_pool_dense_sample; at 6% density all of them)
// routes dy to the winners in a channel-last band buffer and runs the plain sparse backward's
// per-cell loop against it. A sparse sample takes the cell route: forward computes only the
// windows its cells reach, and backward looks up, per cell and output, whether that output won its
// window (no pass over the whole conv output). Same results either way (the forward bit for bit;
// the cell route lists only the reached windows, the band route all); tests force each.
enum class PoolRoute { automatic, cells, bands };
inline int64_t sparse_pool_reach(const ConvGeom& g, int64_t cells) {  // conv outputs the cells feed, at most
  return cells * int64_t((g.kh + g.sh - 1) / g.sh) * ((g.kw + g.sw - 1) / g.sw);
}
inline bool sparse_pool_dense_sample(const ConvGeom& g, int64_t cells) {
  return sparse_pool_reach(g, cells) * 8 >= int64_t(g.out_h()) * g.out_w();
}
inline bool sparse_pool_use_bands(const ConvGeom& g, PoolRoute route, int64_t cells) {
  return route == PoolRoute::bands || (route == PoolRoute::automatic && sparse_pool_dense_sample(g, cells));
}
// Forward's cell route costs per output a cell reaches, the band route per conv output: the cell
// route until the reach is half of them (LeNet-5 at 32x32: under 16 cells; the paper network: 11,250).
inline bool sparse_pool_forward_bands(const ConvGeom& g, PoolRoute route, int64_t cells) {
  return route == PoolRoute::bands ||
         (route == PoolRoute::automatic && sparse_pool_reach(g, cells) * 2 >= int64_t(g.out_h()) * g.out_w());
}

// Pooled rows per band: as many as keep the band's conv rows within sparse_conv_band_rows;
// `band` > 0 forces it (tests cover the seams).
inline int sparse_pool_band_rows(const ConvGeom& g, const PoolGeom& p, int band) {
  if (band > 0) return std::min(band, p.out_h());
  const int conv_rows = sparse_conv_band_rows(g, 0);
  return std::max(1, std::min(p.out_h(), (conv_rows - p.kh) / p.sh + 1));
}

// One pooled window: src(k) gives the channel-last conv sums (bias not added) of the window's
// position k = ky * kw + kx in scan order, or null where no cell reaches (act(bias) there). Writes
// the M outputs (yo[f * PP]) and, when wo is non-null, the winners (wo[f]). Scans in row-major
// order; strict >: the first maximum wins a tie.
template <typename T, typename Src>
inline void sparse_pool_window(const PoolGeom& p, int M, const T* bias, const T* background, T floor, bool relu,
                               Src&& src_at, T* __restrict bv, int32_t* __restrict bi, T* yo, size_t PP, uint16_t* wo) {
  for (int32_t i = 0; i < p.kh * p.kw; ++i) {
    const T* __restrict src = src_at(i);
    if (i == 0) {
      if (src) {
        for (int f = 0; f < M; ++f) bv[f] = std::max(src[f] + bias[f], floor);
      } else {
        std::copy_n(background, M, bv);
      }
      std::fill_n(bi, M, 0);
    } else if (src) {
      // Plain loads, one select and arithmetic (std::max spelled out) so that GCC
      // vectorises: the comparisons are coin flips for a branch predictor.
      const T* __restrict bs = bias;
#pragma omp simd
      for (int f = 0; f < M; ++f) {
        const T z = src[f] + bs[f], old = bv[f];
        const int32_t old_i = bi[f];
        const T v = z < floor ? floor : z;
        const int32_t gt = v > old;
        bv[f] = gt ? v : old;
        bi[f] = old_i + gt * (i - old_i);  // arithmetic: a second select would not vectorise
      }
    } else {
      const T* __restrict bg = background;
#pragma omp simd
      for (int f = 0; f < M; ++f) {
        const T v = bg[f], old = bv[f];
        const int32_t old_i = bi[f];
        const int32_t gt = v > old;
        bv[f] = gt ? v : old;
        bi[f] = old_i + gt * (i - old_i);
      }
    }
  }
  for (int f = 0; f < M; ++f) yo[f * PP] = bv[f];
  if (wo)
    for (int f = 0; f < M; ++f) wo[f] = relu && !(bv[f] > T(0)) ? kPoolMasked : uint16_t(bi[f]);
}

// p is the pooling over the convolution's output (p.c = g.out_c, p.in_h = g.out_h(), p.in_w =
// g.out_w()); y is batch x out_c x p.out_h() x p.out_w(), winners batch x p.out_h() x p.out_w()
// x out_c, or null (inference: no backward pass follows). `listed` receives y as a background +
// sparse delta (background_delta.hpp): the background act(bias), and per sample the pooled
// positions of the windows that hold an output a cell reaches (on the band route: all of them),
// with y's values there. Without `dense_y`, y holds the right values only where `listed` lists a
// position (the rest as it was): for a DeltaConvOp after it, which reads `listed` alone, the
// background never needs writing (a batch's y is larger than the cache: that fill was a third of
// this op's time).
template <typename T>
void sparse_conv_pool_forward(const ConvGeom& g, const PoolGeom& p, int batch, const int64_t* offsets,
                              const uint32_t* index, const T* value, const T* w, const T* b, T* y, uint16_t* winners,
                              BackgroundDelta<T>& listed, bool relu, int band = 0,
                              PoolRoute route = PoolRoute::automatic, bool dense_y = true) {
  const int OH = g.out_h(), OW = g.out_w(), M = g.out_c, K = g.k_size(), PH = p.out_h(), PW = p.out_w();
  const size_t PP = size_t(PH) * PW;
  std::vector<T> wt(size_t(K) * M);
  for (int f = 0; f < M; ++f)
    for (int k = 0; k < K; ++k) wt[size_t(k) * M + f] = w[size_t(f) * K + k];
  const T floor = relu ? T(0) : -std::numeric_limits<T>::infinity();
  // An unreached position: exactly what sparse_conv2d_forward writes for an output no cell reaches.
  std::vector<T> bias(M), background(M);
  std::vector<uint16_t> background_winner(M);
  for (int f = 0; f < M; ++f) {
    bias[f] = b ? b[f] : T(0);
    background[f] = std::max(T(0) + bias[f], floor);
    background_winner[f] = relu && !(background[f] > T(0)) ? kPoolMasked : uint16_t(0);
  }
  const int prows = sparse_pool_band_rows(g, p, band), bands = (PH + prows - 1) / prows;
  const int max_rows = (prows - 1) * p.sh + p.kh;  // conv rows of a full band
  const long items = long(batch) * bands;
  // Per sample, its listed windows: all (band route, thread -1) or `count` of them from `from` in
  // thread `thread`'s list.
  const int threads = max_threads();
  std::vector<std::vector<uint32_t>> lists(threads);
  std::vector<std::vector<T>> list_values(threads);  // M per listed window, as listed.values
  std::vector<int64_t> count(batch), from(batch);
  std::vector<int> thread(batch);
  // The cell route: the pooled windows holding each conv row and column (no division per output).
  std::vector<int> py_lo(OH), py_hi(OH), px_lo(OW), px_hi(OW);
  for (int oh = 0; oh < OH; ++oh) window_range(oh, 0, p.kh, p.sh, PH, py_lo[oh], py_hi[oh]);
  for (int ow = 0; ow < OW; ++ow) window_range(ow, 0, p.kw, p.sw, PW, px_lo[ow], px_hi[ow]);
  std::vector<int> window_row(size_t(p.kh) * p.kw), window_col(window_row.size());  // of scan position i
  for (int i = 0; i < p.kh * p.kw; ++i) window_row[i] = i / p.kw, window_col[i] = i % p.kw;
#pragma omp parallel
  {
    const int th = thread_id();
    std::vector<T> buf, best_v(M);
    std::vector<int32_t> best_i(M);
    // The cell route: a slot per conv output (-1: not reached), the reached outputs in slot order
    // and their sums, and the reached windows (marked, and in the order found).
    std::vector<int32_t> slot;
    std::vector<uint32_t> windows;
    std::vector<std::pair<int, int>> reached;  // (row, column)
    std::vector<T> sums;
    std::vector<uint8_t> mark;
    std::vector<uint32_t>& out = lists[th];
    std::vector<T>& out_values = list_values[th];
#pragma omp for schedule(static)
    for (long item = 0; item < items; ++item) {
      const int n = int(item / bands), p0 = int(item % bands) * prows, p1 = std::min(PH, p0 + prows);
      const uint32_t *first = index + offsets[n], *last = index + offsets[n + 1];
      T* yn = y + size_t(n) * M * PP;
      uint16_t* wn = winners ? winners + size_t(n) * PP * M : nullptr;
      if (sparse_pool_forward_bands(g, route, last - first)) {
        const int r0 = p0 * p.sh, r1 = (p1 - 1) * p.sh + p.kh;  // conv rows; r1 <= OH as the windows fit
        buf.resize(size_t(max_rows) * OW * M);
        T* bp = buf.data();
        std::fill_n(bp, size_t(r1 - r0) * OW * M, T(0));
        for_cells_feeding_band(g, first, last, r0, r1, [&](const uint32_t* e, int c, int row, int col) {
          sparse_add_cell(g, OH, OW, wt.data(), value[e - index], c, row, col, r0, r1,
                          [&](int oh, int ow) { return bp + (size_t(oh - r0) * OW + ow) * M; });
        });
        for (int py = p0; py < p1; ++py)
          for (int px = 0; px < PW; ++px) {
            const T* at = bp + (size_t(py - p0) * p.sh * OW + size_t(px) * p.sw) * M;  // window origin
            sparse_pool_window(
                p, M, bias.data(), background.data(), floor, relu,
                [&](int32_t i) { return at + (size_t(window_row[i]) * OW + window_col[i]) * M; }, best_v.data(),
                best_i.data(), yn + size_t(py) * PW + px, PP, wn ? wn + (size_t(py) * PW + px) * M : nullptr);
          }
        if (p0 == 0) count[n] = int64_t(PP), thread[n] = -1;
        continue;
      }
      if (p0 != 0) continue;  // the cell route takes the whole sample in its first item
      if (dense_y)
        for (int f = 0; f < M; ++f) std::fill_n(yn + f * PP, PP, background[f]);
      if (wn)
        for (size_t q = 0; q < PP; ++q) std::copy_n(background_winner.data(), M, wn + q * M);
      slot.resize(size_t(OH) * OW, -1);
      mark.resize(PP, 0);
      for_cells_feeding_band(g, first, last, 0, OH, [&](const uint32_t* e, int c, int row, int col) {
        sparse_add_cell(g, OH, OW, wt.data(), value[e - index], c, row, col, 0, OH, [&](int oh, int ow) {
          int32_t& s = slot[size_t(oh) * OW + ow];
          if (s < 0) {
            s = int32_t(reached.size());
            reached.emplace_back(oh, ow);
            sums.resize(sums.size() + M, T(0));
          }
          return sums.data() + size_t(s) * M;
        });
      });
      for (const auto& [oh, ow] : reached)
        for (int py = py_lo[oh]; py <= py_hi[oh]; ++py)
          for (int px = px_lo[ow]; px <= px_hi[ow]; ++px) {
            const size_t q = size_t(py) * PW + px;
            if (!mark[q]) mark[q] = 1, windows.push_back(uint32_t(q));
          }
      for (uint32_t q : windows) {
        const int py = int(q / uint32_t(PW)), px = int(q - uint32_t(py) * uint32_t(PW));
        const int32_t* origin = slot.data() + size_t(py) * p.sh * OW + size_t(px) * p.sw;
        sparse_pool_window(
            p, M, bias.data(), background.data(), floor, relu,
            [&](int32_t i) {
              const int32_t s = origin[size_t(window_row[i]) * OW + window_col[i]];
              return s < 0 ? nullptr : sums.data() + size_t(s) * M;
            },
            best_v.data(), best_i.data(), yn + q, PP, wn ? wn + size_t(q) * M : nullptr);
      }
      // The listed windows in order: sorted when few, else read off the marks; and their values,
      // read back while this sample's output is in cache.
      from[n] = int64_t(out.size()), count[n] = int64_t(windows.size()), thread[n] = th;
      if (windows.size() * 16 < PP) {
        std::sort(windows.begin(), windows.end());
        for (uint32_t q : windows) mark[q] = 0;
        out.insert(out.end(), windows.begin(), windows.end());
      } else {
        for (size_t q = 0; q < PP; ++q)
          if (mark[q]) mark[q] = 0, out.push_back(uint32_t(q));
      }
      for (size_t e = size_t(from[n]); e < out.size(); ++e)
        for (int f = 0; f < M; ++f) out_values.push_back(yn[f * PP + out[e]]);
      for (const auto& [oh, ow] : reached) slot[size_t(oh) * OW + ow] = -1;
      reached.clear(), sums.clear(), windows.clear();
    }
  }
  listed.background = background;
  listed.offsets.assign(size_t(batch) + 1, 0);
  for (int n = 0; n < batch; ++n) listed.offsets[n + 1] = listed.offsets[n] + count[n];
  listed.index.resize(size_t(listed.offsets[batch]));
  listed.values.resize(listed.index.size() * M);
#pragma omp parallel for schedule(static) if (long(listed.index.size()) >= kParallelMin)
  for (int n = 0; n < batch; ++n) {
    uint32_t* at = listed.index.data() + listed.offsets[n];
    T* values = listed.values.data() + size_t(listed.offsets[n]) * M;
    if (thread[n] < 0) {  // the band route: every window, channel-last from y
      std::iota(at, at + PP, uint32_t(0));
      const T* yn = y + size_t(n) * M * PP;
      for (size_t q = 0; q < PP; ++q)
        for (int f = 0; f < M; ++f) values[q * M + f] = yn[f * PP + q];
    } else {
      std::copy_n(lists[thread[n]].data() + from[n], count[n], at);
      std::copy_n(list_values[thread[n]].data() + size_t(from[n]) * M, size_t(count[n]) * M, values);
    }
  }
}

// dw (OIHW) and db (when non-null) are overwritten from dy, the gradient with respect to the
// pooled output as a BackgroundDeltaGrad over the forward's `listed` positions (a dense gradient
// goes through background_delta_grad_from_dense first), and the winners of the forward pass (which
// carry the ReLU mask). An unlisted window holds no position a cell reaches, so its gradient goes
// to db alone, masked as its winner (background_winner) is: dy.background is all that is needed
// there. Per-thread partial sums over samples (static schedule), reduced in thread order:
// bit-identical for a given thread count.
template <typename T>
void sparse_conv_pool_backward(const ConvGeom& g, const PoolGeom& p, int batch, const int64_t* offsets,
                               const uint32_t* index, const T* value, const BackgroundDelta<T>& listed,
                               const BackgroundDeltaGrad<T>& dy, const uint16_t* winners, bool relu, T* dw, T* db,
                               int band = 0, PoolRoute route = PoolRoute::automatic) {
  const int OH = g.out_h(), OW = g.out_w(), M = g.out_c, K = g.k_size(), PH = p.out_h(), PW = p.out_w();
  const size_t PP = size_t(PH) * PW, wcount = size_t(K) * M;
  // The pooled windows holding each conv row and column (window_range divides: once per row and
  // column here, not once per cell).
  std::vector<int> py_lo(OH), py_hi(OH), px_lo(OW), px_hi(OW);
  for (int oh = 0; oh < OH; ++oh) window_range(oh, 0, p.kh, p.sh, PH, py_lo[oh], py_hi[oh]);
  for (int ow = 0; ow < OW; ++ow) window_range(ow, 0, p.kw, p.sw, PW, px_lo[ow], px_hi[ow]);
  // The band route: a winner's row and column in its window, and conv rows per band.
  std::vector<int> win_y(size_t(p.kh) * p.kw), win_x(win_y.size());
  for (int k = 0; k < p.kh * p.kw; ++k) win_y[k] = k / p.kw, win_x[k] = k % p.kw;
  const int rows = sparse_conv_band_rows(g, band);
  const int threads = max_threads();
  std::vector<std::vector<T>> dw_part(threads);  // as K x M
  std::vector<std::vector<double>> db_part(threads);
  const int64_t* lo = listed.offsets.data();
  const uint32_t* li = listed.index.data();
#pragma omp parallel
  {
    const int th = thread_id();
    dw_part[th].assign(wcount, T(0));
    db_part[th].assign(M, 0.0);
    T* dwt = dw_part[th].data();
    double* dbs = db_part[th].data();
    // The cell route: the sample's dy, channel-last, zero where masked. Written at the listed
    // windows only: the cells read no other (a window holding an output a cell feeds is listed).
    std::vector<T> gl;
    std::vector<T> gbuf;  // the band route: the band's routed gradient, channel-last
#pragma omp for schedule(static)
    for (int n = 0; n < batch; ++n) {
      const uint16_t* wn = winners + size_t(n) * PP * M;
      const int64_t e0 = lo[n], e1 = lo[n + 1];
      for (int64_t e = e0; e < e1; ++e) {  // db: the listed windows' masked gradient
        const uint16_t* wq = wn + size_t(li[e]) * M;
        const T* d = dy.touched.data() + size_t(e) * M;
        for (int f = 0; f < M; ++f) dbs[f] += double(wq[f] != kPoolMasked ? d[f] : T(0));
      }
      if (sparse_pool_use_bands(g, route, offsets[n + 1] - offsets[n])) {
        gbuf.resize(size_t(rows) * OW * M);
        for (int r0 = 0; r0 < OH; r0 += rows) {
          const int r1 = std::min(OH, r0 + rows);
          // The pooled rows whose windows reach into [r0, r1); each winner lands in one band.
          const int pya = r0 < p.kh ? 0 : (r0 - p.kh) / p.sh + 1, pyb = std::min(PH - 1, (r1 - 1) / p.sh);
          if (pya > pyb) continue;  // rows no window reads: no gradient
          T* __restrict gb = gbuf.data();
          std::fill_n(gb, size_t(r1 - r0) * OW * M, T(0));
          const uint32_t* first = std::lower_bound(li + e0, li + e1, uint32_t(pya) * uint32_t(PW));
          const uint32_t* last = std::lower_bound(first, li + e1, uint32_t(pyb + 1) * uint32_t(PW));
          for (const uint32_t* e = first; e < last; ++e) {
            const int py = int(*e / uint32_t(PW)), px = int(*e % uint32_t(PW));
            const uint16_t* wq = wn + size_t(*e) * M;
            const T* d = dy.touched.data() + size_t(e - li) * M;
            for (int f = 0; f < M; ++f) {  // branch-free: masks and bands are coin flips
              const uint16_t wv = wq[f];
              const bool ok = wv != kPoolMasked;
              const int k = ok ? wv : 0, oy = py * p.sh + win_y[k] - r0;
              const bool in = ok && oy >= 0 && oy < r1 - r0;
              gb[(size_t(in ? oy : 0) * OW + px * p.sw + win_x[k]) * M + f] += in ? d[f] : T(0);
            }
          }
          for_cells_feeding_band(g, index + offsets[n], index + offsets[n + 1], r0, r1,
                                 [&](const uint32_t* e, int c, int row, int col) {
                                   sparse_grad_cell(g, OH, OW, value[e - index], c, row, col, r0, r1, gb, dwt);
                                 });
        }
        continue;
      }
      if (offsets[n] == offsets[n + 1]) continue;
      gl.resize(PP * M);
      for (int64_t e = e0; e < e1; ++e) {
        const size_t q = size_t(li[e]) * M;
        const T* d = dy.touched.data() + size_t(e) * M;
        for (int f = 0; f < M; ++f) gl[q + f] = wn[q + f] != kPoolMasked ? d[f] : T(0);
      }
      for_cells_feeding_band(g, index + offsets[n], index + offsets[n + 1], 0, OH,
                             [&](const uint32_t* e, int c, int row, int col) {
                               const T v = value[e - index];
                               int oh0, oh1, ow0, ow1;
                               window_range(row, g.pad_top, g.kh, g.sh, OH, oh0, oh1);
                               window_range(col, g.pad_left, g.kw, g.sw, OW, ow0, ow1);
                               for (int oh = oh0; oh <= oh1; ++oh) {
                                 const int ky = row + g.pad_top - oh * g.sh;
                                 const int py0 = py_lo[oh], py1 = py_hi[oh];
                                 if (py0 > py1) continue;  // a conv row no pooling window reads
                                 for (int ow = ow0; ow <= ow1; ++ow) {
                                   const int kx = col + g.pad_left - ow * g.sw;
                                   const int px0 = px_lo[ow], px1 = px_hi[ow];
                                   T* __restrict dk = dwt + (size_t(c * g.kh + ky) * g.kw + kx) * M;
                                   for (int py = py0; py <= py1; ++py)
                                     for (int px = px0; px <= px1; ++px) {
                                       const uint16_t me = uint16_t((oh - py * p.sh) * p.kw + (ow - px * p.sw));
                                       const size_t q = (size_t(py) * PW + px) * M;
                                       const uint16_t* __restrict wq = wn + q;
                                       const T* __restrict gq = gl.data() + q;
#pragma omp simd
                                       for (int f = 0; f < M; ++f)  // a multiply, not a branch: a win is a coin flip
                                         dk[f] += v * (T(wq[f] == me) * gq[f]);
                                     }
                                 }
                               }
                             });
    }
  }
  std::fill(dw, dw + wcount, T(0));
  std::vector<double> dbsum(M, 0.0);
  for (int f = 0; f < M; ++f)  // the unlisted windows: masked where a fused ReLU left act(bias) <= 0
    dbsum[f] = relu && !(listed.background[f] > T(0)) ? 0.0 : double(dy.background[f]);
  for (int th = 0; th < threads; ++th) {
    if (dw_part[th].empty()) continue;
    for (int f = 0; f < M; ++f)
      for (int k = 0; k < K; ++k) dw[size_t(f) * K + k] += dw_part[th][size_t(k) * M + f];
    for (int f = 0; f < M; ++f) dbsum[f] += db_part[th][f];
  }
  if (db)
    for (int f = 0; f < M; ++f) db[f] = T(dbsum[f]);
}

// ---------------------------------------------------------------------------------------------
// Convolution over a background + sparse delta input (background_delta.hpp): the convolution
// after the fused sparse head, whose input is act(bias) of the head everywhere but at the listed
// pooled positions (~1,200 of the paper's 22,500 per image). Same results as conv2d_forward and
// conv2d_backward on the dense input, at the cost of the listed positions:
//
//   y = conv(background image) + sum over listed positions q of (x[q] - background) scattered to
//   the outputs whose windows hold q.
//
// conv(background image) is one image for the whole batch; it depends on the position only
// through the zero padding (the taps that land inside the input form a rectangle per output), so
// it is b + a rectangle sum of the per-tap responses sum_c background[c] * w[f][c][ky][kx], from
// 2-D prefix sums. Backward likewise: with S = sum over samples of the (masked) dy,
//   db = sum of S;  dw[f][c][ky][kx] = background[c] * G[f][ky][kx] + the listed positions' terms,
//   G[f][ky][kx] = sum of S[f] over the outputs where tap (ky, kx) lands inside (a rectangle);
//   dx exact at the listed positions; per channel, the sum of dx over every other position of
//   every sample = sum_{f, ky, kx} w[f][c][ky][kx] * G[f][ky][kx] - the listed positions' dx.
// The outputs of a sample are summed channel-last (all filters of a position side by side, so a
// listed position adds contiguous vectors against the weights as [ky][kx][c][f]).

// The outputs o in [lo, hi] along one axis whose tap t lands inside the input: 0 <= o * stride
// + t - pad < in (lo > hi: none).
inline void outputs_reading_tap(int t, int stride, int pad, int in, int out, int& lo, int& hi) {
  const int a = pad - t, b = in - 1 + pad - t;
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = b < 0 ? -1 : std::min(out - 1, b / stride);
}
// The taps [lo, hi] along one axis of output o that land inside the input.
inline void taps_inside(int o, int stride, int pad, int k, int in, int& lo, int& hi) {
  const int first = o * stride - pad;  // tap t reads first + t
  lo = std::max(0, -first);
  hi = std::min(k - 1, in - 1 - first);
}

// OIHW -> [ky][kx][c][f]: a tap's filters side by side.
template <typename T>
std::vector<T> taps_major(const ConvGeom& g, const T* w) {
  const int C = g.in_c, M = g.out_c, KK = g.kh * g.kw;
  std::vector<T> t(size_t(KK) * C * M);
  for (int f = 0; f < M; ++f)
    for (int c = 0; c < C; ++c)
      for (int k = 0; k < KK; ++k) t[(size_t(k) * C + c) * M + f] = w[(size_t(f) * C + c) * KK + k];
  return t;
}

// 2-D prefix sums over a rows x cols grid of M-vectors: s[((i * (cols + 1)) + j) * M + f] is the
// sum of v over rows < i and columns < j. rect_sum reads a rectangle [r0, r1] x [c0, c1] back.
template <typename V>
std::vector<double> prefix_sums_2d(int rows, int cols, int M, V&& v) {
  std::vector<double> s(size_t(rows + 1) * (cols + 1) * M, 0.0);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      for (int f = 0; f < M; ++f) {
        const size_t at = (size_t(i + 1) * (cols + 1) + j + 1) * M + f;
        s[at] = v(i, j, f) + s[at - M] + s[at - size_t(cols + 1) * M] - s[at - size_t(cols + 2) * M];
      }
  return s;
}
inline double rect_sum(const std::vector<double>& s, int cols, int M, int r0, int r1, int c0, int c1, int f) {
  if (r0 > r1 || c0 > c1) return 0.0;
  auto at = [&](int i, int j) { return s[(size_t(i) * (cols + 1) + j) * M + f]; };
  return at(r1 + 1, c1 + 1) - at(r0, c1 + 1) - at(r1 + 1, c0) + at(r0, c0);
}

// b + conv(background image) at every output, channel-last (OH * OW x M); wt as [ky][kx][c][f].
template <typename T>
std::vector<T> delta_conv_background(const ConvGeom& g, const T* background, const T* wt, const T* b) {
  const int C = g.in_c, M = g.out_c, OH = g.out_h(), OW = g.out_w();
  const std::vector<double> s = prefix_sums_2d(g.kh, g.kw, M, [&](int ky, int kx, int f) {
    double r = 0;
    for (int c = 0; c < C; ++c) r += double(background[c]) * double(wt[((size_t(ky) * g.kw + kx) * C + c) * M + f]);
    return r;
  });
  std::vector<T> base(size_t(OH) * OW * M);
  for (int oy = 0; oy < OH; ++oy) {
    int ky0, ky1;
    taps_inside(oy, g.sh, g.pad_top, g.kh, g.in_h, ky0, ky1);
    for (int ox = 0; ox < OW; ++ox) {
      int kx0, kx1;
      taps_inside(ox, g.sw, g.pad_left, g.kw, g.in_w, kx0, kx1);
      for (int f = 0; f < M; ++f)
        base[(size_t(oy) * OW + ox) * M + f] =
            T((b ? double(b[f]) : 0.0) + rect_sum(s, g.kw, M, ky0, ky1, kx0, kx1, f));
    }
  }
  return base;
}

// Calls f(o, k) for every output o = oh * OW + ow whose window holds input position (iy, ix), with
// k = ky * kw + kx the tap that reads it there.
template <typename F>
void for_outputs_reading(const ConvGeom& g, int iy, int ix, F&& f) {
  const int OW = g.out_w();
  int oh0, oh1, ow0, ow1;
  window_range(iy, g.pad_top, g.kh, g.sh, g.out_h(), oh0, oh1);
  window_range(ix, g.pad_left, g.kw, g.sw, OW, ow0, ow1);
  for (int oh = oh0; oh <= oh1; ++oh) {
    const int ky = iy + g.pad_top - oh * g.sh;
    for (int ow = ow0; ow <= ow1; ++ow) f(size_t(oh) * OW + ow, size_t(ky) * g.kw + (ix + g.pad_left - ow * g.sw));
  }
}

// For every input position q = iy * in_w + ix, the (output, tap) pairs for_outputs_reading gives
// there, in its order: out[p], tap[p] for p in [at[q], at[q + 1]). The delta convolution's forward
// looks a listed position's pairs up instead of working them out (two divisions and the window
// ranges per position); CpuDeltaConv builds the table once for its geometry.
struct PositionTaps {
  std::vector<uint32_t> at, out, tap;
};
inline PositionTaps position_taps(const ConvGeom& g) {
  PositionTaps t;
  t.at.reserve(size_t(g.in_h) * g.in_w + 1);
  t.at.push_back(0);
  for (int iy = 0; iy < g.in_h; ++iy)
    for (int ix = 0; ix < g.in_w; ++ix) {
      for_outputs_reading(g, iy, ix, [&](size_t o, size_t k) {
        t.out.push_back(uint32_t(o));
        t.tap.push_back(uint32_t(k));
      });
      t.at.push_back(uint32_t(t.out.size()));
    }
  return t;
}

// Calls f(entry, q, iy, ix) for every listed position of sample n, with dl[c] = x[n][c][q] -
// background[c] filled (from d.values).
template <typename T, typename F>
void for_listed_deltas(const ConvGeom& g, int n, const BackgroundDelta<T>& d, T* dl, F&& f) {
  const int C = g.in_c;
  for (int64_t e = d.offsets[n]; e < d.offsets[n + 1]; ++e) {
    const uint32_t q = d.index[e];
    const T* v = d.values.data() + size_t(e) * C;
    for (int c = 0; c < C; ++c) dl[c] = v[c] - d.background[c];
    f(e, q, int(q / uint32_t(g.in_w)), int(q % uint32_t(g.in_w)));
  }
}

// A dense gradient (N x C x plane, NCHW) as a BackgroundDeltaGrad over d's listed positions: read
// there; elsewhere summed per channel in double (a plane's total minus its listed values).
template <typename T>
void background_delta_grad_from_dense(const BackgroundDelta<T>& d, int channels, size_t plane, const T* dy,
                                      BackgroundDeltaGrad<T>& out) {
  const int batch = d.batch(), C = channels;
  out.touched.resize(size_t(d.listed()) * C);
  const int threads = max_threads();
  std::vector<std::vector<double>> part(threads);
#pragma omp parallel
  {
    const int th = thread_id();
    part[th].assign(C, 0.0);
#pragma omp for schedule(static)
    for (int n = 0; n < batch; ++n)
      for (int c = 0; c < C; ++c) {
        const T* p = dy + (size_t(n) * C + c) * plane;
        double total = 0;
        for (size_t i = 0; i < plane; ++i) total += double(p[i]);
        for (int64_t e = d.offsets[n]; e < d.offsets[n + 1]; ++e) {
          const T v = p[d.index[e]];
          out.touched[size_t(e) * C + c] = v;
          total -= double(v);
        }
        part[th][c] += total;
      }
  }
  std::vector<double> sum(C, 0.0);
  for (int th = 0; th < threads; ++th)
    for (int c = 0; c < C && !part[th].empty(); ++c) sum[c] += part[th][c];
  out.background.resize(C);
  for (int c = 0; c < C; ++c) out.background[c] = T(sum[c]);
}

// How a sample goes through: per listed position (scatter), or, when it lists many positions (a
// dense FlowPic lists them all), through the dense convolution (conv2d_forward/backward: im2col
// and GEMM over its input, with the other such samples of the batch). automatic takes GEMM when
// the scatter's multiply-adds are over 1 / advantage of the GEMM's: OpenBLAS's GEMM runs its own
// wide vector kernels, the scatter loops what the build targets. The advantages are measured on
// the paper network's second convolution and LeNet-5's (docs/nn.md): 2 forward, 4 backward (two
// products per position and tap there, one a read-modify-write of dw). Tests force each route.
enum class DeltaRoute { automatic, scatter, gemm };
constexpr int kDeltaGemmAdvantageForward = 2, kDeltaGemmAdvantageBackward = 4;
inline bool delta_use_gemm(const ConvGeom& g, DeltaRoute route, int64_t listed, int advantage) {
  if (route != DeltaRoute::automatic) return route == DeltaRoute::gemm;
  const int64_t per = int64_t((g.kh + g.sh - 1) / g.sh) * ((g.kw + g.sw - 1) / g.sw);  // outputs per position, at most
  return listed * per * advantage >= int64_t(g.out_h()) * g.out_w() * g.kh * g.kw;
}

// The samples that take the GEMM route, and for each sample its place among them (-1: scatter).
struct DeltaGemmSamples {
  std::vector<int> samples, slot;
};
template <typename T>
DeltaGemmSamples delta_gemm_samples(const ConvGeom& g, const BackgroundDelta<T>& d, DeltaRoute route, int advantage) {
  DeltaGemmSamples s;
  s.slot.assign(size_t(d.batch()), -1);
  for (int n = 0; n < d.batch(); ++n)
    if (delta_use_gemm(g, route, d.offsets[n + 1] - d.offsets[n], advantage)) {
      s.slot[n] = int(s.samples.size());
      s.samples.push_back(n);
    }
  return s;
}

// The given samples of an N x per array, side by side.
template <typename T>
std::vector<T> gather_samples(const T* a, size_t per, const std::vector<int>& samples) {
  std::vector<T> out(samples.size() * per);
#pragma omp parallel for schedule(static) if (long(out.size()) >= kParallelMin)
  for (long i = 0; i < long(samples.size()); ++i) std::copy_n(a + size_t(samples[i]) * per, per, out.data() + i * per);
  return out;
}

template <typename T>
void maxpool_forward(const PoolGeom& g, int batch, const T* x, T* y);  // below, with the pooling layer's kernels

// The max pooling p (over a channel-last M-channel conv output, OW columns) of one sample's
// channel-last sums acc, with the activation floor applied as delta_conv2d_forward applies it,
// into yn (NCHW, p.out_h() x p.out_w() planes). The comparisons are maxpool_forward's, in its
// scan order (row-major from the window's first element), so the values are bit for bit those of
// delta_conv2d_forward followed by maxpool_forward. The windows are pooled channel-last into
// pooled (p.out_h() * p.out_w() x M, whole vectors), then transposed into yn in one pass: a
// window's M results written straight to their M planes were read back one by one from the
// vector just stored, each such load waiting for the store (a third of the op's time).
template <typename T>
void pool_channel_last(const PoolGeom& p, int M, int OW, const T* __restrict acc, T floor, T* __restrict pooled,
                       T* __restrict yn) {
  const int PH = p.out_h(), PW = p.out_w();
  const size_t PP = size_t(PH) * PW;
  for (int py = 0; py < PH; ++py)
    for (int px = 0; px < PW; ++px) {
      const T* origin = acc + (size_t(py) * p.sh * OW + size_t(px) * p.sw) * M;
      T* __restrict best = pooled + (size_t(py) * PW + px) * M;
#pragma omp simd
      for (int f = 0; f < M; ++f) best[f] = std::max(origin[f], floor);
      for (int ky = 0; ky < p.kh; ++ky)
        for (int kx = ky == 0 ? 1 : 0; kx < p.kw; ++kx) {  // the first element compared with itself changes nothing
          const T* at = origin + (size_t(ky) * OW + kx) * M;
#pragma omp simd
          for (int f = 0; f < M; ++f) {
            const T v = std::max(at[f], floor), m = best[f];
            best[f] = m < v ? v : m;
          }
        }
    }
  for (int f = 0; f < M; ++f)
    for (size_t q = 0; q < PP; ++q) yn[f * PP + q] = pooled[q * M + f];
}

// The given samples of the input d describes, dense (NCHW, side by side): the GEMM route's input.
template <typename T>
std::vector<T> densify_samples(const BackgroundDelta<T>& d, int C, size_t plane, const std::vector<int>& samples) {
  std::vector<T> out(samples.size() * C * plane);
#pragma omp parallel for schedule(static) if (long(out.size()) >= kParallelMin)
  for (long i = 0; i < long(samples.size()); ++i) {
    T* xn = out.data() + size_t(i) * C * plane;
    for (int c = 0; c < C; ++c) std::fill_n(xn + c * plane, plane, d.background[c]);
    const int n = samples[i];
    for (int64_t e = d.offsets[n]; e < d.offsets[n + 1]; ++e)
      for (int c = 0; c < C; ++c) xn[c * plane + d.index[e]] = d.values[size_t(e) * C + c];
  }
  return out;
}

// y (NCHW) = conv(x) + b, with `relu` max(., 0); x is N x in_c x in_h x in_w, equal to
// d.background[c] wherever d lists no position and to d.values at the listed ones: d is all
// that is read (the scatter reads d.values, contiguous). The GEMM route's samples go through
// conv2d_forward together, made dense from d.
// With `pool` (inference, where nothing reads the convolution's output but the max pooling after
// it), y is that pooling's output instead, N x out_c x pool->out_h() x pool->out_w(), pooled
// straight from each sample's channel-last sums (pool_channel_last): no NCHW convolution output
// is written and no second pass reads it. The values are those of this function without `pool`
// followed by maxpool_forward, bit for bit.
template <typename T>
void delta_conv2d_forward(const ConvGeom& g, int batch, const BackgroundDelta<T>& d, const T* w, const T* b, T* y,
                          bool relu, DeltaRoute route = DeltaRoute::automatic, const PositionTaps* taps = nullptr,
                          const PoolGeom* pool = nullptr) {
  const int C = g.in_c, M = g.out_c, OH = g.out_h(), OW = g.out_w();
  const size_t P = size_t(OH) * OW, plane = size_t(g.in_h) * g.in_w;
  const size_t out = pool ? size_t(M) * pool->out_h() * pool->out_w() : size_t(M) * P;  // y per sample
  const DeltaGemmSamples gs = delta_gemm_samples(g, d, route, kDeltaGemmAdvantageForward);
  if (!gs.samples.empty()) {
    const bool all = int(gs.samples.size()) == batch;
    const int ng = int(gs.samples.size());
    const std::vector<T> xg = densify_samples(d, C, plane, gs.samples);
    if (all && !pool) return conv2d_forward(g, batch, xg.data(), w, b, y, 0, relu);
    std::vector<T> yg(size_t(ng) * M * P);
    conv2d_forward(g, ng, xg.data(), w, b, yg.data(), 0, relu);
    if (pool && all) return maxpool_forward(*pool, ng, yg.data(), y);
    std::vector<T> pg(pool ? size_t(ng) * out : 0);
    if (pool) maxpool_forward(*pool, ng, yg.data(), pg.data());
    const T* src = pool ? pg.data() : yg.data();
    for (size_t i = 0; i < gs.samples.size(); ++i) std::copy_n(src + i * out, out, y + size_t(gs.samples[i]) * out);
  }
  const std::vector<T> wt = taps_major(g, w);
  const std::vector<T> base = delta_conv_background(g, d.background.data(), wt.data(), b);
  const T floor = relu ? T(0) : -std::numeric_limits<T>::infinity();
  PositionTaps local;
  if (!taps) local = position_taps(g);
  const PositionTaps& tp = taps ? *taps : local;
#pragma omp parallel
  {
    std::vector<T> buf(P * M), dl(C), pooled(pool ? out : 0);
#pragma omp for schedule(static)
    for (int n = 0; n < batch; ++n) {
      if (gs.slot[n] >= 0) continue;
      T* __restrict acc = buf.data();
      std::copy(base.begin(), base.end(), acc);
      for_listed_deltas(g, n, d, dl.data(), [&](int64_t, uint32_t q, int, int) {
        bool any = false;
        for (int c = 0; c < C; ++c) any |= dl[c] != T(0);
        if (!any) return;  // a listed window that kept the background (all channels)
        const uint32_t* po = tp.out.data() + tp.at[q];
        const uint32_t* pk = tp.tap.data() + tp.at[q];
        const int pairs = int(tp.at[q + 1] - tp.at[q]);
        if constexpr (std::is_same_v<T, float>) {
          // The widest vectors the processor has (nn/simd.hpp: the same bits as the loop below).
          simd::scatter_taps(acc, wt.data(), dl.data(), C, M, po, pk, pairs);
        } else {
          for (int p = 0; p < pairs; ++p) {
            const T* __restrict wk = wt.data() + size_t(pk[p]) * C * M;
            T* __restrict a = acc + size_t(po[p]) * M;
            for (int c = 0; c < C; ++c) {
              const T v = dl[c];
#pragma omp simd
              for (int f = 0; f < M; ++f) a[f] += v * wk[size_t(c) * M + f];
            }
          }
        }
      });
      T* yn = y + size_t(n) * out;
      if (pool) {
        pool_channel_last(*pool, M, OW, acc, floor, pooled.data(), yn);
        continue;
      }
      for (int f = 0; f < M; ++f)
        for (size_t o = 0; o < P; ++o) yn[f * P + o] = std::max(acc[o * M + f], floor);
    }
  }
}

// dw (OIHW) and db (when non-null) are overwritten; dx (when non-null) gets the input gradient:
// exact at d's listed positions, and per channel the sum over every other position. With
// `relu_y` (forward's output with a fused ReLU), dy is masked by relu_y > 0 as it is read.
// Per-thread partial sums over samples (static schedule), reduced in thread order: bit-identical
// for a given thread count. The GEMM route's samples go through conv2d_backward together (their
// whole dw, db and dense dx), the others through the background terms and the scatter.
template <typename T>
void delta_conv2d_backward(const ConvGeom& g, int batch, const BackgroundDelta<T>& d, const T* w, const T* dy,
                           BackgroundDeltaGrad<T>* dx, T* dw, T* db, const T* relu_y = nullptr,
                           DeltaRoute route = DeltaRoute::automatic) {
  const int C = g.in_c, M = g.out_c, OH = g.out_h(), OW = g.out_w(), KK = g.kh * g.kw;
  const size_t P = size_t(OH) * OW, wcount = size_t(KK) * C * M, plane = size_t(g.in_h) * g.in_w;
  const DeltaGemmSamples gs = delta_gemm_samples(g, d, route, kDeltaGemmAdvantageBackward);
  const int NG = int(gs.samples.size());
  // The GEMM route: the dense backward of those samples, its input gradient read back in delta form.
  std::vector<T> dwg(NG ? wcount : 0), dbg(NG ? M : 0);
  BackgroundDeltaGrad<T> dxg;
  if (NG) {
    const bool all = NG == batch;
    BackgroundDelta<T> sub{d.background, {0}, {}, {}};  // d over those samples (values unused)
    for (int n : gs.samples) {
      sub.index.insert(sub.index.end(), d.index.begin() + d.offsets[n], d.index.begin() + d.offsets[n + 1]);
      sub.offsets.push_back(int64_t(sub.index.size()));
    }
    const size_t per = size_t(C) * plane, out = size_t(M) * P;
    const std::vector<T> xs = densify_samples(d, C, plane, gs.samples);
    std::vector<T> dys = all ? std::vector<T>() : gather_samples(dy, out, gs.samples);
    std::vector<T> ys = all || !relu_y ? std::vector<T>() : gather_samples(relu_y, out, gs.samples);
    std::vector<T> dense_dx(dx ? size_t(NG) * per : 0);
    conv2d_backward(g, NG, xs.data(), w, all ? dy : dys.data(), dx ? dense_dx.data() : nullptr, dwg.data(), dbg.data(),
                    0,
                    !relu_y ? nullptr
                    : all   ? relu_y
                            : ys.data());
    if (dx) background_delta_grad_from_dense(sub, C, plane, dense_dx.data(), dxg);
    if (all) {
      std::copy(dwg.begin(), dwg.end(), dw);
      if (db) std::copy(dbg.begin(), dbg.end(), db);
      if (dx) *dx = std::move(dxg);
      return;
    }
  }
  const std::vector<T> wt = taps_major(g, w);
  const int threads = max_threads();
  std::vector<std::vector<T>> dw_part(threads);  // [ky][kx][c][f]
  std::vector<std::vector<double>> s_part(threads), dx_part(threads);
  if (dx) {
    dx->touched.resize(size_t(d.listed()) * C);
    dx->background.assign(C, T(0));
  }
#pragma omp parallel
  {
    const int th = thread_id();
    dw_part[th].assign(wcount, T(0));
    s_part[th].assign(P * M, 0.0);
    dx_part[th].assign(C, 0.0);
    T* __restrict dwt = dw_part[th].data();
    double* __restrict s = s_part[th].data();
    std::vector<T> gl(P * M), dl(C), dxf(size_t(C) * M);
#pragma omp for schedule(static)
    for (int n = 0; n < batch; ++n) {
      if (gs.slot[n] >= 0) continue;
      for (int f = 0; f < M; ++f) {
        const size_t at = (size_t(n) * M + f) * P;
        for (size_t o = 0; o < P; ++o) {
          T gv = dy[at + o];  // unconditional load: if-converted
          gv = !relu_y || relu_y[at + o] > T(0) ? gv : T(0);
          gl[o * M + f] = gv;
        }
      }
      for (size_t i = 0; i < P * M; ++i) s[i] += double(gl[i]);
      for_listed_deltas(g, n, d, dl.data(), [&](int64_t e, uint32_t, int iy, int ix) {
        std::fill(dxf.begin(), dxf.end(), T(0));
        for_outputs_reading(g, iy, ix, [&](size_t o, size_t k) {
          const T* __restrict gp = gl.data() + o * M;
          T* __restrict dk = dwt + k * C * M;
          for (int c = 0; c < C; ++c) {
            const T v = dl[c];
#pragma omp simd
            for (int f = 0; f < M; ++f) dk[size_t(c) * M + f] += v * gp[f];
          }
          if (!dx) return;
          // dx[c] += sum_f w[f][c][ky][kx] * dy[f]: summed per filter here (vectors over f, as the
          // weights lie), across filters once per position below.
          const T* __restrict wk = wt.data() + k * C * M;
          T* __restrict xf = dxf.data();
          for (int c = 0; c < C; ++c) {
#pragma omp simd
            for (int f = 0; f < M; ++f) xf[size_t(c) * M + f] += wk[size_t(c) * M + f] * gp[f];
          }
        });
        if (!dx) return;
        for (int c = 0; c < C; ++c) {
          T v = 0;
          for (int f = 0; f < M; ++f) v += dxf[size_t(c) * M + f];
          dx->touched[size_t(e) * C + c] = v;
          dx_part[th][c] += double(v);
        }
      });
    }
  }
  std::vector<double> S(P * M, 0.0), listed_dx(C, 0.0);
  std::fill(dw, dw + wcount, T(0));
  for (int th = 0; th < threads; ++th) {
    if (dw_part[th].empty()) continue;
    for (size_t i = 0; i < P * M; ++i) S[i] += s_part[th][i];
    for (int f = 0; f < M; ++f)
      for (int c = 0; c < C; ++c)
        for (int k = 0; k < KK; ++k) dw[(size_t(f) * C + c) * KK + k] += dw_part[th][(size_t(k) * C + c) * M + f];
    for (int c = 0; c < C; ++c) listed_dx[c] += dx_part[th][c];
  }
  if (NG) {  // the GEMM route's samples: their dw, and their input gradient in place
    for (size_t i = 0; i < wcount; ++i) dw[i] += dwg[i];
    for (int i = 0, e = 0; i < NG && dx; ++i)
      for (int64_t at = d.offsets[gs.samples[i]]; at < d.offsets[gs.samples[i] + 1]; ++at, ++e)
        std::copy_n(dxg.touched.data() + size_t(e) * C, C, dx->touched.data() + size_t(at) * C);
  }
  // G[f][ky][kx]: S summed over the outputs where tap (ky, kx) lands inside.
  const std::vector<double> ps =
      prefix_sums_2d(OH, OW, M, [&](int oy, int ox, int f) { return S[(size_t(oy) * OW + ox) * M + f]; });
  std::vector<double> G(size_t(M) * KK), bg_dx(C, 0.0);
  for (int ky = 0; ky < g.kh; ++ky) {
    int oy0, oy1;
    outputs_reading_tap(ky, g.sh, g.pad_top, g.in_h, OH, oy0, oy1);
    for (int kx = 0; kx < g.kw; ++kx) {
      int ox0, ox1;
      outputs_reading_tap(kx, g.sw, g.pad_left, g.in_w, OW, ox0, ox1);
      for (int f = 0; f < M; ++f) G[size_t(f) * KK + ky * g.kw + kx] = rect_sum(ps, OW, M, oy0, oy1, ox0, ox1, f);
    }
  }
  for (int f = 0; f < M; ++f)
    for (int c = 0; c < C; ++c)
      for (int k = 0; k < KK; ++k) {
        const size_t i = (size_t(f) * C + c) * KK;
        dw[i + k] = T(double(dw[i + k]) + double(d.background[c]) * G[size_t(f) * KK + k]);
        bg_dx[c] += double(w[i + k]) * G[size_t(f) * KK + k];
      }
  if (db)
    for (int f = 0; f < M; ++f) {
      double sum = NG ? double(dbg[f]) : 0.0;
      for (size_t o = 0; o < P; ++o) sum += S[o * M + f];
      db[f] = T(sum);
    }
  if (dx)
    for (int c = 0; c < C; ++c) dx->background[c] = T(bg_dx[c] - listed_dx[c] + (NG ? double(dxg.background[c]) : 0.0));
}

// ---------------------------------------------------------------------------------------------
// Max pooling. The backward pass recomputes the window maximum (first in scan order wins ties).

template <typename T>
void maxpool_forward(const PoolGeom& g, int batch, const T* x, T* y) {
  const int OH = g.out_h(), OW = g.out_w();
#pragma omp parallel for schedule(static) if (long(batch) * g.c * g.in_h * g.in_w >= kParallelMin)
  for (long p = 0; p < long(batch) * g.c; ++p) {
    const T* xp = x + size_t(p) * g.in_h * g.in_w;
    T* yp = y + size_t(p) * OH * OW;
    for (int oy = 0; oy < OH; ++oy) {
      if (g.kh == 2 && g.kw == 2 && g.sw == 2) {  // LeNet-5's and the paper's: the same comparisons, unrolled
        const T *r0 = xp + size_t(oy * g.sh) * g.in_w, *r1 = r0 + g.in_w;
        T* __restrict yo = yp + size_t(oy) * OW;
        for (int ox = 0; ox < OW; ++ox) {
          T m = r0[2 * ox];
          m = m < r0[2 * ox + 1] ? r0[2 * ox + 1] : m;
          m = m < r1[2 * ox] ? r1[2 * ox] : m;
          m = m < r1[2 * ox + 1] ? r1[2 * ox + 1] : m;
          yo[ox] = m;
        }
        continue;
      }
      for (int ox = 0; ox < OW; ++ox) {
        const T* base = xp + size_t(oy * g.sh) * g.in_w + ox * g.sw;
        T m = base[0];
        for (int ky = 0; ky < g.kh; ++ky)
          for (int kx = 0; kx < g.kw; ++kx) {
            const T v = base[size_t(ky) * g.in_w + kx];
            m = m < v ? v : m;  // std::max(m, v) as a select (a branch there is a coin flip)
          }
        yp[size_t(oy) * OW + ox] = m;
      }
    }
  }
}

// Branch-free window arg-max (the comparisons are data-dependent coin flips for a branch
// predictor): dx = 0 everywhere, then dy lands on each window's first maximum.
template <typename T>
void maxpool_backward(const PoolGeom& g, int batch, const T* x, const T* dy, T* dx) {
  const int OH = g.out_h(), OW = g.out_w();
#pragma omp parallel for schedule(static) if (long(batch) * g.c * g.in_h * g.in_w >= kParallelMin)
  for (long p = 0; p < long(batch) * g.c; ++p) {
    const T* xp = x + size_t(p) * g.in_h * g.in_w;
    const T* dyp = dy + size_t(p) * OH * OW;
    T* dxp = dx + size_t(p) * g.in_h * g.in_w;
    std::fill(dxp, dxp + size_t(g.in_h) * g.in_w, T(0));
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox) {
        size_t base = size_t(oy * g.sh) * g.in_w + ox * g.sw, best = base;
        T m = xp[base];
        for (int ky = 0; ky < g.kh; ++ky)
          for (int kx = 0; kx < g.kw; ++kx) {
            size_t i = base + size_t(ky) * g.in_w + kx;
            T v = xp[i];
            bool gt = v > m;
            best = gt ? i : best;
            m = gt ? v : m;
          }
        dxp[best] += dyp[size_t(oy) * OW + ox];
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Element-wise layers.

// Masks are multiplications, not branches: the keep/drop pattern is random, so a branch would
// be mispredicted half the time (it was 17% of a LeNet training step).
template <typename T>
void relu_forward(size_t n, const T* __restrict x, T* __restrict y) {
#pragma omp parallel for simd schedule(static) if (long(n) >= kParallelMin)
  for (long i = 0; i < long(n); ++i) {
    const T v = x[i];
    y[i] = v < T(0) ? T(0) : v;  // std::max's result, as a select: GCC left std::max a branch here
  }
}
// Uses the output: dx = dy where y > 0.
template <typename T>
void relu_backward(size_t n, const T* __restrict y, const T* __restrict dy, T* __restrict dx) {
#pragma omp parallel for simd schedule(static) if (long(n) >= kParallelMin)
  for (long i = 0; i < long(n); ++i) {
    T g = dy[i];  // unconditional load: lets GCC if-convert and vectorise
    dx[i] = y[i] > T(0) ? g : T(0);
  }
}

// y = x * keep / (1 - rate); the same function computes dx from dy (the mask is recomputed from
// (seed, step, index), never stored).
template <typename T>
void dropout_apply(size_t n, const T* x, T* y, float rate, uint64_t seed, uint64_t step, uint64_t first_index = 0) {
  const T scale = T(1) / (T(1) - T(rate));
  const uint64_t key = dropout_key(seed, step);
#pragma omp parallel for schedule(static) if (long(n) >= kParallelMin)
  for (long i = 0; i < long(n); ++i) y[i] = x[i] * (scale * T(dropout_keep(key, first_index + uint64_t(i), rate)));
}

// ---------------------------------------------------------------------------------------------
// Fully connected: y[N x O] = x[N x I] * W^T + b, W is [O x I] (PyTorch layout).

template <typename T>
void linear_forward(int batch, int in, int out, const T* x, const T* w, const T* b, T* y) {
  gemm(false, true, batch, out, in, T(1), x, in, w, in, T(0), y, out);
  if (b)
    for (int n = 0; n < batch; ++n)
      for (int o = 0; o < out; ++o) y[size_t(n) * out + o] += b[o];
}

template <typename T>
void linear_backward(int batch, int in, int out, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  gemm(true, false, out, in, batch, T(1), dy, out, x, in, T(0), dw, in);
  if (db)
    for (int o = 0; o < out; ++o) {
      T s = 0;
      for (int n = 0; n < batch; ++n) s += dy[size_t(n) * out + o];
      db[o] = s;
    }
  if (dx) gemm(false, false, batch, in, out, T(1), dy, out, w, in, T(0), dx, in);
}

// ---------------------------------------------------------------------------------------------
// Softmax + cross-entropy, fused and stable (the per-row math of update_math.hpp, shared with the
// CUDA kernel). Returns the mean loss; probs = softmax(logits); dlogits = (probs - onehot) / batch
// (dlogits may be null). Without labels (null) only probs are written and 0 is returned.
template <typename T>
double softmax_xent(int batch, int classes, const T* logits, const int32_t* labels, T* probs, T* dlogits) {
  double total = 0;
  for (int n = 0; n < batch; ++n) {
    const size_t row = size_t(n) * classes;
    total += double(softmax_xent_row(classes, logits + row, labels ? int(labels[n]) : -1, batch, probs + row,
                                     dlogits ? dlogits + row : nullptr));
  }
  return total / batch;
}

// ---------------------------------------------------------------------------------------------
// Batch normalisation over (N, H, W) per channel. Training normalises with the biased batch
// variance and updates running_var with the unbiased one (cuDNN and PyTorch do the same);
// running = (1 - f) * running + f * batch, f = 1 - momentum (Keras momentum 0.99 -> f = 0.01).
template <typename T>
void batchnorm_forward_train(int batch, int channels, int plane, const T* x, const T* gamma, const T* beta, T* y,
                             T* running_mean, T* running_var, double factor, double eps, T* save_mean, T* save_invstd) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    const size_t m = size_t(batch) * plane;
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) sum += p[i];
    }
    double mean = sum / m;
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) sq += (p[i] - mean) * (p[i] - mean);
    }
    double var = sq / m, invstd = 1.0 / std::sqrt(var + eps);
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
    if (running_mean) {
      running_mean[c] = T((1 - factor) * running_mean[c] + factor * mean);
      running_var[c] = T((1 - factor) * running_var[c] + factor * (m > 1 ? sq / (m - 1) : var));
    }
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      T* q = y + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) q[i] = T(gamma[c] * (p[i] - mean) * invstd + beta[c]);
    }
  }
}

template <typename T>
void batchnorm_forward_infer(int batch, int channels, int plane, const T* x, const T* gamma, const T* beta, T* y,
                             const T* running_mean, const T* running_var, double eps) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c) {
    T a = T(gamma[c] / std::sqrt(double(running_var[c]) + eps)), b = beta[c] - a * running_mean[c];
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      T* q = y + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) q[i] = a * p[i] + b;
    }
  }
}

// dgamma, dbeta, dx overwritten, from the statistics saved by the training forward pass.
template <typename T>
void batchnorm_backward(int batch, int channels, int plane, const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    const size_t m = size_t(batch) * plane;
    double sdy = 0, sdyxh = 0;
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      const T* d = dy + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) {
        sdy += d[i];
        sdyxh += d[i] * (p[i] - mean) * invstd;
      }
    }
    dgamma[c] = T(sdyxh);
    dbeta[c] = T(sdy);
    const double k = gamma[c] * invstd / m;
    for (int n = 0; n < batch; ++n) {
      const T* p = x + (size_t(n) * channels + c) * plane;
      const T* d = dy + (size_t(n) * channels + c) * plane;
      T* q = dx + (size_t(n) * channels + c) * plane;
      for (int i = 0; i < plane; ++i) q[i] = T(k * (m * d[i] - sdy - (p[i] - mean) * invstd * sdyxh));
    }
  }
}

}  // namespace flowpic::nn::cpu
