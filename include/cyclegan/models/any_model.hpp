#pragma once
// Generators and discriminators chosen by name at run time, as the reference's --netG / --netD:
// one type each, so a program that offers every architecture compiles one CycleGAN.
#include <map>
#include <stdexcept>
#include <string>

#include "../compose/any_layer.hpp"
#include "patch_discriminator.hpp"
#include "resnet_generator.hpp"
#include "unet_generator.hpp"

namespace cyclegan {

struct AnyGeneratorOptions : GeneratorOptions {
    std::string netG = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks | unet_128 | unet_256
};

// A generator's options from the architecture a checkpoint records (its `info.*` metadata, keys
// without the prefix: netG, ngf, input_nc, output_nc, norm, padding, upsample, dropout), as
// cyclegan-train and tools/convert_reference.py write them. `source` names the file in errors:
// std::runtime_error for a missing key, std::invalid_argument for a value the library does not know.
inline AnyGeneratorOptions generator_options_from_record(const std::map<std::string, std::string>& record,
                                                         const std::string& source) {
    auto get = [&](const char* key) {
        const auto it = record.find(key);
        if (it == record.end())
            throw std::runtime_error(source + ": the file does not record the generator's '" + key +
                                     "' (not written by cyclegan-train or tools/convert_reference.py?)");
        return it->second;
    };
    auto number = [&](const char* key) {
        const std::string v = get(key);
        try {
            return std::stoi(v);
        } catch (const std::exception&) {
            throw std::invalid_argument(source + ": the recorded '" + key + "' is '" + v + "', not a number");
        }
    };
    AnyGeneratorOptions g;
    try {
        g.netG = get("netG");
        if (g.netG != "resnet_9blocks" && g.netG != "resnet_6blocks" && g.netG != "unet_128" && g.netG != "unet_256")
            throw std::invalid_argument("the generator '" + g.netG +
                                        "' is not one this library knows (resnet_9blocks, resnet_6blocks, unet_128, unet_256)");
        g.ngf = number("ngf");
        g.input_nc = number("input_nc");
        g.output_nc = number("output_nc");
        g.norm = parse_norm(get("norm"));
        g.padding = parse_padding(get("padding"));
        g.upsample = parse_upsample(get("upsample"));
        g.use_dropout = get("dropout") != "0";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        throw std::invalid_argument(what.rfind(source, 0) == 0 ? what : source + ": " + what);
    }
    return g;
}

template <class B>
class AnyGenerator : public AnyLayer<B> {
public:
    using Options = AnyGeneratorOptions;
    static constexpr const char* names = "resnet_9blocks, resnet_6blocks, unet_128, unet_256";

    explicit AnyGenerator(const Options& o) : AnyLayer<B>(build(o)), netG_(o.netG) {}

    std::string prefix() const { return prefix_of(netG_); }
    static std::string prefix_of(const std::string& netG) { return netG.rfind("unet", 0) == 0 ? "model.model" : "model"; }
    // The image sides this generator takes (core/size_rule.hpp).
    SizeRule size_rule() const { return size_rule_of(netG_); }
    static SizeRule size_rule_of(const std::string& netG) {
        if (netG == "unet_128") return UnetGenerator128<B>::size_rule;
        if (netG == "unet_256") return UnetGenerator256<B>::size_rule;
        return ResnetGenerator6<B>::size_rule;
    }
    const std::string& name() const { return netG_; }

private:
    static AnyLayer<B> build(const Options& o) {
        const GeneratorOptions& g = o;
        if (o.netG == "resnet_9blocks") return ResnetGenerator9<B>(g);
        if (o.netG == "resnet_6blocks") return ResnetGenerator6<B>(g);
        if (o.netG == "unet_128") return UnetGenerator128<B>(g);
        if (o.netG == "unet_256") return UnetGenerator256<B>(g);
        throw std::invalid_argument("unknown generator '" + o.netG + "' (" + names + ")");
    }
    std::string netG_;
};

struct AnyDiscriminatorOptions : DiscriminatorOptions {
    std::string netD = "basic";  // basic (70x70 PatchGAN) | n_layers | pixel
    int n_layers_D = 3;          // for n_layers: 1 to 5
};

template <class B>
class AnyDiscriminator : public AnyLayer<B> {
public:
    using Options = AnyDiscriminatorOptions;

    explicit AnyDiscriminator(const Options& o)
        : AnyLayer<B>(build(o)), pixel_(o.netD == "pixel"), size_rule_(size_rule_of(o)) {}

    // The image sides this discriminator takes (core/size_rule.hpp).
    SizeRule size_rule() const { return size_rule_; }
    static SizeRule size_rule_of(const Options& o) {
        if (o.netD == "pixel") return PixelDiscriminator<B>::size_rule;
        switch (o.netD == "basic" ? 3 : o.n_layers_D) {  // each model's own rule, not a copy of its formula
            case 1: return PatchDiscriminator<B, 1>::size_rule;
            case 2: return PatchDiscriminator<B, 2>::size_rule;
            case 3: return PatchDiscriminator<B, 3>::size_rule;
            case 4: return PatchDiscriminator<B, 4>::size_rule;
            case 5: return PatchDiscriminator<B, 5>::size_rule;
            default: break;
        }
        throw std::invalid_argument("n_layers_D must be 1 to 5, got " + std::to_string(o.n_layers_D));
    }

    std::string prefix() const { return pixel_ ? "net" : "model"; }

private:
    static AnyLayer<B> build(const Options& o) {
        const DiscriminatorOptions& d = o;
        if (o.netD == "basic") return PatchDiscriminator<B, 3>(d);
        if (o.netD == "pixel") return PixelDiscriminator<B>(d);
        if (o.netD != "n_layers") throw std::invalid_argument("unknown discriminator '" + o.netD + "' (basic, n_layers, pixel)");
        switch (o.n_layers_D) {
            case 1: return PatchDiscriminator<B, 1>(d);
            case 2: return PatchDiscriminator<B, 2>(d);
            case 3: return PatchDiscriminator<B, 3>(d);
            case 4: return PatchDiscriminator<B, 4>(d);
            case 5: return PatchDiscriminator<B, 5>(d);
            default: break;
        }
        throw std::invalid_argument("n_layers_D must be 1 to 5, got " + std::to_string(o.n_layers_D));
    }
    bool pixel_;
    SizeRule size_rule_;
};

}  // namespace cyclegan
