#pragma once
// Which compute devices this process can use. Safe to call in the CPU-only build.
#include <string>

namespace flowpic {

// True when built with CUDA and at least one CUDA device is usable.
bool cuda_device_available();
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)", or a sentence saying why there is none.
std::string cuda_device_description();
// "CUDA 13.0, cuDNN 9.19.0" or "CPU-only build".
std::string cuda_versions();

}  // namespace flowpic
