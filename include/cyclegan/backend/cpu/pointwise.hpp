#pragma once
// Elementwise kernels driven by an activation functor (ops/pointwise.hpp; the functors are in layers/activations.hpp); their loops are in
// simd/loops.inl, compiled for each kernel set.
#include "../../core/compiled.hpp"
#include "../../layers/activations.hpp"
#include "../../ops/pointwise.hpp"
#include "cpu.hpp"
#if !CYCLEGAN_DETAIL_KERNELS_DECLARED
#include "simd_kernels.hpp"
#endif

namespace cyclegan {

template <class T, class Op>
void pointwise_forward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, CpuTensor<T>& y) {
    const auto n = static_cast<std::ptrdiff_t>(x.numel());
#if CYCLEGAN_DETAIL_KERNELS_DECLARED
    // A program's own op where the kernel sets live in cyclegan_kernels: one loop, at the program's
    // flags (the library's ops are compiled there, per kernel set).
    const T* px = x.data();
    T* py = y.data();
    CYCLEGAN_PARALLEL_FOR(n)
    for (std::ptrdiff_t i = 0; i < n; ++i) py[i] = op.f(px[i]);
#else
    cpu_detail::with_cpu_kernels([&](auto isa) { pointwise_forward_loop(isa, op, x.data(), y.data(), n); });
#endif
}

template <class T, class Op>
void pointwise_backward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, const CpuTensor<T>& y,
                        const CpuTensor<T>& dy, CpuTensor<T>& dx) {
    const auto n = static_cast<std::ptrdiff_t>(x.numel());
#if CYCLEGAN_DETAIL_KERNELS_DECLARED
    const T *px = x.data(), *py = y.data(), *pdy = dy.data();
    T* pdx = dx.data();
    CYCLEGAN_PARALLEL_FOR(2.0 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) pdx[i] = pdy[i] * op.df(px[i], py[i]);
#else
    cpu_detail::with_cpu_kernels([&](auto isa) { pointwise_backward_loop(isa, op, x.data(), y.data(), dy.data(), dx.data(), n); });
#endif
}

// The library's own ops (layers/activations.hpp), compiled once per kernel set in cyclegan_kernels
// (backend/cpu/compiled.hpp): listed here, beside the two bodies, so that no file that sees the
// plain loop can instantiate it for them.
#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
#define CYCLEGAN_DETAIL_CPU_POINTWISE(T, Op)                                                                          \
    CYCLEGAN_DETAIL_INSTANCE void pointwise_forward<T, Op>(basic_cpu<T>&, const Op&, const CpuTensor<T>&, CpuTensor<T>&); \
    CYCLEGAN_DETAIL_INSTANCE void pointwise_backward<T, Op>(basic_cpu<T>&, const Op&, const CpuTensor<T>&,                \
                                                            const CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&);
#define CYCLEGAN_DETAIL_CPU_POINTWISE_ALL(T)     \
    CYCLEGAN_DETAIL_CPU_POINTWISE(T, ReLUOp)      \
    CYCLEGAN_DETAIL_CPU_POINTWISE(T, LeakyReLUOp) \
    CYCLEGAN_DETAIL_CPU_POINTWISE(T, TanhOp)      \
    CYCLEGAN_DETAIL_CPU_POINTWISE(T, SigmoidOp)
CYCLEGAN_DETAIL_CPU_POINTWISE_ALL(float)
CYCLEGAN_DETAIL_CPU_POINTWISE_ALL(double)
#undef CYCLEGAN_DETAIL_CPU_POINTWISE_ALL
#undef CYCLEGAN_DETAIL_CPU_POINTWISE
#endif

}  // namespace cyclegan
