#pragma once
// A Network owns a layer tree's parameters: one flat buffer of weights, one of gradients (same
// layout), one of buffers such as running statistics. Each layer's tensors are views into them,
// so an optimizer step is one pass over one buffer and a checkpoint is a list of named slices.
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "concepts.hpp"
#include "init.hpp"
#include "shape_walk.hpp"
#include "taps.hpp"

namespace cyclegan {

// One named tensor of a network: a view of its value and, for trainable ones, of its gradient.
template <class B>
struct NamedTensor {
    ParamSpec spec;
    Tensor<B> value;
    Tensor<B> grad;  // empty for buffers
    std::size_t offset = 0;  // into parameters() or buffers()
};

// PyTorch dims -> our 4-d shape: [o, i, kh, kw] as is, [o] as [o, 1, 1, 1].
inline Shape shape_of_dims(const std::vector<int>& d) {
    Shape s{1, 1, 1, 1};
    int* slots[4] = {&s.n, &s.c, &s.h, &s.w};
    if (d.size() > 4) throw shape_error("parameter with more than 4 dimensions");
    for (std::size_t i = 0; i < d.size(); ++i) *slots[i] = d[i];
    return s;
}

template <class Net>
class Network {
    static_assert(check_layer<Net>(), "Network: the type it wraps must be a Layer");

public:
    using backend = typename Net::backend;
    using B = backend;
    using scalar = typename B::scalar;
    using Context = typename Net::Context;

    // `name` prefixes every parameter name, as a PyTorch attribute would ("model" -> "model.1.weight").
    // Walks the layers' shapes first: a composition that no image fits (channels that do not
    // chain, a residual block that changes the shape, a skip whose join cannot fit) throws
    // shape_error naming the layer by its path, before any memory is given to it.
    Network(B& dev, Net net, std::string name = "", InitOptions init_options = {})
        : dev_(&dev), net_(std::move(net)), name_(std::move(name)) {
        named_errors([&] { check_some_size_fits(net_); });
        bind();
        init(init_options);
    }

    // Layers of one backend on a device of another: a sentence, not "no matching constructor".
    template <class Device>
        requires(!std::derived_from<Device, B>)
    Network(Device& dev, Net net, std::string name = "", InitOptions init_options = {})
        : Network(device_of_backend<B>(dev), std::move(net), std::move(name), init_options) {}

    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;
    Network(Network&&) noexcept = default;
    Network& operator=(Network&&) noexcept = default;

    // Walks x's shape through the layers first (shape_error naming the layer that cannot take it,
    // before any layer has run), then runs them.
    Tensor<B> forward(const Tensor<B>& x, Context& ctx) {
        const Phase phase = training_ ? Phase::train : Phase::eval;
        return named_errors([&] {
            (void)layer_output_shape(net_, x.shape(), phase);
            return net_.forward(*dev_, x, ctx, phase);
        });
    }

    // forward(), also keeping in `taps` the outputs of the layers they name (core/taps.hpp):
    // std::invalid_argument for a path no layer has, std::logic_error for a tapped layer that did
    // not run.
    Tensor<B> forward(const Tensor<B>& x, Context& ctx, Taps<B>& taps) {
        auto layers = layer_paths();
        layers.erase(LayerId::of(net_));  // its output is forward's
        for (std::size_t i = 0; i < taps.size(); ++i)
            if (taps.path(i) == name_)
                throw std::invalid_argument("Taps: '" + printable(name_) + "' is the network itself: forward returns its output");
        taps.bind(layers, name_);
        taps_detail::Activate<B> active(&taps);
        try {
            Tensor<B> y = forward(x, ctx);
            taps.check_recorded();
            return y;
        } catch (...) {
            taps.forget_features();  // none of a failed call's features is read as this one's
            throw;
        }
    }

    // The output shape for input shape x (throws shape_error naming the layer that cannot take it).
    Shape output_shape(const Shape& x) const {
        return named_errors([&] { return layer_output_shape(net_, x, training_ ? Phase::train : Phase::eval); });
    }

    // Adds this call's weight gradients (Grad::accumulate) or skips them (Grad::ignore); writes
    // the input gradient to *dx when dx is given.
    void backward(Context& ctx, const Tensor<B>& dy, Tensor<B>* dx = nullptr,
                  Grad grad = Grad::accumulate) {
        if (dy.empty()) throw std::invalid_argument("Network::backward: empty output gradient");
        if (!dx && grad == Grad::ignore) {  // nothing asked for: just release the activations
            ctx = Context{};
            return;
        }
        named_errors([&] { net_.backward(*dev_, ctx, dy, dx, grad); });
    }

    // backward(), with the gradients set in `taps` (of the forward that filled them) added to
    // their layers' output gradients: the input and weight gradients are those of the loss on the
    // output and on the features together. The gradients are then forgotten. std::logic_error,
    // after the backward, if a gradient's layer was not reached.
    void backward(Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad, Taps<B>& taps) {
        taps.start_backward();
        {
            taps_detail::Activate<B> active(&taps);
            backward(ctx, dy, dx, grad);
        }
        if (dx || grad != Grad::ignore) taps.finish_backward();
    }

    // A forward that no backward will follow: in eval mode each layer's activations are freed as
    // soon as the next layer has run (Phase::inference); in training mode it is forward().
    Tensor<B> operator()(const Tensor<B>& x) {
        Context ctx;
        if (training_) return forward(x, ctx);
        return named_errors([&] {
            (void)layer_output_shape(net_, x.shape(), Phase::inference);
            return net_.forward(*dev_, x, ctx, Phase::inference);
        });
    }

    void train(bool on = true) { training_ = on; }
    void eval() { training_ = false; }
    bool training() const { return training_; }

