#pragma once
// Elementwise activations. Each is a functor with its forward f(x) and its derivative df(x, y)
// side by side (y = f(x) is passed so that Tanh and Sigmoid need not recompute it); one generic
// layer and one generic kernel per backend run them all. Where the derivative follows from y
// alone (needs_input() false) the layer keeps only y, as PyTorch's in-place activations do, so the
// previous layer's output can be freed before backward.
#include <cmath>

#include "../core/concepts.hpp"
#include "../ops/pointwise.hpp"
#include "bind_check.hpp"
#include "../core/macros.hpp"

namespace cyclegan {

struct ReLUOp {
    template <class T> CYCLEGAN_HD T f(T x) const { return x > T(0) ? x : T(0); }
    template <class T> CYCLEGAN_HD T df(T, T y) const { return y > T(0) ? T(1) : T(0); }  // y > 0 exactly when x > 0
    constexpr bool needs_input() const { return false; }
};

struct LeakyReLUOp {
    double negative_slope = 0.01;
    template <class T> CYCLEGAN_HD T f(T x) const { return x > T(0) ? x : T(negative_slope) * x; }
    // With a positive slope y has x's sign, so y decides; otherwise x must.
    template <class T> CYCLEGAN_HD T df(T x, T y) const {
        return (negative_slope > 0 ? y : x) > T(0) ? T(1) : T(negative_slope);
    }
    constexpr bool needs_input() const { return !(negative_slope > 0); }
};

struct TanhOp {
    template <class T> CYCLEGAN_HD T f(T x) const { return std::tanh(x); }
    template <class T> CYCLEGAN_HD T df(T, T y) const { return T(1) - y * y; }
    constexpr bool needs_input() const { return false; }
};

struct SigmoidOp {
    template <class T> CYCLEGAN_HD T f(T x) const {  // stable for large |x|
        return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    }
    template <class T> CYCLEGAN_HD T df(T, T y) const { return y * (T(1) - y); }
    constexpr bool needs_input() const { return false; }
};

// y = op.f(x); dx = dy * op.df(x, y)
template <class B, class Op>
class Activation {
public:
    using backend = B;
    struct Context {
        Tensor<B> x, y;  // x only when op.needs_input()
    };

    Activation() = default;
    explicit Activation(Op op) : op_(op) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) { return forward(dev, Tensor<B>(x), ctx, phase); }

    // x given up by the caller: y is written over it where backward keeps only y (output_over_input).
    Tensor<B> forward(B& dev, Tensor<B>&& x, Context& ctx, Phase phase) {
        static_assert(PointwiseKernels<B, Op>, "Activation: the backend has no pointwise kernels; include the backend's header");
        const bool keep_x = op_.needs_input() && phase != Phase::inference;
        Tensor<B> y = output_over_input(dev, x, keep_x);
        ops::pointwise_forward(dev, op_, x, y);
        if (keep_x) ctx.x = std::move(x);
        ctx.y = y;
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        expect_output_grad("Activation", !ctx.y.empty(), dy.shape(), ctx.y.shape());
        if (dx) {
            *dx = Tensor<B>(dev, dy.shape());
            ops::pointwise_backward(dev, op_, ctx.x.empty() ? ctx.y : ctx.x, ctx.y, dy, *dx);
        }
        ctx = {};
    }

    Shape output_shape(const Shape& x) const { return x; }  // any shape, kept

    const Op& op() const { return op_; }

private:
    Op op_{};
};

template <class B>
struct ReLU : Activation<B, ReLUOp> {};

template <class B>
struct LeakyReLU : Activation<B, LeakyReLUOp> {
    explicit LeakyReLU(double negative_slope = 0.01) : Activation<B, LeakyReLUOp>(LeakyReLUOp{negative_slope}) {}
};

template <class B>
struct Tanh : Activation<B, TanhOp> {};

template <class B>
struct Sigmoid : Activation<B, SigmoidOp> {};

}  // namespace cyclegan
