#pragma once
#include <concepts>
#include <cstddef>
#include <memory>
#include <string>

#include "modes.hpp"
#include "parameters.hpp"
#include "tensor.hpp"

namespace cyclegan {

// A backend owns memory and runs kernels. The memory half is checked here; each layer checks the
// kernels it calls (a backend may support some layers and not others).
template <class B>
concept Backend = requires(B& dev, typename B::scalar* p, const typename B::scalar* cp,
                           std::size_t n, typename B::scalar v) {
    typename B::scalar;
    { dev.allocate(n) } -> std::same_as<std::shared_ptr<typename B::scalar>>;
    dev.fill(p, n, v);
    dev.upload(cp, p, n);    // host -> backend
    dev.download(cp, p, n);  // backend -> host
    dev.copy(cp, p, n);      // backend -> backend
};

// Parts of the Layer concept, one at a time, so that a failed check can say which part is missing.
template <class L>
concept HasBackend = requires { typename L::backend; } && Backend<typename L::backend>;

template <class L>
concept HasContext = requires { typename L::Context; } && std::default_initializable<typename L::Context>;

template <class L>
concept HasForward = HasBackend<L> && HasContext<L> &&
    requires(L& l, typename L::backend& dev, const Tensor<typename L::backend>& x,
             typename L::Context& ctx) {
        { l.forward(dev, x, ctx, Phase::train) } -> std::same_as<Tensor<typename L::backend>>;
    };

template <class L>
concept HasBackward = HasBackend<L> && HasContext<L> &&
    requires(L& l, typename L::backend& dev, typename L::Context& ctx,
             const Tensor<typename L::backend>& dy, Tensor<typename L::backend>* dx) {
        l.backward(dev, ctx, dy, dx, Grad::accumulate);
    };

// Its shape logic: the output shape for an input shape, or shape_error when the layer cannot take
// it (the checks its forward runs, written once). `output_shape(x)`, or `output_shape(x, phase)`
// for a layer whose rule depends on the phase (batch norm on batch statistics; the compositions).
template <class L>
concept HasOutputShape = requires(const L& l, const Shape& x) {
    { l.output_shape(x) } -> std::same_as<Shape>;
} || requires(const L& l, const Shape& x) {
    { l.output_shape(x, Phase::train) } -> std::same_as<Shape>;
};

// A differentiable layer: forward saves what backward needs in a per-call Context that the caller
// holds, so one layer can be applied several times before its backwards run; and it says which
// shapes it takes (output_shape), so that a Network can check a composition before any data.
template <class L>
concept Layer = HasBackend<L> && HasContext<L> && HasForward<L> && HasBackward<L> && HasOutputShape<L>;

// A layer's output shape for input shape x in `phase` (throws shape_error where it cannot take x):
// the one call through which compositions and the shape walk (core/shape_walk.hpp) ask.
template <class L>
Shape layer_output_shape(const L& layer, const Shape& x, Phase phase) {
    if constexpr (requires { layer.output_shape(x, phase); }) return layer.output_shape(x, phase);
    else return layer.output_shape(x);
}

// What a parameter visitor looks like to a layer: it is shown each named tensor with its gradient
// (null for buffers such as running statistics).
template <class B>
struct ParameterVisitorArchetype {
    void operator()(const ParamSpec&, Tensor<B>&, Tensor<B>*) const {}
};

// A layer with weights: it lists them, named in PyTorch's state_dict style under a prefix.
template <class L>
concept ParametricLayer = Layer<L> &&
    requires(L& l, ParameterVisitorArchetype<typename L::backend>& v, const std::string& prefix) {
        l.parameters(v, prefix);
    };

// Called at each composition point: the first part missing prints its own sentence, and only it
// (the later parts depend on the earlier ones, so their failures would say nothing new).
template <class L>
constexpr bool check_layer() {
    if constexpr (!HasBackend<L>)
        static_assert(HasBackend<L>,
                      "cyclegan: this type is not a Layer: it has no `using backend = B;` naming a "
                      "Backend (allocate, fill, upload, download, copy).");
    else if constexpr (!HasContext<L>)
        static_assert(HasContext<L>,
                      "cyclegan: this type is not a Layer: it has no default-constructible nested "
                      "`Context` type holding what forward saves for backward.");
    else if constexpr (!HasForward<L>)
        static_assert(HasForward<L>,
                      "cyclegan: this type is not a Layer: it has no `Tensor<B> forward(B&, const "
                      "Tensor<B>&, Context&, Phase)`.");
    else if constexpr (!HasBackward<L>)
        static_assert(HasBackward<L>,
                      "cyclegan: this type is not a Layer: it has no `void backward(B&, Context&, const "
                      "Tensor<B>& dy, Tensor<B>* dx, Grad)`.");
    else
        static_assert(HasOutputShape<L>,
                      "cyclegan: this type is not a Layer: it has no `Shape output_shape(const Shape& x) const` "
                      "giving its output shape for input shape x (throwing shape_error where it cannot take x).");
    return true;  // the sentence above is the error; a second one naming the composition adds nothing
}

// The device of backend B that a network or model was given as `dev`: a sentence, not "no matching
// constructor", when layers built for one backend are handed a device of another.
template <class B, class Device>
B& device_of_backend(Device& dev) {
    static_assert(std::derived_from<Device, B>,
                  "cyclegan: the device is not of the layers' backend: layers built for one backend (Conv2d<cpu>, "
                  "float) run on a device of that backend (cyclegan::cpu), and for double precision build them for "
                  "cpu64 (Conv2d<cpu64>, ResnetGenerator<cpu64, 9>)");
    return reinterpret_cast<B&>(dev);  // not reached: the assertion has failed
}

}  // namespace cyclegan
