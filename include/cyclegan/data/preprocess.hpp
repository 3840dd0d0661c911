#pragma once
// The reference's preprocessing (data/base_dataset.py get_transform) on an 8-bit image: resize,
// scale the width, random crop, random horizontal flip, or only round the sides to a multiple of 4.
// This is the policy (options, sizes, random choices); the pixel operations it applies (resize,
// crop, flip) are image/geometry.hpp's.
//
// Randomness is counter-based (core/random.hpp): every random choice is a hash of a caller-given
// key, so the same key gives the same crop and flip on any thread, in any order, after any
// restart, with no generator state to carry or save.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/choice.hpp"
#include "../core/option_range.hpp"
#include "../core/random.hpp"
#include "../core/size_rule.hpp"
#include "../core/text.hpp"
#include "../image/geometry.hpp"
#include "../image/image.hpp"

namespace cyclegan {

// ---- options ------------------------------------------------------------------------------

// The reference's --preprocess, --load_size, --crop_size and --no_flip (flip = !no_flip).
// `sizes` is what the networks take (the generator's and discriminator's SizeRule combined):
// modes that do not crop round both sides to it (the reference's mode none rounds to multiples of
// 4, at least 4, the default here; it leaves scale_width's height as it falls, which a generator
// then cannot take); check_sizes() refuses a crop it does not take.
struct PreprocessOptions {
    std::string mode = "resize_and_crop";  // resize_and_crop | crop | scale_width | scale_width_and_crop | none
    int load_size = 286, crop_size = 256;
    bool flip = true;
    SizeRule sizes{4, 4};

