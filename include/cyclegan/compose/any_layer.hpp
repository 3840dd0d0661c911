#pragma once
// AnyLayer<B>: a layer whose type is chosen at run time (a program's --netG), behind one virtual
// call per network call. Inside, the chosen network is still a flat compile-time composition; the
// erasure sits at the top only, so a program instantiates each architecture once instead of once
// per pairing (4 generators x 6 discriminators would be 24 CycleGAN types).
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"

namespace cyclegan {

template <class B>
class AnyLayer {
    struct ContextBase {
        virtual ~ContextBase() = default;
    };
    using Visitor = std::function<void(const ParamSpec&, Tensor<B>&, Tensor<B>*)>;

    struct Interface {
        virtual ~Interface() = default;
        virtual std::unique_ptr<ContextBase> make_context() const = 0;
        virtual Tensor<B> forward(B&, const Tensor<B>&, ContextBase&, Phase) = 0;
        virtual void backward(B&, ContextBase&, const Tensor<B>&, Tensor<B>*, Grad) = 0;
        virtual void parameters(const Visitor&, const std::string&) = 0;
    };

    template <class L>
    struct Model final : Interface {
        struct Ctx final : ContextBase {
            typename L::Context inner;
        };
        explicit Model(L l) : layer(std::move(l)) {}
        std::unique_ptr<ContextBase> make_context() const override { return std::make_unique<Ctx>(); }
        Tensor<B> forward(B& dev, const Tensor<B>& x, ContextBase& c, Phase p) override {
            return layer.forward(dev, x, static_cast<Ctx&>(c).inner, p);
        }
        void backward(B& dev, ContextBase& c, const Tensor<B>& dy, Tensor<B>* dx, Grad g) override {
            layer.backward(dev, static_cast<Ctx&>(c).inner, dy, dx, g);
        }
        void parameters(const Visitor& v, const std::string& prefix) override {
            if constexpr (ParametricLayer<L>) layer.parameters(v, prefix);
        }
        L layer;
    };

public:
    using backend = B;
    struct Context {
        std::unique_ptr<ContextBase> impl;
    };

    // Any layer of backend B; anything else is refused with a sentence saying what it lacks.
    template <class L>
        requires(!std::same_as<std::remove_cvref_t<L>, AnyLayer>)
    AnyLayer(L layer) : impl_(erase(std::move(layer))) {}  // NOLINT: implicit

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        ctx.impl = impl_->make_context();
        return impl_->forward(dev, x, *ctx.impl, phase);
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        if (!ctx.impl) throw std::logic_error("AnyLayer: backward without a forward (or twice on one context)");
        impl_->backward(dev, *ctx.impl, dy, dx, grad);
        ctx.impl.reset();
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        impl_->parameters(Visitor([&](const ParamSpec& s, Tensor<B>& value, Tensor<B>* grad) { visit(s, value, grad); }), prefix);
    }

private:
    template <class L>
    static std::unique_ptr<Interface> erase(L layer) {
        static_assert(check_layer<L>());  // a non-layer: check_layer's sentence is the first error
        static_assert(std::same_as<typename L::backend, B>, "AnyLayer: the layer runs on another backend");
        return std::make_unique<Model<L>>(std::move(layer));
    }

    std::unique_ptr<Interface> impl_;
};

}  // namespace cyclegan
