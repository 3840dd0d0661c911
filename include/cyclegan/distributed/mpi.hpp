#pragma once
// MpiCommunicator: ranks started by mpirun or Slurm's srun, exchanging host buffers over MPI
// (OpenMPI from Debian; any MPI 3 library). Link cyclegan::mpi.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
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
std::span<typename B::scalar> pack(B& dev, std::span<Tensor<B>* const> bucket, double scale,
                                   std::vector<typename B::scalar>& buffer) {
    using T = typename B::scalar;
    std::size_t n = 0;
    for (const Tensor<B>* t : bucket) n += t->numel();
    if (buffer.size() < n) buffer.resize(n);
    const std::span<T> host(buffer.data(), n);
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

// f(offset, count) for consecutive pieces of at most INT_MAX of n values: MPI counts are ints.
template <class F>
void in_pieces(std::size_t n, F&& f) {
    for (std::size_t at = 0; at < n; at += INT_MAX) f(at, static_cast<int>(std::min<std::size_t>(INT_MAX, n - at)));
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
            if (provided < MPI_THREAD_FUNNELED) {  // the process has other threads (loader, OpenMP)
                MPI_Finalize();
                owns_ = false;
                throw std::runtime_error("MPI_Init_thread: this MPI library gives no thread support (MPI_THREAD_FUNNELED)");
            }
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
        exchange(dev, bucket, weight, "MPI_Allreduce", [](auto* values, int n, MPI_Datatype type) {
            return MPI_Allreduce(MPI_IN_PLACE, values, n, type, MPI_SUM, MPI_COMM_WORLD);
        });
    }

    // Every rank's tensors become root's.
    template <class B>
    void broadcast(B& dev, std::span<Tensor<B>* const> bucket, int root) {
        exchange(dev, bucket, 1.0, "MPI_Bcast", [root](auto* values, int n, MPI_Datatype type) {
            return MPI_Bcast(values, n, type, root, MPI_COMM_WORLD);
        });
    }

    // Root's bytes to every rank (for setting up other transports, such as NCCL's id).
    void broadcast_bytes(void* data, int bytes, int root) {
        mpi_detail::check(MPI_Bcast(data, bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }

    // Every rank's bytes, at root (in rank order); other ranks get an empty list. Any size: sent
    // rank by rank in pieces of at most INT_MAX bytes.
    std::vector<std::string> gather_bytes(const std::string& mine, int root) {
        std::vector<std::string> out;
        if (rank_ != root) {
            std::uint64_t n = mine.size();
            mpi_detail::check(MPI_Send(&n, 1, MPI_UINT64_T, root, 0, MPI_COMM_WORLD), "MPI_Send");
            mpi_detail::in_pieces(mine.size(), [&](std::size_t at, int piece) {
                mpi_detail::check(MPI_Send(mine.data() + at, piece, MPI_BYTE, root, 1, MPI_COMM_WORLD), "MPI_Send");
            });
            return out;
        }
        out.resize(static_cast<std::size_t>(size_));
        for (int r = 0; r < size_; ++r) {
            if (r == root) {
                out[r] = mine;
                continue;
            }
            std::uint64_t n = 0;
            mpi_detail::check(MPI_Recv(&n, 1, MPI_UINT64_T, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
            out[r].resize(n);
            mpi_detail::in_pieces(n, [&](std::size_t at, int piece) {
                mpi_detail::check(MPI_Recv(out[r].data() + at, piece, MPI_BYTE, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                                  "MPI_Recv");
            });
        }
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
    // The buckets' host copy, kept between steps (one per scalar type).
    std::tuple<std::vector<float>, std::vector<double>> staging_;

    // The bucket, scaled by `scale`, to the host; call(values, count, type) on it in pieces; back.
    template <class B, class Call>
    void exchange(B& dev, std::span<Tensor<B>* const> bucket, double scale, const char* what, Call call) {
        using T = typename B::scalar;
        const auto host = mpi_detail::pack(dev, bucket, scale, std::get<std::vector<T>>(staging_));
        mpi_detail::in_pieces(host.size(), [&](std::size_t at, int n) {
            mpi_detail::check(call(host.data() + at, n, mpi_detail::datatype<T>()), what);
        });
        mpi_detail::unpack<B>(dev, host, bucket);
    }
};

}  // namespace cyclegan
