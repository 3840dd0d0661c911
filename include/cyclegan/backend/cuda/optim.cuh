#pragma once
// Optimizer updates on the GPU: one fused pass over a network's flat parameter buffer, the same
// per-element arithmetic as the CPU (ops/optim.hpp).
#include "../../ops/optim.hpp"
#include "cuda.cuh"

namespace cyclegan {

inline void adam_update(cuda& dev, Tensor<cuda>& param, const Tensor<cuda>& grad, Tensor<cuda>& m,
                        Tensor<cuda>& v, double lr, double beta1, double beta2, double eps, double weight_decay,
                        long step) {
    const auto rule = AdamRule<float>::at_step(lr, beta1, beta2, eps, weight_decay, step);
    float* p = param.data();
    const float* g = grad.data();
    float *pm = m.data(), *pv = v.data();
    for_each_index(dev.stream(), param.numel(),
                           [=] __device__(std::size_t i) { rule(p[i], g[i], pm[i], pv[i]); });
}

inline void sgd_update(cuda& dev, Tensor<cuda>& param, const Tensor<cuda>& grad, Tensor<cuda>& buf, double lr,
                       double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    const auto rule = SgdRule<float>::make(lr, momentum, dampening, weight_decay, nesterov, first);
    float* p = param.data();
    const float* g = grad.data();
    float* b = buf.data();
    for_each_index(dev.stream(), param.numel(), [=] __device__(std::size_t i) { rule(p[i], g[i], b[i]); });
}

}  // namespace cyclegan
