#pragma once
// The reference's discriminators. PatchDiscriminator<B, Layers> is NLayerDiscriminator: Layers = 3
// is the 70x70 PatchGAN ("basic"), a 30x30 map of logits at 256x256. PixelDiscriminator is the
// 1x1 "pixel" GAN. Parameter names equal the reference's state_dict ("model." / "net.").
#include <algorithm>

#include "../compose/repeat.hpp"
#include "../compose/sequential.hpp"
#include "../layers/activations.hpp"
#include "../layers/conv2d.hpp"
#include "options.hpp"

namespace cyclegan {

// Conv4x4 stride 2, norm, LeakyReLU(0.2), spliced into the parent's numbering as the reference's
// `sequence += [...]` does.
template <class B>
using PatchStage = Inline<Sequential<Conv2d<B>, Norm2d<B>, LeakyReLU<B>>>;

inline int patch_channel_multiple(int n) { return std::min(1 << n, 8); }  // the reference's nf_mult

// The network's layers, written once: PatchDiscriminatorNet is the type this returns. Conv 4x4
// stride 2 and LeakyReLU (no norm on the first layer), Layers - 1 stages with channels doubling
// to 8*ndf, a stride-1 stage, and a stride-1 conv to one logit per patch.
template <class B, std::size_t Layers>
auto make_patch_discriminator_net(const DiscriminatorOptions& o) {
    o.check();
    const int ndf = o.ndf;
    const bool bias = conv_bias_for(o.norm);
    constexpr int L = static_cast<int>(Layers);
    auto mult = patch_channel_multiple;
    auto stage = [&](int k) {  // k = 0 .. L-2 is the reference's n = k + 1
        const int in = ndf * mult(k), out = ndf * mult(k + 1);
        return PatchStage<B>(Conv2d<B>(in, out, 4, {.stride = 2, .padding = 1, .bias = bias}), make_norm<B>(o.norm, out),
                             LeakyReLU<B>(0.2));
    };
    return Sequential(Conv2d<B>(o.input_nc, ndf, 4, {.stride = 2, .padding = 1}), LeakyReLU<B>(0.2),
                      Repeat<Layers - 1, PatchStage<B>>(stage),
                      Conv2d<B>(ndf * mult(L - 1), ndf * mult(L), 4, {.stride = 1, .padding = 1, .bias = bias}),
                      make_norm<B>(o.norm, ndf * mult(L)), LeakyReLU<B>(0.2),
                      Conv2d<B>(ndf * mult(L), 1, 4, {.stride = 1, .padding = 1}));
}

template <class B, std::size_t Layers>
using PatchDiscriminatorNet = decltype(make_patch_discriminator_net<B, Layers>(DiscriminatorOptions{}));

template <class B, std::size_t Layers = 3>
class PatchDiscriminator : public PatchDiscriminatorNet<B, Layers> {
    static_assert(Layers >= 1, "PatchDiscriminator: needs at least one layer");
    using Net = PatchDiscriminatorNet<B, Layers>;

public:
    using Options = DiscriminatorOptions;
    static constexpr const char* state_dict_prefix = "model";
    std::string prefix() const { return state_dict_prefix; }

    explicit PatchDiscriminator(const Options& o = {}) : Net(make_patch_discriminator_net<B, Layers>(o)) {}
};

template <class B>
using PixelDiscriminatorNet = Sequential<Conv2d<B>, LeakyReLU<B>, Conv2d<B>, Norm2d<B>, LeakyReLU<B>, Conv2d<B>>;

template <class B>
class PixelDiscriminator : public PixelDiscriminatorNet<B> {
    using Net = PixelDiscriminatorNet<B>;

public:
    using Options = DiscriminatorOptions;
    static constexpr const char* state_dict_prefix = "net";
    std::string prefix() const { return state_dict_prefix; }

    explicit PixelDiscriminator(const Options& o = {})
        : Net(Conv2d<B>((o.check(), o.input_nc), o.ndf, 1), LeakyReLU<B>(0.2),
              Conv2d<B>(o.ndf, 2 * o.ndf, 1, {.bias = conv_bias_for(o.norm)}), make_norm<B>(o.norm, 2 * o.ndf),
              LeakyReLU<B>(0.2), Conv2d<B>(2 * o.ndf, 1, 1, {.bias = conv_bias_for(o.norm)})) {}
};

}  // namespace cyclegan
