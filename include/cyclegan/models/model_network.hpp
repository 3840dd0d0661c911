#pragma once
// What a model's generator or discriminator must be, and the shortest way to write one of your own.
//
// CycleGAN<G, D> (and Translator<B, G>) build each network from options, once per direction: G_A
// from the options as given, G_B with input_nc and output_nc swapped, D_A and D_B with input_nc set
// to the domain's channels. So a network type must be
//   - a Layer (backend, Context, forward, backward, output_shape), and
//   - constructible from `const Options&`, its nested options type, which has `int input_nc` (and,
//     for a generator, `int output_nc`) for the model to set.
// Optionally prefix(): the attribute its parameters sit under ("model", as the reference's
// ResnetGenerator.model), "" without it. The image sides it takes are derived from its layers
// (derive_size_rule), never stated.
//
// Built<builder> is such a type made from a function that returns the layers, with no class to write:
//
//   template <class B>
//   auto my_generator(const cyclegan::GeneratorOptions& o) {
//       return cyclegan::Sequential(cyclegan::Conv2d<B>(o.input_nc, 16, 3, {.padding = 1}), ...);
//   }
//   using Model = cyclegan::CycleGAN<cyclegan::Built<my_generator<cyclegan::cpu>>,
//                                    cyclegan::Built<my_discriminator<cyclegan::cpu>>>;
//
// docs/custom-networks.md has a whole example.
#include <concepts>
#include <string>
#include <type_traits>

#include "../core/concepts.hpp"

