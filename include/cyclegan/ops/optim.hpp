#pragma once
// The optimizers' contract: one parameter's update, as arithmetic every backend's fused kernel calls per element
// (CYCLEGAN_HD: the GPU runs the same code). The per-step constants are folded once, in double, on
// the host, then rounded to the parameters' type. So are 1 - beta: PyTorch computes them in Python
// floats, and 1 - float(0.999) would be 1.3e-5 away from float(0.001).
#include <cmath>
#include <string>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// PyTorch's Adam (L2 weight decay added to the gradient, bias-corrected moments):
//   g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - b_k^step
template <class T>
struct AdamRule {
    T step_size, b1, b2, one_minus_b1, one_minus_b2, wd, inv_bc2_sqrt, eps;

    static AdamRule at_step(double lr, double beta1, double beta2, double eps, double weight_decay, long step) {
        const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
        const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
        return {static_cast<T>(lr / bc1),     static_cast<T>(beta1),        static_cast<T>(beta2),
                static_cast<T>(1 - beta1),    static_cast<T>(1 - beta2),    static_cast<T>(weight_decay),
                static_cast<T>(1 / bc2_sqrt), static_cast<T>(eps)};
    }

    CYCLEGAN_HD void operator()(T& p, T g, T& m, T& v) const {
        const T gi = g + wd * p;
        m = b1 * m + one_minus_b1 * gi;
        v = b2 * v + one_minus_b2 * gi * gi;
        p -= step_size * m / (std::sqrt(v) * inv_bc2_sqrt + eps);
    }
};

// PyTorch's SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p -= lr d.
template <class T>
struct SgdRule {
    T momentum, one_minus_dampening, wd, lr;
    bool nesterov, first;

    static SgdRule make(double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
        return {static_cast<T>(momentum), static_cast<T>(1 - dampening), static_cast<T>(weight_decay),
                static_cast<T>(lr), nesterov, first};
    }

    CYCLEGAN_HD void operator()(T& p, T g, T& buf) const {
        T d = g + wd * p;
        if (momentum != T(0)) {
            buf = first ? d : momentum * buf + one_minus_dampening * d;
            d = nesterov ? d + momentum * buf : buf;
        }
        p -= lr * d;
    }
};

// The fused kernels Adam and SGD call (backend/cpu/optim.hpp, backend/cuda/optim.cuh): one pass
// over a parameter applies the rule above to every element.
template <class B>
concept AdamKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    adam_update(d, t, ct, t, t, 1.0, 1.0, 1.0, 1.0, 1.0, 1L);  // param, grad, m, v, lr, betas, eps, wd, step
};

template <class B>
concept SgdKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    sgd_update(d, t, ct, t, 1.0, 1.0, 1.0, 1.0, false, false);  // param, grad, buf, lr, momentum, ...
};

// The kernels' contract: the gradients and every state buffer as many values as the parameters.
template <class Tensor, class... State>
void check_optimizer_step(const char* who, const Tensor& param, const Tensor& grad, const State&... state) {
    const std::size_t n = param.numel();
    if (grad.numel() != n || ((state.numel() != n) || ...))
        throw shape_error(std::string(who) + ": " + std::to_string(n) + " parameters, " + std::to_string(grad.numel()) +
                          " gradients and state of " + ((std::to_string(state.numel()) + " ") + ...) + "values");
}

CYCLEGAN_KERNEL_LOOKUP(adam_update)
CYCLEGAN_KERNEL_LOOKUP(sgd_update)

// The checked entry points (ops/kernel_lookup.hpp): one step of AdamRule / SgdRule over every value.
namespace ops {

template <class B>
void adam_update(B& dev, Tensor<B>& param, const Tensor<B>& grad, Tensor<B>& m, Tensor<B>& v, double lr, double beta1,
                 double beta2, double eps, double weight_decay, long step) {
    check_optimizer_step("adam_update", param, grad, m, v);
    kernel_lookup::adam_update(dev, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step);
}

template <class B>
void sgd_update(B& dev, Tensor<B>& param, const Tensor<B>& grad, Tensor<B>& buf, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, bool first) {
    check_optimizer_step("sgd_update", param, grad, buf);
    kernel_lookup::sgd_update(dev, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first);
}

}  // namespace ops

}  // namespace cyclegan
