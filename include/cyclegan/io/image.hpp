#pragma once
// Image files: PNG, JPEG, BMP, TGA (and PPM/PGM) in, PNG or JPEG out, through stb_image and
// stb_image_write; and the conversion between 8-bit HWC pixels and the [-1, 1] CHW floats the
// networks take.
//
// stb is compiled into every translation unit that includes this header, as private (static)
// functions, so users link nothing. A translation unit that includes <stb_image.h> itself must do
// so before this header (this header then uses that copy and its implementation, which that
// program provides).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.hpp"

// stb is not written for -Wall -Wextra: silence it here (GCC's pragma; clang reads it too).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
#if defined(__NVCC__)  // nvcc's own front end: "variable was set but never used"
#pragma nv_diagnostic push
#pragma nv_diag_suppress 550
#endif
#if !defined(STBI_INCLUDE_STB_IMAGE_H)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG  // "Corrupt PNG" rather than "bad zlib header"
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>  // Debian's libstb-dev without -I/usr/include/stb
#endif
#undef STB_IMAGE_IMPLEMENTATION
#endif
#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#include <stb/stb_image_write.h>
#endif
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#if defined(__NVCC__)
#pragma nv_diagnostic pop
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace cyclegan {

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

// What a file's header says, read without decoding the pixels.
struct ImageInfo {
    int width = 0, height = 0, channels = 0;  // channels as stored in the file
};

namespace image_detail {

inline std::string quoted(const std::filesystem::path& p) {
    std::string out = "'";  // appended piecewise: GCC 12 -O3 warns (wrongly) on "'" + s + "'"
    out += p.string();
    out += '\'';
    return out;
}

inline void check_file(const std::filesystem::path& path, const char* who) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw image_error(std::string(who) + ": " + quoted(path) + ": no such file");
    if (std::filesystem::is_directory(path, ec))
        throw image_error(std::string(who) + ": " + quoted(path) + ": is a folder, not an image file");
}

// The whole file, or its first `limit` bytes.
inline std::vector<unsigned char> read_bytes(const std::filesystem::path& path, const char* who,
                                             std::size_t limit = SIZE_MAX) {
    check_file(path, who);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw image_error(std::string(who) + ": " + quoted(path) + ": cannot open (permission denied?)");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0 || !in) throw image_error(std::string(who) + ": " + quoted(path) + ": cannot read (not a regular file?)");
    std::vector<unsigned char> bytes(std::min(static_cast<std::size_t>(size), limit));
    if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
        throw image_error(std::string(who) + ": " + quoted(path) + ": read error");
    if (bytes.empty()) throw image_error(std::string(who) + ": " + quoted(path) + ": empty file");
    return bytes;
}

// stb tries each decoder in turn and reports the last one's complaint ("Not a PNG" for a broken
// JPEG), so the message also says what the first bytes look like.
inline std::string looks_like(const std::vector<unsigned char>& b) {
    auto starts = [&](std::string_view magic) {
        return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin(),
                                                      [](char m, unsigned char c) { return static_cast<unsigned char>(m) == c; });
    };
    if (starts("\x89PNG")) return "starts like a PNG";
    if (starts("\xFF\xD8")) return "starts like a JPEG";
    if (starts("BM")) return "starts like a BMP";
    if (starts("GIF8")) return "starts like a GIF";
    return "not a known image format";
}

inline void check_channels(int channels, const char* who) {
    if (channels != 1 && channels != 3 && channels != 4)
        throw std::invalid_argument(std::string(who) + ": channels must be 1, 3 or 4, got " + std::to_string(channels));
}

inline std::string lower_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

}  // namespace image_detail

// The extensions of the files read_image decodes, lower case.
inline std::vector<const char*> image_extensions() {
    return {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".ppm", ".pgm"};
}

// Decodes an image file into `channels` channels (1, 3 or 4): grey to RGB replicates; RGB to grey
// is stb's luminance (77 R + 150 G + 29 B) / 256, within a level of PIL's convert('L'); alpha is
// dropped, or set opaque when the file has none. 16-bit files come out as 8 bit. Throws
// image_error naming the file and the reason.
inline Image read_image(const std::filesystem::path& path, int channels) {
    image_detail::check_channels(channels, "read_image");
    const auto bytes = image_detail::read_bytes(path, "read_image");
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX))
        throw image_error("read_image: " + image_detail::quoted(path) + ": file too large");
    int w = 0, h = 0, file_channels = 0;
    unsigned char* data = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &file_channels, channels);
    if (!data)
        throw image_error("read_image: cannot decode " + image_detail::quoted(path) + " (" + std::to_string(bytes.size()) +
                          " bytes, " + image_detail::looks_like(bytes) + "): " + stbi_failure_reason() +
                          " (truncated or corrupt file?)");
    Image img;
    img.width = w;
    img.height = h;
    img.channels = channels;
    img.pixels.assign(data, data + static_cast<std::size_t>(w) * h * channels);
    stbi_image_free(data);
    return img;
}

// Width, height and stored channels from the header alone: a fast check that a file is an image
// (it does not find damage further into the file; read_image does).
inline ImageInfo probe_image(const std::filesystem::path& path) {
    const auto head = image_detail::read_bytes(path, "probe_image", 16);  // checks it exists, opens, is not empty
    ImageInfo info;
    if (!stbi_info(path.c_str(), &info.width, &info.height, &info.channels))  // reads only what the header needs
        throw image_error("probe_image: " + image_detail::quoted(path) + " is not a readable image (" +
                          image_detail::looks_like(head) + "): " + stbi_failure_reason());
    return info;
}

// Writes PNG (.png) or JPEG at quality 95 (.jpg, .jpeg; without alpha, which JPEG cannot hold),
// chosen by the extension. The file is
// written next to its target and renamed over it, so a failure leaves no half file and any
// previous file intact. The folder must exist. Throws image_error naming the file.
inline void write_image(const std::filesystem::path& path, const Image& img) {
    const std::string where = "write_image: " + image_detail::quoted(path);
    if (img.width <= 0 || img.height <= 0 || img.channels < 1 || img.channels > 4 ||
        img.pixels.size() != static_cast<std::size_t>(img.width) * img.height * img.channels)
        throw image_error(where + ": invalid image (" + std::to_string(img.width) + "x" + std::to_string(img.height) +
                          "x" + std::to_string(img.channels) + " with " + std::to_string(img.pixels.size()) + " bytes)");
    const std::string ext = image_detail::lower_extension(path);
    std::string encoded;
    auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    int ok = 0;
    if (ext == ".png")
        ok = stbi_write_png_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(),
                                    img.width * img.channels);
    else if (ext == ".jpg" || ext == ".jpeg")
        ok = stbi_write_jpg_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(), 95);
    else
        throw image_error(where + ": unsupported extension '" + path.extension().string() + "' (use .png, .jpg or .jpeg)");
    if (!ok || encoded.empty()) throw image_error(where + ": encoding failed");
    try {
        write_file_atomically(path, encoded);
    } catch (const io_error& e) {
        throw image_error(std::string("write_image: ") + e.what());
    }
}

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
// NaN becomes 0.
inline Image from_chw(const float* chw, int channels, int height, int width) {
    if (channels < 1 || channels > 4 || height <= 0 || width <= 0)
        throw std::invalid_argument("from_chw: cannot make an image of " + std::to_string(channels) + " channels, " +
                                    std::to_string(height) + "x" + std::to_string(width));
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
