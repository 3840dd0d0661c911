#pragma once
// The run-time choices of the reference's networks (--norm, padding type, --no-dropout, ...) and
// the layers that carry them: one network type serves every choice.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../compose/one_of.hpp"
#include "../core/choice.hpp"
#include "../core/option_range.hpp"
#include "../core/size_rule.hpp"
#include "../layers/norm2d.hpp"
#include "../layers/identity.hpp"
#include "../ops/padding.hpp"

namespace cyclegan {

enum class NormType { instance, batch, none };
// Transposed convolution (the reference), or nearest resize then a 3x3 convolution, which avoids
// checkerboard artifacts (Odena et al. 2016).
enum class UpsampleType { transposed, resize_conv };

inline constexpr Choice<NormType> norm_choices[] = {
    {"instance", NormType::instance}, {"batch", NormType::batch}, {"none", NormType::none}};
// --padding_type's names for the one padding rule (ops/padding.hpp); the reference spells zeros "zero".
inline constexpr Choice<PaddingMode> padding_choices[] = {
    {"reflect", PaddingMode::reflect}, {"replicate", PaddingMode::replicate}, {"zero", PaddingMode::zeros}};
inline constexpr Choice<UpsampleType> upsample_choices[] = {
    {"transposed", UpsampleType::transposed}, {"resize_conv", UpsampleType::resize_conv}};

inline NormType parse_norm(const std::string& s) { return parse_choice(norm_choices, s, "norm"); }
inline PaddingMode parse_padding(const std::string& s) { return parse_choice(padding_choices, s, "padding type"); }
inline UpsampleType parse_upsample(const std::string& s) { return parse_choice(upsample_choices, s, "upsampling"); }

struct GeneratorOptions {
    int input_nc = 3, output_nc = 3;
    int ngf = 64;
    NormType norm = NormType::instance;
    bool use_dropout = false;  // the reference's default for CycleGAN is --no_dropout
    std::uint64_t dropout_seed = 0;
    PaddingMode padding = PaddingMode::reflect;       // resnet blocks only
    UpsampleType upsample = UpsampleType::transposed;  // resnet only

    // ngf (and a discriminator's ndf): the networks multiply it by up to 8, which must stay an int.
    static constexpr OptionRange filters_range{.min = 1, .max = 1 << 24, .integer = true};
    static constexpr OptionRange channels_range{.min = 1, .integer = true};
    // Throws std::invalid_argument naming the first option out of its range.
    void check() const {
        check_option("generator", "input_nc", input_nc, channels_range);
        check_option("generator", "output_nc", output_nc, channels_range);
        check_option("generator", "ngf", ngf, filters_range);
    }
};

struct DiscriminatorOptions {
    int input_nc = 3;
    int ndf = 64;
    NormType norm = NormType::instance;

    // Throws std::invalid_argument naming the first option out of its range (GeneratorOptions's).
    void check() const {
        check_option("discriminator", "input_nc", input_nc, GeneratorOptions::channels_range);
        check_option("discriminator", "ndf", ndf, GeneratorOptions::filters_range);
    }
};

// The reference's rule: convolutions carry a bias only when followed by instance norm (batch norm
// has its own shift; with no norm the reference also leaves it out).
inline bool conv_bias_for(NormType n) { return n == NormType::instance; }

// The norm layer as the reference builds it: instance (affine=False, no running stats),
// batch (affine, running stats), or Identity — which still takes its place in the numbering.
template <class B>
using Norm2d = OneOf<InstanceNorm2d<B>, BatchNorm2d<B>, Identity<B>>;

template <class B>
Norm2d<B> make_norm(NormType n, int channels) {
    switch (n) {
        case NormType::instance: return InstanceNorm2d<B>(channels);
        case NormType::batch: return BatchNorm2d<B>(channels);
        case NormType::none: break;
    }
    return Identity<B>{};
}

// Where the reference has a ReflectionPad2d / ReplicationPad2d before a convolution, we keep its
// place (and number) with this no-op and let the convolution read the padding itself
// (Conv2d's padding_mode): no padded copy of the activation is made or kept for backward.
template <class B>
struct PadFoldedIntoConv : Identity<B> {};

// The residual blocks' padding slot; absent with zero padding, as in the reference.
template <class B>
using BlockPad2d = Optional<PadFoldedIntoConv<B>>;

template <class B>
BlockPad2d<B> make_block_pad(PaddingMode p) {
    return p == PaddingMode::zeros ? BlockPad2d<B>::absent() : BlockPad2d<B>(PadFoldedIntoConv<B>{});
}

}  // namespace cyclegan
