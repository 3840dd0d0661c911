#pragma once
// Sequential<Ls...>: layers applied one after another. A flat pack in a std::tuple: forward is a
// fold, backward a reversed fold, and the contexts are a tuple of the layers' contexts.
#include <concepts>
#include <string>
#include <tuple>
#include <utility>

#include "../core/concepts.hpp"
#include "../core/shape_walk.hpp"
#include "naming.hpp"
#include "taps.hpp"

namespace cyclegan {

template <class... Ls>
class Sequential {
    static_assert(sizeof...(Ls) > 0, "Sequential: needs at least one layer");
    static_assert((check_layer<Ls>() && ...), "Sequential: every element must be a Layer");
    using First = std::tuple_element_t<0, std::tuple<Ls...>>;

public:
    using backend = typename First::backend;
    using Context = std::tuple<typename Ls::Context...>;
    static_assert((std::same_as<typename Ls::backend, backend> && ...),
                  "Sequential: every layer must use the same backend type");

    Sequential() requires(std::default_initializable<Ls> && ...) = default;
    explicit Sequential(Ls... layers) : layers_(std::move(layers)...) {}

    // Each layer is given the previous one's output (as an rvalue: a layer with a Tensor<B>&&
    // forward may write over it); x itself only when the caller gave it up too.
    Tensor<backend> forward(backend& dev, const Tensor<backend>& x, Context& ctx, Phase phase) {
        return forward(dev, Tensor<backend>(x), ctx, phase);
    }
    Tensor<backend> forward(backend& dev, Tensor<backend>&& x, Context& ctx, Phase phase) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            Tensor<backend> h = std::move(x);
            ((h = within(std::get<I>(layers_), [&] { return std::get<I>(layers_).forward(dev, std::move(h), std::get<I>(ctx), phase); }),
              tap_output(std::get<I>(layers_), h), phase == Phase::inference ? void(std::get<I>(ctx) = {}) : void()),
             ...);
            return h;
        }(std::index_sequence_for<Ls...>{});
    }

    // Each layer's output shape is the next one's input shape.
    Shape output_shape(const Shape& x, Phase phase) const {
        Shape h = x;
        std::apply([&](const auto&... layer) { ((h = within(layer, [&] { return layer_output_shape(layer, h, phase); })), ...); },
                   layers_);
        return h;
    }

    // The layers' backwards in reverse; the first one's input gradient only when dx is asked for.
    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        constexpr std::size_t N = sizeof...(Ls);
        Tensor<backend> g = dy;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (backward_one<N - 1 - I>(dev, ctx, g, dx != nullptr, grad), ...);
        }(std::make_index_sequence<N>{});
        if (dx) *dx = std::move(g);
    }

    // Children are numbered as in nn.Sequential; a Repeat<N, ...> child takes N numbers.
    template <class V>
    void parameters(V&& visit, const std::string& prefix) { parameters_from(visit, prefix, 0); }

    // Numbers the children from `first` on (Inline<Sequential> continues its parent's numbering).
    template <class V>
    void parameters_from(V&& visit, const std::string& prefix, int first) {
        int index = first;
        std::apply([&](auto&... layer) { (visit_numbered(layer, visit, prefix, index), ...); }, layers_);
    }

    // How many numbers the children take together.
    int children_span() const {
        return std::apply([](const auto&... layer) { return (index_span_of(layer) + ...); }, layers_);
    }

    template <std::size_t I>
    auto& get() { return std::get<I>(layers_); }
    static constexpr std::size_t size() { return sizeof...(Ls); }

private:
    // g: layer I's output gradient in, its input gradient out.
    template <std::size_t I>
    void backward_one(backend& dev, Context& ctx, Tensor<backend>& g, bool want_dx, Grad grad) {
        Tensor<backend> next;
        auto& layer = std::get<I>(layers_);
        add_tap_gradient(dev, layer, g);
        within(layer, [&] { layer.backward(dev, std::get<I>(ctx), g, I > 0 || want_dx ? &next : nullptr, grad); });
        g = std::move(next);
    }

    std::tuple<Ls...> layers_;
};

}  // namespace cyclegan

namespace cyclegan {

// A Sequential whose elements sit directly in the parent's numbering, as a Python list spliced
// into an nn.Sequential (`sequence += [conv, norm, relu]` in the reference's discriminator).
template <class Seq>
class Inline : public Seq {
public:
    using Seq::Seq;
    explicit Inline(Seq seq) : Seq(std::move(seq)) {}
    int index_span() const { return Seq::children_span(); }
};

}  // namespace cyclegan