namespace cyclegan {

namespace model_network_detail {

template <class N>
concept HasOptions = requires { typename N::Options; };

template <class O>
concept HasInputNc = requires(O& o) {
    o.input_nc = 1;
    { o.input_nc } -> std::convertible_to<int>;
};

template <class O>
concept HasOutputNc = requires(O& o) {
    o.output_nc = 1;
    { o.output_nc } -> std::convertible_to<int>;
};

template <class O>
concept GeneratorChannels = HasInputNc<O> && HasOutputNc<O>;

template <class O>
concept DiscriminatorChannels = HasInputNc<O>;

template <class N>
concept FromOptions = std::constructible_from<N, const typename N::Options&>;

}  // namespace model_network_detail

// A generator a model can build for either direction.
template <class G>
concept ModelGenerator = Layer<G> && model_network_detail::HasOptions<G> &&
                         model_network_detail::GeneratorChannels<typename G::Options> && model_network_detail::FromOptions<G>;

// A discriminator a model can build for either domain.
template <class D>
concept ModelDiscriminator = Layer<D> && model_network_detail::HasOptions<D> &&
                             model_network_detail::DiscriminatorChannels<typename D::Options> &&
                             model_network_detail::FromOptions<D>;

// The first error of a type that is not a ModelGenerator (Generator) or ModelDiscriminator: one
// sentence naming every piece it lacks (a Layer's missing part follows in check_layer's sentence).
// static_assert takes only a literal, so each combination of missing pieces has its own.
template <class N, bool Generator>
constexpr bool check_model_network() {
    namespace d = model_network_detail;
    static_assert(Layer<N>, "CycleGAN, Translator: a generator or discriminator must be a Layer (backend, Context, "
                            "forward, backward, output_shape: the next error names the part it lacks), and "
                            "Built<builder> makes one from a function returning a composition (docs/custom-networks.md)");
    if constexpr (!Layer<N>) static_assert(check_layer<N>());
    if constexpr (!d::HasOptions<N>) {
        static_assert(d::HasOptions<N>,
                      "CycleGAN, Translator: the generator or discriminator has no nested `Options` type: it needs "
                      "`Options` with `int input_nc` (a generator's also `int output_nc`: the model sets them for each "
                      "direction and domain) and a constructor from `const Options&`, or use Built<builder> with a "
                      "function `auto builder(const Options&)` that returns its layers (docs/custom-networks.md)");
    } else if constexpr (Generator) {
        constexpr bool in = d::HasInputNc<typename N::Options>, out = d::HasOutputNc<typename N::Options>;
        constexpr bool made = d::FromOptions<N>;
        if constexpr (!in && !out && !made)
            static_assert(in, "CycleGAN, Translator: the generator's `Options` has no `int input_nc` and no `int output_nc` "
                              "(the model sets them for each direction), and the generator has no constructor from "
                              "`const Options&` (docs/custom-networks.md)");
        else if constexpr (!in && !out)
            static_assert(in, "CycleGAN, Translator: the generator's `Options` has no `int input_nc` and no `int output_nc` "
                              "(the model sets them for each direction; docs/custom-networks.md)");
        else if constexpr (!in && !made)
            static_assert(in, "CycleGAN, Translator: the generator's `Options` has no `int input_nc` (the model sets it for "
                              "each direction), and the generator has no constructor from `const Options&` "
                              "(docs/custom-networks.md)");
        else if constexpr (!in)
            static_assert(in, "CycleGAN, Translator: the generator's `Options` has no `int input_nc` (the model sets it for "
                              "each direction; docs/custom-networks.md)");
        else if constexpr (!out && !made)
            static_assert(out, "CycleGAN, Translator: the generator's `Options` has no `int output_nc` (the model sets it "
                               "for each direction), and the generator has no constructor from `const Options&` "
                               "(docs/custom-networks.md)");
        else if constexpr (!out)
            static_assert(out, "CycleGAN, Translator: the generator's `Options` has no `int output_nc` (the model sets it "
                               "for each direction; docs/custom-networks.md)");
        else if constexpr (!made)
            static_assert(made, "CycleGAN, Translator: the generator has no constructor from `const Options&` (the model "
                                "builds each direction's from its options, docs/custom-networks.md)");
    } else {
        constexpr bool in = d::HasInputNc<typename N::Options>, made = d::FromOptions<N>;
        if constexpr (!in && !made)
            static_assert(in, "CycleGAN: the discriminator's `Options` has no `int input_nc` (the model sets it to each "
                              "domain's channels), and the discriminator has no constructor from `const Options&` "
                              "(docs/custom-networks.md)");
        else if constexpr (!in)
            static_assert(in, "CycleGAN: the discriminator's `Options` has no `int input_nc` (the model sets it to each "
                              "domain's channels; docs/custom-networks.md)");
        else if constexpr (!made)
            static_assert(made, "CycleGAN: the discriminator has no constructor from `const Options&` (the model builds "
                                "each domain's from its options, docs/custom-networks.md)");
    }
    return true;  // a sentence above is the error
}

template <class G>
constexpr bool check_model_generator() { return check_model_network<G, true>(); }
template <class D>
constexpr bool check_model_discriminator() { return check_model_network<D, false>(); }

// The attribute a network's parameters sit under: its prefix(), or "" (a bare nn.Sequential's names).
template <class N>
std::string network_prefix(const N& net) {
    if constexpr (requires { { net.prefix() } -> std::convertible_to<std::string>; }) return net.prefix();
    else return "";
}

namespace model_network_detail {

// What a builder takes and returns: a function pointer `R (*)(const O&)` or a lambda without
// captures and without auto parameters.
template <class F>
struct Builder {
    static constexpr bool valid = false;
    struct Nothing {};  // placeholders: the static_assert in Built says what is wrong
    using options = Nothing;
    using net = Nothing;
};
template <class R, class O>
struct Builder<R (*)(O)> {
    static constexpr bool valid = true;
    using options = std::remove_cvref_t<O>;
    using net = R;
};
template <class R, class O>
struct Builder<R (*)(O) noexcept> : Builder<R (*)(O)> {};
template <class C, class R, class O>
struct Builder<R (C::*)(O) const> : Builder<R (*)(O)> {};
template <class F>
    requires requires { &F::operator(); }
struct Builder<F> : Builder<decltype(&F::operator())> {};

// The base a Built derives from: the builder's layers (a placeholder when the builder is not one).
template <auto Build>
using BuiltBase = typename Builder<decltype(Build)>::net;

// check_layer's sentence for what a builder returns, once it is a builder.
template <auto Build>
constexpr bool check_built() {
    if constexpr (Builder<decltype(Build)>::valid) return check_layer<BuiltBase<Build>>();
    return true;
}

}  // namespace model_network_detail

// A network whose type is what `Build(options)` returns (a Sequential, say): constructible from
// those options, as a model needs, and keeping them (options()). Parameters sit under no prefix
// ("0.weight"), as a bare nn.Sequential's state_dict names them.
template <auto Build>
class Built : public model_network_detail::BuiltBase<Build> {
    using Traits = model_network_detail::Builder<decltype(Build)>;
    static_assert(Traits::valid, "Built<builder>: the builder must be a function `auto builder(const Options&)` (or a "
                                 "lambda without captures or auto parameters) returning the network's layers (for a "
                                 "function template name its backend: Built<my_generator<cyclegan::cpu>>)");
    using Net = model_network_detail::BuiltBase<Build>;
    static_assert(model_network_detail::check_built<Build>(), "Built<builder>: the builder must return a Layer");

public:
    using Options = typename Traits::options;

    explicit Built(const Options& options = {}) : Net(Build(options)), options_(options) {}

    const Options& options() const { return options_; }

private:
    Options options_;
};

}  // namespace cyclegan
