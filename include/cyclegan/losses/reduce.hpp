#pragma once
#include <type_traits>

#include "../ops/loss.hpp"

namespace cyclegan {

// weight * mean_i l(x_i, t_i); *grad (allocated here) = its gradient with respect to x.
template <class B, class Op>
double weighted_mean_loss(B& dev, const Op& op, const Tensor<B>& x, std::type_identity_t<const Tensor<B>*> target,
                          typename B::scalar target_constant, std::type_identity_t<Tensor<B>*> grad, double weight) {
    static_assert(LossKernels<B, Op>, "loss: the backend has no elementwise_loss kernel; include the backend's header");
    if (x.numel() == 0) throw shape_error("loss: empty prediction");
    const double n = static_cast<double>(x.numel());
    if (grad) *grad = Tensor<B>(dev, x.shape());
    return weight * ops::elementwise_loss(dev, op, x, target, target_constant, grad, weight / n) / n;
}

}  // namespace cyclegan
