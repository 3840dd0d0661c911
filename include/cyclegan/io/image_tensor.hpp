#pragma once
// Images and the networks' tensors: an 8-bit image as a [1, C, H, W] tensor in [-1, 1] and back,
// each conversion taking its size from the image or the tensor (never from the caller), and a
// generator run on an image of any size.
#include <span>
#include <string>
#include <vector>

#include "../core/network.hpp"
#include "../core/shape.hpp"
#include "../core/size_rule.hpp"
#include "../ops/padding.hpp"
#include "../image/chw.hpp"
#include "../image/geometry.hpp"
#include "../image/image.hpp"

namespace cyclegan {

// [N, C, H, W] in [-1, 1] (x / 127.5 - 1, as the reference's ToTensor + Normalize) from N >= 1
// images of one size and channel count. Throws std::invalid_argument naming the first image that
// differs from the first.
namespace image_tensor_detail {
// Throws std::invalid_argument, starting with `who`, unless there are images, each a valid image
// of the first one's size and channels.
inline void check_batch(std::span<const Image> images, const char* who) {
    if (images.empty()) throw std::invalid_argument(std::string(who) + ": no images");
    const Image& first = images.front();
    auto size = [](const Image& img) { return image_detail::size_text(img.width, img.height, img.channels); };
    for (std::size_t i = 0; i < images.size(); ++i) {
        check_image(images[i], who);
        if (images[i].width != first.width || images[i].height != first.height || images[i].channels != first.channels)
            throw std::invalid_argument(std::string(who) + ": image " + std::to_string(i) + " is " + size(images[i]) +
                                        ", image 0 is " + size(first) + " (a batch is of one size)");
    }
}
}  // namespace image_tensor_detail

template <class B>
Tensor<B> images_to_tensor(B& dev, std::span<const Image> images) {
    image_tensor_detail::check_batch(images, "images_to_tensor");
    const Image& first = images.front();
    std::vector<typename Tensor<B>::scalar> nchw;
    nchw.reserve(images.size() * first.pixels.size());
    for (const Image& img : images) {
        const std::vector<float> chw = to_chw(img);
        nchw.insert(nchw.end(), chw.begin(), chw.end());
    }
    const Shape s{static_cast<int>(images.size()), first.channels, first.height, first.width};
    return Tensor<B>::from_host(dev, s, nchw);
}

// [1, C, H, W] in [-1, 1], C = img.channels.
template <class B>
Tensor<B> image_to_tensor(B& dev, const Image& img) {
    return images_to_tensor(dev, std::span<const Image>(&img, 1));
}

// A [N, C, H, W] tensor with C from 1 to 4 as N 8-bit images (from_chw's rounding and clamping).
// Throws shape_error naming the shape for any other.
template <class B>
std::vector<Image> tensor_to_images(B& dev, const Tensor<B>& t) {
    const Shape s = t.shape();
    if (s.n < 1 || s.c < 1 || s.c > 4 || s.h < 1 || s.w < 1)
        throw shape_error("tensor_to_images: expected a tensor [N, C, H, W] with C from 1 to 4, got " + to_string(s));
    const auto host = t.to_host(dev);
    const std::size_t per_image = static_cast<std::size_t>(s.c) * s.h * s.w;
    std::vector<Image> out;
    for (int i = 0; i < s.n; ++i) {
        const auto begin = host.begin() + static_cast<std::ptrdiff_t>(i * per_image);
        out.push_back(from_chw(std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(per_image)), s.c, s.h, s.w));
    }
    return out;
}

// A [1, C, H, W] tensor with C from 1 to 4 as an 8-bit image; shape_error for any other shape.
template <class B>
Image tensor_to_image(B& dev, const Tensor<B>& t) {
    if (t.shape().n != 1)
        throw shape_error("tensor_to_image: expected a tensor [1, C, H, W] with C from 1 to 4, got " + to_string(t.shape()));
    return tensor_to_images(dev, t).front();
}

// The source of each of `out` rows (or columns) of pad_reflect's padding of `n` (out >= n >= 1).
inline std::vector<int> reflect_sources(int out, int n) {
    std::vector<int> src(static_cast<std::size_t>(out));
    for (int o = 0; o < out; ++o) {
        int i = n > 1 ? o : 0;  // a 1-pixel side is repeated
        while (i >= n || i < 0) i = padded_source(i, n, PaddingMode::reflect);  // each bounce comes closer
        src[o] = i;
    }
    return src;
}

// img reflect-padded at the bottom and right to height x width (at least its own size): the
// padding rule of ReflectionPad2d (padded_source), bounced again while it lands outside a small
// image; a 1-pixel side is repeated.
inline Image pad_reflect(const Image& img, int height, int width) {
    if (height < img.height || width < img.width)
        throw std::invalid_argument("pad_reflect: " + image_detail::size_text(width, height) + " is smaller than the image's " +
                                    image_detail::size_text(img.width, img.height));
    if (height == img.height && width == img.width) return img;
    // Once per axis (a small image bounces many times).
    const auto rows = reflect_sources(height, img.height), cols = reflect_sources(width, img.width);
    Image out(width, height, img.channels);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < img.channels; ++c) out.at(y, x, c) = img.at(rows[y], cols[x], c);
    return out;
}

// Runs a generator (in eval mode for inference) on N >= 1 images of one size, any size of at least
// 1x1: they are reflect-padded to the sides `sizes` takes (the generator's size_rule), run through
// the network as one batch [N, C, H, W], and the outputs cropped back to the images' size. The
// inputs must have the generator's input channels; the outputs have its output channels. Throws
// std::invalid_argument for no images or images of different sizes, shape_error naming the images'
// size and channels when the network refuses them (other channels than its input's) or does not
// return the padded size with 1 to 4 channels.
template <class Net>
std::vector<Image> translate_images(Network<Net>& net, typename Network<Net>::backend& dev, std::span<const Image> images,
                                    const SizeRule& sizes) {
    image_tensor_detail::check_batch(images, "translate_images");
    const int width = images.front().width, height = images.front().height;
    std::vector<Image> padded;
    for (const Image& img : images) padded.push_back(pad_reflect(img, sizes.padded(img.height), sizes.padded(img.width)));
    Tensor<typename Network<Net>::backend> y;
    try {
        y = net(images_to_tensor(dev, std::span<const Image>(padded)));
    } catch (const shape_error& e) {  // name the image as the caller knows it, not only the padded tensor
        throw shape_error("translate_images: images of " + image_detail::size_text(width, height, images.front().channels) +
                              " (padded to " + image_detail::size_text(padded.front().width, padded.front().height) +
                              "): " + e.what() +
                              " (an image must have the generator's input channels: convert_channels(image, channels) "
                              "converts it, Translator does so itself)",
                          e);
    }
    std::vector<Image> out = tensor_to_images(dev, y);
    for (Image& o : out) {
        if (o.width != padded.front().width || o.height != padded.front().height)
            throw shape_error("translate_images: the network turned " +
                              image_detail::size_text(padded.front().width, padded.front().height) + " into " +
                              image_detail::size_text(o.width, o.height) + " (is `sizes` its size_rule?)");
        o = crop(o, 0, 0, width, height);
    }
    return out;
}

// The same for one image.
template <class Net>
Image translate_image(Network<Net>& net, typename Network<Net>::backend& dev, const Image& img, const SizeRule& sizes) {
    return translate_images(net, dev, std::span<const Image>(&img, 1), sizes).front();
}

}  // namespace cyclegan
