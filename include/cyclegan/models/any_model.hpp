#pragma once
// Generators and discriminators chosen by name at run time, as the reference's --netG / --netD:
// one type each, so a program that offers every architecture compiles one CycleGAN.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../compose/any_layer.hpp"
#include "patch_discriminator.hpp"
#include "resnet_generator.hpp"
#include "unet_generator.hpp"

namespace cyclegan {

struct AnyGeneratorOptions : GeneratorOptions {
    std::string netG = "resnet_9blocks";  // one of generator_names
};

// f(name, std::type_identity<Generator>) for each generator --netG names, as the reference spells
// them: the one place a name meets its type. generator_names(), AnyGenerator's factory, size rule
// and state_dict prefix all read it (naming a type here does not build it, so any B will do for
// the names).
template <class B, class F>
void for_each_generator(F&& f) {
    f("resnet_9blocks", std::type_identity<ResnetGenerator9<B>>{});
    f("resnet_6blocks", std::type_identity<ResnetGenerator6<B>>{});
    f("unet_128", std::type_identity<UnetGenerator128<B>>{});
    f("unet_256", std::type_identity<UnetGenerator256<B>>{});
}

inline const std::vector<std::string>& generator_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for_each_generator<void>([&](const char* name, auto) { out.push_back(name); });
        return out;
    }();
    return names;
}

// f(std::type_identity<Generator>) for the generator `netG` names; std::invalid_argument for a
// name that is not one.
template <class B, class F>
auto with_generator_type(const std::string& netG, F&& f) {
    using R = decltype(f(std::type_identity<ResnetGenerator9<B>>{}));
    std::optional<R> out;
    for_each_generator<B>([&](const char* name, auto type) {
        if (!out && netG == name) out.emplace(f(type));
    });
    if (!out) throw std::invalid_argument("unknown generator '" + printable(netG) + "' (" + join(generator_names()) + ")");
    return std::move(*out);
}

// The keys a checkpoint records a generator under (`info.*` metadata, without the prefix), for
// generator_record and generator_options_from_record.
namespace record_keys {
inline constexpr const char *netG = "netG", *ngf = "ngf", *input_nc = "input_nc", *output_nc = "output_nc",
                            *norm = "norm", *padding = "padding", *upsample = "upsample", *dropout = "dropout";
}

// What a file records about a generator so that it can be rebuilt without options: the inverse of
// generator_options_from_record. The dropout seed is not recorded (it does not change the weights).
inline std::map<std::string, std::string> generator_record(const AnyGeneratorOptions& g) {
    namespace k = record_keys;
    return {{k::netG, g.netG},
            {k::ngf, std::to_string(g.ngf)},
            {k::input_nc, std::to_string(g.input_nc)},
            {k::output_nc, std::to_string(g.output_nc)},
            {k::norm, choice_name(norm_choices, g.norm)},
            {k::padding, choice_name(padding_choices, g.padding)},
            {k::upsample, choice_name(upsample_choices, g.upsample)},
            {k::dropout, g.use_dropout ? "1" : "0"}};
}

// A generator's options from the architecture a checkpoint records (generator_record's keys), as
// cyclegan-train, save_network and tools/convert_reference.py write them. `file` names the file
// in errors: std::runtime_error for a missing key, std::invalid_argument for a value the library
// does not know (the file's name and values shown as printable() shows them).
inline AnyGeneratorOptions generator_options_from_record(const std::map<std::string, std::string>& record,
                                                         const std::string& file) {
    const std::string source = printable(file);
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
            throw std::invalid_argument(source + ": the recorded '" + key + "' is '" + printable(v) + "', not a number");
        }
    };
    namespace k = record_keys;
    AnyGeneratorOptions g;
    try {
        g.netG = get(k::netG);
        const auto& known = generator_names();
        if (std::find(known.begin(), known.end(), g.netG) == known.end())
            throw std::invalid_argument("the generator '" + printable(g.netG) + "' is not one this library knows (" +
                                        join(known) + ")");
        g.ngf = number(k::ngf);
        g.input_nc = number(k::input_nc);
        g.output_nc = number(k::output_nc);
        g.norm = parse_norm(get(k::norm));
        g.padding = parse_padding(get(k::padding));
        g.upsample = parse_upsample(get(k::upsample));
        g.use_dropout = get(k::dropout) != "0";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        throw std::invalid_argument(what.rfind(source, 0) == 0 ? what : source + ": " + what);
    }
    return g;
}

// One option that a file records with another value than the one asked for.
struct RecordDifference {
    std::string key, in_file, asked;
};

