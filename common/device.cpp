#include "common/device.hpp"

#include <cstdio>
#include <cstring>

#ifdef FLOWPIC_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace flowpic {

#ifdef FLOWPIC_HAVE_CUDA
bool cuda_device_available() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return n > 0;
}

std::string cuda_device_description() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(e);
  }
  if (n == 0) return "no CUDA device";
  int dev = 0;
  cudaGetDevice(&dev);
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, dev);
  char mem[64];
  std::snprintf(mem, sizeof mem, "%.1f GiB", p.totalGlobalMem / double(1ull << 30));
  return std::string(p.name, strnlen(p.name, sizeof p.name)) + " (sm_" + std::to_string(p.major) +
         std::to_string(p.minor) + ", " + mem + ")";
}

std::string cuda_versions() {
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  char buf[64];
  std::snprintf(buf, sizeof buf, "CUDA runtime %d.%d", rt / 1000, (rt % 1000) / 10);
  return buf;
}
#else
bool cuda_device_available() { return false; }
std::string cuda_device_description() { return "no CUDA device: this is a CPU-only build (FLOWPIC_CUDA=OFF)"; }
std::string cuda_versions() { return "CPU-only build"; }
#endif

}  // namespace flowpic
