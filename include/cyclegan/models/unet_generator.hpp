#pragma once
// The reference's UnetGenerator (pix2pix): NumDowns stride-2 levels (unet_128: 7, unet_256: 8),
// each level's input concatenated to its decoder output. Parameter names equal the reference's
// state_dict (prefix "model.model").
#include <string>

#include "../compose/one_of.hpp"
#include "../compose/sequential.hpp"
#include "../ops/tensor_ops.hpp"
#include "../layers/activations.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/conv_transpose2d.hpp"
#include "../layers/dropout.hpp"
#include "options.hpp"

namespace cyclegan {

// One non-outermost level: y = [h, inner(h)] with h = LeakyReLU(0.2)(x).
// The skip carries h, not x: the reference's first layer is LeakyReLU(0.2, inplace=True), which
// overwrites x before torch.cat reads it. Reproducing that keeps converted models exact.
// Names: the reference's block holds nn.Sequential `model` = [LeakyReLU, *Inner...], so Inner's
// elements are numbered from 1.
template <class Inner>
class UnetSkipBlock {
    static_assert(check_layer<Inner>(), "UnetSkipBlock: the inner part must be a Layer");

public:
    using backend = typename Inner::backend;
    using B = backend;
    struct Context {
        typename LeakyReLU<B>::Context relu;
        typename Inner::Context inner;
        Tensor<B> h;
        Shape f_shape{};
    };

    explicit UnetSkipBlock(Inner inner) : inner_(std::move(inner)) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(TensorOpKernels<B>, "UnetSkipBlock: the backend has no concat kernels; include the backend's header");
        ctx.h = relu_.forward(dev, x, ctx.relu, phase);
        Tensor<B> f = inner_.forward(dev, ctx.h, ctx.inner, phase);
        const Shape hs = ctx.h.shape(), fs = f.shape();
        if (hs.h != fs.h || hs.w != fs.w)
            throw shape_error("UnetSkipBlock: level maps " + to_string(hs) + " to " + to_string(fs) +
                              "; image sides must be divisible by 2^levels");
        Tensor<B> y(dev, Shape{hs.n, hs.c + fs.c, hs.h, hs.w});
        concat_channels(dev, ctx.h, f, y);
        ctx.f_shape = fs;
        if (phase == Phase::inference) ctx = {};
        return y;
    }

    // dh = dy_skip + inner'(h)^T dy_inner;  dx = relu'(x) dh
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        Tensor<B> dy_skip(dev, ctx.h.shape()), dy_inner(dev, ctx.f_shape), dh;
        split_channels(dev, dy, dy_skip, dy_inner);
        inner_.backward(dev, ctx.inner, dy_inner, &dh, grad);
        add(dev, dh, dy_skip, dh);
        relu_.backward(dev, ctx.relu, dh, dx, grad);
        ctx = {};
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        inner_.parameters_from(visit, join_name(prefix, "model"), 1);
    }

    Inner& inner() { return inner_; }

private:
    LeakyReLU<B> relu_{0.2};
    Inner inner_;
};

// The innermost level: [LeakyReLU], Conv4x4 s2, ReLU, ConvT4x4 s2, norm.
template <class B>
using UnetInnermost = UnetSkipBlock<Sequential<Conv2d<B>, ReLU<B>, ConvTranspose2d<B>, Norm2d<B>>>;

// A middle level around `Sub`: [LeakyReLU], Conv s2, norm, Sub, ReLU, ConvT s2, norm, (Dropout).
template <class B, class Sub>
using UnetMiddle = UnetSkipBlock<
    Sequential<Conv2d<B>, Norm2d<B>, Sub, ReLU<B>, ConvTranspose2d<B>, Norm2d<B>, Optional<Dropout<B>>>>;

// Levels below the outermost, innermost first: Level 0 is the innermost.
template <class B, int Level>
struct UnetLevel {
    using type = UnetMiddle<B, typename UnetLevel<B, Level - 1>::type>;
};
template <class B>
struct UnetLevel<B, 0> {
    using type = UnetInnermost<B>;
};

// The outermost level (no skip): Conv s2, the rest, ReLU, ConvT s2, Tanh.
template <class B, int NumDowns>
using UnetGeneratorNet =
    Sequential<Conv2d<B>, typename UnetLevel<B, NumDowns - 2>::type, ReLU<B>, ConvTranspose2d<B>, Tanh<B>>;

template <class B, int NumDowns>
class UnetGenerator : public UnetGeneratorNet<B, NumDowns> {
    static_assert(NumDowns >= 5, "UnetGenerator: the reference's U-Net needs at least 5 levels");
    using Net = UnetGeneratorNet<B, NumDowns>;

public:
    using Options = GeneratorOptions;
    static constexpr const char* state_dict_prefix = "model.model";  // UnetGenerator.model.model
    std::string prefix() const { return state_dict_prefix; }
    // NumDowns stride-2 steps: sides multiples of 2^NumDowns, 1x1 at the bottom (which has no norm).
    static constexpr SizeRule size_rule{1 << NumDowns, 1 << NumDowns};

    explicit UnetGenerator(const Options& o = {}) : Net(build(o)) {}

private:
    // Channels of level L (outer = its input and output, inner = after its down convolution), as
    // the reference stacks them: ngf*8 at the bottom, then ngf*4, ngf*2, ngf just below the top.
    static int outer_channels(const Options& o, int level) {
        const int from_top = NumDowns - 2 - level;  // 0: just below the outermost
        return from_top >= 3 ? 8 * o.ngf : (o.ngf << from_top);
    }

    template <int Level>
    static typename UnetLevel<B, Level>::type level(const Options& o) {
        const int outer = outer_channels(o, Level);
        const int inner = Level == 0 ? 8 * o.ngf : outer_channels(o, Level - 1);
        const bool bias = conv_bias_for(o.norm);
        if constexpr (Level == 0) {
            return UnetInnermost<B>(Sequential(Conv2d<B>(outer, inner, 4, {.stride = 2, .padding = 1, .bias = bias}), ReLU<B>{},
                                               ConvTranspose2d<B>(inner, outer, 4, {.stride = 2, .padding = 1, .bias = bias}),
                                               make_norm<B>(o.norm, outer)));
        } else {
            // Only the levels at ngf*8 between the innermost and the ngf*4 level carry dropout.
            const bool dropout = o.use_dropout && Level <= NumDowns - 5;
            using Drop = Optional<Dropout<B>>;
            return typename UnetLevel<B, Level>::type(Sequential(
                Conv2d<B>(outer, inner, 4, {.stride = 2, .padding = 1, .bias = bias}), make_norm<B>(o.norm, inner),
                level<Level - 1>(o), ReLU<B>{},
                ConvTranspose2d<B>(2 * inner, outer, 4, {.stride = 2, .padding = 1, .bias = bias}), make_norm<B>(o.norm, outer),
                dropout ? Drop(Dropout<B>(0.5, o.dropout_seed + Level)) : Drop::absent()));
        }
    }

    static Net build(const Options& o) {
        const bool bias = conv_bias_for(o.norm);
        return Net(Conv2d<B>(o.input_nc, o.ngf, 4, {.stride = 2, .padding = 1, .bias = bias}), level<NumDowns - 2>(o),
                   ReLU<B>{}, ConvTranspose2d<B>(2 * o.ngf, o.output_nc, 4, {.stride = 2, .padding = 1}), Tanh<B>{});
    }
};

template <class B>
using UnetGenerator128 = UnetGenerator<B, 7>;  // unet_128
template <class B>
using UnetGenerator256 = UnetGenerator<B, 8>;  // unet_256

}  // namespace cyclegan
