#pragma once
// Data-parallel training: N processes ("ranks") each run the training step on their own share of
// a batch, and before each optimizer step the ranks' gradients are averaged, weighted by the
// images each rank had (an all-reduce), so that every rank takes the same step: the step of one
// process on the whole batch. A communicator is what moves the numbers between ranks:
//
//   SingleProcess       one process (nothing to exchange)
//   MpiCommunicator     host buffers over MPI (distributed/mpi.hpp)
//   NcclCommunicator    device buffers over NCCL, set up over MPI (distributed/nccl.cuh)
#include <algorithm>
#include <concepts>
#include <cstdlib>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"

namespace cyclegan {

// What a data-parallel training step needs from the ranks' transport. `bucket` is a list of
// tensors reduced as one message (one call per group of networks, not one per layer).
//   all_reduce_weighted(dev, bucket, w): every tensor becomes the sum over ranks of w_r times that
//                                        rank's tensor (w_r: this rank's share of the batch)
//   broadcast(dev, bucket, root):        every rank's tensors become root's
//   barrier():                           returns when every rank has called it
// Errors (a failed transfer, a rank that is gone) are exceptions; the program then ends the whole
// job (abort(), which never returns), so that no rank waits for one that has stopped.
template <class C, class B>
concept Communicator = requires(C& c, const C& cc, B& dev, std::span<Tensor<B>* const> bucket, double weight, int root) {
    { cc.rank() } -> std::convertible_to<int>;
    { cc.size() } -> std::convertible_to<int>;
    c.all_reduce_weighted(dev, bucket, weight);
    c.broadcast(dev, bucket, root);
    c.barrier();
};

// One process: the whole batch is its own (weight 1), so there is nothing to exchange.
struct SingleProcess {
    int rank() const { return 0; }
    int size() const { return 1; }
    template <class B>
    void all_reduce_weighted(B&, std::span<Tensor<B>* const>, double) {}
    template <class B>
    void broadcast(B&, std::span<Tensor<B>* const>, int) {}
    void barrier() {}
    // Host bytes, as the other communicators move them (set-up checks, pools for checkpoints).
    std::vector<std::string> gather_bytes(const std::string& mine, int) { return {mine}; }
    void broadcast_bytes(void*, int, int) {}
    [[noreturn]] void abort(int code) { std::exit(code); }
};

// Which images of a batch a rank takes. A batch of `batch_size` images per rank is, across N
// ranks, one global batch of N x batch_size consecutive items of the epoch's order; rank r takes
// the r-th run of batch_size of them. The epoch's last global batch may be short, and then the
// last ranks' runs are short or empty: each rank's gradient weight is its share of the images.
struct Shard {
    int rank = 0, ranks = 1;

    // This rank's items [first, last) of the global batch that starts at `index`, in an epoch of
    // `items` items.
    std::pair<long, long> items(long index, long items, long batch_size) const {
        const long first = std::min(items, index + rank * batch_size);
        return {first, std::min(items, first + batch_size)};
    }
    // Images in the global batch that starts at `index`.
    long global_count(long index, long items, long batch_size) const {
        return std::min(items - index, static_cast<long>(ranks) * batch_size);
    }
};

}  // namespace cyclegan
