#pragma once
// The matrix product under every CPU convolution, C (= or +=) A · B, with A and B given as strided
// views so that W^T and cols^T need no copies. In float on a CPU with AVX-512 or AVX2 + FMA it runs
// our own kernel for that instruction set (simd/gemm.inl: packed blocks and a register tile), which
// reaches 75-85% of the FMA peak on the convolutions' shapes where Eigen 3.4 reaches 50-60%
// (docs/performance.md). Elsewhere (double, the generic kernel set, other CPUs) it is Eigen's product.
#include <algorithm>
#include <cstddef>
#include <type_traits>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "kernel_set.hpp"
#include "matrix.hpp"
#include "simd_kernels.hpp"

namespace cyclegan::cpu_detail {

// C = or += A · B with an instruction set's serial kernel (gemm_serial of simd/gemm.inl, or of
// simd/gemm_bf16.inl for bf16 pairs), whose tiles are MR x NR, with operands Ops (matrix.hpp):
// threads take disjoint blocks of C's columns (or rows, when C is taller than wide), in whole
// tiles, and each packs its own operands, so nothing is shared inside.
template <class Isa, class Ops>
void gemm_threads(Isa isa, Ops ops, int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                  bool accumulate, bool parallel) {
    using Tile = decltype(gemm_tile_of(isa, ops));
    auto serial = [isa, ops](int m, int n, int k, MatrixView<float> a, MatrixView<float> b, float* c, std::ptrdiff_t ld, bool acc) {
        gemm_serial(isa, ops, m, n, k, a, b, c, ld, acc);
    };
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
        return;
    }
#if defined(_OPENMP)
    const bool by_columns = N >= M;
    const int extent = by_columns ? N : M, unit = by_columns ? Tile::NR : Tile::MR;
    if (parallel && !omp_in_parallel() && 2.0 * M * N * K >= 4e6 && omp_get_max_threads() > 1) {
#pragma omp parallel
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int share = (extent + nt - 1) / nt, rounded = (share + unit - 1) / unit * unit;
            const int lo = std::min(extent, t * rounded), hi = std::min(extent, lo + rounded);
            if (lo < hi) {
                if (by_columns)
                    serial(M, hi - lo, K, A, MatrixView<float>{B.data + lo * B.col_step, B.row_step, B.col_step}, C + lo, ldc,
                           accumulate);
                else
                    serial(hi - lo, N, K, MatrixView<float>{A.data + lo * A.row_step, A.row_step, A.col_step}, B,
                           C + static_cast<std::ptrdiff_t>(lo) * ldc, ldc, accumulate);
            }
        }
        return;
    }
#endif
    (void)parallel;
    serial(M, N, K, A, B, C, ldc, accumulate);
}

// C (M x N, row-major, rows ldc apart) = A · B, or += with accumulate, its operands read as `ops`
// says (float, or bf16: operands_for in simd_kernels.hpp). Uses every thread unless called inside
// a parallel region (or with parallel = false): then it runs on the calling thread.
template <class T>
void gemm(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate,
          GemmOperands ops = GemmOperands::f32, bool parallel = true) {
    if (M <= 0 || N <= 0) return;
    if constexpr (std::is_same_v<T, float>)
        if (with_simd_kernels([&](auto isa) {
                with_operands(isa, ops, [&](auto tag) { gemm_threads(isa, tag, M, N, K, A, B, C, ldc, accumulate, parallel); });
            }))
            return;
    (void)parallel;  // Eigen decides itself, and runs single-threaded inside a parallel region
    with_operands(portable::Isa{}, ops, [&](auto tag) { gemm_eigen_operands<decltype(tag)>(M, N, K, A, B, C, ldc, accumulate); });
}

}  // namespace cyclegan::cpu_detail
