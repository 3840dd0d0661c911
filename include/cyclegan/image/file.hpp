#pragma once
// Image files: PNG, JPEG, BMP, TGA in through stb_image, Netpbm through our own decoder, TIFF
// through libtiff (when the build found it: CYCLEGAN_HAVE_TIFF, which cyclegan::cyclegan defines), laid out as the file's
// orientation tag says (as image viewers show them); PNG or JPEG out through stb_image_write; and
// the checks before each decoder (image/decode/).
//
// stb is compiled into every translation unit that includes this header, as private (static)
// functions, so users link nothing. A translation unit that includes <stb_image.h> itself must do
// so before this header (this header then uses that copy and its implementation, which that
// program provides).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../core/atomic_file.hpp"
#include "../core/compiled.hpp"
#include "../core/text.hpp"
#include "channels.hpp"
#include "decode/bytes.hpp"
#include "decode/orientation.hpp"
#include "decode/pnm.hpp"
#include "decode/stb_checks.hpp"
#include "decode/tiff.hpp"
#include "image.hpp"
#include "tiff_stream.hpp"
#include "chw.hpp"

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
// stb only where decode_image, probe_image and write_image are defined (not in a program that takes
// them from cyclegan_kernels: core/compiled.hpp).
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY && !defined(STBI_INCLUDE_STB_IMAGE_H)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
// Only the formats we read (PNM goes to our own decoder): stb's GIF, PSD, HDR and PIC decoders are
// attack surface on untrusted files and nothing we need.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_FAILURE_USERMSG  // "Corrupt PNG" rather than "bad zlib header"
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>  // Debian's libstb-dev without -I/usr/include/stb
#endif
#undef STB_IMAGE_IMPLEMENTATION
#endif
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY && !defined(INCLUDE_STB_IMAGE_WRITE_H)
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

namespace image_detail {

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
    return {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".pbm", ".pgm", ".ppm", ".pnm", ".tif", ".tiff"};
}

// Decodes the bytes of an image file into `channels` channels (1, 3 or 4), as an image viewer
// shows it: PNG, JPEG, BMP, TGA, Netpbm (PBM, PGM, PPM), and TIFF where the build has libtiff; the
// EXIF orientation of a JPEG or PNG and a TIFF's orientation tag are applied. Grey to RGB
// replicates; RGB to grey is stb's luminance (77 R + 150 G + 29 B) / 256, within a level of PIL's
// convert('L'); alpha is dropped, or set opaque when the file has none. 16-bit files come out as
// 8 bit (the high byte). Images over 2^28 pixels are refused before any is decoded. `path` names
// the source in errors: throws image_error naming it and the reason. Safe on any bytes
// (tests/fuzz runs it under AddressSanitizer).
CYCLEGAN_COMPILED_FUNCTION Image decode_image(const std::vector<unsigned char>& bytes, int channels, const std::filesystem::path& path);

// decode_image of a file's bytes; also throws image_error when the file is missing, a folder,
// unreadable or empty.
inline Image read_image(const std::filesystem::path& path, int channels) {
    image_detail::check_channels(channels, "read_image");
    return decode_image(image_detail::read_bytes(path, "read_image"), channels, path);
}

// Width, height (as read_image lays the image out: after the orientation tag) and stored channels
// from the header alone: a fast check that a file is an image (it does not find damage further
// into the file; read_image does). A TIFF's directory may lie anywhere, so TIFFs are read whole.
CYCLEGAN_COMPILED_FUNCTION ImageInfo probe_image(const std::filesystem::path& path);

// Writes PNG (.png), JPEG at quality 95 (.jpg, .jpeg; without alpha, which JPEG cannot hold) or,
// where the build has libtiff, an 8-bit TIFF (.tif, .tiff: deflate-compressed tiles, BigTIFF from
// 2 GiB; TiffWriter), chosen by the extension. The file is
// written next to its target and renamed over it, so a failure leaves no half file and any
// previous file intact. The folder must exist. Throws image_error naming the file.
CYCLEGAN_COMPILED_FUNCTION void write_image(const std::filesystem::path& path, const Image& img);

