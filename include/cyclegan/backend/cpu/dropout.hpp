#pragma once
// Dropout's kernels (ops/dropout.hpp): the mask is drawn and applied in one pass, and
// backward multiplies by the same mask.
#include "../../ops/dropout.hpp"
#include "cpu.hpp"

namespace cyclegan {

// mask[i] = 0 with probability p, else 1/(1-p); y = x * mask. Element i's draw depends only on
// (draw.key, i), i the flat NCHW index, so the threads may split the loop any way they like
// and a GPU kernel indexing the same way draws the same mask.
template <class T>
void dropout_forward(basic_cpu<T>&, const CpuTensor<T>& x, const DropoutDraw& draw, CpuTensor<T>& mask,
                     CpuTensor<T>& y) {
    const T* px = x.data();
    T *pm = mask.data(), *py = y.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.numel());
    CYCLEGAN_PARALLEL_FOR(n)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        const T m = draw.factor<T>(static_cast<std::uint64_t>(i));
        pm[i] = m;
        py[i] = px[i] * m;
    }
}

// y = x * mask is linear in x with a constant mask: dx = dy * mask.
template <class T>
void dropout_backward(basic_cpu<T>&, const CpuTensor<T>& mask, const CpuTensor<T>& dy, CpuTensor<T>& dx) {
    const T *pm = mask.data(), *pdy = dy.data();
    T* pdx = dx.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(mask.numel());
    CYCLEGAN_PARALLEL_FOR(n)
    for (std::ptrdiff_t i = 0; i < n; ++i) pdx[i] = pdy[i] * pm[i];
}

}  // namespace cyclegan
