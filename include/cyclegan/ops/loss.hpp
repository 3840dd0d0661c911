#pragma once
// Per-element loss terms: each gives the loss l(x, t) and its derivative dl/dx side by side.
// Backends reduce them in one pass (backend/cpu/loss.hpp, backend/cuda/loss.cuh): sum of l, and
// grad = scale * dl/dx. docs/losses.md tells how the losses are built from them.
#include <cmath>
#include <concepts>
#include <type_traits>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// (x - t)^2
struct SquaredError {
    template <class T> CYCLEGAN_HD void operator()(T x, T t, T& l, T& g) const {
        const T d = x - t;
        l = d * d;
        g = T(2) * d;
    }
};

// |x - t|; PyTorch's subgradient at 0 is 0.
struct AbsoluteError {
    template <class T> CYCLEGAN_HD void operator()(T x, T t, T& l, T& g) const {
        const T d = x - t;
        l = d < T(0) ? -d : d;
        g = d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0));
    }
};

// Binary cross-entropy on a logit x with target probability t, written so that exp never overflows:
// max(x, 0) - x t + log(1 + exp(-|x|)); derivative sigmoid(x) - t.
struct BinaryCrossEntropyWithLogits {
    template <class T> CYCLEGAN_HD void operator()(T x, T t, T& l, T& g) const {
        const T ax = x < T(0) ? -x : x;
        const T e = std::exp(-ax);
        l = (x > T(0) ? x : T(0)) - x * t + std::log1p(e);
        const T sig = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
        g = sig - t;
    }
};

// max(0, 1 - t x) with t = +1 (real) or -1 (fake): the hinge loss of a discriminator.
struct Hinge {
    template <class T> CYCLEGAN_HD void operator()(T x, T t, T& l, T& g) const {
        const T m = T(1) - t * x;
        l = m > T(0) ? m : T(0);
        g = m > T(0) ? -t : T(0);
    }
};

// -t x: the hinge generator's loss with t = 1 (-mean D(fake)).
struct Linear {
    template <class T> CYCLEGAN_HD void operator()(T x, T t, T& l, T& g) const {
        l = -t * x;
        g = -t;
    }
};

// The kernel's contract: target (when given) and grad (when given) of x's shape.
template <class Tensor>
void check_loss(const Tensor& x, const Tensor* target, const Tensor* grad) {
    if (target && !(target->shape() == x.shape()))
        throw shape_error("loss: prediction " + to_string(x.shape()) + " and target " + to_string(target->shape()) +
                          " differ in shape");
    if (grad && !(grad->shape() == x.shape())) throw shape_error("loss: gradient shape differs from prediction");
}

// sum_i l(x_i, t_i) returned; grad_i = scale * dl/dx_i written when grad is given. The target is
// a tensor (pixel losses) or, when target is null, the constant t (GAN labels).
template <class B, class Op>
concept LossKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Op& op) {
    { elementwise_loss(d, op, ct, &ct, typename B::scalar(0), &t, 1.0) } -> std::convertible_to<double>;
};

CYCLEGAN_KERNEL_LOOKUP(elementwise_loss)

// The checked entry point (ops/kernel_lookup.hpp).
namespace ops {

template <class B, class Op>
double elementwise_loss(B& dev, const Op& op, const Tensor<B>& x, std::type_identity_t<const Tensor<B>*> target,
                        typename B::scalar target_constant, std::type_identity_t<Tensor<B>*> grad, double scale) {
    return check_loss(x, target, grad), kernel_lookup::elementwise_loss(dev, op, x, target, target_constant, grad, scale);
}

}  // namespace ops

}  // namespace cyclegan
