// The MPI glue (builds with MPI only; distributed_single.cpp is its twin without).
// The C API only: Open MPI's and MPICH's mpi.h would otherwise pull in the removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "experiments/distributed.hpp"

#ifdef FLOWPIC_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "common/cuda_check.hpp"
#endif

namespace flowpic::dist {

namespace {

bool g_started = false;  // MPI_Init ran (launched by an MPI launcher)

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail(what, " failed: ", text);
}

// MPI counts are ints: larger arrays go in pieces.
template <typename F>
void in_pieces(size_t n, F&& f) {
  for (size_t at = 0; at < n;) {
    const size_t piece = std::min<size_t>(n - at, size_t(INT_MAX) / 2);
    f(at, static_cast<int>(piece));
    at += piece;
  }
}

}  // namespace

std::string mpi_library() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, static_cast<size_t>(len));
  const size_t comma = v.find(',');  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
  if (comma != std::string::npos) v.resize(comma);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (int n = env_int(v)) return n;
  // srun --mpi=pmix sets PMIX_RANK (the size comes from PMIx itself).
  if (std::getenv("PMIX_RANK")) return 1;
  return 0;
}

Launch::Launch(int* argc, char*** argv) {
  if (launcher_size() == 0) return;  // a plain process: a group of one, MPI never started
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "error: MPI_Init_thread failed\n");
    std::exit(1);
  }
  g_started = true;
#ifdef FLOWPIC_HAVE_NCCL
  // One GPU a rank on a node with several: the node-local rank picks it, before any CUDA work.
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 1) {
    const int local = env_int("OMPI_COMM_WORLD_LOCAL_RANK") + env_int("SLURM_LOCALID");
    cudaSetDevice(local % devices);
  }
#endif
}

Launch::~Launch() {
  if (g_started) MPI_Finalize();
  g_started = false;
}

int rank() {
  int r = 0;
  if (g_started) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  int n = 1;
  if (g_started) MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void barrier() {
  if (g_started) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

std::vector<std::string> gather_at_root(const std::string& text) {
  if (!g_started) return {text};
  const int n = size(), me = rank();
  const int len = static_cast<int>(text.size());
  std::vector<int> lens(me == 0 ? n : 0), offsets(lens.size(), 0);
  check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::string all;
  if (me == 0) {
    size_t total = 0;
    for (int i = 0; i < n; ++i) {
      offsets[i] = static_cast<int>(total);
      total += static_cast<size_t>(lens[i]);
    }
    all.resize(total);
  }
  check(MPI_Gatherv(text.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::string> out;
  if (me == 0)
    for (int i = 0; i < n; ++i)
      out.push_back(all.substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(lens[i])));
  return out;
}

void allreduce_sum(float* data, size_t n) {
  if (!g_started) return;
  in_pieces(n, [&](size_t at, int count) {
    check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  });
}

void allreduce_sum(double* data, size_t n) {
  if (!g_started) return;
  in_pieces(n, [&](size_t at, int count) {
    check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  });
}

void broadcast(float* data, size_t n, int root) {
  if (!g_started) return;
  in_pieces(n, [&](size_t at, int count) {
    check(MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
  });
}

void abort_all(int status) {
  if (g_started) MPI_Abort(MPI_COMM_WORLD, status);
  std::exit(status);
}

#ifdef FLOWPIC_HAVE_NCCL
namespace {
ncclComm_t g_nccl = nullptr;

void nccl_check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) fail(what, " failed: ", ncclGetErrorString(rc));
}

ncclComm_t nccl_comm() {
  if (g_nccl) return g_nccl;
  ncclUniqueId id;
  if (rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  nccl_check(ncclCommInitRank(&g_nccl, size(), id, rank()), "ncclCommInitRank");
  return g_nccl;
}
}  // namespace

bool device_reduce_available() { return g_started && size() > 1; }

void device_allreduce_average(float* device_data, size_t n) {
  if (!g_started || size() == 1) return;
  nccl_check(ncclAllReduce(device_data, device_data, n, ncclFloat, ncclAvg, nccl_comm(), nullptr), "ncclAllReduce");
  CUDA_CHECK(cudaStreamSynchronize(nullptr));
}
#else
bool device_reduce_available() { return false; }
void device_allreduce_average(float*, size_t) { fail("device_allreduce_average: this build has no NCCL"); }
#endif

}  // namespace flowpic::dist
