#pragma once
// A trained generator as a function from images to images, for applications:
//
//   cyclegan::cpu dev;
//   auto horse2zebra = cyclegan::Translator<cyclegan::cpu>::load(dev, "horse2zebra.safetensors",
//                                                                 cyclegan::Direction::AtoB);
//   cyclegan::Image zebra = horse2zebra(cyclegan::read_image("horse.jpg", 3));  // any size, any channels
//
// The architecture comes from the file (what cyclegan-train and tools/convert_reference.py record),
// so any generator the programs train loads: resnet_6blocks / resnet_9blocks / unet_128 / unet_256,
// any ngf, norm, channel count, dropout, upsampling.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "io/checkpoint.hpp"
#include "io/image.hpp"
#include "io/image_tensor.hpp"
#include "models/any_model.hpp"

namespace cyclegan {

// Which generator of a CycleGAN: G_A (A to B) or G_B (B to A).
enum class Direction { AtoB, BtoA };

// "AtoB" or "BtoA"; throws std::invalid_argument naming the valid ones.
inline Direction parse_direction(const std::string& s) {
    if (s == "AtoB") return Direction::AtoB;
    if (s == "BtoA") return Direction::BtoA;
    throw std::invalid_argument("unknown direction '" + s + "' (AtoB, BtoA)");
}

// Images of any channels (1, 3 or 4) as `channels`: grey replicated, colour to grey by luminance
// (as read_image), alpha dropped or made opaque.
inline Image convert_channels(const Image& img, int channels) {
    if (img.channels == channels) return img;
    std::vector<std::uint8_t> rgba(static_cast<std::size_t>(img.width) * img.height * 4, 255);
    for (std::size_t i = 0; i < rgba.size() / 4; ++i) {
        const std::uint8_t* p = &img.pixels[i * img.channels];
        for (int c = 0; c < 3; ++c) rgba[4 * i + c] = p[img.channels == 1 ? 0 : c];
        if (img.channels == 4) rgba[4 * i + 3] = p[3];
    }
    return image_detail::from_rgba(rgba.data(), img.width, img.height, channels);
}

// One generator of a saved CycleGAN (a training checkpoint, or a converted reference model).
// Calls may come from several threads: they take turns (one device's caches are not shared
// safely), so results equal serial calls; for throughput on many cores, load one per thread.
template <class B>
class Translator {
public:
    // Reads the architecture and only the chosen generator's tensors from `path`. Throws
    // std::runtime_error / std::invalid_argument / safetensors::format_error naming the file: a
    // missing or truncated file, a file that records no architecture or one the library does not
    // know, tensors of another shape.
    static Translator load(B& dev, const std::filesystem::path& path, Direction direction) {
        auto file = safetensors::LazyFile::open(path);
        std::map<std::string, std::string> record;
        for (const auto& [key, value] : file.metadata())
            if (key.rfind("info.", 0) == 0) record[key.substr(5)] = value;
        AnyGeneratorOptions options = generator_options_from_record(record, path.string());
        if (direction == Direction::BtoA) std::swap(options.input_nc, options.output_nc);
        return Translator(dev, file, options, direction == Direction::AtoB ? "G_A." : "G_B.");
    }

    // The image translated, at its own size (any size of at least 1x1), with the generator's
    // output channels. Its channels are first converted to the generator's input channels.
    Image operator()(const Image& img) {
        if (img.width < 1 || img.height < 1 || img.channels < 1 || img.channels > 4 ||
            img.pixels.size() != static_cast<std::size_t>(img.width) * img.height * img.channels)
            throw std::invalid_argument("Translator: not an image: " + std::to_string(img.width) + "x" +
                                        std::to_string(img.height) + "x" + std::to_string(img.channels) + " with " +
                                        std::to_string(img.pixels.size()) + " bytes");
        const Image input = convert_channels(img, options_.input_nc);
        std::lock_guard<std::mutex> turn(*mutex_);
        return translate_image(net_, *dev_, input, sizes_);
    }

    // A batch [N, input channels, H, W] in [-1, 1] with sides the generator takes (size_rule()),
    // to its output [N, output channels, H, W]; throws shape_error naming the shape otherwise.
    Tensor<B> operator()(const Tensor<B>& x) {
        const Shape s = x.shape();
        if (s.c != options_.input_nc || !sizes_.takes(s.h, s.w) || s.n < 1)
            throw shape_error("Translator: expected [N, " + std::to_string(options_.input_nc) + ", H, W] with " +
                              sizes_.describe() + ", got " + to_string(s));
        std::lock_guard<std::mutex> turn(*mutex_);
        return net_(x);
    }

    int input_channels() const { return options_.input_nc; }
    int output_channels() const { return options_.output_nc; }
    SizeRule size_rule() const { return sizes_; }
    const AnyGeneratorOptions& options() const { return options_; }

private:
    Translator(B& dev, safetensors::LazyFile& file, const AnyGeneratorOptions& options, const std::string& prefix)
        : dev_(&dev), options_(options), sizes_(AnyGenerator<B>::size_rule_of(options.netG)),
          net_(dev, AnyGenerator<B>(options), AnyGenerator<B>::prefix_of(options.netG)),
          mutex_(std::make_unique<std::mutex>()) {
        load_network(file, net_, prefix);
        net_.eval();
    }

    B* dev_;
    AnyGeneratorOptions options_;
    SizeRule sizes_;
    Network<AnyGenerator<B>> net_;
    std::unique_ptr<std::mutex> mutex_;  // a Translator can be moved
};

}  // namespace cyclegan
