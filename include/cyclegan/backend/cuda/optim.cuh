#pragma once
// Optimizer updates on the GPU: one fused pass over a network's flat parameter buffer, the same
// arithmetic as backend/cpu/optim.hpp (constants folded on the host, in double, then rounded).
#include <cmath>

#include "cuda.cuh"

namespace cyclegan {

// PyTorch's Adam (L2 weight decay added to the gradient, bias-corrected moments):
//   g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - b_k^step
inline void adam_update(cuda& dev, Tensor<cuda>& param, const Tensor<cuda>& grad, Tensor<cuda>& m,
                        Tensor<cuda>& v, double lr, double beta1, double beta2, double eps, double weight_decay,
                        long step) {
    const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
    const float step_size = static_cast<float>(lr / bc1);
    const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2), wd = static_cast<float>(weight_decay);
    const float inv_bc2_sqrt = static_cast<float>(1 / bc2_sqrt), e = static_cast<float>(eps);
    float* p = param.data();
    const float* g = grad.data();
    float* pm = m.data();
    float* pv = v.data();
    detail::for_each_index(dev.stream(), param.numel(), [=] __device__(std::size_t i) {
        const float gi = g[i] + wd * p[i];
        const float mi = b1 * pm[i] + (1.0f - b1) * gi;
        const float vi = b2 * pv[i] + (1.0f - b2) * gi * gi;
        pm[i] = mi;
        pv[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + e);
    });
}

// PyTorch's SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p -= lr d.
inline void sgd_update(cuda& dev, Tensor<cuda>& param, const Tensor<cuda>& grad, Tensor<cuda>& buf, double lr,
                       double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    const float mom = static_cast<float>(momentum), damp = static_cast<float>(dampening);
    const float wd = static_cast<float>(weight_decay), rate = static_cast<float>(lr);
    float* p = param.data();
    const float* g = grad.data();
    float* b = buf.data();
    detail::for_each_index(dev.stream(), param.numel(), [=] __device__(std::size_t i) {
        float d = g[i] + wd * p[i];
        if (mom != 0.0f) {
            const float bi = first ? d : mom * b[i] + (1.0f - damp) * d;
            b[i] = bi;
            d = nesterov ? d + mom * bi : bi;
        }
        p[i] -= rate * d;
    });
}

}  // namespace cyclegan
