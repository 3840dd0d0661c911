#pragma once
// Skip connections, y = join(x, block(x)), with the block reached through an attribute name:
//   Residual<Block>:   y = x + block(x), the reference's ResnetBlock (no activation after the sum);
//   SkipConcat<Block>: y = [x, block(x)] along channels, its U-Net skip (torch.cat([x, self.model(x)], 1)).
#include <string>
#include <type_traits>

#include "../core/concepts.hpp"
#include "../ops/tensor_ops.hpp"
#include "naming.hpp"

namespace cyclegan {

enum class SkipJoin { add, concat };

template <class Block, SkipJoin Join>
class Skip {
    static_assert(check_layer<Block>(), "Residual, SkipConcat: the block must be a Layer");
    static constexpr bool concat = Join == SkipJoin::concat;
    struct ConcatContext {
        typename Block::Context block;
        Shape x_shape{}, f_shape{};  // how backward splits dy
    };

public:
    using backend = typename Block::backend;
    using B = backend;
    // A sum sends dy whole down both branches, so Residual keeps only its block's context.
    using Context = std::conditional_t<concat, ConcatContext, typename Block::Context>;

    Skip() requires std::default_initializable<Block> = default;
    // `name` is the attribute that holds the block in PyTorch (the reference's "conv_block", "model").
    explicit Skip(Block block, std::string name = concat ? "model" : "block")
        : block_(std::move(block)), name_(std::move(name)) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(TensorOpKernels<B>, "Residual, SkipConcat: the backend has no add and concat kernels; include the backend's header");
        Tensor<B> f = block_.forward(dev, x, block_context(ctx), phase);
        const Shape xs = x.shape(), fs = f.shape();
        if constexpr (!concat) {
            if (!(fs == xs))
                throw shape_error("Residual: block maps " + to_string(xs) + " to " + to_string(fs) +
                                  "; a residual block must keep the shape");
            return sum(dev, std::move(f), x);
        } else {
            if (xs.n != fs.n || xs.h != fs.h || xs.w != fs.w)
                throw shape_error("SkipConcat: block maps " + to_string(xs) + " to " + to_string(fs) +
                                  "; the skip needs the same batch, height and width"
                                  " (in a U-Net: image sides divisible by 2^levels)");
            Tensor<B> y(dev, Shape{xs.n, xs.c + fs.c, xs.h, xs.w});
            concat_channels(dev, x, f, y);
            ctx.x_shape = xs;
            ctx.f_shape = fs;
            return y;
        }
    }

    // Residual:   dx = dy + block'(x)^T dy
    // SkipConcat: dy = [dy_skip, dy_block] along channels; dx = dy_skip + block'(x)^T dy_block
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        Tensor<B> dy_skip = dy, dy_block = dy;
        if constexpr (concat) {
            dy_skip = Tensor<B>(dev, ctx.x_shape), dy_block = Tensor<B>(dev, ctx.f_shape);
            split_channels(dev, dy, dy_skip, dy_block);
        }
        if (!dx) return block_.backward(dev, block_context(ctx), dy_block, nullptr, grad);
        Tensor<B> d_block;
        block_.backward(dev, block_context(ctx), dy_block, &d_block, grad);
        *dx = sum(dev, std::move(d_block), dy_skip);
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) { visit_named(block_, visit, prefix, name_); }

    Block& block() { return block_; }

private:
    static typename Block::Context& block_context(Context& ctx) {
        if constexpr (concat) return ctx.block;
        else return ctx;
    }

    // a + b, written over a when nothing else holds a's memory (the block's output and its input
    // gradient are usually fresh tensors that no context keeps): one tensor less per skip.
    static Tensor<B> sum(B& dev, Tensor<B> a, const Tensor<B>& b) {
        if (a.sole_owner()) {
            add(dev, a, b, a);
            return a;
        }
        Tensor<B> out(dev, a.shape());
        add(dev, a, b, out);
        return out;
    }

    Block block_;
    std::string name_ = concat ? "model" : "block";
};

template <class Block>
struct Residual : Skip<Block, SkipJoin::add> {
    using Skip<Block, SkipJoin::add>::Skip;
};
template <class Block, class... Name>
Residual(Block, Name...) -> Residual<Block>;

template <class Block>
struct SkipConcat : Skip<Block, SkipJoin::concat> {
    using Skip<Block, SkipJoin::concat>::Skip;
};
template <class Block, class... Name>
SkipConcat(Block, Name...) -> SkipConcat<Block>;

}  // namespace cyclegan
