// The library's main job on built-in data: a CycleGAN learns, from unpaired examples, to turn
// scenes of red and yellow shapes (domain A) into the same kind of scene in blue and cyan
// (domain B). The true mapping is known (red and blue channels swapped), so the program can say
// how close the translation gets, against the error of leaving the image unchanged.
//
//   cyclegan-shapes-demo [steps=1500] [threads=0]
#include <cyclegan/cyclegan.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

using namespace cyclegan;

// Argument i as a number in `range`, or `fallback` when it is not given; throws
// std::invalid_argument naming the argument and the range, as the library's checks do.
static int argument(int argc, char** argv, int i, const char* name, int fallback, const OptionRange& range) {
    if (argc <= i) return fallback;
    char* end = nullptr;
    const double v = std::strtod(argv[i], &end);
    if (*argv[i] == '\0' || *end != '\0')
        throw std::invalid_argument(std::string(name) + " '" + argv[i] + "' is not a number: it must be " + range.describe());
    check_option("cyclegan-shapes-demo", name, v, range);
    return static_cast<int>(v);
}

// A variant of the paper's model is one alias: a 2-block generator, a 2-layer PatchGAN.
using Model = CycleGAN<ResnetGenerator<cpu, 2>, PatchDiscriminator<cpu, 2>, LSGAN, Adam>;

int main(int argc, char** argv) {
    int steps = 0, threads = 0;
    try {
        steps = argument(argc, argv, 1, "steps", 1500, {.min = 1, .max = 1e9, .integer = true});
        threads = argument(argc, argv, 2, "threads", 0, cpu::threads_range);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\nusage: %s [steps=1500] [threads=0]\n", e.what(), argv[0]);
        return 2;
    }
    cpu dev(threads);
    const int size = 32;

    Model model(dev, {.ngf = 8}, {.ndf = 8}, {.init = {.seed = 4}, .seed = 4}, {.lr = 1e-3});
    std::printf("CycleGAN: G %zu parameters each, D %zu each, %d threads\n", model.G_A.parameter_count(),
                model.D_A.parameter_count(), dev.threads());

    demo::ShapesDataset train{.size = size, .rng = std::mt19937(1)}, test{.size = size, .rng = std::mt19937(99)};
    std::vector<std::vector<float>> held_out;
    for (int i = 0; i < 16; ++i) held_out.push_back(test.scene_A());
    auto translation_error = [&] {  // mean |G_A(a) - true b| and mean |a - true b|
        double model_error = 0, unchanged_error = 0, n = 0;
        for (const auto& a : held_out) {
            const auto b = test.to_B(a);
            const auto y = model.translate_AtoB(Tensor<cpu>::from_host(dev, {1, 3, size, size}, a)).to_host(dev);
            for (std::size_t i = 0; i < a.size(); ++i, ++n) {
                model_error += std::abs(y[i] - b[i]);
                unchanged_error += std::abs(a[i] - b[i]);
            }
        }
        return std::pair{model_error / n, unchanged_error / n};
    };

    const auto start = std::chrono::steady_clock::now();
    for (int step = 1; step <= steps; ++step) {
        const auto losses = model.train_step(train.batch(dev, 1, false), train.batch(dev, 1, true));
        if (step % 250 == 0 || step == steps) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("step %5d  %6.1f it/s ", step, step / s);
            const auto v = losses.values();
            for (std::size_t k = 0; k < v.size(); ++k) std::printf(" %s %.3f", CycleGANLosses::names[k], v[k]);
            std::printf("\n");
        }
    }
    const auto [error, unchanged] = translation_error();
    std::printf("A->B on 16 held-out scenes: mean error %.4f, against %.4f for leaving them unchanged (%.0f%%)\n",
                error, unchanged, 100 * error / unchanged);
    return error < unchanged ? 0 : 1;
}
