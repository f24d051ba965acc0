#pragma once
// The per-pixel rules of the image augmentations (tcbench's torchvision augmentations of FlowPic
// training), shared by the CPU twin (augment_images_cpu) and the CUDA kernels (image_augment_gpu.cu)
// so the two cannot drift, and the parameter types both take (the front end is
// kernels/image_augment.hpp). Every multiply and add goes through mul_rn / add_rn / sub_rn
// (kernels/rounded_math.hpp), so nvcc cannot contract a multiply-add into an FMA; the host build
// has no FMA either, so both backends produce identical bits.
//
// Coordinates: image rows i = 0..H-1 (top to bottom), columns j = 0..W-1, NCHW; every channel of an
// image gets the same geometric op.
//  - Horizontal flip (torchvision hflip): out[c][i][j] = in[c][i][W-1-j] when params.flip.
//  - Rotation (torchvision rotate(img, angle), NEAREST, expand=False, about the image centre, fill
//    0; a positive angle turns the picture counter-clockwise on screen). For output pixel (i, j), in
//    double: x = j - (W-1)/2, y = i - (H-1)/2; sx = cos_a*x - sin_a*y, sy = sin_a*x + cos_a*y (each
//    product and each sum rounded separately); source column = round_half_even(sx + (W-1)/2),
//    source row = round_half_even(sy + (H-1)/2); a source outside [0,W) x [0,H) gives 0. This is the
//    inverse mapping torchvision samples with: its inverse affine matrix of rotate(angle) is
//    [cos, -sin; sin, cos] in centred pixel coordinates.
//  - Colour jitter (torchvision ColorJitter's four functional ops, in params.order), on images in
//    [0, 1] with one (grey) or two channels:
//     brightness b: x = clamp(b*x, 0, 1) (float);
//     contrast c:   m = the mean of the whole image (all channels, all pixels) as it is at this step,
//                   x = clamp(c*x + float(1 - c)*m, 0, 1): t1 = c*x and t2 = float(1.0 - double(c))*m
//                   in float, x = t1 + t2 in float, then the clamp. The mean is summed in fixed point
//                   (contrast_fixed, contrast_mean_of_sum) so it is bit-identical whatever the order;
//     saturation, hue: the identity (torchvision returns a one-channel image unchanged: a grey image
//                   has neither colour nor hue).
#include <math.h>

#include <cmath>
#include <cstdint>

#include "common/host_device.hpp"
#include "kernels/rounded_math.hpp"

namespace flowpic {

enum class ImageAugmentKind : uint8_t { kNone = 0, kHorizontalFlip = 1, kRotate = 2, kColourJitter = 3 };

// The colour-jitter ops, as numbered in ImageAugmentParams::order.
enum class JitterOp : uint8_t { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

// One image's drawn parameters (host memory; the GPU path uploads an array of them per call).
struct ImageAugmentParams {
  ImageAugmentKind kind = ImageAugmentKind::kNone;
  bool flip = false;                                            // kHorizontalFlip: flip this image (false: unchanged)
  double cos_a = 1, sin_a = 0;                                  // kRotate: of the angle (computed on the host once)
  float brightness = 1, contrast = 1, saturation = 1, hue = 0;  // kColourJitter factors
  uint8_t order[4] = {0, 1, 2, 3};  // kColourJitter: the order of 0 brightness, 1 contrast, 2 saturation, 3 hue
};

// ---------------------------------------------------------------------------------------------
// Geometric ops: the source of output pixel (i, j) in the same channel plane.

// Horizontal flip: the source column of output column j.
FLOWPIC_HD inline int flip_source_column(int j, int width) { return width - 1 - j; }

// Rotation: the source pixel (row * width + column) of output pixel (i, j), or -1 when it falls
// outside the image (the pixel is then 0). The rule is in the header comment.
FLOWPIC_HD inline int64_t rotate_source_pixel(int i, int j, int height, int width, double cos_a, double sin_a) {
  const double cx = static_cast<double>(width - 1) / 2.0;  // exact
  const double cy = static_cast<double>(height - 1) / 2.0;
  const double x = sub_rn(static_cast<double>(j), cx);  // exact (multiples of 1/2)
  const double y = sub_rn(static_cast<double>(i), cy);
  const double sx = sub_rn(mul_rn(cos_a, x), mul_rn(sin_a, y));
  const double sy = add_rn(mul_rn(sin_a, x), mul_rn(cos_a, y));
  const double col = round_half_even(add_rn(sx, cx));
  const double row = round_half_even(add_rn(sy, cy));
  if (!(col >= 0.0 && col < static_cast<double>(width) && row >= 0.0 && row < static_cast<double>(height))) return -1;
  return static_cast<int64_t>(row) * width + static_cast<int64_t>(col);
}

// ---------------------------------------------------------------------------------------------
// Colour jitter.

// The op of a colour-jittered image at stage s (0..3); order[] must be a permutation of 0..3.
FLOWPIC_HD inline JitterOp jitter_op_at(const ImageAugmentParams& p, int stage) {
  return static_cast<JitterOp>(p.order[stage]);
}

FLOWPIC_HD inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// brightness b: clamp(b*x, 0, 1).
FLOWPIC_HD inline float jitter_brightness(float x, float b) { return clamp01(mul_rn(b, x)); }

// contrast c with the image mean m: t2 = float(1.0 - double(c)) * m, once per image ...
FLOWPIC_HD inline float contrast_offset(float c, float mean) {
  return mul_rn(static_cast<float>(1.0 - static_cast<double>(c)), mean);
}
// ... then x = clamp(c*x + t2, 0, 1), each float operation rounded separately.
FLOWPIC_HD inline float jitter_contrast(float x, float c, float offset) {
  return clamp01(add_rn(mul_rn(c, x), offset));
}

// The image mean in fixed point, so that it does not depend on the order of summation: each pixel
// becomes q = round_half_even(x * 2^40) as a 64-bit integer (x * 2^40 is exact in double), the q
// are summed modulo 2^64 (unsigned, so the device can use atomicAdd; order-independent), and
// m = float(double(sum) / 2^40 / n) with n = C*H*W. Exact sums for pixels in [0, 1] and n <= 2^23.
inline constexpr double kContrastFixedScale = 1099511627776.0;  // 2^40

FLOWPIC_HD inline unsigned long long contrast_fixed(float x) {
#ifdef __CUDA_ARCH__
  return static_cast<unsigned long long>(__double2ll_rn(mul_rn(static_cast<double>(x), kContrastFixedScale)));
#else
  return static_cast<unsigned long long>(std::llrint(mul_rn(static_cast<double>(x), kContrastFixedScale)));
#endif
}
FLOWPIC_HD inline float contrast_mean_of_sum(unsigned long long sum, uint64_t n) {
  const double s = static_cast<double>(static_cast<long long>(sum));
  return static_cast<float>(div_rn(div_rn(s, kContrastFixedScale), static_cast<double>(n)));
}

}  // namespace flowpic
