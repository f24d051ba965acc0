#pragma once
// TEMPORARY stand-in (helper branch imgaug provides the real file).
#include <cstddef>
#include <cstdint>
namespace flowpic {
enum class ImageAugmentKind : uint8_t { kNone = 0, kHorizontalFlip = 1, kRotate = 2, kColourJitter = 3 };
struct ImageAugmentParams {
  ImageAugmentKind kind = ImageAugmentKind::kNone;
  bool flip = false;
  double cos_a = 1, sin_a = 0;
  float brightness = 1, contrast = 1, saturation = 1, hue = 0;
  uint8_t order[4] = {0, 1, 2, 3};
};
}  // namespace flowpic
