// Each CASE_ composes something wrong; tests/CMakeLists.txt checks that the compiler's first
// error is the sentence that says what is missing (compile_fail/first_error.cmake).
#include <cyclegan/core/network.hpp>
#include <cyclegan/compose/sequential.hpp>
#include <cyclegan/layers/activations.hpp>
#include <cyclegan/layers/conv2d.hpp>
#if !defined(CASE_missing_kernels)
#include <cyclegan/cyclegan.hpp>
#else
#include <cyclegan/backend/cpu/cpu.hpp>  // the backend type, but not its kernels
#endif
#if defined(CASE_checkpoint_not_a_model)
#include <cyclegan/io/checkpoint.hpp>
#endif
#if defined(CASE_translator_own_generator)
#include <cyclegan/translator.hpp>
#endif

using namespace cyclegan;

struct NoBackend {};
struct NoContext {
    using backend = cpu;
};

// A layer of every part but its shape rule.
struct NoOutputShape {
    using backend = cpu;
    struct Context {};
    Tensor<cpu> forward(cpu&, const Tensor<cpu>& x, Context&, Phase) { return x; }
    void backward(cpu&, Context&, const Tensor<cpu>&, Tensor<cpu>*, Grad) {}
};

#if !defined(CASE_missing_kernels)
// Networks for a model, each lacking pieces of the contract (models/model_network.hpp).
using Plain = Sequential<Conv2d<cpu>, Tanh<cpu>>;  // a composition: no Options
struct NoChannels : Plain {
    struct Options {
        int channels = 3;
    };
};
struct NoConstructor : Plain {
    using Options = GeneratorOptions;
};
struct NoOutputNc : Plain {
    struct Options {
        int input_nc = 3;
    };
    explicit NoOutputNc(const Options&) : Plain(Conv2d<cpu>(3, 3, 1), Tanh<cpu>{}) {}
};
struct DiscriminatorNoChannels : Plain {
    struct Options {
        int ndf = 64;
    };
    explicit DiscriminatorNoChannels(const Options&) : Plain(Conv2d<cpu>(3, 1, 1), Tanh<cpu>{}) {}
};
struct OwnNoChannels : Plain {
    struct Options {
        int channels = 3;
    };
    explicit OwnNoChannels(const Options&) : Plain(Conv2d<cpu>(3, 3, 1), Tanh<cpu>{}) {}
};
Plain not_a_builder = Plain(Conv2d<cpu>(3, 3, 1), Tanh<cpu>{});
#endif

int main() {
    cpu dev;
#if defined(CASE_not_a_layer)
    Sequential<ReLU<cpu>, NoBackend> s;
#elif defined(CASE_no_context)
    Sequential<ReLU<cpu>, NoContext> s;
#elif defined(CASE_mixed_backends)
    Sequential<ReLU<cpu>, ReLU<cpu64>> s;
#elif defined(CASE_bad_gan_loss)
    CycleGAN<ResnetGenerator<cpu, 1>, PatchDiscriminator<cpu, 1>, int> s(dev, {}, {});
#elif defined(CASE_repeat_not_a_layer)
    Repeat<2, NoBackend> s;
#elif defined(CASE_residual_no_context)
    Residual<NoContext> s;
#elif defined(CASE_one_of_mixed_backends)
    OneOf<ReLU<cpu>, ReLU<cpu64>> s(ReLU<cpu>{});
#elif defined(CASE_network_not_a_layer)
    Network<NoContext> s(dev, NoContext{});
#elif defined(CASE_any_layer_other_backend)
    AnyLayer<cpu> s = ReLU<cpu64>{};
#elif defined(CASE_any_layer_not_a_layer)
    AnyLayer<cpu> s = NoContext{};
#elif defined(CASE_checkpoint_not_a_model)
    NoContext s;  // names no state: no for_each_network, ...
    save_checkpoint("model.safetensors", s, {});
#elif defined(CASE_no_output_shape)
    Sequential<ReLU<cpu>, NoOutputShape> s;
#elif defined(CASE_generator_plain_sequential)
    CycleGAN<Plain, PatchDiscriminator<cpu, 1>> s(dev, {}, {});
#elif defined(CASE_generator_options_without_channels)
    CycleGAN<NoChannels, PatchDiscriminator<cpu, 1>> s(dev, {}, {});
#elif defined(CASE_generator_options_without_output_nc)
    CycleGAN<NoOutputNc, PatchDiscriminator<cpu, 1>> s(dev, {}, {});
#elif defined(CASE_generator_no_constructor)
    CycleGAN<NoConstructor, PatchDiscriminator<cpu, 1>> s(dev, {}, {});
#elif defined(CASE_discriminator_options_without_channels)
    CycleGAN<ResnetGenerator<cpu, 1>, DiscriminatorNoChannels> s(dev, {}, {});
#elif defined(CASE_translator_own_generator)
    auto s = Translator<cpu, OwnNoChannels>::load(dev, "model.safetensors", {});
#elif defined(CASE_built_not_a_builder)
    Built<&not_a_builder> s;
#elif defined(CASE_network_device_of_another_backend)
    cpu64 dev64;
    Network s(dev64, Sequential(Conv2d<cpu>(3, 3, 1), Tanh<cpu>{}));
#elif defined(CASE_cyclegan_device_of_another_backend)
    cpu64 dev64;
    CycleGAN<ResnetGenerator<cpu, 1>, PatchDiscriminator<cpu, 1>> s(dev64, GeneratorOptions{}, DiscriminatorOptions{});
#elif defined(CASE_missing_kernels)
    Network<Conv2d<cpu>> s(dev, Conv2d<cpu>(1, 1, 1));
    auto x = Tensor<cpu>::zeros(dev, Shape{1, 1, 1, 1});
    (void)s(x);
#endif
    (void)s;
    (void)dev;
}
