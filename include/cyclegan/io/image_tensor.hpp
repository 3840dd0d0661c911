#pragma once
// Images and the networks' tensors: an 8-bit image as a [1, C, H, W] tensor in [-1, 1] and back,
// each conversion taking its size from the image or the tensor (never from the caller), and a
// generator run on an image of any size.
#include <string>
#include <vector>

#include "../core/network.hpp"
#include "../core/shape.hpp"
#include "../core/size_rule.hpp"
#include "../data/preprocess.hpp"
#include "image.hpp"

namespace cyclegan {

// [1, C, H, W] in [-1, 1] (x / 127.5 - 1, as the reference's ToTensor + Normalize), C = img.channels.
template <class B>
Tensor<B> image_to_tensor(B& dev, const Image& img) {
    const std::vector<float> chw = to_chw(img);
    const Shape s{1, img.channels, img.height, img.width};
    if constexpr (std::is_same_v<typename Tensor<B>::scalar, float>) {
        return Tensor<B>::from_host(dev, s, chw);
    } else {
        return Tensor<B>::from_host(dev, s, std::vector<typename Tensor<B>::scalar>(chw.begin(), chw.end()));
    }
}

// A [1, C, H, W] tensor with C from 1 to 4 as an 8-bit image (from_chw's rounding and clamping).
// Throws shape_error naming the shape for any other.
template <class B>
Image tensor_to_image(B& dev, const Tensor<B>& t) {
    const Shape s = t.shape();
    if (s.n != 1 || s.c < 1 || s.c > 4 || s.h < 1 || s.w < 1)
        throw shape_error("tensor_to_image: expected a tensor [1, C, H, W] with C from 1 to 4, got " + to_string(s));
    const auto host = t.to_host(dev);
    if constexpr (std::is_same_v<typename Tensor<B>::scalar, float>) {
        return from_chw(host, s.c, s.h, s.w);
    } else {
        return from_chw(std::vector<float>(host.begin(), host.end()), s.c, s.h, s.w);
    }
}

// img reflect-padded at the bottom and right to height x width (at least its own size); the
// reflection repeats past a small image's edge, and a 1-pixel side is repeated.
inline Image pad_reflect(const Image& img, int height, int width) {
    if (height < img.height || width < img.width)
        throw std::invalid_argument("pad_reflect: " + std::to_string(width) + "x" + std::to_string(height) +
                                    " is smaller than the image's " + std::to_string(img.width) + "x" +
                                    std::to_string(img.height));
    if (height == img.height && width == img.width) return img;
    auto reflect = [](int i, int n) {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...
        if (n == 1) return 0;
        const int period = 2 * (n - 1);
        i %= period;
        return i < n ? i : period - i;
    };
    Image out(width, height, img.channels);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < img.channels; ++c) out.at(y, x, c) = img.at(reflect(y, img.height), reflect(x, img.width), c);
    return out;
}

// Runs a generator (in eval mode for inference) on an image of any size of at least 1x1: the image
// is reflect-padded to the sides `sizes` takes (the generator's size_rule), run through the
// network, and the output cropped back to the image's size. The input must have the generator's
// input channels; the output has its output channels. Throws shape_error when the network does not
// return the padded size with 1 to 4 channels.
template <class Net>
Image translate_image(Network<Net>& net, typename Network<Net>::backend& dev, const Image& img, const SizeRule& sizes) {
    const Image padded = pad_reflect(img, sizes.padded(img.height), sizes.padded(img.width));
    const Image out = tensor_to_image(dev, net(image_to_tensor(dev, padded)));
    if (out.width != padded.width || out.height != padded.height)
        throw shape_error("translate_image: the network turned " + std::to_string(padded.width) + "x" +
                          std::to_string(padded.height) + " into " + std::to_string(out.width) + "x" +
                          std::to_string(out.height) + " (is `sizes` its size_rule?)");
    return crop(out, 0, 0, img.width, img.height);
}

}  // namespace cyclegan
