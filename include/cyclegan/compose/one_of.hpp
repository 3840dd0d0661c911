#pragma once
// OneOf<Ls...>: one layer chosen at run time from a fixed list of types, e.g. the norm layer of a
// generator chosen by --norm (InstanceNorm2d, BatchNorm2d or Identity). The choice is made at
// construction; the type, and so the network's type, stays the same.
#include <concepts>
#include <string>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <variant>

#include "../core/concepts.hpp"
#include "../core/shape_walk.hpp"
#include "naming.hpp"
#include "taps.hpp"

namespace cyclegan {

template <class... Ls>
class OneOf {
    static_assert(sizeof...(Ls) > 0, "OneOf: needs at least one layer type");
    static_assert((check_layer<Ls>() && ...), "OneOf: every alternative must be a Layer");
    using First = std::tuple_element_t<0, std::tuple<Ls...>>;

public:
    using backend = typename First::backend;
    using Context = std::variant<typename Ls::Context...>;
    static_assert((std::same_as<typename Ls::backend, backend> && ...),
                  "OneOf: every alternative must use the same backend type");

    template <class L>
        requires(std::same_as<std::remove_cvref_t<L>, Ls> || ...)
    OneOf(L layer) : layer_(std::move(layer)) {}  // NOLINT: implicit, like a variant

    // X: const Tensor& or Tensor&&, passed on as it came (a Sequential's output is given up).
    template <class X>
        requires std::same_as<std::remove_cvref_t<X>, Tensor<backend>>
    Tensor<backend> forward(backend& dev, X&& x, Context& ctx, Phase phase) {
        return std::visit(
            [&]<class L>(L& layer) {
                auto& c = ctx.template emplace<typename L::Context>();
                Tensor<backend> y = within(layer, [&] { return layer.forward(dev, std::forward<X>(x), c, phase); });
                tap_output(layer, y);  // the chosen layer has the OneOf's path
                return y;
            },
            layer_);
    }

    Shape output_shape(const Shape& x, Phase phase) const {
        return std::visit([&](const auto& layer) { return within(layer, [&] { return layer_output_shape(layer, x, phase); }); },
                          layer_);
    }

    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        std::visit(
            [&]<class L>(L& layer) {
                auto* c = std::get_if<typename L::Context>(&ctx);
                if (!c) throw std::logic_error("OneOf: backward with a context from another forward");
                Tensor<backend> g = dy;
                add_tap_gradient(dev, layer, g);
                within(layer, [&] { layer.backward(dev, *c, g, dx, grad); });
            },
            layer_);
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        std::visit([&](auto& layer) { visit_child(layer, visit, prefix); }, layer_);
    }

    // Numbered as the chosen layer would be (an Inline alternative takes several numbers).
    int index_span() const {
        return std::visit([](const auto& layer) { return index_span_of(layer); }, layer_);
    }
    template <class V>
    void parameters_from(V&& visit, const std::string& prefix, int first) {
        std::visit([&](auto& layer) { visit_numbered(layer, visit, prefix, first); }, layer_);
    }

    template <class L>
    bool holds() const { return std::holds_alternative<L>(layer_); }
    std::size_t index() const { return layer_.index(); }

private:
    std::variant<Ls...> layer_;
};

// Optional<L>: a layer that may be absent (the reference leaves the Dropout out of its blocks
// unless use_dropout, and the padding layers out when padding_type is 'zero'). An absent layer
// passes its input through and, like a missing list item, takes no number in a Sequential.
template <class L>
class Optional {
    static_assert(check_layer<L>(), "Optional: the wrapped type must be a Layer");

public:
    using backend = typename L::backend;
    using Context = typename L::Context;

    Optional() = default;  // absent
    Optional(L layer) : layer_(std::move(layer)) {}  // NOLINT: implicit, present
    static Optional absent() { return Optional(); }

    template <class X>
        requires std::same_as<std::remove_cvref_t<X>, Tensor<backend>>
    Tensor<backend> forward(backend& dev, X&& x, Context& ctx, Phase phase) {
        if (!layer_) return Tensor<backend>(std::forward<X>(x));
        Tensor<backend> y = within(*layer_, [&] { return layer_->forward(dev, std::forward<X>(x), ctx, phase); });
        tap_output(*layer_, y);  // the layer has the Optional's path
        return y;
    }

    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        if (!layer_) {
            if (dx) *dx = dy;
            return;
        }
        Tensor<backend> g = dy;
        add_tap_gradient(dev, *layer_, g);
        within(*layer_, [&] { layer_->backward(dev, ctx, g, dx, grad); });
    }

    Shape output_shape(const Shape& x, Phase phase) const {
        return layer_ ? within(*layer_, [&] { return layer_output_shape(*layer_, x, phase); }) : x;
    }

    int index_span() const { return layer_ ? index_span_of(*layer_) : 0; }
    template <class V>
    void parameters_from(V&& visit, const std::string& prefix, int first) {
        if (layer_) visit_numbered(*layer_, visit, prefix, first);
    }
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        if (layer_) visit_child(*layer_, visit, prefix);
    }

    bool present() const { return layer_.has_value(); }

private:
    std::optional<L> layer_;
};

}  // namespace cyclegan
