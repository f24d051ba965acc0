# FLOWPIC_MPI=AUTO|ON|OFF -> FLOWPIC_HAVE_MPI (MPI::MPI_C for experiments/distributed_mpi.cpp only),
# and FLOWPIC_HAVE_NCCL (a CUDA build with MPI that finds nccl.h and libnccl). The build works
# without either. NCCL averages the gradients on the device in data-parallel training
# (experiments/distributed_mpi.cpp, training.distributed "mpi" on the cuda backend).
set(FLOWPIC_MPI AUTO CACHE STRING "MPI sweeps and data-parallel training: AUTO (on when MPI is found), ON (required), OFF")
set_property(CACHE FLOWPIC_MPI PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${FLOWPIC_MPI}" _fm)
if(NOT _fm MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "FLOWPIC_MPI must be AUTO, ON or OFF (got '${FLOWPIC_MPI}')")
endif()
set(FLOWPIC_HAVE_MPI OFF)
set(FLOWPIC_MPI_WHY "FLOWPIC_MPI=OFF")
if(NOT _fm STREQUAL "OFF")
  find_package(MPI COMPONENTS C)
  if(MPI_C_FOUND)
    set(FLOWPIC_HAVE_MPI ON)
    set(FLOWPIC_MPI_WHY "MPI ${MPI_C_VERSION}: ${MPI_C_LIB_NAMES}")
  elseif(_fm STREQUAL "ON")
    message(FATAL_ERROR "FLOWPIC_MPI=ON but no MPI was found (Debian: apt-get install libopenmpi-dev openmpi-bin). "
                        "Use -DFLOWPIC_MPI=OFF to build without.")
  else()
    set(FLOWPIC_MPI_WHY "no MPI found (Debian: libopenmpi-dev)")
  endif()
endif()

set(FLOWPIC_HAVE_NCCL OFF)
set(FLOWPIC_NCCL_WHY "needs the CUDA build and MPI")
if(FLOWPIC_HAVE_CUDA AND FLOWPIC_HAVE_MPI)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_ROOT PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
               ${CUDAToolkit_LIBRARY_ROOT}/lib64 ENV NCCL_ROOT PATH_SUFFIXES lib lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(FLOWPIC_HAVE_NCCL ON)
    set(FLOWPIC_NCCL_WHY "${NCCL_LIBRARY}")
  else()
    set(FLOWPIC_NCCL_WHY "nccl.h or libnccl not found (set NCCL_ROOT)")
  endif()
endif()
message(STATUS "MPI: ${FLOWPIC_HAVE_MPI} (${FLOWPIC_MPI_WHY}); NCCL: ${FLOWPIC_HAVE_NCCL} (${FLOWPIC_NCCL_WHY})")
