#pragma once
// CUDA_CHECK / CUDNN_CHECK / CUBLAS_CHECK: throw flowpic::Error naming the call, file and line.
// In destructors use the *_WARN forms, which only print. Include only from CUDA-enabled code.
#include <cuda_runtime.h>
#include <cstdio>

#include "common/error.hpp"

#define CUDA_CHECK(call)                                                                                         \
  do {                                                                                                           \
    cudaError_t flowpic_err_ = (call);                                                                           \
    if (flowpic_err_ != cudaSuccess)                                                                             \
      ::flowpic::fail(#call, " failed: ", cudaGetErrorString(flowpic_err_), " (", __FILE__, ":", __LINE__, ")"); \
  } while (0)

#define CUDA_CHECK_WARN(call)                                                                                     \
  do {                                                                                                            \
    cudaError_t flowpic_err_ = (call);                                                                            \
    if (flowpic_err_ != cudaSuccess)                                                                              \
      std::fprintf(stderr, "warning: %s failed: %s (%s:%d)\n", #call, cudaGetErrorString(flowpic_err_), __FILE__, \
                   __LINE__);                                                                                     \
  } while (0)

// After every kernel launch: launch-configuration errors surface here, not at the next sync.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#ifdef CUDNN_MAJOR
#define CUDNN_CHECK(call)                                                                                        \
  do {                                                                                                           \
    cudnnStatus_t flowpic_st_ = (call);                                                                          \
    if (flowpic_st_ != CUDNN_STATUS_SUCCESS)                                                                     \
      ::flowpic::fail(#call, " failed: ", cudnnGetErrorString(flowpic_st_), " (", __FILE__, ":", __LINE__, ")"); \
  } while (0)
#define CUDNN_CHECK_WARN(call)                                                                                    \
  do {                                                                                                            \
    cudnnStatus_t flowpic_st_ = (call);                                                                           \
    if (flowpic_st_ != CUDNN_STATUS_SUCCESS)                                                                      \
      std::fprintf(stderr, "warning: %s failed: %s (%s:%d)\n", #call, cudnnGetErrorString(flowpic_st_), __FILE__, \
                   __LINE__);                                                                                     \
  } while (0)
#endif

#if defined(CUBLAS_VER_MAJOR) || defined(CUBLAS_VERSION_MAJOR)  // cublas_api.h defines CUBLAS_VER_MAJOR
#define CUBLAS_CHECK(call)                                                                                         \
  do {                                                                                                             \
    cublasStatus_t flowpic_st_ = (call);                                                                           \
    if (flowpic_st_ != CUBLAS_STATUS_SUCCESS)                                                                      \
      ::flowpic::fail(#call, " failed: ", cublasGetStatusString(flowpic_st_), " (", __FILE__, ":", __LINE__, ")"); \
  } while (0)
#define CUBLAS_CHECK_WARN(call)                                                                                     \
  do {                                                                                                              \
    cublasStatus_t flowpic_st_ = (call);                                                                            \
    if (flowpic_st_ != CUBLAS_STATUS_SUCCESS)                                                                       \
      std::fprintf(stderr, "warning: %s failed: %s (%s:%d)\n", #call, cublasGetStatusString(flowpic_st_), __FILE__, \
                   __LINE__);                                                                                       \
  } while (0)
#endif
