#pragma once
#include <concepts>
#include <string>
#include <vector>

#include "../core/tensor.hpp"

namespace cyclegan {

// An optimizer's state for one parameter buffer, as named tensors (for checkpoints) and a step count.
template <class B>
struct OptimizerTensor {
    std::string name;  // "exp_avg", "exp_avg_sq", "momentum_buffer"
    Tensor<B>* tensor;
};

// An optimizer type (Adam, SGD) is a policy with options and a per-buffer state template:
//   typename O::Options;  O::State<B>(dev, n, options);  state.step(params, grads);
template <class O, class B>
concept Optimizer = requires { typename O::Options; } &&
    requires(typename O::template State<B>& s, Tensor<B>& p, const Tensor<B>& g, double lr) {
        s.step(p, g);
        s.set_lr(lr);
        { s.lr() } -> std::convertible_to<double>;
        { s.steps() } -> std::convertible_to<long>;
        { s.tensors() } -> std::convertible_to<std::vector<OptimizerTensor<B>>>;
    };

}  // namespace cyclegan
