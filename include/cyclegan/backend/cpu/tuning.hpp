#pragma once
// The CPU kernels' tuning settings, read at run time. Like OpenMP's thread count they are the
// process's (the kernels deep in a convolution do not see the backend object), set through
// basic_cpu::set_tuning before the work that should see them; the defaults' measurements are in
// docs/performance.md.
#include <climits>
#include <cstddef>
#include <stdexcept>

namespace cyclegan {

struct CpuTuning {
    // Values in one im2col column buffer: a convolution runs in bands of output rows that fit.
    // Tests set it small so that every band edge is crossed.
    std::size_t conv_column_budget = std::size_t{8} << 20;
    // Values in one band of Winograd tiles (transformed input, and product); likewise.
    std::size_t winograd_budget = std::size_t{8} << 20;
    // Winograd F(4x4, 3x3) is taken by 3x3 stride-1 undilated convolutions over at least this many
    // channels (in and out) and output pixels (summed over the batch). Measured on 256 -> 256
    // channels against im2col + GEMM: 0.7x its time at 32x32, 1.5x at 16x16, where transforming
    // the weights (as costly as the product for 16 tiles) is not paid back; faster than im2col
    // from 8 channels at 64x64. Its float rounding is about 20x im2col's (a few 1e-6 of the
    // largest output): winograd_off() turns it off.
    int winograd_min_channels = 16;
    std::size_t winograd_min_pixels = 512;
    // A loop touching fewer elements in all runs on the calling thread: waking threads costs
    // microseconds, more than a small tensor's whole loop.
    std::size_t parallel_min_work = 32768;

    static constexpr int winograd_off() { return INT_MAX; }

    // Throws std::invalid_argument naming the setting that cannot work.
    void check() const {
        if (conv_column_budget == 0) throw std::invalid_argument("CpuTuning: conv_column_budget must be positive");
        if (winograd_budget == 0) throw std::invalid_argument("CpuTuning: winograd_budget must be positive");
        if (winograd_min_channels < 1) throw std::invalid_argument("CpuTuning: winograd_min_channels must be at least 1");
    }
};

namespace cpu_detail {
inline CpuTuning cpu_tuning{};  // one for the program: an inline variable, whatever includes it
}  // namespace cpu_detail

}  // namespace cyclegan
