#pragma once
// A dense N x C x H x W tensor described as "background + sparse delta": it equals a per-channel
// background everywhere except at a few listed positions of each sample. The output of the fused
// sparse conv + ReLU + max pool (SparseConvPoolOp) is such a tensor (a pooled window that no cell
// reaches holds act(bias)), and the convolution after it (DeltaConvOp) reads only the listed
// positions: conv(background) is the same image for every sample, computed once per batch. The
// gradient with respect to such an input is likewise exact at the listed positions and, for all
// the others, one sum per channel (all the head's backward needs there: they reach only its bias).
// Templated on the scalar type for the double-precision kernel tests; the backends use float.
#include <cstdint>
#include <vector>

namespace flowpic::nn {

template <typename T>
struct BackgroundDelta {
  // x[n][c][h][w] == background[c] wherever h * W + w is not among sample n's positions.
  std::vector<T> background;  // C values
  // N + 1 entries: sample n's positions are index[offsets[n]] .. index[offsets[n + 1] - 1], plane
  // positions h * W + w, strictly increasing. A listed position may still equal the background.
  std::vector<int64_t> offsets;
  std::vector<uint32_t> index;
  // listed() x C, channel-last in entry order: x[n][c][index[e]] at values[e * C + c]. The delta
  // convolution reads these, contiguous, instead of gathering C strided values of x per position
  // (x, a whole batch's output of the head, has left the cache by then).
  std::vector<T> values;
  int batch() const { return offsets.empty() ? 0 : int(offsets.size()) - 1; }
  int64_t listed() const { return offsets.empty() ? 0 : offsets.back(); }
};

// dL/dx for an input described by a BackgroundDelta.
template <typename T>
struct BackgroundDeltaGrad {
  // listed() x C, channel-last in entry order: dL/dx[n][c][index[e]] at touched[e * C + c].
  std::vector<T> touched;
  // C values: the sum over all samples and all unlisted positions of dL/dx[n][c][.].
  std::vector<T> background;
};

}  // namespace flowpic::nn
