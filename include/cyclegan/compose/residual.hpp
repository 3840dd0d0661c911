#pragma once
// Residual<Block>: y = x + block(x), the reference's ResnetBlock (no activation after the sum).
#include <string>

#include "../core/concepts.hpp"
#include "../ops/tensor_ops.hpp"
#include "naming.hpp"

namespace cyclegan {

template <class Block>
class Residual {
    static_assert(check_layer<Block>(), "Residual: the block must be a Layer");

public:
    using backend = typename Block::backend;
    using Context = typename Block::Context;

    Residual() requires std::default_initializable<Block> = default;
    // `name` is the attribute that holds the block in PyTorch ("conv_block" in the reference).
    explicit Residual(Block block, std::string name = "block") : block_(std::move(block)), name_(std::move(name)) {}

    Tensor<backend> forward(backend& dev, const Tensor<backend>& x, Context& ctx, Phase phase) {
        static_assert(TensorOpKernels<backend>, "Residual: the backend has no add kernel; include the backend's header");
        Tensor<backend> f = block_.forward(dev, x, ctx, phase);
        if (!(f.shape() == x.shape()))
            throw shape_error("Residual: block maps " + to_string(x.shape()) + " to " + to_string(f.shape()) +
                              "; a residual block must keep the shape");
        return sum(dev, std::move(f), x);
    }

    // dx = dy + d(block)/dx^T dy
    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        if (!dx) {
            block_.backward(dev, ctx, dy, nullptr, grad);
            return;
        }
        Tensor<backend> d_block;
        block_.backward(dev, ctx, dy, &d_block, grad);
        *dx = sum(dev, std::move(d_block), dy);
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) { visit_named(block_, visit, prefix, name_); }

    Block& block() { return block_; }

private:
    // a + b, written over a when nothing else holds a's memory (the block's output is usually
    // a fresh tensor that no context keeps): one tensor less per residual block.
    static Tensor<backend> sum(backend& dev, Tensor<backend> a, const Tensor<backend>& b) {
        if (a.sole_owner()) {
            add(dev, a, b, a);
            return a;
        }
        Tensor<backend> out(dev, a.shape());
        add(dev, a, b, out);
        return out;
    }

    Block block_;
    std::string name_ = "block";
};

}  // namespace cyclegan
