#pragma once
// Elementwise kernels driven by an activation functor (layers/activations.hpp).
#include "cpu.hpp"

namespace cyclegan {

template <class T, class Op>
void pointwise_forward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, CpuTensor<T>& y) {
    const T* px = x.data();
    T* py = y.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.numel());
    CYCLEGAN_PARALLEL_FOR(n)
    for (std::ptrdiff_t i = 0; i < n; ++i) py[i] = op.f(px[i]);
}

template <class T, class Op>
void pointwise_backward(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, const CpuTensor<T>& y,
                        const CpuTensor<T>& dy, CpuTensor<T>& dx) {
    const T *px = x.data(), *py = y.data(), *pdy = dy.data();
    T* pdx = dx.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.numel());
    CYCLEGAN_PARALLEL_FOR(2 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) pdx[i] = pdy[i] * op.df(px[i], py[i]);
}

}  // namespace cyclegan
