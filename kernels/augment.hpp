#pragma once
// Training-time augmentations of FlowPic samples (tcbench, IMC'23, and the mini-FlowPic paper,
// with their defaults), drawn per sample and per draw key from a seed:
//  - on the packet arrays, before the image is built, by the image kernels themselves (a warped
//    ImageWindow, kernels/image_spec.hpp): change RTT (times x alpha, alpha ~ U[0.5, 1.5]), time
//    shift (times + b, b ~ U[-1, 1] s; packets moved before the flow's start are dropped), packet
//    loss (every packet within +-0.1 s of an instant ~ U[0, the flow's last packet] is dropped);
//  - on the built images (kernels/image_augment.hpp): horizontal flip (the time axis reversed,
//    with probability 0.5), rotation (~ U[-10, 10] degrees, nearest, zero fill), colour jitter
//    (brightness, contrast, saturation 0.8 and hue 0.2, in a random order; on a grey image only
//    brightness and contrast change anything).
// One augmentation per run. The config is `training.augment` of an experiment (strict JSON); the
// rules and what each means are in docs/representations.md, "Augmentations".
#include <cstdint>
#include <string>

#include "common/json_util.hpp"
#include "kernels/image_augment_math.hpp"
#include "kernels/sample_index.hpp"

namespace flowpic {

struct PacketStore;

enum class AugmentType : uint8_t {
  kNone = 0,
  kChangeRtt = 1,
  kTimeShift = 2,
  kPacketLoss = 3,
  kHorizontalFlip = 4,
  kRotate = 5,
  kColourJitter = 6,
};

enum class AugmentMode : uint8_t {
  kLoading = 0,  // tcbench: `copies` augmented copies of each training sample, drawn once (keys 1..copies)
  kEpoch = 1,    // every training image drawn afresh every epoch (key = the epoch number)
};

struct AugmentConfig {
  AugmentType type = AugmentType::kNone;
  AugmentMode mode = AugmentMode::kLoading;
  int copies = 10;                          // loading: tcbench's aug_samples
  bool keep_original = true;                // loading: the unaugmented sample trains too
  double alpha_min = 0.5, alpha_max = 1.5;  // change_rtt
  double max_shift_s = 1.0;                 // time_shift: b ~ U[-max, max]
  double loss_window_s = 0.1;               // packet_loss: packets within +- this of the instant
  double probability = 0.5;                 // horizontal_flip
  double max_degrees = 10;                  // rotate: angle ~ U[-max, max]
  double brightness = 0.8, contrast = 0.8, saturation = 0.8, hue = 0.2;  // colour_jitter

  // Strict: unknown keys, keys of another type's, wrong types and out-of-range values are errors
  // naming the file and key.
  static AugmentConfig from_json(const json& obj, const JsonWhere& where);
  json to_json() const;  // every key of the type, defaults resolved (what results record)
  std::string type_name() const;
  bool active() const { return type != AugmentType::kNone; }
  bool on_packets() const;  // change_rtt, time_shift, packet_loss
  bool on_images() const;   // horizontal_flip, rotate, colour_jitter
  // An error naming `where` when the representation cannot take this augmentation (packet
  // augmentations need a FlowPic with a fixed time axis; colour jitter needs images in [0, 1]).
  void check(const RepresentationConfig& representation, const JsonWhere& where) const;
};

// What one draw gives one sample.
struct AugmentDraw {
  ImageWindow window;        // the sample's window, warped (and its packet range widened) for packet augmentations
  ImageAugmentParams image;  // kNone for packet augmentations
  double value = 0;          // the draw itself: alpha, b (s), the loss instant (s), 1/0 flipped, angle (degrees),
                             // or the brightness factor
};

// Draws augmentations for the samples of one store and representation. Draw (sample, key) is a
// pure function of the seed, the sample's identity (flow, direction, block) and the key, so a
// draw does not depend on the order samples are visited in or on the device.
class Augmenter {
 public:
  // The store and representation must outlive the augmenter; config.check() must pass (it is checked).
  Augmenter(const AugmentConfig& config, const PacketStore& store, const RepresentationConfig& representation,
            uint64_t seed);
  const AugmentConfig& config() const { return config_; }
  AugmentDraw draw(const Sample& sample, uint64_t key) const;

 private:
  AugmentConfig config_;  // a copy: small
  const PacketStore& store_;
  const RepresentationConfig& representation_;
  uint64_t seed_;
};

}  // namespace flowpic
