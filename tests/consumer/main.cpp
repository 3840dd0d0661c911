// A program outside the project that uses the installed library: composes a network, and loads a
// saved generator of each kind through Translator to translate odd-sized grey and colour images.
#include <cyclegan/cyclegan.hpp>
#include <cyclegan/translator.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

using namespace cyclegan;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
    if (!ok) {
        std::printf("consumer: WRONG: %s\n", what.c_str());
        ++failures;
    }
}

Image pattern(int w, int h, int channels) {
    Image img(w, h, channels);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 31 % 256);
    return img;
}

}  // namespace

int main() {
    cpu dev;
    using Net = Sequential<Conv2d<cpu>, ReLU<cpu>>;
    Network<Net> net(dev, Net(Conv2d<cpu>(3, 2, 3, {.padding = 1}), ReLU<cpu>{}), "model");
    const auto y = net(Tensor<cpu>::full(dev, Shape{1, 3, 4, 4}, 1.0f));
    expect(y.shape() == Shape{1, 2, 4, 4} && net.named_tensors().size() == 2 &&
               net.named_tensors()[0].spec.name == "model.0.weight",
           "a composed network's output and names");

    const auto dir = std::filesystem::temp_directory_path() / ("cyclegan_consumer_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    int translated = 0;
    for (const auto& netG : generator_names()) {
        // Grey in, colour out: each generator saved alone (with its record), then loaded by name.
        const AnyGeneratorOptions options{{.input_nc = 1, .output_nc = 3, .ngf = 2}, netG};
        Network<AnyGenerator<cpu>> g(dev, AnyGenerator<cpu>(options), AnyGenerator<cpu>::prefix_of(netG));
        const auto file = dir / (netG + ".safetensors");
        save_network(file, g);
        g.eval();
        auto translator = Translator<cpu>::load(dev, file);
        for (const auto& [w, h] : {std::pair{1, 1}, {7, 5}, {257, 131}})
            for (const int channels : {1, 3}) {
                const Image in = pattern(w, h, channels);
                const Image out = translator(in);
                const std::string what = netG + " on " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(channels);
                expect(out.width == w && out.height == h && out.channels == 3, what + ": output size");
                expect(out == translate_image(g, dev, convert_channels(in, 1), g.net().size_rule()), what + ": output values");
                ++translated;
            }
    }
    std::filesystem::remove_all(dir);
    std::printf("consumer: composed a network; translated %d images with %zu generator kinds: %s\n", translated,
                generator_names().size(), failures ? "WRONG" : "ok");
    return failures ? 1 : 0;
}
