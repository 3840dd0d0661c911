// cyclegan-train's loop on the GPU backend (--device cuda); nvcc compiles this file.
#include <cyclegan/cuda.cuh>

#include "train_loop.hpp"

#if CYCLEGAN_PROGRAMS_HAVE_MPI
#include <cyclegan/distributed/mpi.hpp>
#endif
#if CYCLEGAN_PROGRAMS_HAVE_NCCL
#include <cyclegan/distributed/nccl.cuh>
#endif

#include <cstdlib>
#include <type_traits>

namespace train_program {

namespace {

// One GPU per rank: the rank's place on its machine picks it.
template <class Comm>
int run_on_cuda(const TrainOptions& o, Comm& comm) {
    const int devices = cyclegan::cuda::device_count();
    if (devices == 0) throw std::runtime_error("--device cuda: no CUDA device is available (no GPU, or no driver)");
    int local_rank = 0;
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"})
        if (const char* s = std::getenv(v)) {
            local_rank = std::atoi(s);
            break;
        }
    cyclegan::cuda dev(comm.size() > 1 ? local_rank % devices : 0);
#if CYCLEGAN_PROGRAMS_HAVE_NCCL
    // Several ranks: gradients stay on the GPUs and go over NCCL.
    if constexpr (std::is_same_v<Comm, cyclegan::MpiCommunicator>)
        if (comm.size() > 1) {
            cyclegan::NcclCommunicator nccl(comm, dev);
            return train_with(dev, o, nccl);
        }
#endif
    return train_with(dev, o, comm);
}

}  // namespace

int train_on_cuda(const TrainOptions& o, cyclegan::SingleProcess& comm) { return run_on_cuda(o, comm); }
#if CYCLEGAN_PROGRAMS_HAVE_MPI
int train_on_cuda(const TrainOptions& o, cyclegan::MpiCommunicator& comm) { return run_on_cuda(o, comm); }
#endif

}  // namespace train_program
