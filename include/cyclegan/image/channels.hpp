#pragma once
// Channel conversion: grey, grey + alpha, RGB and RGBA into one another, alpha added or asked about.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "image.hpp"

namespace cyclegan {

// Whether an image has an alpha channel (2 or 4 channels) that is below 255 anywhere.
inline bool has_transparency(const Image& img) {
    if (img.channels != 2 && img.channels != 4) return false;
    for (std::size_t i = static_cast<std::size_t>(img.channels) - 1; i < img.pixels.size(); i += img.channels)
        if (img.pixels[i] != 255) return true;
    return false;
}

// An image of 1 to 4 channels (grey, grey + alpha, RGB, RGBA) as `channels` of them: grey is
// replicated, colour becomes grey by stb's luminance (77 R + 150 G + 29 B) / 256 (as read_image),
// alpha is kept, dropped, or made opaque. Throws std::invalid_argument for a channel count
// outside 1 to 4 or an image that is not one (check_image).
inline Image convert_channels(const Image& img, int channels) {
    check_image(img, "convert_channels");
    if (channels < 1 || channels > 4)
        throw std::invalid_argument("convert_channels: " + std::to_string(channels) + " channels (1 to 4)");
    if (img.channels == channels) return img;
    Image out(img.width, img.height, channels);
    const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = &img.pixels[i * img.channels];
        const bool colour = img.channels >= 3;
        const std::uint8_t r = p[0], g = colour ? p[1] : p[0], b = colour ? p[2] : p[0];
        const std::uint8_t a = img.channels % 2 == 0 ? p[img.channels - 1] : 255;
        std::uint8_t* q = &out.pixels[i * channels];
        if (channels <= 2) {
            q[0] = colour ? static_cast<std::uint8_t>((r * 77 + g * 150 + b * 29) >> 8) : r;
        } else {
            q[0] = r, q[1] = g, q[2] = b;
        }
        if (channels % 2 == 0) q[channels - 1] = a;
    }
    return out;
}

// `img` (1 or 3 channels) with the alpha channel of `alpha_source` (2 or 4 channels, same size)
// added: 2 or 4 channels. Throws std::invalid_argument otherwise.
inline Image with_alpha(const Image& img, const Image& alpha_source) {
    check_image(img, "with_alpha");
    check_image(alpha_source, "with_alpha");
    if (img.channels % 2 == 0 || alpha_source.channels % 2 == 1 || img.width != alpha_source.width ||
        img.height != alpha_source.height)
        throw std::invalid_argument("with_alpha: cannot add the alpha of a " +
                                    image_detail::size_text(alpha_source.width, alpha_source.height, alpha_source.channels) +
                                    " image to a " + image_detail::size_text(img.width, img.height, img.channels) + " one");
    Image out(img.width, img.height, img.channels + 1);
    const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
    for (std::size_t i = 0; i < n; ++i) {
        for (int c = 0; c < img.channels; ++c) out.pixels[i * out.channels + c] = img.pixels[i * img.channels + c];
        out.pixels[i * out.channels + img.channels] = alpha_source.pixels[(i + 1) * alpha_source.channels - 1];
    }
    return out;
}

}  // namespace cyclegan
