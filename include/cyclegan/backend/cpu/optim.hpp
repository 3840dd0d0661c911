#pragma once
// Optimizer updates on the CPU: one fused pass over a network's flat parameter buffer.
#include <cmath>

#include "cpu.hpp"

namespace cyclegan {

// PyTorch's Adam (L2 weight decay added to the gradient, bias-corrected moments):
//   g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - b_k^step
template <class T>
void adam_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& m, CpuTensor<T>& v,
                 double lr, double beta1, double beta2, double eps, double weight_decay, long step) {
    const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
    const T step_size = static_cast<T>(lr / bc1);
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), wd = static_cast<T>(weight_decay);
    const T inv_bc2_sqrt = static_cast<T>(1 / bc2_sqrt), e = static_cast<T>(eps);
    T* p = param.data();
    const T* g = grad.data();
    T* pm = m.data();
    T* pv = v.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(param.numel());
    CYCLEGAN_PARALLEL_FOR(4 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        const T gi = g[i] + wd * p[i];
        pm[i] = b1 * pm[i] + (T(1) - b1) * gi;
        pv[i] = b2 * pv[i] + (T(1) - b2) * gi * gi;
        p[i] -= step_size * pm[i] / (std::sqrt(pv[i]) * inv_bc2_sqrt + e);
    }
}

// PyTorch's SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p -= lr d.
template <class T>
void sgd_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& buf, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    const T mom = static_cast<T>(momentum), damp = static_cast<T>(dampening), wd = static_cast<T>(weight_decay);
    const T rate = static_cast<T>(lr);
    T* p = param.data();
    const T* g = grad.data();
    T* b = buf.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(param.numel());
    CYCLEGAN_PARALLEL_FOR(3 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        T d = g[i] + wd * p[i];
        if (mom != T(0)) {
            b[i] = first ? d : mom * b[i] + (T(1) - damp) * d;
            d = nesterov ? d + mom * b[i] : b[i];
        }
        p[i] -= rate * d;
    }
}

}  // namespace cyclegan
