#pragma once
// The reference's UnetGenerator (pix2pix): NumDowns stride-2 levels (unet_128: 7, unet_256: 8),
// each level's input concatenated to its decoder output. Parameter names equal the reference's
// state_dict (prefix "model.model").
#include <string>

#include "../compose/one_of.hpp"
#include "../compose/sequential.hpp"
#include "../compose/skip.hpp"
#include "../layers/activations.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dropout.hpp"
#include "options.hpp"

namespace cyclegan {

// One non-outermost level: y = [h, inner(h)] with h = LeakyReLU(0.2)(x).
// The skip carries h, not x: the reference's first layer is LeakyReLU(0.2, inplace=True), which
// overwrites x before torch.cat reads it. Reproducing that keeps converted models exact.
// Names: the reference's block holds nn.Sequential `model` = [LeakyReLU, *Inner...], so Inner's
// elements are numbered from 1.
template <class Inner>
class UnetSkipBlock : Sequential<LeakyReLU<typename Inner::backend>, SkipConcat<Inner>> {
    using Seq = Sequential<LeakyReLU<typename Inner::backend>, SkipConcat<Inner>>;

public:
    using typename Seq::backend;
    using typename Seq::Context;
    using Seq::forward;
    using Seq::backward;
    using Seq::output_shape;

    explicit UnetSkipBlock(Inner inner) : Seq(LeakyReLU<backend>(0.2), SkipConcat<Inner>(std::move(inner))) {}

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        inner().parameters_from(visit, join_name(prefix, "model"), 1);
    }

    Inner& inner() { return Seq::template get<1>().block(); }
};

// Level `Level` below the outermost (0: the innermost) of a U-Net of NumDowns levels, written
// once: its type is what this returns. Innermost: [LeakyReLU], Conv4x4 s2, ReLU, ConvT4x4 s2,
// norm; a middle level around the one below: [LeakyReLU], Conv s2, norm, the level below, ReLU,
// ConvT s2, norm, (Dropout). Channels as the reference stacks them: ngf*8 at the bottom, then
// ngf*4, ngf*2, ngf just below the top (outer: a level's input and output; inner: after its down
// convolution).
template <class B, int NumDowns, int Level>
auto make_unet_level(const GeneratorOptions& o) {
    auto outer_channels = [&](int level) {
        const int from_top = NumDowns - 2 - level;  // 0: just below the outermost
        return from_top >= 3 ? 8 * o.ngf : (o.ngf << from_top);
    };
    const int outer = outer_channels(Level), inner = Level == 0 ? 8 * o.ngf : outer_channels(Level - 1);
    const bool bias = conv_bias_for(o.norm);
    const Conv2dOptions down{.stride = 2, .padding = 1, .bias = bias};
    const ConvTranspose2dOptions up{.stride = 2, .padding = 1, .bias = bias};
    if constexpr (Level == 0) {
        return UnetSkipBlock(Sequential(Conv2d<B>(outer, inner, 4, down), ReLU<B>{}, ConvTranspose2d<B>(inner, outer, 4, up),
                                        make_norm<B>(o.norm, outer)));
    } else {
        // Only the levels at ngf*8 between the innermost and the ngf*4 level carry dropout.
        const bool dropout = o.use_dropout && Level <= NumDowns - 5;
        using Drop = Optional<Dropout<B>>;
        return UnetSkipBlock(Sequential(Conv2d<B>(outer, inner, 4, down), make_norm<B>(o.norm, inner),
                                        make_unet_level<B, NumDowns, Level - 1>(o), ReLU<B>{},
                                        ConvTranspose2d<B>(2 * inner, outer, 4, up), make_norm<B>(o.norm, outer),
                                        dropout ? Drop(Dropout<B>(0.5, o.dropout_seed + Level)) : Drop::absent()));
    }
}

// The outermost level (no skip): Conv s2, the levels below, ReLU, ConvT s2, Tanh.
template <class B, int NumDowns>
auto make_unet_generator_net(const GeneratorOptions& o) {
    o.check();
    return Sequential(Conv2d<B>(o.input_nc, o.ngf, 4, {.stride = 2, .padding = 1, .bias = conv_bias_for(o.norm)}),
                      make_unet_level<B, NumDowns, NumDowns - 2>(o), ReLU<B>{},
                      ConvTranspose2d<B>(2 * o.ngf, o.output_nc, 4, {.stride = 2, .padding = 1}), Tanh<B>{});
}

template <class B, int NumDowns>
using UnetGeneratorNet = decltype(make_unet_generator_net<B, NumDowns>(GeneratorOptions{}));

template <class B, int NumDowns>
class UnetGenerator : public UnetGeneratorNet<B, NumDowns> {
    static_assert(NumDowns >= 5, "UnetGenerator: the reference's U-Net needs at least 5 levels");
    using Net = UnetGeneratorNet<B, NumDowns>;

public:
    using Options = GeneratorOptions;
    static constexpr const char* state_dict_prefix = "model.model";  // UnetGenerator.model.model
    std::string prefix() const { return state_dict_prefix; }

    explicit UnetGenerator(const Options& o = {}) : Net(make_unet_generator_net<B, NumDowns>(o)) {}
};

template <class B>
using UnetGenerator128 = UnetGenerator<B, 7>;  // unet_128
template <class B>
using UnetGenerator256 = UnetGenerator<B, 8>;  // unet_256

}  // namespace cyclegan
