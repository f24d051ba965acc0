#pragma once
// The generation of one synthetic capture from its spec (dataset/synth_model.hpp) with the packet
// processes and encapsulations of dataset/synth_process.hpp.
#include "dataset/synth_model.hpp"

namespace flowpic::synth {

// Generates one capture: the application's processes, its encapsulation and background DNS/NTP.
// The result is finished (sorted, absolute timestamps at the capture's resolution).
Trace generate_capture(const CaptureSpec& spec);

}  // namespace flowpic::synth
