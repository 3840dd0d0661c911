#pragma once
// Deterministic sums in double for the GPU kernels that reduce (norm, bias, loss): a block adds its
// threads' values in a fixed tree (warp shuffles, then one warp over the warp totals) and never
// uses atomics, so a result does not change from run to run.
#include <cstddef>

#include "cuda.cuh"

namespace cyclegan::cuda_detail {

// Every reducing kernel is launched with this many threads per block; block_sum relies on it.
inline constexpr unsigned reduce_threads = 256;
static_assert(reduce_threads % 32 == 0 && reduce_threads / 32 <= 32, "block_sum: one warp adds the warp totals");

__device__ inline double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;  // complete in lane 0
}

// The sum of v over a block of reduce_threads threads, returned to every thread. Every thread of
// the block must call it (it synchronises the block).
__device__ inline double block_sum(double v) {
    __shared__ double partial[reduce_threads / 32];
    __shared__ double total;
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < reduce_threads / 32 ? partial[lane] : 0.0);
        if (lane == 0) total = v;
    }
    __syncthreads();
    const double t = total;
    __syncthreads();  // everyone has read partial and total before a next call rewrites them
    return t;
}

// Blocks for a grid-stride loop over n values, capped so that tiny tensors launch few blocks.
inline unsigned reduce_blocks(std::size_t n, unsigned cap) {
    const std::size_t b = (n + reduce_threads - 1) / reduce_threads;
    return static_cast<unsigned>(b < cap ? (b ? b : 1) : cap);
}

}  // namespace cyclegan::cuda_detail
