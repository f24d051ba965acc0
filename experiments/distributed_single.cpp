// A group of one process: the twin of distributed_mpi.cpp in builds without MPI.
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "experiments/distributed.hpp"

namespace flowpic::dist {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

}  // namespace

std::string mpi_library() { return ""; }

int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (int n = env_int(v)) return n;
  return 0;
}

Launch::Launch(int*, char***) {
  if (launcher_size() > 1) {
    std::fprintf(stderr,
                 "error: started by an MPI launcher with %d processes, but this program was built without MPI "
                 "(FLOWPIC_MPI=OFF, or no MPI found: install libopenmpi-dev and build again); every process "
                 "would run the whole sweep. Use --shard K/N per process instead.\n",
                 launcher_size());
    std::exit(1);
  }
}
Launch::~Launch() = default;

int rank() { return 0; }
int size() { return 1; }
void barrier() {}
std::vector<std::string> gather_at_root(const std::string& text) { return {text}; }
void allreduce_sum(float*, size_t) {}
void allreduce_sum(double*, size_t) {}
void broadcast(float*, size_t, int) {}
bool device_reduce_available() { return false; }
void device_allreduce_average(float*, size_t) { fail("device_allreduce_average: this build has no MPI and NCCL"); }
void abort_all(int status) { std::exit(status); }

}  // namespace flowpic::dist
