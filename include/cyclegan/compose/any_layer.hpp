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
#include "../core/shape_walk.hpp"
#include "naming.hpp"

namespace cyclegan {

template <class B>
class AnyLayer {
    struct ContextBase {
        virtual ~ContextBase() = default;
    };
    // A parameter visitor behind one type: its tensors and, when it wants them, its layers' paths.
    struct Visitor {
        std::function<void(const ParamSpec&, Tensor<B>&, Tensor<B>*)> tensor;
        std::function<void(LayerId, const std::string&)> layer_path;
        void operator()(const ParamSpec& s, Tensor<B>& value, Tensor<B>* grad) const { tensor(s, value, grad); }
        void layer(LayerId id, const std::string& path) const {
            if (layer_path) layer_path(id, path);
        }
    };

    struct Interface {
        virtual ~Interface() = default;
        virtual std::unique_ptr<ContextBase> make_context() const = 0;
        virtual Tensor<B> forward(B&, const Tensor<B>&, ContextBase&, Phase) = 0;
        virtual void backward(B&, ContextBase&, const Tensor<B>&, Tensor<B>*, Grad) = 0;
        virtual void parameters(const Visitor&, const std::string&) = 0;
        virtual Shape output_shape(const Shape&, Phase) const = 0;
    };

    template <class L>
    struct Model final : Interface {
        struct Ctx final : ContextBase {
            typename L::Context inner;
        };
        explicit Model(L l) : layer(std::move(l)) {}
        std::unique_ptr<ContextBase> make_context() const override { return std::make_unique<Ctx>(); }
        Tensor<B> forward(B& dev, const Tensor<B>& x, ContextBase& c, Phase p) override {
            return within(layer, [&] { return layer.forward(dev, x, static_cast<Ctx&>(c).inner, p); });
        }
        void backward(B& dev, ContextBase& c, const Tensor<B>& dy, Tensor<B>* dx, Grad g) override {
            within(layer, [&] { layer.backward(dev, static_cast<Ctx&>(c).inner, dy, dx, g); });
        }
        void parameters(const Visitor& v, const std::string& prefix) override { visit_child(layer, v, prefix); }
        Shape output_shape(const Shape& x, Phase phase) const override {
            return within(layer, [&] { return layer_output_shape(layer, x, phase); });
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
        Visitor erased{[&](const ParamSpec& s, Tensor<B>& value, Tensor<B>* grad) { visit(s, value, grad); }, {}};
        if constexpr (requires(LayerId id) { visit.layer(id, prefix); })
            erased.layer_path = [&](LayerId id, const std::string& path) { visit.layer(id, path); };
        impl_->parameters(erased, prefix);
    }

    Shape output_shape(const Shape& x, Phase phase) const { return impl_->output_shape(x, phase); }

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
