#pragma once
// The matrix product under every CPU convolution, C (= or +=) A · B, with A and B given as strided
// views so that W^T and cols^T need no copies. In float on AVX-512 it runs our own kernel: the
// operands are packed into cache-sized blocks (Goto's scheme: a kc x nc block of B for the L3/L2,
// an mc x kc block of A for the L2, an 8 x 32 tile of C in 16 registers), which reaches 75-85% of
// the FMA peak on the convolutions' shapes where Eigen 3.4 reaches 50-60% (docs/performance.md).
// Elsewhere (double, or a build without -mavx512f) it is Eigen's product.
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>
#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "../../core/macros.hpp"
#include "scratch.hpp"

namespace cyclegan::cpu_detail {

// Element (i, j) at data[i * row_step + j * col_step]; one of the steps is 1.
template <class T>
struct MatrixView {
    const T* data;
    std::ptrdiff_t row_step, col_step;
    MatrixView transposed() const { return {data, col_step, row_step}; }
    const T& operator()(std::ptrdiff_t i, std::ptrdiff_t j) const { return data[i * row_step + j * col_step]; }
};
template <class T>
MatrixView<T> row_major(const T* data, std::ptrdiff_t cols) {
    return {data, cols, 1};
}

// C (M x N, row-major, rows ldc apart) = A · B, or += with accumulate.
template <class T>
void gemm_eigen(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    using Row = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Col = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    Eigen::Map<Row, 0, Eigen::OuterStride<>> c(C, M, N, Eigen::OuterStride<>(ldc));
    auto with_b = [&](const auto& a) {
        auto run = [&](const auto& b) {
            if (accumulate) c.noalias() += a * b;
            else c.noalias() = a * b;
        };
        if (B.col_step == 1) run(Eigen::Map<const Row, 0, Eigen::OuterStride<>>(B.data, K, N, Eigen::OuterStride<>(B.row_step)));
        else run(Eigen::Map<const Col, 0, Eigen::OuterStride<>>(B.data, K, N, Eigen::OuterStride<>(B.col_step)));
    };
    if (A.col_step == 1) with_b(Eigen::Map<const Row, 0, Eigen::OuterStride<>>(A.data, M, K, Eigen::OuterStride<>(A.row_step)));
    else with_b(Eigen::Map<const Col, 0, Eigen::OuterStride<>>(A.data, M, K, Eigen::OuterStride<>(A.col_step)));
}

#if defined(__AVX512F__)
namespace gemm_avx512 {

inline constexpr int MR = 8, NV = 2, NR = 16 * NV;  // a C tile: 8 rows x 2 vectors of 16
inline constexpr int KC = 256, MC = 128, NC = 3072;  // packed A: 128 KB, packed B: 3 MB

// Ap[(panel * kc + k) * MR + i] = A(i0 + panel * MR + i, k0 + k), zero past the last row.
inline void pack_a(MatrixView<float> A, int i0, int mc, int k0, int kc, float* Ap) {
    for (int p = 0; p < mc; p += MR) {
        float* dst = Ap + static_cast<std::ptrdiff_t>(p) * kc;
        const int rows = std::min(MR, mc - p);
        if (A.row_step == 1 && rows == MR) {  // columns of A are contiguous: MR values per k
            for (int k = 0; k < kc; ++k) std::copy_n(&A(i0 + p, k0 + k), MR, dst + k * MR);
            continue;
        }
        for (int i = 0; i < MR; ++i) {
            if (i >= rows) {
                for (int k = 0; k < kc; ++k) dst[k * MR + i] = 0.f;
                continue;
            }
            const float* src = &A(i0 + p + i, k0);
            for (int k = 0; k < kc; ++k) dst[k * MR + i] = src[k * A.col_step];
        }
    }
}

// Bp[(panel * kc + k) * NR + j] = B(k0 + k, j0 + panel * NR + j), zero past the last column.
inline void pack_b(MatrixView<float> B, int k0, int kc, int j0, int nc, float* Bp) {
    for (int p = 0; p < nc; p += NR) {
        float* dst = Bp + static_cast<std::ptrdiff_t>(p) * kc;
        const int cols = std::min(NR, nc - p);
        if (B.col_step == 1) {
            for (int k = 0; k < kc; ++k) {
                const float* src = &B(k0 + k, j0 + p);
                std::copy_n(src, cols, dst + k * NR);
                std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.f);
            }
            continue;
        }
        // Rows of B are strided (B = X^T): read each column of the panel contiguously instead.
        for (int j = 0; j < NR; ++j) {
            if (j >= cols) {
                for (int k = 0; k < kc; ++k) dst[k * NR + j] = 0.f;
                continue;
            }
            const float* src = &B(k0, j0 + p + j);
            for (int k = 0; k < kc; ++k) dst[k * NR + j] = src[k * B.row_step];
        }
    }
}

// The MR x NR tile at c (rows ldc apart) = or += Ap panel · Bp panel; only rows x cols of it exist.
inline void kernel(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, bool accumulate, int rows,
                   int cols) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int k = 0; k < kc; ++k) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + k * NR + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const __m512 ai = _mm512_set1_ps(a[k * MR + i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    if (rows == MR && cols == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                float* dst = c + i * ldc + 16 * v;
                _mm512_storeu_ps(dst, accumulate ? _mm512_add_ps(_mm512_loadu_ps(dst), acc[i][v]) : acc[i][v]);
            }
        return;
    }
    alignas(64) float tile[MR * NR];
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) _mm512_store_ps(tile + i * NR + 16 * v, acc[i][v]);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

