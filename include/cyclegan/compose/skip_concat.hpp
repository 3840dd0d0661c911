#pragma once
// SkipConcat<Block>: y = [x, block(x)] along channels, the reference's U-Net skip connection
// (torch.cat([x, self.model(x)], 1)).
#include <string>

#include "../core/concepts.hpp"
#include "../ops/tensor_ops.hpp"
#include "naming.hpp"

namespace cyclegan {

template <class Block>
class SkipConcat {
    static_assert(check_layer<Block>(), "SkipConcat: the block must be a Layer");

public:
    using backend = typename Block::backend;
    struct Context {
        typename Block::Context inner;
        Shape x_shape{}, f_shape{};
    };

    SkipConcat() requires std::default_initializable<Block> = default;
    explicit SkipConcat(Block block, std::string name = "model") : block_(std::move(block)), name_(std::move(name)) {}

    Tensor<backend> forward(backend& dev, const Tensor<backend>& x, Context& ctx, Phase phase) {
        static_assert(TensorOpKernels<backend>, "SkipConcat: the backend has no concat kernels; include the backend's header");
        Tensor<backend> f = block_.forward(dev, x, ctx.inner, phase);
        const Shape xs = x.shape(), fs = f.shape();
        if (xs.n != fs.n || xs.h != fs.h || xs.w != fs.w)
            throw shape_error("SkipConcat: block maps " + to_string(xs) + " to " + to_string(fs) +
                              "; the skip needs the same batch, height and width");
        Tensor<backend> y(dev, Shape{xs.n, xs.c + fs.c, xs.h, xs.w});
        concat_channels(dev, x, f, y);
        ctx.x_shape = xs;
        ctx.f_shape = fs;
        return y;
    }

    // dy splits into the skip's part and the block's; dx = dy_skip + d(block)/dx^T dy_block
    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        Tensor<backend> dy_skip(dev, ctx.x_shape), dy_block(dev, ctx.f_shape);
        split_channels(dev, dy, dy_skip, dy_block);
        if (!dx) {
            block_.backward(dev, ctx.inner, dy_block, nullptr, grad);
            return;
        }
        Tensor<backend> d_block;
        block_.backward(dev, ctx.inner, dy_block, &d_block, grad);
        add(dev, d_block, dy_skip, d_block);
        *dx = std::move(d_block);
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) { visit_named(block_, visit, prefix, name_); }

    Block& block() { return block_; }

private:
    Block block_;
    std::string name_ = "model";
};

}  // namespace cyclegan
