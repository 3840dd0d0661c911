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

using namespace cyclegan;

struct NoBackend {};
struct NoContext {
    using backend = cpu;
};

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
#elif defined(CASE_missing_kernels)
    Network<Conv2d<cpu>> s(dev, Conv2d<cpu>(1, 1, 1));
    auto x = Tensor<cpu>::zeros(dev, Shape{1, 1, 1, 1});
    (void)s(x);
#endif
    (void)s;
    (void)dev;
}