    // load_size and crop_size: a square of at most 16384 = 2^14 pixels a side holds the 2^28 pixels
    // an image may have (max_image_pixels()'s default), so no option resizes past what a file may
    // hold by default.
    static constexpr OptionRange size_range{.min = 1, .max = 1 << 14, .integer = true};
};

inline const std::vector<std::string>& preprocess_modes() {
    static const std::vector<std::string> modes{"resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"};
    return modes;
}

// Throws std::invalid_argument for an unknown mode (listing the valid ones) or sizes outside
// PreprocessOptions::size_range.
inline void check_options(const PreprocessOptions& o) {
    const auto& modes = preprocess_modes();
    if (std::find(modes.begin(), modes.end(), o.mode) == modes.end()) {
        throw std::invalid_argument("preprocess: unknown mode '" + printable(o.mode) + "' (valid: " + join(modes) + ")");
    }
    const bool resizes = o.mode == "resize_and_crop" || o.mode.starts_with("scale_width");
    const bool crops = o.mode.ends_with("crop");
    if (resizes) check_option("preprocess", "load_size", o.load_size, PreprocessOptions::size_range);
    if (crops || o.mode.starts_with("scale_width")) check_option("preprocess", "crop_size", o.crop_size, PreprocessOptions::size_range);
}

namespace preprocess_detail {

// Python's round(): halves go to the even neighbour (round(32.5) == 32), as the reference's
// __make_power_2 computes it.
inline int python_round(double x) {
    const double f = std::floor(x), diff = x - f;
    if (diff > 0.5) return static_cast<int>(f) + 1;
    if (diff < 0.5) return static_cast<int>(f);
    return static_cast<int>(f) + (static_cast<long long>(f) % 2 != 0 ? 1 : 0);
}

using image_detail::size_text;  // "WxH"

}  // namespace preprocess_detail

// A side rounded to the nearest one `sizes` takes, as the reference's __make_power_2 rounds (to
// multiples of 4, Python's round, never below 4), at least sizes.smallest_side().
inline int round_side(int side, const SizeRule& sizes) {
    const int m = sizes.multiple;
    return std::max(sizes.smallest_side(), preprocess_detail::python_round(side / double(m)) * m);
}

// The size before cropping: after resize, scale_width or the rounding of mode none. scale_width
// alone also rounds its result to o.sizes, so that a portrait image's height fits the networks.
inline std::pair<int, int> resized_size(int width, int height, const PreprocessOptions& o) {
    if (o.mode == "resize_and_crop") return {o.load_size, o.load_size};
    if (o.mode.starts_with("scale_width")) {  // the reference's __scale_width
        int w = o.load_size, h = height;
        if (width != o.load_size || height < o.crop_size)  // int() truncates
            h = static_cast<int>(std::max(static_cast<double>(o.load_size) * height / width, static_cast<double>(o.crop_size)));
        if (o.mode == "scale_width") w = round_side(w, o.sizes), h = round_side(h, o.sizes);
        return {w, h};
    }
    if (o.mode == "none") return {round_side(width, o.sizes), round_side(height, o.sizes)};
    return {width, height};  // crop
}

// Throws std::invalid_argument, naming the option and the value to use, when images cropped as
// `o` says could not have sides that o.sizes takes (`networks` names whose rule it is), or when
// load_size is below crop_size in a mode that resizes and then crops. Modes that do not crop
// round to o.sizes instead and always pass.
CYCLEGAN_COMPILED_FUNCTION void check_sizes(const PreprocessOptions& o, const std::string& networks);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void check_sizes(const PreprocessOptions& o, const std::string& networks) {
    check_options(o);
    if (!o.mode.ends_with("crop")) return;
    const SizeRule& r = o.sizes;
    const std::string crop = "--crop-size " + std::to_string(o.crop_size);
    if (!r.takes(o.crop_size)) {
        const int up = r.padded(o.crop_size), down = o.crop_size / r.multiple * r.multiple;
        std::string use = "use " + std::to_string(up);
        if (down >= r.smallest_side() && down != up) use = "use " + std::to_string(down) + " or " + std::to_string(up);
        if (o.crop_size < r.smallest_side()) use += " (the smallest crop that works)";
        throw std::invalid_argument(crop + ": " + networks + " take " + r.describe() + "; " + use);
    }
    if (o.mode != "crop" && o.load_size < o.crop_size)
        throw std::invalid_argument("--load-size " + std::to_string(o.load_size) + " is below " + crop +
                                    " with preprocess " + o.mode + ": images are resized to load_size, then cropped");
}
#endif

// Width and height that preprocess() gives for an input of this size; throws image_error naming
// `source` (printable()) and both sizes when the crop does not fit. With probe_image, checks a whole dataset
// from the files' headers before training starts.
inline std::pair<int, int> output_size(int width, int height, const PreprocessOptions& o, const std::string& source) {
    check_options(o);
    const auto [w, h] = resized_size(width, height, o);
    if (!o.mode.ends_with("crop")) return {w, h};
    if (w < o.crop_size || h < o.crop_size) {
        std::string why = "'" + printable(source) + "' is " + preprocess_detail::size_text(width, height);
        if (w != width || h != height) why += " (" + preprocess_detail::size_text(w, h) + " after " + o.mode + ")";
        throw image_error("preprocess: " + why + ", smaller than the crop of " +
                                    preprocess_detail::size_text(o.crop_size, o.crop_size) +
                                    (o.mode == "crop" ? "" : " (load_size is below crop_size?)"));
    }
    return {o.crop_size, o.crop_size};
}

// ---- the transform ------------------------------------------------------------------------

// The reference's transform for one image. Every random choice (crop position, flip) is a hash
// of `seed`. `source` names the image in error messages.
CYCLEGAN_COMPILED_FUNCTION Image preprocess(const Image& img, const PreprocessOptions& o, std::uint64_t seed, const std::string& source);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION Image preprocess(const Image& img, const PreprocessOptions& o, std::uint64_t seed, const std::string& source) {
    const auto [out_w, out_h] = output_size(img.width, img.height, o, source);  // checks options and the crop
    const auto [rw, rh] = resized_size(img.width, img.height, o);
    Image x = resize_bicubic(img, rw, rh);
    if (o.mode.ends_with("crop")) {  // torchvision's RandomCrop: offsets uniform in [0, size - crop]
        const int cx = static_cast<int>(random_below(random_key(seed, {1}), static_cast<std::uint64_t>(rw - out_w) + 1));
        const int cy = static_cast<int>(random_below(random_key(seed, {2}), static_cast<std::uint64_t>(rh - out_h) + 1));
        if (out_w != rw || out_h != rh) x = crop(x, cx, cy, out_w, out_h);
    }
    if (o.flip && (random_key(seed, {3}) >> 63) != 0) x = flip_horizontal(x);  // probability 1/2
    return x;
}
#endif

}  // namespace cyclegan
