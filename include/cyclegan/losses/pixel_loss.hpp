#pragma once
// Pixel losses for cycle consistency and identity: weight * mean over every element.
#include "reduce.hpp"

namespace cyclegan {

struct L1Loss {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, const Tensor<B>& target, std::type_identity_t<Tensor<B>*> grad, double weight = 1) const {
        return weighted_mean_loss(dev, AbsoluteError{}, pred, &target, 0, grad, weight);
    }
};

struct MSELoss {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, const Tensor<B>& target, std::type_identity_t<Tensor<B>*> grad, double weight = 1) const {
        return weighted_mean_loss(dev, SquaredError{}, pred, &target, 0, grad, weight);
    }
};

template <class L, class B>
concept PixelLoss = requires(const L& loss, B& dev, const Tensor<B>& pred, Tensor<B>* grad) {
    { loss(dev, pred, pred, grad, 1.0) } -> std::convertible_to<double>;
};

}  // namespace cyclegan