    void zero_grad() {
        if (!grads_.empty()) dev_->fill(grads_.data(), grads_.numel(), scalar(0));
    }

    // Re-initialises every parameter and buffer, in declaration order, from one seeded stream.
    // Throws std::invalid_argument for a gain out of range (InitOptions::check).
    void init(const InitOptions& o) {
        o.check();
        std::mt19937_64 rng(o.seed);
        for (auto& t : named_) {
            const auto values = initial_values<scalar>(t.spec, o, rng);
            dev_->upload(values.data(), t.value.data(), values.size());
        }
        zero_grad();
    }

    // Trainable parameters, their gradients and the buffers, each as one flat tensor [1, 1, 1, count].
    Tensor<B>& parameters() { return params_; }
    Tensor<B>& gradients() { return grads_; }
    Tensor<B>& buffers() { return buffers_; }
    std::size_t parameter_count() const { return params_.numel(); }

    // Every parameter and buffer in declaration order, with state_dict names.
    const std::vector<NamedTensor<B>>& named_tensors() const { return named_; }

    const NamedTensor<B>& find(const std::string& name) const {
        for (auto& t : named_)
            if (t.spec.name == name) return t;
        throw std::out_of_range("Network: no parameter named '" + printable(name) + "'");
    }

    Net& net() { return net_; }
    const Net& net() const { return net_; }
    B& device() const { return *dev_; }
    const std::string& name() const { return name_; }

    // The parameter path of every layer of the tree that its compositions name (the naming walk
    // of parameters(), which changes nothing here), by layer: what a shape_error's trail is
    // matched against.
    std::map<LayerId, std::string> layer_paths() const {
        struct Paths {
            std::map<LayerId, std::string>* out;
            void operator()(const ParamSpec&, Tensor<B>&, Tensor<B>*) const {}
            void layer(LayerId id, const std::string& path) const { out->emplace(id, path); }
        };
        std::map<LayerId, std::string> paths{{LayerId::of(net_), name_}};
        if constexpr (ParametricLayer<Net>) const_cast<Net&>(net_).parameters(Paths{&paths}, name_);
        return paths;
    }

private:

    // f(), with a shape_error from the layers named by the path of the innermost layer it came
    // from that the tree names ("Conv2d at model.4.conv_block.1: expected 16 input channels, ...");
    // a network without a name adds no path.
    template <class F>
    decltype(auto) named_errors(F&& f) const {
        try {
            return f();
        } catch (const shape_error& e) {
            if (!e.path().empty()) throw;
            const auto paths = layer_paths();
            std::string path = name_;
            for (const LayerId& layer : e.trail())
                if (auto it = paths.find(layer); it != paths.end()) {
                    path = it->second;
                    break;
                }
            if (path.empty()) throw;
            shape_error named(with_path(e.what(), path), e);
            named.set_path(path);
            throw named;
        }
    }

    // "Conv2d: expected ..." at "model.1" -> "Conv2d at model.1: expected ..."; other messages
    // "model.1: ...".
    static std::string with_path(const std::string& message, const std::string& path) {
        const auto colon = message.find(": ");
        if (colon != std::string::npos && colon > 0 && message.find(' ') >= colon)
            return message.substr(0, colon) + " at " + path + message.substr(colon);
        return path + ": " + message;
    }

    // Walk the tree twice: once to size the buffers, once to hand each layer its views.
    void bind() {
        std::size_t n_params = 0, n_buffers = 0;
        auto count = [&](const ParamSpec& spec, Tensor<B>&, Tensor<B>* grad) {
            (grad ? n_params : n_buffers) += spec.numel();
        };
        visit_all(count);
        // One flat tensor each, indexed by int (Shape): larger networks cannot be held.
        for (const std::size_t n : {n_params, n_buffers})
            if (n > std::size_t(std::numeric_limits<int>::max()))
                throw std::length_error("Network '" + name_ + "': " + std::to_string(n) + " values of " +
                                        (n == n_params ? "parameters" : "buffers") + ", more than one tensor holds (" +
                                        std::to_string(std::numeric_limits<int>::max()) + "); use a narrower network");
        if (n_params) {
            params_ = Tensor<B>(*dev_, Shape{1, 1, 1, static_cast<int>(n_params)});
            grads_ = Tensor<B>::zeros(*dev_, params_.shape());
        }
        if (n_buffers) buffers_ = Tensor<B>(*dev_, Shape{1, 1, 1, static_cast<int>(n_buffers)});
        std::size_t p = 0, b = 0;
        auto assign = [&](const ParamSpec& spec, Tensor<B>& value, Tensor<B>* grad) {
            const Shape s = shape_of_dims(spec.dims);
            NamedTensor<B> t{spec, {}, {}, grad ? p : b};
            if (grad) {
                value = slice(params_, p, s);
                *grad = slice(grads_, p, s);
                t.grad = *grad;
                p += spec.numel();
            } else {
                value = slice(buffers_, b, s);
                b += spec.numel();
            }
            t.value = value;
            named_.push_back(std::move(t));
        };
        visit_all(assign);
    }

    template <class V>
    void visit_all(V&& v) {
        if constexpr (ParametricLayer<Net>) net_.parameters(v, name_);
    }

    static Tensor<B> slice(const Tensor<B>& flat, std::size_t offset, Shape s) {
        // Views share the flat buffer's ownership, so they stay valid while any layer holds one.
        return Tensor<B>::view_of(flat.storage(), flat.data() + offset, s);
    }

    B* dev_;
    Net net_;
    std::string name_;
    bool training_ = true;
    Tensor<B> params_, grads_, buffers_;
    std::vector<NamedTensor<B>> named_;
};

}  // namespace cyclegan
