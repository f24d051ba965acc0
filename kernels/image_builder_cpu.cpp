#include "kernels/image_builder_cpu.hpp"

#include <omp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

PacketColumns host_columns(const PacketStore& store) {
  PacketColumns c;
  c.count = store.time.size();
  FLOWPIC_ASSERT(store.ip_length.size() == c.count && store.payload_length.size() == c.count &&
                 store.direction.size() == c.count);
  c.time = store.time.data();
  c.ip_length = store.ip_length.data();
  c.payload_length = store.payload_length.data();
  c.direction = store.direction.data();
  return c;
}

namespace {

// Images of at most this many pixels are counted in a dense integer histogram (cache resident)
// and then transformed pixel by pixel; larger ones (R = 1500 is 2.25 M pixels) are written in
// one sequential pass from the sorted pixel indices of their packets.
constexpr size_t kDensePixels = 1 << 16;

inline int64_t pixel_of(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow& w, uint64_t p) {
  return flowpic_pixel_index(pk, spec, w, p);
}

void check_window(const PacketColumns& pk, const ImageWindow& w) {
  FLOWPIC_ASSERT(w.begin <= w.end && w.end <= pk.count);
}

void flowpic_dense(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow& w, uint32_t* hist,
                   const int16_t* size_rows, float* out) {
  const size_t n = spec.image_floats();
  const int R = spec.resolution;
  std::memset(hist, 0, n * sizeof(uint32_t));
  // In chunks: the time axis position of every packet in a vectorisable loop (the divisions),
  // then the counting. Same functions as flowpic_pixel_index (flowpic_window_x), split in two.
  constexpr int kChunk = 256;
  double x[kChunk];
  const bool flat = !(w.duration > 0.0);
  for (uint64_t a = w.begin; a < w.end; a += kChunk) {
    const int m = static_cast<int>(std::min<uint64_t>(kChunk, w.end - a));
    const double* t = pk.time + a;
    if (!w.warp.on)  // the common case as its own loop, so it stays vectorised
      for (int i = 0; i < m; ++i) x[i] = flowpic_time_x(t[i], w.t0, w.duration, R);
    else
      for (int i = 0; i < m; ++i) x[i] = flowpic_window_x(t[i], w, R);
    for (int i = 0; i < m; ++i) {
      const uint8_t d = pk.direction[a + i] & 1u;
      uint32_t size = pk.ip_length[a + i];
      if (!(w.directions & (1u << d))) continue;
      if (size > spec.max_size) {
        if (spec.oversize != OversizeRule::kClip) continue;
        size = spec.max_size;
      }
      const int col = flat ? 0 : flowpic_time_bin_of_x(x[i], R);
      if (col < 0) continue;
      const int64_t ch = spec.per_direction ? d : 0;
      ++hist[(ch * R + size_rows[size]) * R + col];
    }
  }
  if (spec.transform == PixelTransform::kRaw) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(hist[i]);
    return;
  }
  uint32_t mx = 0;
  if (spec.transform == PixelTransform::kMax)
    for (size_t i = 0; i < n; ++i) mx = std::max(mx, hist[i]);
  for (size_t i = 0; i < n; ++i) out[i] = flowpic_pixel(hist[i], spec.transform, mx);
}

// LSD radix sort of pixel indices below 2^24 (C x R x R <= 2 x 1500 x 1500), two 12-bit digits.
void radix_sort24(std::vector<uint32_t>& keys, std::vector<uint32_t>& tmp) {
  tmp.resize(keys.size());
  for (int shift : {0, 12}) {
    uint32_t pos[4096] = {};
    for (uint32_t k : keys) ++pos[(k >> shift) & 4095u];
    uint32_t sum = 0;
    for (uint32_t& p : pos) {
      const uint32_t c = p;
      p = sum;
      sum += c;
    }
    for (uint32_t k : keys) tmp[pos[(k >> shift) & 4095u]++] = k;
    keys.swap(tmp);
  }
}

// Pixel indices in increasing order. A FlowPic window of a handful of packets (the usual
// streaming window: 3 to 10) would spend nearly all of a radix sort in clearing its two 4096-entry
// histograms (32 KB per image), so below kRadixMin keys a comparison sort (insertion sort for the
// few: std::sort is one below 16 keys) is used; the order is the same either way.
constexpr size_t kRadixMin = 2048;
void sort_pixels(std::vector<uint32_t>& keys, std::vector<uint32_t>& tmp) {
  if (keys.size() >= kRadixMin) {
    radix_sort24(keys, tmp);
    return;
  }
  std::sort(keys.begin(), keys.end());
}

