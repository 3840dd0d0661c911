#pragma once
// NcclCommunicator: ranks with one GPU each exchanging device buffers over NCCL, set up over MPI
// (rank 0 makes NCCL's id, MPI hands it to the others). For translation units nvcc compiles
// (#include <cyclegan/cuda.cuh> first); link cyclegan::nccl.
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mpi.hpp"

namespace cyclegan {

namespace nccl_detail {

inline void check(ncclResult_t rc, const char* what) {
    if (rc != ncclSuccess) throw std::runtime_error(std::string(what) + " failed: " + ncclGetErrorString(rc));
}

// y[i] = x[i] * scale, one thread per value.
template <class T>
__global__ void scaled_copy(const T* x, T* y, std::size_t n, T scale) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x)
        y[i] = x[i] * scale;
}

}  // namespace nccl_detail

// One rank of an MPI job, on the GPU of `dev`. Collectives run on dev's stream and are waited for
// with a deadline: a peer that has gone away makes the call throw (after ncclCommAbort) instead
// of hanging, and the program then ends the job.
class NcclCommunicator {
public:
    NcclCommunicator(MpiCommunicator& mpi, cuda& dev, std::chrono::seconds timeout = std::chrono::seconds(300))
        : mpi_(&mpi), timeout_(timeout) {
        ncclUniqueId id{};
        if (mpi.rank() == 0) nccl_detail::check(ncclGetUniqueId(&id), "ncclGetUniqueId");
        mpi.broadcast_bytes(&id, sizeof id, 0);
        dev.activate();
        nccl_detail::check(ncclCommInitRank(&comm_, mpi.size(), id, mpi.rank()), "ncclCommInitRank");
    }
    NcclCommunicator(const NcclCommunicator&) = delete;
    NcclCommunicator& operator=(const NcclCommunicator&) = delete;
    ~NcclCommunicator() {
        if (!comm_) return;
        // Left by an exception, the other ranks may sit in a collective: abort, do not wait for them.
        if (std::uncaught_exceptions() > 0) ncclCommAbort(comm_);
        else ncclCommDestroy(comm_);
    }

    int rank() const { return mpi_->rank(); }
    int size() const { return mpi_->size(); }

    // Every tensor of the bucket becomes the sum over ranks of weight x that rank's values: copied
    // (scaled) into one device buffer, one ncclAllReduce, copied back.
    void all_reduce_weighted(cuda& dev, std::span<Tensor<cuda>* const> bucket, double weight) {
        float* buffer = gather(dev, bucket, static_cast<float>(weight));
        nccl_detail::check(ncclAllReduce(buffer, buffer, count_, ncclFloat, ncclSum, comm_, dev.stream()), "ncclAllReduce");
        wait(dev, "ncclAllReduce");
        scatter(dev, bucket);
    }

    // Every rank's tensors become root's.
    void broadcast(cuda& dev, std::span<Tensor<cuda>* const> bucket, int root) {
        float* buffer = gather(dev, bucket, 1.0f);
        nccl_detail::check(ncclBroadcast(buffer, buffer, count_, ncclFloat, root, comm_, dev.stream()), "ncclBroadcast");
        wait(dev, "ncclBroadcast");
        scatter(dev, bucket);
    }

    void barrier() { mpi_->barrier(); }
    // Small host messages (set-up checks, pools for checkpoints) go over MPI.
    std::vector<std::string> gather_bytes(const std::string& mine, int root) { return mpi_->gather_bytes(mine, root); }
    void broadcast_bytes(void* data, int bytes, int root) { mpi_->broadcast_bytes(data, bytes, root); }
    [[noreturn]] void abort(int code) { mpi_->abort(code); }

private:
    // The bucket, scaled, in one device buffer (kept between calls).
    float* gather(cuda& dev, std::span<Tensor<cuda>* const> bucket, float scale) {
        count_ = 0;
        for (const Tensor<cuda>* t : bucket) count_ += t->numel();
        if (capacity_ < count_) {
            staging_ = dev.allocate(count_);
            capacity_ = count_;
        }
        std::size_t at = 0;
        for (const Tensor<cuda>* t : bucket) {
            const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((t->numel() + 255) / 256, 4096));
            if (t->numel())
                nccl_detail::scaled_copy<<<blocks, 256, 0, dev.stream()>>>(t->data(), staging_.get() + at, t->numel(), scale);
            at += t->numel();
        }
        return staging_.get();
    }
    void scatter(cuda& dev, std::span<Tensor<cuda>* const> bucket) {
        std::size_t at = 0;
        for (Tensor<cuda>* t : bucket) {
            dev.copy(staging_.get() + at, t->data(), t->numel());
            at += t->numel();
        }
    }
    // Waits for the stream, checking NCCL's own errors; past the deadline, aborts the communicator.
    void wait(cuda& dev, const char* what) {
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (;;) {
            const cudaError_t done = cudaStreamQuery(dev.stream());
            if (done == cudaSuccess) return;
            if (done != cudaErrorNotReady) {
                ncclCommAbort(comm_);
                comm_ = nullptr;
                throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(done));
            }
            ncclResult_t async = ncclSuccess;
            nccl_detail::check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
            if (async != ncclSuccess || std::chrono::steady_clock::now() > deadline) {
                ncclCommAbort(comm_);
                comm_ = nullptr;
                throw std::runtime_error(std::string(what) + (async != ncclSuccess ? std::string(": ") + ncclGetErrorString(async)
                                                                                    : ": no answer from the other ranks within " +
                                                                                          std::to_string(timeout_.count()) + " s"));
            }
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    MpiCommunicator* mpi_;
    ncclComm_t comm_ = nullptr;
    std::chrono::seconds timeout_;
    std::shared_ptr<float> staging_;
    std::size_t capacity_ = 0, count_ = 0;
};

}  // namespace cyclegan
