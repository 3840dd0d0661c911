#pragma once
// ops/tensor_ops.hpp on the CPU: sums for residual connections, channel concatenation for U-Net skips.
#include "../../ops/tensor_ops.hpp"
#include "cpu.hpp"

namespace cyclegan {

// out = a + b (out may be a or b)
template <class T>
void add(basic_cpu<T>&, const CpuTensor<T>& a, const CpuTensor<T>& b, CpuTensor<T>& out) {
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(a.numel());
    CYCLEGAN_PARALLEL_FOR(n)
    for (std::ptrdiff_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
}

// out[n] = [a[n]; b[n]]: per image, a's channels then b's.
template <class T>
void concat_channels(basic_cpu<T>&, const CpuTensor<T>& a, const CpuTensor<T>& b, CpuTensor<T>& out) {
    const Shape sa = a.shape(), sb = b.shape(), so = out.shape();
    CYCLEGAN_PARALLEL_FOR(out.numel())
    for (int n = 0; n < sa.n; ++n) {
        std::copy_n(a.data() + n * sa.image(), sa.image(), out.data() + n * so.image());
        std::copy_n(b.data() + n * sb.image(), sb.image(), out.data() + n * so.image() + sa.image());
    }
}

// a[n] = first a.c channels of y[n], b[n] = the rest.
template <class T>
void split_channels(basic_cpu<T>&, const CpuTensor<T>& y, CpuTensor<T>& a, CpuTensor<T>& b) {
    const Shape sa = a.shape(), sb = b.shape(), sy = y.shape();
    CYCLEGAN_PARALLEL_FOR(y.numel())
    for (int n = 0; n < sy.n; ++n) {
        std::copy_n(y.data() + n * sy.image(), sa.image(), a.data() + n * sa.image());
        std::copy_n(y.data() + n * sy.image() + sa.image(), sb.image(), b.data() + n * sb.image());
    }
}

}  // namespace cyclegan
