#pragma once
// Elementwise kernels driven by an activation functor (ops/pointwise.hpp; the functors are in layers/activations.hpp); their loops are in
// simd/loops.inl, compiled for each kernel set.
#include "../../ops/pointwise.hpp"
#include "cpu.hpp"
#include "simd_kernels.hpp"

namespace cyclegan {

template <class T, class Op>
void pointwise_forward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, CpuTensor<T>& y) {
    const auto n = static_cast<std::ptrdiff_t>(x.numel());
    cpu_detail::with_cpu_kernels([&](auto isa) { pointwise_forward_loop(isa, op, x.data(), y.data(), n); });
}

template <class T, class Op>
void pointwise_backward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, const CpuTensor<T>& y,
                        const CpuTensor<T>& dy, CpuTensor<T>& dx) {
    const auto n = static_cast<std::ptrdiff_t>(x.numel());
    cpu_detail::with_cpu_kernels([&](auto isa) { pointwise_backward_loop(isa, op, x.data(), y.data(), dy.data(), dx.data(), n); });
}

}  // namespace cyclegan
