#pragma once
// FLOWPIC_HD marks the small functions that the CPU code and the CUDA kernels share (the image
// builders' bin math, the engine's random numbers, the optimizer and softmax math): __host__
// __device__ under nvcc, nothing for the host compiler.
#if defined(__CUDACC__)
#define FLOWPIC_HD __host__ __device__
#else
#define FLOWPIC_HD
#endif
