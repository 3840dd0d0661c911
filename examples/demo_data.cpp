// cyclegan-demo-data: writes the built-in demo dataset, an unpaired pair of image folders in the
// reference's layout (trainA, trainB, testA, testB). Domain A shows red and yellow shapes,
// domain B the same kind of scene in blue and cyan; the two folders are drawn independently.
//
//   cyclegan-demo-data --out datasets/shapes
#include <CLI/CLI.hpp>

#include <cyclegan/data/shapes.hpp>
#include <cyclegan/image/chw.hpp>
#include <cyclegan/image/file.hpp>

#include "program_options.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    std::string out = "datasets/shapes";
    int train = 100, test = 8, size = 64;
    std::uint32_t seed = 1;
    CLI::App app{"Write the built-in unpaired demo dataset (shapes in two colour styles)."};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --x overrides an earlier one
    app.add_option("--out", out, "dataset folder to create")->capture_default_str();
    app.add_option("--train", train, "training images per domain")->check(in_range(positive_count_range))->capture_default_str();
    app.add_option("--test", test, "test images per domain")->check(in_range(positive_count_range))->capture_default_str();
    app.add_option("--size", size, "image side in pixels")
        ->check(in_range(cyclegan::OptionRange{.min = 8, .max = 1024, .integer = true}))->capture_default_str();
    app.add_option("--seed", seed, "random seed")
        ->check(in_range(cyclegan::OptionRange{.min = 0, .max = 4294967295.0, .integer = true}))->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        cyclegan::demo::ShapesDataset scenes{.size = size, .rng = std::mt19937(seed)};
        for (const char* phase : {"train", "test"}) {
            const int count = std::string(phase) == "train" ? train : test;
            for (const char* domain : {"A", "B"}) {
                const fs::path dir = fs::path(out) / (std::string(phase) + domain);
                fs::create_directories(dir);
                for (int i = 0; i < count; ++i) {
                    const auto a = scenes.scene_A();  // a fresh scene for each image: unpaired
                    const auto chw = std::string(domain) == "A" ? a : scenes.to_B(a);
                    char file[32];
                    std::snprintf(file, sizeof file, "%04d.png", i);
                    cyclegan::write_image(dir / file, cyclegan::from_chw(chw, 3, size, size));
                }
            }
        }
        std::printf("wrote %d + %d images per domain (%dx%d) to %s\n", train, test, size, size, cyclegan::printable(out).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", cyclegan::printable_error(e).c_str());
        return 1;
    }
    return 0;
}