#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
// Defined here, or only declared where the program takes them from cyclegan_kernels
// (core/compiled.hpp): with stb behind them, they are most of what a program's file compiles.
CYCLEGAN_COMPILED_FUNCTION Image decode_image(const std::vector<unsigned char>& bytes, int channels, const std::filesystem::path& path) {
    image_detail::check_channels(channels, "read_image");
    const std::string where = "read_image: " + image_detail::quoted(path);
    if (bytes.empty()) throw image_error(where + ": empty file");
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) throw image_error(where + ": file too large");
    if (image_detail::is_tiff(bytes)) {
#if defined(CYCLEGAN_HAVE_TIFF)
        return image_detail::read_tiff(bytes, path, channels);
#else
        throw image_error(where + " is a TIFF, and this build has no TIFF support (build with libtiff: apt install libtiff-dev)");
#endif
    }
    if (image_detail::is_pnm(bytes)) return image_detail::read_pnm(bytes, path, channels);
    image_detail::check_before_stb(bytes, path);
    int w = 0, h = 0, file_channels = 0;
    // A header may claim any size: refuse, before decoding, what no training could hold.
    if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &file_channels))
        image_detail::check_pixel_count(path, bytes.size(), image_detail::looks_like(bytes), std::uint64_t(w), std::uint64_t(h));
    const std::unique_ptr<unsigned char, void (*)(void*)> data(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &file_channels, channels), stbi_image_free);
    if (!data)
        throw image_detail::decode_error(path, bytes.size(), image_detail::looks_like(bytes),
                                         std::string(stbi_failure_reason()) + " (truncated or corrupt file?)");
    if (w < 1 || h < 1)  // stb 2.27 returns some damaged headers as empty images
        image_detail::check_pixel_count(path, bytes.size(), image_detail::looks_like(bytes), std::uint64_t(std::max(w, 0)),
                                        std::uint64_t(std::max(h, 0)));
    Image img = image_from_pixels({data.get(), static_cast<std::size_t>(w) * h * channels}, w, h, channels);
    if (channels == 4 && image_detail::bmp_alpha_unused(bytes))
        for (std::size_t i = 3; i < img.pixels.size(); i += 4) img.pixels[i] = 255;
    return image_detail::apply_orientation(img, image_detail::file_orientation(bytes));
}

CYCLEGAN_COMPILED_FUNCTION ImageInfo probe_image(const std::filesystem::path& path) {
    // The first MiB: enough for every header, and for a JPEG's EXIF block (at most 64 KiB) or a
    // PNG's eXIf chunk before its pixels, unless large ICC or XMP blocks come first.
    constexpr std::size_t window = std::size_t(1) << 20;
    auto head = image_detail::read_bytes(path, "probe_image", window);
    ImageInfo info;
    if (image_detail::is_tiff(head)) {
#if defined(CYCLEGAN_HAVE_TIFF)
        image_detail::read_tiff(image_detail::read_bytes(path, "probe_image"), path, 4, &info);
        return info;
#else
        read_image(path, 3);  // throws: no TIFF support in this build
#endif
    }
    if (image_detail::is_pnm(head)) {  // the text kinds need the whole file to be checked
        const Image img = image_detail::read_pnm(image_detail::read_bytes(path, "probe_image"), path, 1);
        return {img.width, img.height, head[1] == '3' || head[1] == '6' ? 3 : 1};
    }
    if (!stbi_info_from_memory(head.data(), static_cast<int>(head.size()), &info.width, &info.height, &info.channels) &&
        head.size() == window)  // a header past the window (a JPEG with large APPn blocks): the whole file
        head = image_detail::read_bytes(path, "probe_image");
    if (!stbi_info_from_memory(head.data(), static_cast<int>(head.size()), &info.width, &info.height, &info.channels))
        throw image_error("probe_image: " + image_detail::quoted(path) + " is not a readable image (" +
                          image_detail::looks_like(head) + "): " + stbi_failure_reason());
    if (image_detail::file_orientation(head) >= 5) std::swap(info.width, info.height);
    return info;
}

CYCLEGAN_COMPILED_FUNCTION void write_image(const std::filesystem::path& path, const Image& img) {
    const std::string where = "write_image: " + image_detail::quoted(path);
    if (image_detail::not_image(img))
        throw image_error(where + ": invalid image (" + image_detail::size_text(img.width, img.height, img.channels) +
                          " with " + std::to_string(img.pixels.size()) + " bytes)");
    const std::string ext = image_detail::lower_extension(path);
    std::string encoded;
    auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    int ok = 0;
    if (ext == ".tif" || ext == ".tiff") {
#if defined(CYCLEGAN_HAVE_TIFF)
        TiffWriter tiff(path, img.width, img.height, img.channels, 8);
        for (int y0 = 0; y0 < img.height; y0 += TiffWriter::tile_side) {  // a row of tiles at a time: little beside the image
            const int h = std::min(TiffWriter::tile_side, img.height - y0);
            const std::size_t row = std::size_t(img.width) * img.channels;
            Image band(img.width, h, img.channels);
            std::copy_n(img.pixels.begin() + std::ptrdiff_t(y0 * row), h * row, band.pixels.begin());
            tiff.write(y0, 0, h, img.width, to_chw(band).data());
        }
        tiff.finish();
        return;
#else
        throw image_error(where + ": this build has no TIFF support (build with libtiff: apt install libtiff-dev); use .png");
#endif
    }
    if (ext == ".png")
        ok = stbi_write_png_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(),
                                    img.width * img.channels);
    else if (ext == ".jpg" || ext == ".jpeg")
        ok = stbi_write_jpg_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(), 95);
    else
        throw image_error(where + ": unsupported extension '" + printable(path.extension().string()) +
                          "' (use .png, .jpg, .jpeg, .tif or .tiff)");
    if (!ok || encoded.empty()) throw image_error(where + ": encoding failed");
    try {
        write_file_atomically(path, encoded);
    } catch (const io_error& e) {
        throw image_error(std::string("write_image: ") + e.what());
    }
}
#endif

}  // namespace cyclegan
