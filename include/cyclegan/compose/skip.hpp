#pragma once
// Skip connections, y = join(x, block(x)), with the block reached through an attribute name:
//   Residual<Block>:   y = x + block(x), the reference's ResnetBlock (no activation after the sum);
//   SkipConcat<Block>: y = [x, block(x)] along channels, its U-Net skip (torch.cat([x, self.model(x)], 1)).
#include <string>
#include <type_traits>

#include "../core/concepts.hpp"
#include "../core/shape_walk.hpp"
#include "../ops/tensor_ops.hpp"
#include "naming.hpp"
#include "taps.hpp"

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
        Tensor<B> f = within(block_, [&] { return block_.forward(dev, x, block_context(ctx), phase); });
        tap_output(block_, f);
        [[maybe_unused]] const Shape y = joined(x.shape(), f.shape());  // the checks of output_shape
        if constexpr (!concat) {
            return sum(dev, std::move(f), x);
        } else {
            Tensor<B> out(dev, y);
            ops::concat_channels(dev, x, f, out);
            ctx.x_shape = x.shape();
            ctx.f_shape = f.shape();
            return out;
        }
    }

    // The join of x and the block's output, block(x) of the same shape (Residual) or of the same
    // batch, height and width (SkipConcat).
    Shape output_shape(const Shape& x, Phase phase) const {
        const Shape f = within(block_, [&] { return layer_output_shape(block_, x, phase); });
        if constexpr (!concat) {
            // A walk that has not fixed the channels yet: the sum makes x's channels the block's
            // output's, so the block must take that many.
            if (x.c == any_channels && f.c != any_channels) {
                const Shape fixed{x.n, f.c, x.h, x.w};
                try {
                    (void)layer_output_shape(block_, fixed, phase);
                } catch (const shape_error&) {
                    throw shape_error("Residual: block maps " + to_string(x) + " to " + to_string(f) + " but cannot take " +
                                      std::to_string(f.c) + " channels itself; a residual block must keep the shape");
                }
                return joined(fixed, f);
            }
        }
        return joined(x, f);
    }

    // Residual:   dx = dy + block'(x)^T dy
    // SkipConcat: dy = [dy_skip, dy_block] along channels; dx = dy_skip + block'(x)^T dy_block
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        Tensor<B> dy_skip = dy, dy_block = dy;
        if constexpr (concat) {
            dy_skip = Tensor<B>(dev, ctx.x_shape), dy_block = Tensor<B>(dev, ctx.f_shape);
            ops::split_channels(dev, dy, dy_skip, dy_block);
        }
        add_tap_gradient(dev, block_, dy_block);
        if (!dx) return within(block_, [&] { block_.backward(dev, block_context(ctx), dy_block, nullptr, grad); });
        Tensor<B> d_block;
        within(block_, [&] { block_.backward(dev, block_context(ctx), dy_block, &d_block, grad); });
        *dx = sum(dev, std::move(d_block), dy_skip);
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) { visit_named(block_, visit, prefix, name_); }

    Block& block() { return block_; }

private:
    // The join's shape; shape_error when block(x) of shape f cannot be joined to x.
    static Shape joined(const Shape& x, const Shape& f) {
        if constexpr (!concat) {
            const bool channels = x.c == f.c || x.c == any_channels || f.c == any_channels;
            if (!(channels && x.n == f.n && x.h == f.h && x.w == f.w))
                throw shape_error("Residual: block maps " + to_string(x) + " to " + to_string(f) +
                                  "; a residual block must keep the shape");
            return x.c == any_channels ? f : x;
        } else {
            if (x.n != f.n || x.h != f.h || x.w != f.w)
                throw shape_error("SkipConcat: block maps " + to_string(x) + " to " + to_string(f) +
                                  "; the skip needs the same batch, height and width"
                                  " (in a U-Net: image sides divisible by 2^levels)");
            const bool any = x.c == any_channels || f.c == any_channels;
            return {x.n, any ? any_channels : x.c + f.c, x.h, x.w};
        }
    }

    static typename Block::Context& block_context(Context& ctx) {
        if constexpr (concat) return ctx.block;
        else return ctx;
    }

    // a + b, written over a when nothing else holds a's memory (the block's output and its input
    // gradient are usually fresh tensors that no context keeps): one tensor less per skip.
    static Tensor<B> sum(B& dev, Tensor<B> a, const Tensor<B>& b) {
        if (a.sole_owner()) {
            ops::add(dev, a, b, a);
            return a;
        }
        Tensor<B> out(dev, a.shape());
        ops::add(dev, a, b, out);
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