// The keys of `asked` that `in_file` records with another value, in `asked`'s order. A key the
// file does not record is not compared (a file written before it was recorded), nor n_layers_D
// unless both sides say netD n_layers (other discriminators ignore it).
inline std::vector<RecordDifference> record_differences(const std::map<std::string, std::string>& in_file,
                                                         const std::map<std::string, std::string>& asked) {
    auto value = [](const std::map<std::string, std::string>& m, const char* key) {
        const auto it = m.find(key);
        return it == m.end() ? std::string() : it->second;
    };
    std::vector<RecordDifference> out;
    for (const auto& [key, wanted] : asked) {
        const auto it = in_file.find(key);
        if (it == in_file.end() || it->second == wanted) continue;
        if (key == "n_layers_D" && (value(in_file, "netD") != "n_layers" || value(asked, "netD") != "n_layers")) continue;
        out.push_back({key, it->second, wanted});
    }
    return out;
}

template <class B>
class AnyGenerator : public AnyLayer<B> {
public:
    using Options = AnyGeneratorOptions;

    explicit AnyGenerator(const Options& o) : AnyLayer<B>(build(o)), options_(o) {}

    std::string prefix() const { return prefix_of(options_.netG); }
    static std::string prefix_of(const std::string& netG);
    // The image sides this generator takes (core/size_rule.hpp), derived from its layers.
    SizeRule size_rule() const { return derive_size_rule(*this, Output::same_size); }
    // The same for the generator `netG` names with the reference's options (instance norm, reflect
    // padding: the strictest), derived once per name.
    static SizeRule size_rule_of(const std::string& netG);
    const std::string& name() const { return options_.netG; }
    const Options& options() const { return options_; }
    // What save_network records, so that the file loads without options (Translator::load).
    std::map<std::string, std::string> record() const { return generator_record(options_); }

    // The options of the generator whose tensors (name -> PyTorch dims, names as a state_dict's:
    // "model.1.weight") are given, for files that record no architecture (a reference state_dict
    // saved as safetensors). Layer names tell the generator, norm, zero padding, upsampling and a
    // ResNet's dropout; the first tensor's dims give ngf and the input channels, the last's the
    // output channels. What names cannot tell is taken as the reference's: reflect (not replicate)
    // padding, and no dropout in a U-Net (which only matters in training). Throws
    // std::invalid_argument naming `source` (and some of the names, printable()) when no generator
    // has these names.
    static Options infer_options(const std::map<std::string, std::vector<std::int64_t>>& tensors,
                                 const std::string& source);

private:
    static AnyLayer<B> build(const Options& o);
    Options options_;
};

// The members that go through every generator type are out of the class, so not inline: with the
// compiled kernels (backend/cpu/compiled.hpp) the library holds them for cpu, and a program's files
// neither instantiate nor optimise every generator the programs offer.
template <class B>
AnyLayer<B> AnyGenerator<B>::build(const Options& o) {
    const GeneratorOptions& g = o;
    return with_generator_type<B>(o.netG, [&](auto type) { return AnyLayer<B>(typename decltype(type)::type(g)); });
}

template <class B>
std::string AnyGenerator<B>::prefix_of(const std::string& netG) {
    return with_generator_type<B>(netG, [](auto type) { return std::string(decltype(type)::type::state_dict_prefix); });
}

template <class B>
SizeRule AnyGenerator<B>::size_rule_of(const std::string& netG) {
    static const std::map<std::string, SizeRule> rules = [] {
        std::map<std::string, SizeRule> out;
        for_each_generator<B>([&](const char* name, auto type) {
            out[name] = derive_size_rule(typename decltype(type)::type(GeneratorOptions{.ngf = 1}), Output::same_size);
        });
        return out;
    }();
    return with_generator_type<B>(netG, [&](auto) { return rules.at(netG); });
}

template <class B>
AnyGeneratorOptions AnyGenerator<B>::infer_options(const std::map<std::string, std::vector<std::int64_t>>& tensors,
                                               const std::string& source) {
    for (const auto& netG : generator_names())
        for (const auto& norm : norm_choices)
            for (const PaddingMode padding : {PaddingMode::reflect, PaddingMode::zeros})
                for (const auto& upsample : upsample_choices)
                    for (const bool dropout : {false, true}) {
                        Options o;
                        o.netG = netG, o.norm = norm.value, o.padding = padding, o.upsample = upsample.value;
                        o.use_dropout = dropout, o.ngf = 1, o.input_nc = 1, o.output_nc = 1;
                        std::vector<ParamSpec> specs;
                        AnyGenerator(o).parameters(
                            [&](const ParamSpec& s, Tensor<B>&, Tensor<B>*) { specs.push_back(s); }, prefix_of(netG));
                        if (specs.size() != tensors.size()) continue;
                        bool same = true;
                        for (const auto& s : specs)
                            if (auto it = tensors.find(s.name); it == tensors.end() || it->second.size() != s.dims.size())
                                same = false;
                        if (!same) continue;
                        const auto& first = tensors.at(specs.front().name);  // [ngf, input_nc, k, k]
                        const auto& last = tensors.at(specs.back().name);    // the last bias: [output_nc]
                        if (first.size() != 4 || last.size() != 1) continue;
                        o.ngf = static_cast<int>(first[0]), o.input_nc = static_cast<int>(first[1]);
                        o.output_nc = static_cast<int>(last[0]);
                        return o;
                    }
    std::string names;
    for (auto it = tensors.begin(); it != tensors.end() && std::distance(tensors.begin(), it) < 3; ++it)
        names += (names.empty() ? "" : ", ") + printable(it->first);
    throw std::invalid_argument(printable(source) + ": records no generator of this library (no info.netG), and the " +
                                std::to_string(tensors.size()) + " tensors of its generator (" + names +
                                ", ...) are not those of any generator this library knows (" +
                                join(generator_names()) + ")");
}

