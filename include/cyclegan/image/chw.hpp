#pragma once
// 8-bit HWC images and the [-1, 1] CHW floats the networks take, both ways.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "image.hpp"

namespace cyclegan {

// HWC bytes to CHW floats in [-1, 1] (x / 127.5 - 1), as the reference's ToTensor + Normalize(0.5, 0.5).
inline std::vector<float> to_chw(const Image& img) {
    const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
    std::vector<float> out(plane * img.channels);
    for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < img.channels; ++c)
            out[c * plane + i] = static_cast<float>(img.pixels[i * img.channels + c]) / 127.5f - 1.0f;
    return out;
}

// CHW floats in [-1, 1] back to 8-bit HWC: (x + 1) / 2 * 255, clamped to [0, 255], rounded to the
// nearest integer. The reference's tensor2im truncates (astype(uint8)); rounding is used here
// because truncation darkens every pixel by half a level on average and maps some pixels to the
// level below their own (2.9999998 -> 2), so to_chw then from_chw would not give back the image.
// NaN becomes 0. The values are a sized buffer (a vector, a span), so that a buffer of another size
// than channels x height x width throws std::invalid_argument instead of being read as if it fit.
inline Image from_chw(std::span<const float> chw, int channels, int height, int width) {
    if (channels < 1 || channels > 4 || height <= 0 || width <= 0)
        throw std::invalid_argument("from_chw: cannot make an image of " + std::to_string(channels) + " channels, " +
                                    std::to_string(height) + "x" + std::to_string(width));
    if (chw.size() != static_cast<std::size_t>(channels) * height * width)
        throw std::invalid_argument("from_chw: " + std::to_string(chw.size()) + " values are not " + std::to_string(channels) +
                                    " channels of " + std::to_string(height) + "x" + std::to_string(width));
    Image img(width, height, channels);
    const std::size_t plane = static_cast<std::size_t>(width) * height;
    for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < channels; ++c) {
            float v = (chw[c * plane + i] + 1.0f) / 2.0f * 255.0f;
            v = v >= 0.0f ? std::min(v, 255.0f) : 0.0f;  // also catches NaN
            img.pixels[i * channels + c] = static_cast<std::uint8_t>(std::lround(v));
        }
    return img;
}

}  // namespace cyclegan
