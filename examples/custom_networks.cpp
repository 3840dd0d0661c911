// docs/custom-networks.md's example, whole: a generator and a discriminator of one's own, trained as
// a CycleGAN, saved, loaded and translated. ctest builds and runs it (custom_networks_example), and
// checks that every piece of code the page shows is in this file, so the page cannot drift from it.
//
//   cyclegan-custom-networks [folder for the files, default: a temporary one]
#include <cyclegan/io.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using namespace cyclegan;

// [generator]
// A generator: 7x7 in, three residual blocks, 7x7 out. The options are the library's
// GeneratorOptions (input_nc, output_nc, ngf, ...); any struct with int input_nc and output_nc will do.
template <class B>
auto my_generator(const GeneratorOptions& o) {
    const int c = o.ngf;
    auto block = [&] {  // y = x + f(x), f keeping the shape
        return Residual(Sequential(ReflectionPad2d<B>(1), Conv2d<B>(c, c, 3), InstanceNorm2d<B>(c), LeakyReLU<B>(0.2),
                                   Conv2d<B>(c, c, 1), InstanceNorm2d<B>(c)),
                        "conv_block");
    };
    return Sequential(ReflectionPad2d<B>(3), Conv2d<B>(o.input_nc, c, 7), InstanceNorm2d<B>(c), ReLU<B>{},  //
                      block(), block(), block(),                                                           //
                      ReflectionPad2d<B>(3), Conv2d<B>(c, o.output_nc, 7), Tanh<B>{});
}
// [generator]

// [discriminator]
// A 2-layer PatchGAN: one logit per overlapping patch.
template <class B>
auto my_discriminator(const DiscriminatorOptions& o) {
    const int c = o.ndf;
    return Sequential(Conv2d<B>(o.input_nc, c, 4, {.stride = 2, .padding = 1}), LeakyReLU<B>(0.2),
                      Conv2d<B>(c, 2 * c, 4, {.stride = 2, .padding = 1}), InstanceNorm2d<B>(2 * c), LeakyReLU<B>(0.2),
                      Conv2d<B>(2 * c, 1, 4, {.padding = 1}));
}
// [discriminator]

// [model]
using MyGenerator = Built<my_generator<cpu>>;
using MyDiscriminator = Built<my_discriminator<cpu>>;
using Model = CycleGAN<MyGenerator, MyDiscriminator, LSGAN, Adam>;
// [model]

namespace {

int failures = 0;
void expect(bool ok, const std::string& what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
    if (!ok) ++failures;
}

bool same_weights(Network<MyGenerator>& a, Network<MyGenerator>& b) {
    return a.parameters().to_host(a.device()) == b.parameters().to_host(b.device());
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "cyclegan-custom-networks";
    fs::create_directories(dir);

    // [train]
    cpu dev;
    const GeneratorOptions g{.input_nc = 3, .output_nc = 3, .ngf = 8};
    const DiscriminatorOptions d{.input_nc = 3, .ndf = 8};
    Model model(dev, g, d, {.init = {.seed = 1}, .seed = 1}, {.lr = 1e-3});
    std::printf("the model takes %s\n", model.size_rule().describe().c_str());

    demo::ShapesDataset data{.size = 32};
    CycleGANLosses first, last;
    for (int step = 0; step < 20; ++step) {
        last = model.train_step(data.batch(dev, 1, false), data.batch(dev, 1, true));
        if (step == 0) first = last;
    }
    // [train]
    bool finite = true;
    for (double v : last.values()) finite = finite && std::isfinite(v);
    expect(finite, "20 training steps give finite losses");
    expect(last.cycle_A < first.cycle_A && last.cycle_B < first.cycle_B, "the cycle losses fell");
    expect(model.size_rule() == SizeRule{1, 8}, "the size rule is derived from the layers: sides of at least 8");

    // [checkpoint]
    save_checkpoint(dir / "model.safetensors", model, TrainingProgress{.epoch = 2});
    Model resumed(dev, g, d);
    const TrainingProgress progress = load_checkpoint(dir / "model.safetensors", resumed);
    // [checkpoint]
    expect(progress.epoch == 2 && same_weights(resumed.G_A, model.G_A), "a checkpoint restores the model and its progress");

    // [network]
    save_network(dir / "G_A.safetensors", model.G_A);
    Network<MyGenerator> G(dev, MyGenerator(g), "");
    load_network(dir / "G_A.safetensors", G);
    G.eval();
    // [network]
    expect(same_weights(G, model.G_A), "save_network and load_network carry one network");

    // [translate]
    const Image horse = tensor_to_image(dev, data.batch(dev, 1, false));
    const Image zebra = translate_image(G, dev, horse, derive_size_rule(G.net(), Output::same_size));

    auto translator = Translator<cpu, MyGenerator>::load(dev, dir / "model.safetensors", g, Direction::AtoB);
    const Image zebra_too = translator(horse);
    // [translate]
    expect(zebra == zebra_too, "translate_image and the Translator give the same image");
    const Image odd(37, 29, 3, 100);
    expect(translator(odd).width == 37 && translator(odd).height == 29, "any image size translates, at its own size");
    expect(translator(Image(20, 20, 1, 7)).channels == 3, "a grayscale image is converted to the generator's channels");

    // [errors]
    try {  // the discriminator's second conv takes 8 channels, the first gives 6: refused when built
        Network wrong(dev, Sequential(Conv2d<cpu>(3, 6, 4, {.stride = 2, .padding = 1}), LeakyReLU<cpu>(0.2),
                                      Conv2d<cpu>(8, 1, 4, {.padding = 1})),
                      "model");
    } catch (const shape_error& e) {
        std::printf("%s\n", e.what());  // Conv2d at model.2: expected 8 input channels, got input of shape [1, 6, 128, 128]; ...
    }
    try {  // 6x6 images: the model says which sides it takes, and the nearest that would do
        model.train_step(Tensor<cpu>::zeros(dev, {1, 3, 6, 6}), Tensor<cpu>::zeros(dev, {1, 3, 6, 6}));
    } catch (const shape_error& e) {
        std::printf("%s\n", e.what());  // CycleGAN::train_step: real_A is [1, 3, 6, 6], but ... (height 6: 8; width 6: 8; ...)
    }
    // [errors]
    try {
        model.train_step(Tensor<cpu>::zeros(dev, {1, 3, 6, 6}), Tensor<cpu>::zeros(dev, {1, 3, 6, 6}));
        expect(false, "train_step refuses sides the networks cannot take");
    } catch (const shape_error& e) {
        expect(std::string(e.what()).find("(height 6: 8; width 6: 8;") != std::string::npos,
               "train_step refuses sides the networks cannot take, naming the sides that would do");
    }
    try {
        Network wrong(dev, Sequential(Conv2d<cpu>(3, 6, 4), Conv2d<cpu>(8, 1, 4)), "model");
        expect(false, "a composition whose channels do not chain is refused when built");
    } catch (const shape_error& e) {
        expect(std::string(e.what()).starts_with("Conv2d at model.1: expected 8 input channels") && e.path() == "model.1",
               "a composition whose channels do not chain is refused when built, naming the layer's path");
    }
    return failures == 0 ? 0 : 1;
}
