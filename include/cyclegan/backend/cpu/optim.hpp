#pragma once
// Optimizer updates on the CPU: one fused pass over a network's flat parameter buffer, the
// per-element arithmetic in optim/update_rules.hpp.
#include "../../optim/update_rules.hpp"
#include "cpu.hpp"

namespace cyclegan {

template <class T>
void adam_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& m, CpuTensor<T>& v,
                 double lr, double beta1, double beta2, double eps, double weight_decay, long step) {
    const auto rule = AdamRule<T>::at_step(lr, beta1, beta2, eps, weight_decay, step);
    T* p = param.data();
    const T* g = grad.data();
    T *pm = m.data(), *pv = v.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(param.numel());
    CYCLEGAN_PARALLEL_FOR(4 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) rule(p[i], g[i], pm[i], pv[i]);
}

template <class T>
void sgd_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& buf, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    const auto rule = SgdRule<T>::make(lr, momentum, dampening, weight_decay, nesterov, first);
    T* p = param.data();
    const T* g = grad.data();
    T* b = buf.data();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(param.numel());
    CYCLEGAN_PARALLEL_FOR(3 * n)
    for (std::ptrdiff_t i = 0; i < n; ++i) rule(p[i], g[i], b[i]);
}

}  // namespace cyclegan