inline int round_up(int n, int m) { return (n + m - 1) / m * m; }

// One thread's share: C (M x N) = or += A · B.
inline void gemm_serial(int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                        bool accumulate) {
    float* Ap = scratch_buffer<float, Scratch::gemm_a>(static_cast<std::size_t>(MC) * KC);
    float* Bp = scratch_buffer<float, Scratch::gemm_b>(static_cast<std::size_t>(KC) * NC);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            const bool add = accumulate || k0 > 0;
            pack_b(B, k0, kc, j0, nc, Bp);
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = std::min(MC, M - i0);
                pack_a(A, i0, mc, k0, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        kernel(kc, Ap + static_cast<std::ptrdiff_t>(ir) * kc, Bp + static_cast<std::ptrdiff_t>(jr) * kc,
                               C + static_cast<std::ptrdiff_t>(i0 + ir) * ldc + j0 + jr, ldc, add, std::min(MR, mc - ir),
                               std::min(NR, nc - jr));
            }
        }
    }
}

}  // namespace gemm_avx512
#endif

// C (M x N, row-major, rows ldc apart) = A · B, or += with accumulate. Uses every thread unless
// called inside a parallel region (or with parallel = false): then it runs on the calling thread.
template <class T>
void gemm(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate,
          bool parallel = true) {
    if (M <= 0 || N <= 0) return;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
        using namespace gemm_avx512;
        if (K <= 0) {
            if (!accumulate)
                for (int i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
            return;
        }
        // Threads take disjoint blocks of C's columns (or rows, when C is taller than wide), in
        // whole tiles, and each packs its own operands: no synchronisation inside.
        const bool by_columns = N >= M;
        const int extent = by_columns ? N : M, unit = by_columns ? NR : MR;
        const double flop = 2.0 * M * N * K;
#if defined(_OPENMP)
        if (parallel && !omp_in_parallel() && flop >= 4e6 && omp_get_max_threads() > 1) {
#pragma omp parallel
            {
                const int t = omp_get_thread_num(), nt = omp_get_num_threads();
                const int share = round_up((extent + nt - 1) / nt, unit);
                const int lo = std::min(extent, t * share), hi = std::min(extent, lo + share);
                if (lo < hi) {
                    if (by_columns)
                        gemm_serial(M, hi - lo, K, A, {B.data + lo * B.col_step, B.row_step, B.col_step}, C + lo, ldc,
                                    accumulate);
                    else
                        gemm_serial(hi - lo, N, K, {A.data + lo * A.row_step, A.row_step, A.col_step}, B,
                                    C + static_cast<std::ptrdiff_t>(lo) * ldc, ldc, accumulate);
                }
            }
            return;
        }
#endif
        (void)extent, (void)unit, (void)flop, (void)parallel;
        return gemm_serial(M, N, K, A, B, C, ldc, accumulate);
    }
#endif
    (void)parallel;  // Eigen decides itself, and runs single-threaded inside a parallel region
    gemm_eigen(M, N, K, A, B, C, ldc, accumulate);
}

}  // namespace cyclegan::cpu_detail
