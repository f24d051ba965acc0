#pragma once
// The processes of one launch, for sweeps and data-parallel training under mpirun (or srun with
// PMIx). The MPI glue is this module alone: distributed_mpi.cpp (compiled only when the build
// found MPI, FLOWPIC_MPI=AUTO|ON) and its twin distributed_single.cpp (a group of one process);
// nothing else in flowpic includes mpi.h or links MPI.
//
// A program starts the group once (dist::Launch in main); a process not started by an MPI
// launcher is a group of one in either build and never calls MPI at all.
#include <cstddef>
#include <string>
#include <vector>

namespace flowpic::dist {

// Whether this build has MPI ("Open MPI 4.1.4, MPI 3.1" or "" without).
std::string mpi_library();
// Whether the environment says an MPI launcher started this process, and with how many
// (OMPI_COMM_WORLD_SIZE, PMIX_SIZE... or PMI_SIZE; 0 when none).
int launcher_size();

// Starts MPI when launched by an MPI launcher (MPI_Init), and finishes it (MPI_Finalize) when it
// goes out of scope. Without MPI in the build, a launch of more than one process is an error
// (each process would run the whole sweep): the constructor prints it and exits with status 1.
class Launch {
 public:
  Launch(int* argc, char*** argv);
  ~Launch();
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;
};

int rank();  // 0 in a group of one
int size();  // 1 in a group of one
void barrier();
// Every rank's `text`, in rank order, at rank 0; the other ranks get an empty list. Collective.
std::vector<std::string> gather_at_root(const std::string& text);
// Element-wise sums over the ranks, in place on every rank (MPI_Allreduce; the order of the sum
// is MPI's, the same on every rank). Collective.
void allreduce_sum(float* data, size_t n);
void allreduce_sum(double* data, size_t n);
// Data-parallel gradients on the device: whether device_allreduce_average works (a CUDA build with
// NCCL, launched with more than one rank; the communicator is set up over MPI on first use), and
// the average over the ranks of n floats of device memory, in place (ncclAllReduce with ncclAvg
// on the legacy default stream, the CNN engine's; returns when done). Collective.
bool device_reduce_available();
void device_allreduce_average(float* device_data, size_t n);
// Rank `root`'s values on every rank. Collective.
void broadcast(float* data, size_t n, int root = 0);
// Ends every process of the launch at once with `status` (MPI_Abort; exit in a group of one).
[[noreturn]] void abort_all(int status);

}  // namespace flowpic::dist