// Writes an image of n floats front to back: zeros, and at each run of equal sorted keys the
// transformed run length. On x86 the image goes out through non-temporal 64-byte stores: a
// 9 MB image would otherwise be read into the cache (write-allocate) only to be overwritten,
// doubling the memory traffic of what is a pure write.
void write_sorted(const std::vector<uint32_t>& keys, PixelTransform transform, uint32_t mx, float* out, size_t n) {
  size_t next = 0;                           // first pixel not yet written
  size_t k = 0;                              // next key
  auto value_at = [&](size_t px) -> float {  // the pixel's value; consumes its run of keys
    if (k >= keys.size() || keys[k] != px) return 0.0f;
    size_t j = k + 1;
    while (j < keys.size() && keys[j] == keys[k]) ++j;
    const float v = flowpic_pixel(static_cast<uint32_t>(j - k), transform, mx);
    k = j;
    return v;
  };
#if defined(__SSE2__)
  // Head up to 16-byte alignment with plain stores.
  while (next < n && (reinterpret_cast<uintptr_t>(out + next) & 15u)) {
    out[next] = value_at(next);
    ++next;
  }
  const __m128 zero = _mm_setzero_ps();
  for (; next + 16 <= n; next += 16) {
    if (k < keys.size() && keys[k] < next + 16) {
      alignas(16) float block[16];
      for (int i = 0; i < 16; ++i) block[i] = value_at(next + i);
      for (int i = 0; i < 16; i += 4) _mm_stream_ps(out + next + i, _mm_load_ps(block + i));
    } else {
      for (int i = 0; i < 16; i += 4) _mm_stream_ps(out + next + i, zero);
    }
  }
  _mm_sfence();
#endif
  for (; next < n; ++next) out[next] = value_at(next);
}

// Large images: the hit pixels sorted, then the image written front to back in one sequential
// pass (zero gaps, transformed counts), so every cache line is written once, in order.
void flowpic_sparse(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow& w, std::vector<uint32_t>& keys,
                    std::vector<uint32_t>& tmp, float* out) {
  const size_t n = spec.image_floats();
  keys.clear();
  for (uint64_t p = w.begin; p < w.end; ++p) {
    int64_t px = pixel_of(pk, spec, w, p);
    if (px >= 0) keys.push_back(static_cast<uint32_t>(px));
  }
  sort_pixels(keys, tmp);
  uint32_t mx = 0;
  if (spec.transform == PixelTransform::kMax) {
    for (size_t i = 0, j; i < keys.size(); i = j) {
      for (j = i + 1; j < keys.size() && keys[j] == keys[i]; ++j) {}
      mx = std::max<uint32_t>(mx, static_cast<uint32_t>(j - i));
    }
  }
  write_sorted(keys, spec.transform, mx, out, n);
}

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

}  // namespace

void build_flowpic_cpu(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow* windows, size_t count,
                       float* out, int threads) {
  FLOWPIC_ASSERT(spec.resolution >= 1 && spec.resolution <= 65535 && spec.max_size >= 1 && spec.max_size <= 65535);
  for (size_t i = 0; i < count; ++i) check_window(pk, windows[i]);
  const size_t n = spec.image_floats();
  const bool dense = n <= kDensePixels;
  FLOWPIC_ASSERT(n <= (size_t{1} << 24));  // radix_sort24
  // Row of every size 0..max_size, from flowpic_size_bin (a table lookup instead of a division).
  std::vector<int16_t> size_rows(spec.max_size + 1);
  for (uint32_t sz = 0; sz <= spec.max_size; ++sz)
    size_rows[sz] =
        static_cast<int16_t>(flowpic_size_row(sz, spec.max_size, spec.resolution, spec.oversize, spec.size_bins));
  // Large images take long enough to be handed out one at a time; small ones in chunks.
  const int chunk = dense ? 16 : 1;
#pragma omp parallel num_threads(thread_count(threads))
  {
    std::vector<uint32_t> scratch(dense ? n : 0);
    std::vector<uint32_t> keys, tmp;
#pragma omp for schedule(dynamic, chunk)
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
      if (dense)
        flowpic_dense(pk, spec, windows[i], scratch.data(), size_rows.data(), out + i * n);
      else
        flowpic_sparse(pk, spec, windows[i], keys, tmp, out + i * n);
    }
  }
}

