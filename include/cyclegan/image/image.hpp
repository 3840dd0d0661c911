#pragma once
// The image type: 8-bit HWC pixels (Image), what a file's header says (ImageInfo), the error every
// image file operation throws (image_error), the largest image a file may claim
// (max_image_pixels, a setting of the process), and the check that an Image is one (check_image).
#include <atomic>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef CYCLEGAN_MAX_IMAGE_PIXELS
#error "CYCLEGAN_MAX_IMAGE_PIXELS is a run-time setting now: call cyclegan::set_max_image_pixels(n) instead"
#endif

namespace cyclegan {

namespace image_detail {
inline std::atomic<std::uint64_t> max_pixels_setting{std::uint64_t(1) << 28};  // one for the program
}  // namespace image_detail

// The most pixels an image may claim (2^28 by default, 16384 x 16384): larger headers are refused
// before anything is decoded. Like the CPU's tuning (cpu::set_tuning) it is the process's, read by
// every decode; the fuzz harness lowers it, since it runs each input under AddressSanitizer with a
// time limit. Throws std::invalid_argument for 0 (no image) or more than 2^48 (no header can
// claim more: each side is at most 2^24).
inline std::uint64_t max_image_pixels() { return image_detail::max_pixels_setting.load(std::memory_order_relaxed); }
inline void set_max_image_pixels(std::uint64_t pixels) {
    if (pixels == 0 || pixels > (std::uint64_t(1) << 48))
        throw std::invalid_argument("set_max_image_pixels: the limit must be between 1 and 2^48 pixels, got " +
                                    std::to_string(pixels));
    image_detail::max_pixels_setting.store(pixels, std::memory_order_relaxed);
}

// An image file could not be read or written; the message names the file and the reason.
struct image_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// 8-bit pixels, rows top to bottom, channels interleaved (HWC): what image files hold.
struct Image {
    int width = 0, height = 0, channels = 0;
    std::vector<std::uint8_t> pixels;

    Image() = default;
    Image(int w, int h, int c, std::uint8_t value = 0)
        : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c, value) {}

    std::uint8_t& at(int y, int x, int c) { return pixels[(static_cast<std::size_t>(y) * width + x) * channels + c]; }
    std::uint8_t at(int y, int x, int c) const {
        return pixels[(static_cast<std::size_t>(y) * width + x) * channels + c];
    }
    friend bool operator==(const Image&, const Image&) = default;
};

namespace image_detail {

// "WxH" and "WxHxC": a size as every message here gives it.
inline std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }
inline std::string size_text(int w, int h, int c) { return size_text(w, h) + "x" + std::to_string(c); }

// Whether img is not an image: below 1x1, channels outside 1 to 4, or other than W x H x C bytes.
inline bool not_image(const Image& img) {
    return img.width < 1 || img.height < 1 || img.channels < 1 || img.channels > 4 ||
           img.pixels.size() != static_cast<std::size_t>(img.width) * img.height * img.channels;
}

}  // namespace image_detail

// Throws std::invalid_argument, starting with `who`, unless img is at least 1x1 with 1 to 4
// channels and exactly width x height x channels bytes.
inline void check_image(const Image& img, const char* who) {
    if (image_detail::not_image(img))
        throw std::invalid_argument(std::string(who) + ": not an image: " +
                                    image_detail::size_text(img.width, img.height, img.channels) + " with " +
                                    std::to_string(img.pixels.size()) + " bytes");
}

// An image copied from pixels the caller holds: interleaved 8-bit (row by row, each pixel's
// channels together, as in a PNG or an OpenCV Mat without padding). The buffer is a sized span, so
// one of another length than width x height x channels throws std::invalid_argument instead of
// being read past its end.
inline Image image_from_pixels(std::span<const std::uint8_t> pixels, int width, int height, int channels) {
    if (width >= 1 && height >= 1 && channels >= 1 && channels <= 4 &&
        pixels.size() != static_cast<std::size_t>(width) * height * channels)
        throw std::invalid_argument("image_from_pixels: a buffer of " + std::to_string(pixels.size()) + " bytes for " +
                                    image_detail::size_text(width, height, channels) + ", which is " +
                                    std::to_string(static_cast<std::size_t>(width) * height * channels) + " bytes");
    Image img;
    img.width = width, img.height = height, img.channels = channels;
    img.pixels.assign(pixels.begin(), pixels.end());
    check_image(img, "image_from_pixels");
    return img;
}

// What a file's header says, read without decoding the pixels.
struct ImageInfo {
    int width = 0, height = 0, channels = 0;  // channels as stored in the file
};

}  // namespace cyclegan
