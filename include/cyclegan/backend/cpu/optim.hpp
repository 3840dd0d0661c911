#pragma once
// Optimizer updates on the CPU: one fused pass over a network's flat parameter buffer, the
// per-element arithmetic in ops/optim.hpp, the loop in simd/loops.inl (per kernel set).
#include "../../ops/optim.hpp"
#include "../../core/compiled.hpp"
#include "cpu.hpp"

namespace cyclegan {

template <class T>
void adam_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& m, CpuTensor<T>& v,
                 double lr, double beta1, double beta2, double eps, double weight_decay, long step);

template <class T>
void sgd_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& buf, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first);

}  // namespace cyclegan

// The kernels, unless this file takes them from cyclegan_kernels (core/compiled.hpp).
#if !CYCLEGAN_DETAIL_KERNELS_DECLARED
#include "simd_kernels.hpp"

namespace cyclegan {

template <class T>
void adam_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& m, CpuTensor<T>& v,
                 double lr, double beta1, double beta2, double eps, double weight_decay, long step) {
    const auto rule = AdamRule<T>::at_step(lr, beta1, beta2, eps, weight_decay, step);
    const auto n = static_cast<std::ptrdiff_t>(param.numel());
    cpu_detail::with_cpu_kernels([&](auto isa) { adam_loop(isa, rule, param.data(), grad.data(), m.data(), v.data(), n); });
}

template <class T>
void sgd_update(basic_cpu<T>&, CpuTensor<T>& param, const CpuTensor<T>& grad, CpuTensor<T>& buf, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    const auto rule = SgdRule<T>::make(lr, momentum, dampening, weight_decay, nesterov, first);
    const auto n = static_cast<std::ptrdiff_t>(param.numel());
    cpu_detail::with_cpu_kernels([&](auto isa) { sgd_loop(isa, rule, param.data(), grad.data(), buf.data(), n); });
}

}  // namespace cyclegan
#endif  // !CYCLEGAN_DETAIL_KERNELS_DECLARED