void build_flowpic_sparse_cpu(const PacketColumns& pk, const FlowPicSpec& spec, const ImageWindow* windows,
                              size_t count, SparseImagesHost& out, int threads) {
  FLOWPIC_ASSERT(spec.resolution >= 1 && spec.resolution <= 65535 && spec.max_size >= 1 && spec.max_size <= 65535);
  FLOWPIC_ASSERT(spec.image_floats() <= (size_t{1} << 24));  // radix_sort24
  for (size_t i = 0; i < count; ++i) check_window(pk, windows[i]);
  if (out.scratch.size() < count) out.scratch.resize(count);
  out.offsets.assign(count + 1, 0);
  // Pass 1, per image: its packets' pixels, sorted, then run-length encoded in place (the first
  // element of each run keeps its pixel; the counts go to the same positions of a second half).
#pragma omp parallel num_threads(thread_count(threads))
  {
    std::vector<uint32_t> keys, tmp;
#pragma omp for schedule(dynamic, 4)
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
      const ImageWindow& w = windows[i];
      keys.clear();
      for (uint64_t p = w.begin; p < w.end; ++p) {
        const int64_t px = pixel_of(pk, spec, w, p);
        if (px >= 0) keys.push_back(static_cast<uint32_t>(px));
      }
      sort_pixels(keys, tmp);
      std::vector<uint32_t>& runs = out.scratch[i];  // pixel, count, pixel, count, ...
      runs.clear();
      for (size_t a = 0, b; a < keys.size(); a = b) {
        for (b = a + 1; b < keys.size() && keys[b] == keys[a]; ++b) {}
        runs.push_back(keys[a]);
        runs.push_back(static_cast<uint32_t>(b - a));
      }
      out.offsets[i + 1] = static_cast<int64_t>(runs.size() / 2);
    }
  }
  for (size_t i = 0; i < count; ++i) out.offsets[i + 1] += out.offsets[i];
  const size_t nnz = static_cast<size_t>(out.offsets[count]);
  out.index.resize(nnz);
  out.value.resize(nnz);
  // Pass 2: the cells, transformed as flowpic_dense / write_sorted transform them.
#pragma omp parallel for schedule(dynamic, 4) num_threads(thread_count(threads))
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
    const std::vector<uint32_t>& runs = out.scratch[i];
    uint32_t mx = 0;
    if (spec.transform == PixelTransform::kMax)
      for (size_t r = 1; r < runs.size(); r += 2) mx = std::max(mx, runs[r]);
    size_t at = static_cast<size_t>(out.offsets[i]);
    for (size_t r = 0; r < runs.size(); r += 2, ++at) {
      out.index[at] = runs[r];
      out.value[at] = flowpic_pixel(runs[r + 1], spec.transform, mx);
    }
  }
}

void build_payload_image_cpu(const PacketColumns& pk, const PayloadSpec& spec, const ImageWindow* windows, size_t count,
                             float* out, int threads) {
  FLOWPIC_ASSERT(spec.side >= 1 && spec.max_size >= 1);
  for (size_t i = 0; i < count; ++i) check_window(pk, windows[i]);
  const size_t n = spec.image_floats();
  const int len = spec.length();
  const float pad = spec.padding();
#pragma omp parallel for schedule(dynamic, 64) num_threads(thread_count(threads))
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
    const ImageWindow& w = windows[i];
    float* img = out + i * n;
    int pos = 0;
    for (uint64_t p = w.begin; p < w.end && pos < len; ++p) {
      uint32_t s = pk.payload_length[p];
      const uint8_t d = pk.direction[p] & 1u;
      if (!payload_counts(s) || !(w.directions & (1u << d))) continue;
      switch (spec.variant) {
        case PayloadVariant::kGrey: img[pos] = payload_grey(s, spec.max_size); break;
        case PayloadVariant::kSigned: img[pos] = payload_grey_signed(s, d, spec.max_size); break;
        case PayloadVariant::kTwoChannel:
          img[d * len + pos] = payload_grey(s, spec.max_size);
          img[(1 - d) * len + pos] = 0.0f;
          break;
      }
      ++pos;
    }
    for (int c = 0; c < spec.channels(); ++c)
      for (int q = pos; q < len; ++q) img[c * len + q] = pad;
  }
}

}  // namespace flowpic