struct AnyDiscriminatorOptions : DiscriminatorOptions {
    std::string netD = "basic";  // one of discriminator_names(): basic (70x70 PatchGAN) | n_layers | pixel
    int n_layers_D = 3;          // for n_layers: 1 to 5

    static constexpr OptionRange n_layers_range{.min = 1, .max = 5, .integer = true};
};

// f(name, n_layers_D, std::type_identity<Discriminator>) for each discriminator --netD names (with
// --n-layers-D for n_layers; 0 where it does not count): the one place a name meets its type.
template <class B, class F>
void for_each_discriminator(F&& f) {
    f("basic", 0, std::type_identity<PatchDiscriminator<B, 3>>{});
    f("n_layers", 1, std::type_identity<PatchDiscriminator<B, 1>>{});
    f("n_layers", 2, std::type_identity<PatchDiscriminator<B, 2>>{});
    f("n_layers", 3, std::type_identity<PatchDiscriminator<B, 3>>{});
    f("n_layers", 4, std::type_identity<PatchDiscriminator<B, 4>>{});
    f("n_layers", 5, std::type_identity<PatchDiscriminator<B, 5>>{});
    f("pixel", 0, std::type_identity<PixelDiscriminator<B>>{});
}

inline const std::vector<std::string>& discriminator_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for_each_discriminator<void>([&](const char* name, int, auto) {
            if (out.empty() || out.back() != name) out.push_back(name);
        });
        return out;
    }();
    return names;
}

// f(std::type_identity<Discriminator>) for the discriminator `o` names; std::invalid_argument for
// an unknown name or an n_layers_D out of range.
template <class B, class F>
auto with_discriminator_type(const AnyDiscriminatorOptions& o, F&& f) {
    using R = decltype(f(std::type_identity<PixelDiscriminator<B>>{}));
    std::optional<R> out;
    bool named = false;
    for_each_discriminator<B>([&](const char* name, int layers, auto type) {
        if (out || o.netD != name) return;
        named = true;
        if (layers == 0 || layers == o.n_layers_D) out.emplace(f(type));
    });
    if (!named)
        throw std::invalid_argument("unknown discriminator '" + printable(o.netD) + "' (" + join(discriminator_names()) + ")");
    if (!out) {
        check_option("discriminator", "n_layers_D", o.n_layers_D, AnyDiscriminatorOptions::n_layers_range);
        throw std::logic_error("with_discriminator_type: no type for n_layers_D " + std::to_string(o.n_layers_D));
    }
    return std::move(*out);
}

template <class B>
class AnyDiscriminator : public AnyLayer<B> {
public:
    using Options = AnyDiscriminatorOptions;

    explicit AnyDiscriminator(const Options& o) : AnyLayer<B>(build(o)), prefix_(prefix_of(o)) {}

    // The image sides this discriminator takes (core/size_rule.hpp), derived from its layers.
    SizeRule size_rule() const { return derive_size_rule(*this); }
    static SizeRule size_rule_of(const Options& o);
    static std::string prefix_of(const Options& o);

    std::string prefix() const { return prefix_; }

private:
    static AnyLayer<B> build(const Options& o);
    std::string prefix_;
};

// Out of the class, as AnyGenerator's.
template <class B>
AnyLayer<B> AnyDiscriminator<B>::build(const Options& o) {
    const DiscriminatorOptions& d = o;
    return with_discriminator_type<B>(o, [&](auto type) { return AnyLayer<B>(typename decltype(type)::type(d)); });
}

template <class B>
SizeRule AnyDiscriminator<B>::size_rule_of(const Options& o) {
    return AnyDiscriminator(o).size_rule();
}

template <class B>
std::string AnyDiscriminator<B>::prefix_of(const Options& o) {
    return with_discriminator_type<B>(o, [](auto type) { return std::string(decltype(type)::type::state_dict_prefix); });
}

}  // namespace cyclegan
