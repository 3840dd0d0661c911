#pragma once
// The reference's ResnetGenerator (Johnson et al.): c7s1-ngf, two stride-2 downsamplings,
// `Blocks` residual blocks at 4*ngf channels, two upsamplings, c7s1-output_nc, Tanh.
// Parameter names and shapes equal the reference's state_dict (prefix "model").
#include "../compose/repeat.hpp"
#include "../compose/skip.hpp"
#include "../compose/sequential.hpp"
#include "../layers/activations.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dropout.hpp"
#include "../layers/upsample.hpp"
#include "options.hpp"

namespace cyclegan {

// [pad, conv3x3, norm, ReLU, (Dropout 0.5), pad, conv3x3, norm], added to its input; the pads are
// folded into the convolutions (PadFoldedIntoConv keeps their numbers). `index` gives each block's
// Dropout its own random stream. The block's type (ResnetBlock) is what this returns, so its
// layers are written once.
template <class B>
auto make_resnet_block(int dim, const GeneratorOptions& o, int index) {
    const Conv2dOptions conv{.padding = 1, .bias = conv_bias_for(o.norm), .padding_mode = o.padding};
    using Drop = Optional<Dropout<B>>;
    return Residual(Sequential(make_block_pad<B>(o.padding), Conv2d<B>(dim, dim, 3, conv), make_norm<B>(o.norm, dim),
                               ReLU<B>{}, o.use_dropout ? Drop(Dropout<B>(0.5, o.dropout_seed + index)) : Drop::absent(),
                               make_block_pad<B>(o.padding), Conv2d<B>(dim, dim, 3, conv), make_norm<B>(o.norm, dim)),
                    "conv_block");
}

template <class B>
using ResnetBlock = decltype(make_resnet_block<B>(0, GeneratorOptions{}, 0));

// One 2x upsampling: the reference's ConvTranspose2d(3, stride 2, padding 1, output_padding 1),
// or nearest resize + Conv2d 3x3 (two numbers in the Sequential, so names differ from the reference).
template <class B>
using UpsampleStep = OneOf<ConvTranspose2d<B>, Inline<Sequential<Upsample<B>, Conv2d<B>>>>;

template <class B>
UpsampleStep<B> make_upsample_step(int in, int out, const GeneratorOptions& o) {
    const bool bias = conv_bias_for(o.norm);
    if (o.upsample == UpsampleType::resize_conv)
        return Inline(Sequential(Upsample<B>({.scale_factor = 2}), Conv2d<B>(in, out, 3, {.padding = 1, .bias = bias})));
    return ConvTranspose2d<B>(in, out, 3, {.stride = 2, .padding = 1, .output_padding = 1, .bias = bias});
}

// The network's layers, written once: ResnetGeneratorNet is the type this returns.
template <class B, std::size_t Blocks>
auto make_resnet_generator_net(const GeneratorOptions& o) {
    o.check();
    const int ngf = o.ngf;
    const bool bias = conv_bias_for(o.norm);
    const Conv2dOptions c7{.padding = 3, .bias = bias, .padding_mode = PaddingMode::reflect};
    return Sequential(
        PadFoldedIntoConv<B>{}, Conv2d<B>(o.input_nc, ngf, 7, c7), make_norm<B>(o.norm, ngf), ReLU<B>{},  // ReflectionPad2d(3) in the conv
        Conv2d<B>(ngf, 2 * ngf, 3, {.stride = 2, .padding = 1, .bias = bias}), make_norm<B>(o.norm, 2 * ngf), ReLU<B>{},  // down
        Conv2d<B>(2 * ngf, 4 * ngf, 3, {.stride = 2, .padding = 1, .bias = bias}), make_norm<B>(o.norm, 4 * ngf), ReLU<B>{},
        Repeat<Blocks, ResnetBlock<B>>([&](int k) { return make_resnet_block<B>(4 * ngf, o, k); }),
        make_upsample_step<B>(4 * ngf, 2 * ngf, o), make_norm<B>(o.norm, 2 * ngf), ReLU<B>{},  // up
        make_upsample_step<B>(2 * ngf, ngf, o), make_norm<B>(o.norm, ngf), ReLU<B>{},
        PadFoldedIntoConv<B>{}, Conv2d<B>(ngf, o.output_nc, 7, {.padding = 3, .padding_mode = PaddingMode::reflect}),
        Tanh<B>{});  // ReflectionPad2d(3) in the conv
}

template <class B, std::size_t Blocks>
using ResnetGeneratorNet = decltype(make_resnet_generator_net<B, Blocks>(GeneratorOptions{}));

template <class B, std::size_t Blocks>
class ResnetGenerator : public ResnetGeneratorNet<B, Blocks> {
    using Net = ResnetGeneratorNet<B, Blocks>;

public:
    using Options = GeneratorOptions;
    static constexpr const char* state_dict_prefix = "model";  // ResnetGenerator.model
    std::string prefix() const { return state_dict_prefix; }

    explicit ResnetGenerator(const Options& o = {}) : Net(make_resnet_generator_net<B, Blocks>(o)) {}

    // Input pixels on each side of an output pixel that it depends on (for tiled inference's halo,
    // models/tiled.hpp): the 7x7 convolutions 3 each; the downsamplings 1 and 2 (3x3 at scales 1 and
    // 2); each residual block's two 3x3 convolutions 4 each (scale 4); the upsamplings 4 and 2 (one
    // input pixel either side at scales 4 and 2).
    static constexpr int receptive_radius = 3 + 1 + 2 + 8 * static_cast<int>(Blocks) + 4 + 2 + 3;
};

// The paper's configurations.
template <class B>
using ResnetGenerator9 = ResnetGenerator<B, 9>;  // resnet_9blocks, for 256x256
template <class B>
using ResnetGenerator6 = ResnetGenerator<B, 6>;  // resnet_6blocks, for 128x128

}  // namespace cyclegan
