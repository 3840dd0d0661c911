#pragma once
// Pixel losses for cycle consistency and identity: weight * mean over every element.
#include "reduce.hpp"

namespace cyclegan {

// weight * mean of term(pred, target) (ops/loss.hpp).
template <class Term>
struct MeanPixelLoss {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, const Tensor<B>& target, std::type_identity_t<Tensor<B>*> grad, double weight = 1) const {
        return weighted_mean_loss(dev, Term{}, pred, &target, 0, grad, weight);
    }
};

struct L1Loss : MeanPixelLoss<AbsoluteError> {};
struct MSELoss : MeanPixelLoss<SquaredError> {};

template <class L, class B>
concept PixelLoss = requires(const L& loss, B& dev, const Tensor<B>& pred, Tensor<B>* grad) {
    { loss(dev, pred, pred, grad, 1.0) } -> std::convertible_to<double>;
};

}  // namespace cyclegan
