#pragma once
// MpiCommunicator: ranks started by mpirun or Slurm's srun, exchanging host buffers over MPI
// (OpenMPI from Debian; any MPI 3 library). Link cyclegan::mpi.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "communicator.hpp"

namespace cyclegan {

namespace mpi_detail {

template <class T>
MPI_Datatype datatype() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else static_assert(sizeof(T) == 0, "MpiCommunicator: tensors of float or double");
}

inline void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw std::runtime_error(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

// The bucket's tensors copied into one host buffer (times `scale`), and back. The buffer is kept
// by the caller between steps: a fresh one each time costs its page faults (tens of ms for 100 MB).
template <class B>
std::span<typename B::scalar> pack(B& dev, std::span<Tensor<B>* const> bucket, double scale, std::vector<unsigned char>& buffer) {
    using T = typename B::scalar;
    std::size_t n = 0;
    for (const Tensor<B>* t : bucket) n += t->numel();
    if (buffer.size() < n * sizeof(T)) buffer.resize(n * sizeof(T));
    const std::span<T> host(reinterpret_cast<T*>(buffer.data()), n);
    std::size_t at = 0;
    for (const Tensor<B>* t : bucket) {
        if constexpr (requires { B::host_memory; }) {  // one pass: scaled as copied
            const T* src = t->data();
            const T s = static_cast<T>(scale);
            for (std::size_t i = 0; i < t->numel(); ++i) host[at + i] = src[i] * s;
        } else {
            dev.download(t->data(), host.data() + at, t->numel());
            if (scale != 1.0)
                for (std::size_t i = 0; i < t->numel(); ++i) host[at + i] = static_cast<T>(host[at + i] * scale);
        }
        at += t->numel();
    }
    return host;
}

template <class B>
void unpack(B& dev, std::span<const typename B::scalar> host, std::span<Tensor<B>* const> bucket) {
    std::size_t at = 0;
    for (Tensor<B>* t : bucket) {
        dev.upload(host.data() + at, t->data(), t->numel());
        at += t->numel();
    }
}

}  // namespace mpi_detail

// One process of an MPI job (MPI_COMM_WORLD). The first one made initialises MPI (asking for
// MPI_THREAD_FUNNELED: only the thread that made it calls MPI); it finalises MPI when destroyed
// normally, and ends the whole job (MPI_Abort) when destroyed by an exception, so that the other
// ranks never wait for this one. Errors of MPI calls are exceptions naming the call; a rank that
// dies is seen by the launcher, which ends the job.
class MpiCommunicator {
public:
    MpiCommunicator() : MpiCommunicator(nullptr, nullptr) {}
    MpiCommunicator(int* argc, char*** argv) {
        int ready = 0;
        MPI_Initialized(&ready);
        if (!ready) {
            int provided = 0;
            mpi_detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            owns_ = true;
        }
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
    }
    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;
    ~MpiCommunicator() {
        if (!owns_) return;
        if (std::uncaught_exceptions() > 0) MPI_Abort(MPI_COMM_WORLD, 1);
        MPI_Finalize();
    }

    int rank() const { return rank_; }
    int size() const { return size_; }

    // Every tensor of the bucket becomes the sum over ranks of weight x that rank's values: one
    // message for the whole bucket (in pieces of at most INT_MAX values).
    template <class B>
    void all_reduce_weighted(B& dev, std::span<Tensor<B>* const> bucket, double weight) {
        using T = typename B::scalar;
        const auto host = mpi_detail::pack(dev, bucket, weight, staging_);
        for (std::size_t at = 0; at < host.size(); at += INT_MAX) {
            const int n = static_cast<int>(std::min<std::size_t>(INT_MAX, host.size() - at));
            mpi_detail::check(MPI_Allreduce(MPI_IN_PLACE, host.data() + at, n, mpi_detail::datatype<T>(), MPI_SUM, MPI_COMM_WORLD),
                              "MPI_Allreduce");
        }
        mpi_detail::unpack<B>(dev, host, bucket);
    }

    // Every rank's tensors become root's.
    template <class B>
    void broadcast(B& dev, std::span<Tensor<B>* const> bucket, int root) {
        using T = typename B::scalar;
        const auto host = mpi_detail::pack(dev, bucket, 1.0, staging_);
        for (std::size_t at = 0; at < host.size(); at += INT_MAX) {
            const int n = static_cast<int>(std::min<std::size_t>(INT_MAX, host.size() - at));
            mpi_detail::check(MPI_Bcast(host.data() + at, n, mpi_detail::datatype<T>(), root, MPI_COMM_WORLD), "MPI_Bcast");
        }
        mpi_detail::unpack<B>(dev, host, bucket);
    }

    // Root's bytes to every rank (for setting up other transports, such as NCCL's id).
    void broadcast_bytes(void* data, int bytes, int root) {
        mpi_detail::check(MPI_Bcast(data, bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }

    // Every rank's bytes, at root (in rank order); other ranks get an empty list.
    std::vector<std::string> gather_bytes(const std::string& mine, int root) {
        int n = static_cast<int>(mine.size());
        std::vector<int> sizes(rank_ == root ? size_ : 0), offsets(sizes.size());
        mpi_detail::check(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
        std::string all;
        if (rank_ == root) {
            long total = 0;
            for (int r = 0; r < size_; ++r) offsets[r] = static_cast<int>(total), total += sizes[r];
            if (total > INT_MAX) throw std::runtime_error("gather_bytes: more than 2 GiB in all");
            all.resize(static_cast<std::size_t>(total));
        }
        mpi_detail::check(MPI_Gatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, root,
                                      MPI_COMM_WORLD),
                          "MPI_Gatherv");
        std::vector<std::string> out;
        for (int r = 0; r < static_cast<int>(sizes.size()); ++r) out.push_back(all.substr(offsets[r], sizes[r]));
        return out;
    }

    void barrier() { mpi_detail::check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

    // Ends every rank of the job with `code` (MPI_Abort); for a rank that cannot go on.
    [[noreturn]] void abort(int code) {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);
    }

    // Whether this process was started by an MPI launcher (mpirun, mpiexec, srun), so that a
    // program can take MPI only when it is one rank of several, and run alone without it.
    static bool launched() {
        for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
            if (std::getenv(v)) return true;
        const char* slurm = std::getenv("SLURM_STEP_NUM_TASKS");  // srun; 1 in a batch script's own step
        return slurm && std::atoi(slurm) > 1;
    }

private:
    int rank_ = 0, size_ = 1;
    bool owns_ = false;
    std::vector<unsigned char> staging_;  // the buckets' host copy, kept between steps
};

}  // namespace cyclegan
