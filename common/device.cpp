#include "common/device.hpp"

#include <cstdio>

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
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                p.totalGlobalMem / double(1ull << 30));
  return buf;
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
