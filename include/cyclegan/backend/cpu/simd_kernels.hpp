#pragma once
// The CPU kernels that depend on the instruction set, compiled once per set in one build:
//   cpu_detail::avx512    our GEMM (8 x 32 tiles), the few-output convolutions, Winograd, the bf16
//                         products on VDPBF16PS (simd/gemm_bf16.inl, run on avx512_bf16 CPUs) and
//                         on AMX (simd/gemm_amx.inl, simd/conv_amx.inl, run on amx_bf16 CPUs)
//   cpu_detail::avx2      the same for AVX2 + FMA (6 x 16 tiles, 16 registers)
//   cpu_detail::portable  Winograd on Eigen's products, at the build's own flags (any CPU, ARM too)
// and, in all three, the plain loops of norms, activations, optimizer steps and biases (simd/loops.inl).
// Each x86 set is the same source (simd/*.inl) included into its own namespace inside a region
// compiled for that target (GCC's `#pragma GCC target`, Clang's `#pragma clang attribute`), with
// its vector type (simd/avx512.inl, simd/avx2.inl). Nothing here runs an instruction the CPU lacks:
// gemm.hpp, conv_thin.hpp and conv_winograd.hpp call a set only when cpu_kernels() chose it
// (kernel_set.hpp).
//
// Rules for the .inl files: they include nothing (every header is included here, before the
// regions, so that no library code is compiled for a target by accident) and run their parallel
// loops through parallel_for/parallel_threads with a lambda body (parallel.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../core/precision.hpp"
#include "../../ops/conv.hpp"
#include "../../ops/norm.hpp"
#include "../../core/shape.hpp"
#include "conv_rows.hpp"
#include "kernel_set.hpp"
#include "matrix.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "weight_cache.hpp"
#include "winograd_coefficients.hpp"

#if CYCLEGAN_X86_KERNELS
#include <immintrin.h>

// avx512bf16, amx-tile and amx-bf16 are in the target for gemm_bf16.inl's and gemm_amx.inl's
// intrinsics only: compilers emit their instructions for nothing else (no code here has a bf16
// type), and those kernels run on avx512_bf16 and amx_bf16 CPUs only.
// The regions' targets, named once: code outside a region that calls its inline functions (the
// kernel tests) needs the same target, or a superset, for them to inline.
#define CYCLEGAN_AVX512_TARGET "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,amx-tile,amx-bf16,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"
#define CYCLEGAN_AVX2_TARGET "avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"
// GCC's `#pragma GCC target` expands no macros; through _Pragma the target's name is expanded first.
#define CYCLEGAN_DETAIL_PRAGMA(text) _Pragma(#text)
#define CYCLEGAN_DETAIL_GCC_TARGET(...) CYCLEGAN_DETAIL_PRAGMA(GCC target(__VA_ARGS__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target(CYCLEGAN_AVX512_TARGET))), apply_to = function)
#else
#pragma GCC push_options
CYCLEGAN_DETAIL_GCC_TARGET(CYCLEGAN_AVX512_TARGET, "prefer-vector-width=512")
#endif
namespace cyclegan::cpu_detail::avx512 {
#include "simd/avx512.inl"
#include "simd/kernels.inl"
#include "simd/gemm_bf16.inl"
#include "simd/gemm_amx.inl"
#include "simd/conv_amx.inl"
}  // namespace cyclegan::cpu_detail::avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target(CYCLEGAN_AVX2_TARGET))), apply_to = function)
#else
#pragma GCC push_options
CYCLEGAN_DETAIL_GCC_TARGET(CYCLEGAN_AVX2_TARGET)
#endif
namespace cyclegan::cpu_detail::avx2 {
#include "simd/avx2.inl"
#include "simd/kernels.inl"
}  // namespace cyclegan::cpu_detail::avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // CYCLEGAN_X86_KERNELS

