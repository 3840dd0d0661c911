#pragma once
// Loss reduction on the CPU: one pass computes the sum of the per-element losses and the gradient.
#include "../../ops/loss.hpp"
#include "cpu.hpp"

namespace cyclegan {

template <class T, class Op>
double elementwise_loss(basic_cpu<T>&, const Op& op, const CpuTensor<T>& x, const CpuTensor<T>* target,
                        T target_constant, CpuTensor<T>* grad, double scale) {
    const T* px = x.data();
    const T* pt = target ? target->data() : nullptr;
    T* pg = grad ? grad->data() : nullptr;
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.numel());
    double sum = 0;
    CYCLEGAN_PARALLEL_SUM(n, sum)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        T l, g;
        op(px[i], pt ? pt[i] : target_constant, l, g);
        sum += l;
        if (pg) pg[i] = static_cast<T>(scale * g);
    }
    return sum;
}

}  // namespace cyclegan
