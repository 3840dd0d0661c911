#pragma once
// Deterministic sums in double for the GPU kernels that reduce (norm, bias, loss): a block adds its
// threads' values in a fixed tree (warp shuffles, then one warp over the warp totals), blocks'
// partials are added in a fixed order, and nothing uses atomics, so a result does not change from
// run to run.
#include <algorithm>
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

// Split reductions (norm, bias): `groups` sums of `count` values each would be one block per group,
// too few blocks to fill the GPU (64 instance-norm planes, 3 bias channels). Instead each group's
// values, its runs laid end to end, are cut into `parts` slices of `slice` values, one block per
// slice writes a partial sum, and a small kernel adds a group's partials in index order.
struct Split {
    int parts = 1;
    std::size_t slice = reduce_threads;
};

// About one wave of 256-thread blocks on a 132-SM GPU (8 per SM) in all, a split only where each
// block keeps 2048+ values (8 per thread), at most 64 blocks per group (added serially after).
// A function of the shape only, never of the device, so the order of additions is fixed.
inline Split split_groups(int groups, std::size_t count) {
    constexpr std::size_t target_blocks = 1024, min_values = 2048, max_parts = 64;
    const std::size_t gs = groups > 0 ? static_cast<std::size_t>(groups) : 1;
    std::size_t parts = std::min({(target_blocks + gs - 1) / gs, count / min_values, max_parts});
    if (parts == 0) parts = 1;
    // A multiple of the block's width: where runs are too (planes of 256n values), each warp reads
    // whole 128-byte lines. Then recount, so that no slice is empty.
    std::size_t slice = (count + parts - 1) / parts;
    slice = std::max<std::size_t>(reduce_threads, (slice + reduce_threads - 1) / reduce_threads * reduce_threads);
    return {static_cast<int>(std::max<std::size_t>(1, (count + slice - 1) / slice)), slice};
}

// Calls f(offset) for this thread's values of slice p of group i: run by run, thread t takes the
// slice's values t, t + reduce_threads, ... of each run (consecutive threads, consecutive floats).
// G is NormGroups or alike: g.len, g.count(), g.offset(i, k) of run k.
template <class G, class F>
__device__ inline void for_each_in_slice(const G& g, int i, int p, std::size_t slice, F&& f) {
    const std::size_t lo = static_cast<std::size_t>(p) * slice, hi = lo + slice < g.count() ? lo + slice : g.count();
    if (lo >= hi) return;  // only when count is 0 (then len may be 0)
    for (std::size_t k = lo / g.len; k * g.len < hi; ++k) {
        const std::size_t run = k * g.len;
        const std::size_t b = (lo > run ? lo : run) - run, e = (hi < run + g.len ? hi : run + g.len) - run;
        const std::size_t o = g.offset(i, static_cast<int>(k));
        for (std::size_t j = b + threadIdx.x; j < e; j += reduce_threads) f(o + j);
    }
}

// Block b = i * parts + p: the sum of slice p of group i into part[b].
template <class T, class G>
__global__ void __launch_bounds__(reduce_threads) group_sum_partials_kernel(const T* x, G g, Split sp, double* part) {
    const int i = static_cast<int>(blockIdx.x) / sp.parts, p = static_cast<int>(blockIdx.x) % sp.parts;
    double s = 0;
    for_each_in_slice(g, i, p, sp.slice, [&](std::size_t o) { s += x[o]; });
    s = block_sum(s);  // every thread gets here: the loop above has no early exit
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// Group i's total: its partials added in index order.
__device__ inline double sum_parts(const double* part, int i, int parts) {
    const double* q = part + static_cast<std::size_t>(i) * parts;
    double s = 0;
    for (int p = 0; p < parts; ++p) s += q[p];
    return s;
}

// Grid of the split kernels: one block per slice of every group (groups * parts <= groups + 1024).
inline unsigned split_blocks(int groups, const Split& sp) {
    return static_cast<unsigned>(static_cast<std::size_t>(groups) * static_cast<std::size_t>(sp.parts));
}

}  // namespace cyclegan::cuda_detail
