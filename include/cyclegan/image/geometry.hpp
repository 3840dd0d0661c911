#pragma once
// The geometry of an 8-bit image: bicubic resize (as PIL's), crop, horizontal flip. The
// preprocessing that chooses among them (data/preprocess.hpp) and the reflect padding to a
// network's sizes (io/image_tensor.hpp) build on these.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/compiled.hpp"
#include "image.hpp"

namespace cyclegan {

namespace image_detail {

// Keys' cubic convolution kernel with a = -0.5, as PIL's BICUBIC.
inline double bicubic(double x) {
    constexpr double a = -0.5;
    x = std::abs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// For each output position: the first input index and normalised weights. As PIL's
// precompute_coeffs: when shrinking the kernel is widened by the scale so that it averages every
// input pixel under the output pixel (no aliasing); the window is clipped at the borders and the
// weights renormalised.
struct Taps {
    std::vector<int> first, count;
    std::vector<float> weights;  // count[i] weights for output i, at offset i * width
    int width = 0;
};

inline Taps taps(int in_size, int out_size) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = 2.0 * filter_scale;
    Taps t;
    t.width = static_cast<int>(std::ceil(support)) * 2 + 1;
    t.first.resize(out_size);
    t.count.resize(out_size);
    t.weights.assign(static_cast<std::size_t>(out_size) * t.width, 0.0f);
    std::vector<double> w(t.width);
    for (int o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        const int lo = std::max(0, static_cast<int>(center - support + 0.5));
        const int hi = std::min(in_size, static_cast<int>(center + support + 0.5));
        double total = 0.0;
        for (int i = lo; i < hi; ++i) total += w[i - lo] = bicubic((i - center + 0.5) / filter_scale);
        t.first[o] = lo;
        t.count[o] = hi - lo;
        for (int i = 0; i < hi - lo; ++i)
            t.weights[static_cast<std::size_t>(o) * t.width + i] = static_cast<float>(total != 0.0 ? w[i] / total : 0.0);
    }
    return t;
}

}  // namespace image_detail

// Bicubic resize (separable, widths first), computed in float and rounded to 8 bit once at the
// end. PIL rounds to 8 bit between its two passes; results differ from PIL's by a level or so.
CYCLEGAN_COMPILED_FUNCTION Image resize_bicubic(const Image& img, int width, int height);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION Image resize_bicubic(const Image& img, int width, int height) {
    if (width < 1 || height < 1) throw std::invalid_argument("resize_bicubic: target size " + image_detail::size_text(width, height));
    if (width == img.width && height == img.height) return img;
    const int C = img.channels;
    // Rows: img.height x width x C, in float.
    std::vector<float> rows(static_cast<std::size_t>(img.height) * width * C);
    if (width == img.width) {
        std::copy(img.pixels.begin(), img.pixels.end(), rows.begin());
    } else {
        const auto t = image_detail::taps(img.width, width);
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < width; ++x) {
                const float* w = &t.weights[static_cast<std::size_t>(x) * t.width];
                for (int c = 0; c < C; ++c) {
                    float s = 0.0f;
                    for (int k = 0; k < t.count[x]; ++k) s += w[k] * img.at(y, t.first[x] + k, c);
                    rows[(static_cast<std::size_t>(y) * width + x) * C + c] = s;
                }
            }
    }
    Image out(width, height, C);
    const std::size_t stride = static_cast<std::size_t>(width) * C;
    auto store = [&](std::size_t i, float v) {
        out.pixels[i] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f)));
    };
    if (height == img.height) {
        for (std::size_t i = 0; i < rows.size(); ++i) store(i, rows[i]);
        return out;
    }
    const auto t = image_detail::taps(img.height, height);
    std::vector<float> acc(stride);
    for (int y = 0; y < height; ++y) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        const float* w = &t.weights[static_cast<std::size_t>(y) * t.width];
        for (int k = 0; k < t.count[y]; ++k) {
            const float* src = &rows[static_cast<std::size_t>(t.first[y] + k) * stride];
            for (std::size_t i = 0; i < stride; ++i) acc[i] += w[k] * src[i];
        }
        for (std::size_t i = 0; i < stride; ++i) store(static_cast<std::size_t>(y) * stride + i, acc[i]);
    }
    return out;
}
#endif

// The rectangle [x, x + w) x [y, y + h), which must lie inside the image.
inline Image crop(const Image& img, int x, int y, int w, int h) {
    if (x < 0 || y < 0 || w < 0 || h < 0 || x + w > img.width || y + h > img.height)
        throw std::invalid_argument("crop: " + image_detail::size_text(w, h) + " at (" + std::to_string(x) + ", " +
                                    std::to_string(y) + ") outside " + image_detail::size_text(img.width, img.height));
    Image out(w, h, img.channels);
    const std::size_t row = static_cast<std::size_t>(w) * img.channels;
    for (int r = 0; r < h; ++r)
        std::copy_n(&img.pixels[(static_cast<std::size_t>(y + r) * img.width + x) * img.channels], row,
                    &out.pixels[r * row]);
    return out;
}

// Mirror left to right.
inline Image flip_horizontal(const Image& img) {
    Image out(img.width, img.height, img.channels);
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            for (int c = 0; c < img.channels; ++c) out.at(y, img.width - 1 - x, c) = img.at(y, x, c);
    return out;
}

}  // namespace cyclegan