namespace cyclegan::cpu_detail {

// Eigen's product of A and B with operands Ops: for bf16, of copies rounded to bf16 (the generic
// kernel set's bf16, the same arithmetic as the others'; in double, the tests' reference).
template <class Ops, class T>
void gemm_eigen_operands(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    if constexpr (rounds_to_bf16<Ops>) {
        auto bf16 = [](T v) { return static_cast<T>(round_to_bf16(static_cast<float>(v))); };
        std::vector<T> a(static_cast<std::size_t>(M) * K), b(static_cast<std::size_t>(K) * N);
        for (int i = 0; i < M; ++i)
            for (int k = 0; k < K; ++k) a[static_cast<std::size_t>(i) * K + k] = bf16(A(i, k));
        for (int k = 0; k < K; ++k)
            for (int j = 0; j < N; ++j) b[static_cast<std::size_t>(k) * N + j] = bf16(B(k, j));
        gemm_eigen(M, N, K, row_major(a.data(), K), row_major(b.data(), N), C, ldc, accumulate);
    } else {
        gemm_eigen(M, N, K, A, B, C, ldc, accumulate);
    }
}

}  // namespace cyclegan::cpu_detail

namespace cyclegan::cpu_detail::portable {
struct Isa {
    static constexpr CpuKernels kernels = CpuKernels::generic;
    static constexpr bool paired_bf16 = false, amx_bf16 = false;
};
template <class Ops, class T>
void serial_product(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    gemm_eigen_operands<Ops>(M, N, K, A, B, C, ldc, accumulate);  // single-threaded inside a parallel region
}
inline constexpr bool kPackedProducts = false;  // Eigen packs for itself
template <class Ops>
struct PackedProducts;
template <class T>
void copy_values(const T* src, int n, T* dst) {
    std::copy(src, src + n, dst);
}
template <class T>
void zero_values(T* dst, int n) {
    std::fill(dst, dst + n, T(0));
}
#include "simd/winograd.inl"
#include "simd/loops.inl"
}  // namespace cyclegan::cpu_detail::portable

namespace cyclegan::cpu_detail {

// Calls f(isa) with the tag of the kernel set in use (avx512::Isa or avx2::Isa), through which
// argument-dependent lookup reaches that set's kernels, and returns true; returns false, calling
// nothing, for the generic set (or where the build has no x86 sets).
template <class F>
bool with_simd_kernels(F&& f) {
#if CYCLEGAN_X86_KERNELS
    switch (cpu_kernels()) {
        case CpuKernels::amx_bf16:     // their f32 kernels are avx512's; operands_for() adds their products
        case CpuKernels::avx512_bf16:
        case CpuKernels::avx512: f(avx512::Isa{}); return true;
        case CpuKernels::avx2: f(avx2::Isa{}); return true;
        case CpuKernels::generic: break;
    }
#endif
    (void)f;
    return false;
}

// Calls f(isa) with the tag of the kernel set in use, or portable::Isa for the generic set: for the
// kernels every set has (simd/loops.inl, simd/winograd.inl), in float and double.
template <class F>
void with_cpu_kernels(F&& f) {
    if (!with_simd_kernels(f)) f(portable::Isa{});
}

// How products in precision p read their operands with the kernel set in use: bf16 on AMX's tiles
// where the set is amx_bf16, on VDPBF16PS where it is avx512_bf16, else rounded to bf16 and
// multiplied in float (the same numbers).
inline GemmOperands operands_for(Precision p) {
    if (p == Precision::f32) return GemmOperands::f32;
    switch (cpu_kernels()) {
        case CpuKernels::amx_bf16: return GemmOperands::amx_bf16;
        case CpuKernels::avx512_bf16: return GemmOperands::paired_bf16;
        default: return GemmOperands::rounded_bf16;
    }
}

// Calls f(ops) with the tag (matrix.hpp) of `ops` for kernel set `isa`. Only sets with
// Isa::paired_bf16 or Isa::amx_bf16 have those products; the others (and double) round instead,
// which gives the same numbers.
template <class Isa, class F>
void with_operands(Isa, GemmOperands ops, F&& f) {
    if (ops == GemmOperands::f32) return f(F32Operands{});
    if constexpr (Isa::paired_bf16)
        if (ops == GemmOperands::paired_bf16) return f(PairedBf16Operands{});
    if constexpr (Isa::amx_bf16)
        if (ops == GemmOperands::amx_bf16) return f(AmxBf16Operands{});
    f(RoundedBf16Operands{});
}

}  // namespace cyclegan::cpu_detail
