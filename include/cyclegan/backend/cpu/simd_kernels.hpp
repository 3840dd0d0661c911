#pragma once
// The CPU kernels that depend on the instruction set, compiled once per set in one build:
//   cpu_detail::avx512    our GEMM (8 x 32 tiles), the few-output convolutions, Winograd
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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

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

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt,prefer-vector-width=512")
#endif
namespace cyclegan::cpu_detail::avx512 {
#include "simd/avx512.inl"
#include "simd/kernels.inl"
}  // namespace cyclegan::cpu_detail::avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
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

namespace cyclegan::cpu_detail::portable {
struct Isa {
    static constexpr CpuKernels kernels = CpuKernels::generic;
};
template <class T>
void serial_product(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    gemm_eigen(M, N, K, A, B, C, ldc, accumulate);  // single-threaded inside a parallel region
}
inline constexpr bool kPackedProducts = false;  // Eigen packs for itself
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

}  // namespace cyclegan::cpu_detail
