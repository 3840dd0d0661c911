#pragma once
// Image files: PNG, JPEG, BMP, TGA in through stb_image, Netpbm through our own decoder, TIFF
// through libtiff (when the build found it: CYCLEGAN_HAVE_TIFF, which cyclegan::cyclegan defines), laid out as the file's
// orientation tag says (as image viewers show them); PNG or JPEG out through stb_image_write; and
// the conversion between 8-bit HWC pixels and the [-1, 1] CHW floats the networks take.
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

#include "atomic_file.hpp"
#include "../core/compiled.hpp"

#if defined(CYCLEGAN_HAVE_TIFF)
#include <cstdarg>
#include <cstdio>
#include <tiffio.h>
#endif

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

// What a file's header says, read without decoding the pixels.
struct ImageInfo {
    int width = 0, height = 0, channels = 0;  // channels as stored in the file
};

namespace image_detail {

// 'the/path' in messages, as printable() shows it.
inline std::string quoted(const std::filesystem::path& p) {
    std::string out = "'";  // appended piecewise: GCC 12 -O3 warns (wrongly) on "'" + s + "'"
    out += printable(p.string());
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

// The n-byte little- or big-endian number at b[at]; the caller has checked that it lies inside b.
inline std::uint64_t le(const std::vector<unsigned char>& b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + i];
    return v;
}
inline std::uint64_t be(const std::vector<unsigned char>& b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | b[at + i];
    return v;
}

// Whether the 4 bytes at b[at] are `tag` (a PNG chunk type); the caller has checked that they lie inside b.
inline bool tag_at(const std::vector<unsigned char>& b, std::size_t at, const char (&tag)[5]) {
    return std::equal(tag, tag + 4, b.begin() + static_cast<std::ptrdiff_t>(at));
}

inline bool is_tiff(const std::vector<unsigned char>& b) {
    return b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                             (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));  // 43: BigTIFF
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
    if (is_tiff(b)) return "starts like a TIFF";
    return "not a known image format";
}

// "read_image: cannot decode 'f.png' (123 bytes, a PNG): why": every decoder's refusal, one format.
inline image_error decode_error(const std::filesystem::path& path, std::size_t size, const std::string& kind,
                                const std::string& why) {
    return image_error("read_image: cannot decode " + quoted(path) + " (" + std::to_string(size) + " bytes, " + kind +
                       "): " + why);
}

// Refuses a header of more than max_image_pixels() pixels (or an empty one) before any is
// decoded: every decoder calls it with the size its header claims.
inline void check_pixel_count(const std::filesystem::path& path, std::size_t size, const std::string& kind,
                              std::uint64_t w, std::uint64_t h) {
    const std::uint64_t most = max_image_pixels();
    if (w == 0 || h == 0 || w > (1u << 24) || h > (1u << 24) || w * h > most)
        throw decode_error(path, size, kind, "its header says " + std::to_string(w) + "x" + std::to_string(h) +
                                                 ", empty or over " + std::to_string(most) + " pixels");
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

// The EXIF / TIFF orientation (1-8) applied, so that pixels come out as a viewer shows them (as
// Pillow's ImageOps.exif_transpose): 2 mirrors, 3 turns 180 degrees, 4 flips, 5 transposes, 6
// turns 90 degrees clockwise, 7 transverses, 8 turns 90 degrees anticlockwise.
inline Image apply_orientation(const Image& in, int orientation) {
    if (orientation < 2 || orientation > 8) return in;
    const int W = in.width, H = in.height;
    const bool swaps = orientation >= 5;
    Image out(swaps ? H : W, swaps ? W : H, in.channels);
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x) {
            int sx = x, sy = y;  // where out(x, y) comes from
            switch (orientation) {
                case 2: sx = W - 1 - x; break;
                case 3: sx = W - 1 - x, sy = H - 1 - y; break;
                case 4: sy = H - 1 - y; break;
                case 5: sx = y, sy = x; break;
                case 6: sx = y, sy = H - 1 - x; break;
                case 7: sx = W - 1 - y, sy = H - 1 - x; break;
                case 8: sx = W - 1 - y, sy = x; break;
            }
            for (int c = 0; c < in.channels; ++c) out.at(y, x, c) = in.at(sy, sx, c);
        }
    return out;
}

// The orientation tag (0x0112, 1-8) of the TIFF-structured EXIF data in b[t, end), or 1 when it
// has none or it cannot be read. Bounds-checked throughout: this runs on untrusted bytes.
inline int exif_orientation(const std::vector<unsigned char>& b, std::size_t t, std::size_t end) {
    if (end > b.size() || t + 8 > end) return 1;
    const bool little = b[t] == 'I' && b[t + 1] == 'I';
    if (!little && !(b[t] == 'M' && b[t + 1] == 'M')) return 1;
    auto number = [&](std::size_t o, int n) { return little ? le(b, o, n) : be(b, o, n); };
    const std::size_t first = number(t + 4, 4);
    if (first > end - t || t + first + 2 > end) return 1;
    const std::size_t ifd = t + first;
    const std::size_t entries = number(ifd, 2);
    for (std::size_t k = 0; k < entries; ++k) {
        const std::size_t e = ifd + 2 + k * 12;
        if (e + 12 > end) return 1;
        if (number(e, 2) == 0x0112 && number(e + 2, 2) == 3) {  // SHORT
            const std::uint64_t v = number(e + 8, 2);
            return v >= 1 && v <= 8 ? int(v) : 1;
        }
    }
    return 1;
}

// The EXIF orientation of a JPEG (its APP1 "Exif" segment) or a PNG (its eXIf chunk, which
// browsers and Pillow's exif_transpose honour too), else 1.
inline int file_orientation(const std::vector<unsigned char>& b) {
    static constexpr unsigned char exif_prefix[] = {'E', 'x', 'i', 'f', 0, 0};
    auto has_prefix = [&](std::size_t at, std::size_t end) {
        return end - at >= 6 && std::equal(exif_prefix, exif_prefix + 6, b.begin() + static_cast<std::ptrdiff_t>(at));
    };
    if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
        for (std::size_t at = 8; at + 12 <= b.size();) {
            const std::size_t length = be(b, at, 4), data = at + 8;
            if (length > b.size() - data) break;
            if (tag_at(b, at + 4, "eXIf")) return exif_orientation(b, data + (has_prefix(data, data + length) ? 6 : 0), data + length);
            if (tag_at(b, at + 4, "IDAT")) break;
            at = data + length + 4;
        }
        return 1;
    }
    if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return 1;
    std::size_t at = 2;
    while (at + 4 <= b.size() && b[at] == 0xFF) {
        const unsigned marker = b[at + 1];
        if (marker == 0xFF) {  // fill byte
            ++at;
            continue;
        }
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length
            at += 2;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) break;  // image data: no EXIF after this
        const std::size_t length = be(b, at + 2, 2), start = at + 4, end = at + 2 + length;
        if (length < 2 || end > b.size()) break;
        if (marker == 0xE1 && has_prefix(start, end)) return exif_orientation(b, start + 6, end);
        at = end;
    }
    return 1;
}

#if defined(CYCLEGAN_HAVE_TIFF)
// libtiff reading from memory, its messages kept for our exception rather than printed.
struct TiffSource {
    const std::vector<unsigned char>* bytes;
    toff_t at = 0;
    std::string message;
};
// libtiff's callbacks (C++ functions in this namespace: no global symbols to clash).
inline tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
    auto* s = static_cast<TiffSource*>(h);
    if (n < 0 || s->at >= s->bytes->size()) return 0;
    const auto count = static_cast<tmsize_t>(std::min<toff_t>(toff_t(n), s->bytes->size() - s->at));
    std::memcpy(buf, s->bytes->data() + s->at, static_cast<std::size_t>(count));
    s->at += static_cast<toff_t>(count);
    return count;
}
inline tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return -1; }
inline toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
    auto* s = static_cast<TiffSource*>(h);
    const toff_t base = whence == SEEK_CUR ? s->at : whence == SEEK_END ? s->bytes->size() : 0;
    s->at = base + off;
    return s->at;
}
inline int tiff_close(thandle_t) { return 0; }
inline toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->bytes->size(); }
inline int tiff_map(thandle_t, void**, toff_t*) { return 0; }
inline void tiff_unmap(thandle_t, void*, toff_t) {}
inline int tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    char text[512];
    std::vsnprintf(text, sizeof text, fmt, ap);
    static_cast<TiffSource*>(user)->message = std::string(module ? module : "libtiff") + ": " + text;  // the latest
    return 1;  // handled: libtiff prints nothing
}
inline int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// The first page of a TIFF, in `channels` channels, as its orientation tag lays it out. Every
// layout libtiff's RGBA interface reads: 1-16 bits, grey, RGB, palette, CMYK, YCbCr, alpha.
// With `header`, only checks that it can be read and fills in its size, decoding nothing.
inline Image read_tiff(const std::vector<unsigned char>& bytes, const std::filesystem::path& path, int channels,
                       ImageInfo* header = nullptr) {
    TiffSource source{&bytes, 0, {}};
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_warning, &source);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(1) << 30);  // hostile headers ask for more
    std::unique_ptr<TIFF, void (*)(TIFF*)> handle(
        TIFFClientOpenExt(path.c_str(), "rm", &source, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size, tiff_map,
                          tiff_unmap, options),
        TIFFClose);
    TIFFOpenOptionsFree(options);
    TIFF* tif = handle.get();
    auto fail = [&](const std::string& why) {
        // libtiff's messages quote the file's name and may quote what the file holds
        return decode_error(path, bytes.size(), "a TIFF",
                            printable(why) + (source.message.empty() ? "" : " (" + printable(source.message) + ")"));
    };
    if (!tif) throw fail("not a readable TIFF");
    std::uint32_t w = 0, h = 0;
    std::uint16_t orientation = ORIENTATION_TOPLEFT;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
    check_pixel_count(path, bytes.size(), "a TIFF", w, h);
    char why[1024] = "";
    if (!TIFFRGBAImageOK(tif, why)) throw fail(why);
    if (header) {
        std::uint16_t samples = 1;
        TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
        *header = orientation >= 5 ? ImageInfo{int(h), int(w), samples} : ImageInfo{int(w), int(h), samples};
        return {};
    }
    // Grey or RGB in 8 or 16 bits, interleaved, in strips (what cameras, scanners, microscopes and
    // Pillow write): rows as stored, so that values and unassociated alpha stay exact (libtiff's
    // RGBA interface premultiplies such alpha into the colours and rounds 16 bits as v / 257).
    std::uint16_t bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    // The extra sample of grey+alpha or RGBA: unassociated alpha as it is, associated
    // (premultiplied) alpha divided out as Pillow does, an unspecified one ignored (opaque).
    std::uint16_t extra_count = 0, *extra = nullptr, alpha_kind = EXTRASAMPLE_UNSPECIFIED;
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count == 1 && extra) alpha_kind = extra[0];
    const bool grey = photometric == PHOTOMETRIC_MINISBLACK && (samples == 1 || samples == 2);
    const bool rgb = photometric == PHOTOMETRIC_RGB && (samples == 3 || samples == 4);
    if ((grey || rgb) && (bits == 8 || bits == 16) && planar == PLANARCONFIG_CONTIG && format == SAMPLEFORMAT_UINT &&
        !TIFFIsTiled(tif) && TIFFScanlineSize(tif) == tmsize_t(w) * samples * (bits / 8)) {
        Image rgba(int(w), int(h), 4);
        std::vector<std::uint8_t> line(static_cast<std::size_t>(TIFFScanlineSize(tif)));
        for (std::uint32_t y = 0; y < h; ++y) {
            if (TIFFReadScanline(tif, line.data(), y, 0) < 0) throw fail("damaged image data in row " + std::to_string(y));
            for (std::uint32_t x = 0; x < w; ++x) {
                std::uint8_t v[4] = {0, 0, 0, 255};
                for (int c = 0; c < samples; ++c) {
                    const std::size_t i = std::size_t(x) * samples + c;
                    std::uint16_t s16 = bits == 8 ? std::uint16_t(line[i] << 8) : 0;
                    if (bits == 16) std::memcpy(&s16, &line[2 * i], 2);  // libtiff gives native order
                    v[c] = static_cast<std::uint8_t>(s16 >> 8);          // the high byte, as for PNG
                }
                if (grey) v[3] = samples == 2 ? v[1] : 255, v[1] = v[2] = v[0];
                if (samples % 2 == 0 && alpha_kind == EXTRASAMPLE_UNSPECIFIED) v[3] = 255;
                if (samples % 2 == 0 && alpha_kind == EXTRASAMPLE_ASSOCALPHA && v[3] != 0)
                    for (int c = 0; c < 3; ++c) v[c] = static_cast<std::uint8_t>(std::min(255, (v[c] * 255 + v[3] / 2) / v[3]));
                std::memcpy(&rgba.pixels[(std::size_t(y) * w + x) * 4], v, 4);
            }
        }
        return apply_orientation(convert_channels(rgba, channels), orientation);
    }
    // Everything else through the RGBA interface, read as stored (top-left) and turned here
    // (libtiff would only flip, never transpose, for orientations 5-8).
    TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    std::vector<std::uint32_t> raster(std::size_t(w) * h);
    if (!TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1)) throw fail("damaged image data");
    Image rgba(int(w), int(h), 4);
    for (std::size_t i = 0; i < raster.size(); ++i) {
        const std::uint32_t v = raster[i];
        rgba.pixels[4 * i] = static_cast<std::uint8_t>(TIFFGetR(v));
        rgba.pixels[4 * i + 1] = static_cast<std::uint8_t>(TIFFGetG(v));
        rgba.pixels[4 * i + 2] = static_cast<std::uint8_t>(TIFFGetB(v));
        rgba.pixels[4 * i + 3] = static_cast<std::uint8_t>(TIFFGetA(v));
    }
    return apply_orientation(convert_channels(rgba, channels), orientation);
}
#endif

// A 32-bit BMP without colour masks (BI_RGB): its fourth byte is unused, so the image is opaque,
// as Windows and Pillow show it (stb would read the byte as alpha).
inline bool bmp_alpha_unused(const std::vector<unsigned char>& b) {
    if (b.size() < 34 || b[0] != 'B' || b[1] != 'M') return false;
    return le(b, 28, 2) == 32 && le(b, 30, 4) == 0;  // bits per pixel, compression
}

// What is wrong with a JPEG's tables and scans, or null: Debian's stb_image 2.27 checks none of
// this, and each makes it read memory the file never set (found by tests/fuzz).
// - A Huffman table (DHT segment, before and between scans) of more than 256 codes, or past its
//   segment: stb writes past its tables (fixed in stb 2.28).
// - A scan that uses a Huffman table no DHT before it defined: stb decodes with the uninitialised
//   table (a crash, or pixels that change from run to run). A baseline scan uses each component's
//   DC and AC tables; a progressive one its DC tables (first DC pass, Ss = 0, Ah = 0) or AC tables
//   (Se > 0).
// - A component whose quantisation table (its Tq in the frame header) no DQT defined: before a
//   baseline scan of it, or by the end of a progressive file (stb dequantises every component
//   there). stb multiplies by the uninitialised table.
// - A component that no scan fills (progressive: no first DC scan of it): stb's buffer for it,
//   never cleared, becomes the image.
// stb reads the first frame header (SOF0, SOF1 or SOF2) only, and zeros past the end of the file;
// so does this.
inline const char* jpeg_table_problem(const std::vector<unsigned char>& b) {
    bool defined[2][4] = {}, quantisation[4] = {}, progressive = false, frame = false;  // defined: [DC, AC][table]
    struct Component {
        unsigned id, table;
        bool filled;
    };
    std::vector<Component> components;
    auto byte = [&](std::size_t i) -> unsigned { return i < b.size() ? b[i] : 0; };
    auto at_end = [&]() -> const char* {  // what the file's end leaves unset
        for (const Component& c : components) {
            if (!c.filled) return "a colour component is in no scan, so its pixels were never decoded (corrupt file?)";
            if (progressive && !quantisation[c.table])
                return "a component uses a quantisation table the file does not define (corrupt file?)";
        }
        return nullptr;
    };
    std::size_t at = 0;  // stb skips 0xFF fill bytes before the start marker too
    while (at + 4 <= b.size()) {
        if (b[at] != 0xFF) {  // entropy-coded data: on to the next marker (0xFF00 is a stuffed byte)
            ++at;
            continue;
        }
        const unsigned marker = b[at + 1];
        if (marker == 0x00 || marker == 0xFF || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {  // no length
            at += marker == 0xFF ? 1 : 2;
            continue;
        }
        if (marker == 0xD9) return at_end();  // end of image
        const std::size_t length = be(b, at + 2, 2), end = std::min(b.size(), at + 2 + length);
        if (!frame && (marker == 0xC0 || marker == 0xC1 || marker == 0xC2)) {  // P, Y, X, Nf, Nf x (C, H << 4 | V, Tq)
            frame = true;
            progressive = marker == 0xC2;
            for (unsigned k = 0, n = byte(at + 9); k < n; ++k) {
                const unsigned table = byte(at + 12 + 3 * k);
                if (table > 3) return nullptr;  // stb refuses the frame
                components.push_back({byte(at + 10 + 3 * k), table, false});
            }
        }
        if (marker == 0xDB) {  // DQT: per table, Pq << 4 | Tq, then 64 values of 1 (Pq = 0) or 2 bytes
            for (std::size_t t = at + 4; t < end;) {
                const unsigned precision = b[t] >> 4, table = b[t] & 15;
                if (precision > 1 || table > 3) break;  // stb refuses the segment
                quantisation[table] = true;  // (values past the end of the file are stb's zeros: set)
                t += 1 + 64 * (precision + 1);
            }
        }
        if (marker == 0xC4) {
            for (std::size_t t = at + 4; t < end;) {
                if (t + 17 > end) return "a Huffman table holds more than 256 codes (corrupt file?)";
                std::size_t codes = 0;
                for (int i = 1; i <= 16; ++i) codes += b[t + i];
                if (codes > 256 || t + 17 + codes > end) return "a Huffman table holds more than 256 codes (corrupt file?)";
                if (b[t] >> 4 <= 1 && (b[t] & 15) <= 3) defined[b[t] >> 4][b[t] & 15] = true;  // others: stb refuses
                t += 17 + codes;
            }
        }
        if (marker == 0xDA) {  // Ns, Ns x (component, DC table << 4 | AC table), Ss, Se, Ah << 4 | Al
            const std::size_t ns = at + 4 < end ? b[at + 4] : 0, tail = at + 5 + 2 * ns;
            if (ns == 0 || tail + 3 > end) return "a scan header runs past its segment (truncated or corrupt file?)";
            const bool first_dc = b[tail] == 0 && b[tail + 2] >> 4 == 0;
            const bool dc = !progressive || first_dc, ac = !progressive || b[tail + 1] > 0;
            for (std::size_t k = 0; k < ns; ++k) {
                const unsigned td = b[at + 6 + 2 * k] >> 4, ta = b[at + 6 + 2 * k] & 15;
                if (td > 3 || ta > 3) continue;  // stb refuses the scan
                if ((dc && !defined[0][td]) || (ac && !defined[1][ta]))
                    return "a scan uses a Huffman table the file does not define (corrupt file?)";
                // stb matches the scan's component to the frame's first of that id
                const auto c = std::find_if(components.begin(), components.end(),
                                            [&](const Component& x) { return x.id == b[at + 5 + 2 * k]; });
                if (c == components.end()) continue;  // stb refuses the scan
                if (!progressive && !quantisation[c->table])
                    return "a scan uses a quantisation table the file does not define (corrupt file?)";
                if (!progressive || first_dc) c->filled = true;
            }
        }
        at = std::max(end, at + 2);
    }
    return at_end();  // (stb refuses a file without an end marker, too)
}

// Whether every chunk of a PNG lies inside the file. stb 2.27 grows its buffer to the length an
// IDAT chunk claims before reading it, so a truncated or hostile file could make it ask for 2 GiB
// (found by tests/fuzz); a chunk that runs past the end means a damaged file anyway.
inline bool png_chunks_fit(const std::vector<unsigned char>& b) {
    for (std::size_t at = 8; at + 8 <= b.size();) {
        const std::size_t length = be(b, at, 4);
        if (length > b.size() - at - 8) return false;
        if (tag_at(b, at + 4, "IEND")) return true;
        at += 12 + length;
    }
    return true;
}

// Whether an uncompressed BMP (BI_RGB or BI_BITFIELDS) holds the pixel rows its header promises.
// stb 2.27 reads missing bytes as zeros, so a truncated BMP would decode without an error (and a
// 246-byte file could claim 200 million pixels: found by tests/fuzz).
inline bool bmp_complete(const std::vector<unsigned char>& b) {
    if (b.size() < 30) return true;  // stb refuses what has no full header
    const std::uint64_t offset = le(b, 10, 4), header = le(b, 14, 4);
    if (header < 40 || b.size() < 34) return true;  // OS/2 headers: left to stb
    const std::int64_t w = std::int32_t(le(b, 18, 4)), h = std::int32_t(le(b, 22, 4));
    const std::uint64_t bits = le(b, 28, 2), compression = le(b, 30, 4);
    if (compression != 0 && compression != 3) return true;
    const std::uint64_t row = (bits * std::uint64_t(w < 0 ? -w : w) + 31) / 32 * 4;
    return offset + row * std::uint64_t(h < 0 ? -h : h) <= b.size();
}

// What is wrong with a palette BMP's colours, or "": stb 2.27 reads the colours into a table of 256
// it does not clear, and looks each pixel's index up in it, so an index past the colours the file
// holds reads memory the file never set (found by tests/fuzz). As stb does, the colours are
// counted from the gap between the header and the pixels (not from the header's count), and bytes
// past the end of the file read as 0.
inline std::string bmp_palette_problem(const std::vector<unsigned char>& b) {
    if (b.size() < 26) return "";  // stb refuses what has no full header
    const std::int64_t offset = std::int32_t(le(b, 10, 4)), header = le(b, 14, 4);
    if (offset < 0 || (header != 12 && header != 40 && header != 56 && header != 108 && header != 124)) return "";
    if (header != 12 && b.size() < 34) return "";
    const std::int64_t w = header == 12 ? le(b, 18, 2) : std::int64_t(le(b, 18, 4));
    const std::int64_t rows = header == 12 ? le(b, 20, 2) : std::abs(std::int64_t(std::int32_t(le(b, 22, 4))));
    const std::uint64_t bits = header == 12 ? le(b, 24, 2) : le(b, 28, 2);
    if (header != 12 && le(b, 30, 4) != 0) return "";  // a palette needs BI_RGB; stb refuses the rest
    if ((bits != 1 && bits != 4 && bits != 8) || w < 1 || rows < 1 || w > (1 << 24) || rows > (1 << 24)) return "";
    // stb's colour count: C's division of ints (towards zero) and arithmetic shift
    const std::int64_t colours = header == 12 ? (offset - 14 - 24) / 3 : (offset - 14 - header) >> 2;
    if (colours == 0 || colours > 256) return "";  // stb refuses these
    if (colours < 0) return "its palette would end before it begins (corrupt file?)";
    // (the colours fill the gap up to the pixels, which begin at the offset)
    const std::size_t row = std::size_t(bits == 1 ? (w + 7) >> 3 : bits == 4 ? (w + 1) >> 1 : w);
    const std::size_t stride = row + (-row & 3);
    for (std::int64_t y = 0; y < rows; ++y) {
        const std::size_t start = std::size_t(offset) + std::size_t(y) * stride;
        if (start >= b.size()) break;  // the rest reads as 0
        for (std::int64_t x = 0; x < w; ++x) {
            const std::size_t at = start + std::size_t(x * std::int64_t(bits) / 8);
            if (at >= b.size()) break;
            const unsigned index = bits == 8 ? b[at] : bits == 4 ? (x % 2 ? b[at] & 15 : b[at] >> 4) : (b[at] >> (7 - x % 8)) & 1;
            if (index >= colours)
                return "a pixel uses colour " + std::to_string(index) + " of a palette of " + std::to_string(colours) +
                       " (corrupt file?)";
        }
    }
    return "";
}

// "P1" to "P6" (stb also takes "P516 ..." as P5: what follows is ours to judge).
inline bool is_pnm(const std::vector<unsigned char>& b) {
    return b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6';
}

// Netpbm images, all six kinds: PBM (P1 text, P4 bits; 1 is black), PGM (P2, P5) and PPM (P3, P6)
// with any maxval up to 65535, scaled to 8 bits (65535 by its high byte, as 16-bit PNG; others by
// round(v * 255 / maxval)). stb reads only P5/P6, and its 16-bit conversion mixes up channels.
inline Image read_pnm(const std::vector<unsigned char>& b, const std::filesystem::path& path, int channels) {
    const char kind = static_cast<char>(b[1]);
    std::size_t at = 2;
    const std::string format = std::string("a Netpbm P") + kind + " image";
    auto fail = [&](const std::string& why) { return decode_error(path, b.size(), format, why + " (truncated or corrupt file?)"); };
    auto skip_space = [&] {
        while (at < b.size()) {
            if (b[at] == '#')
                while (at < b.size() && b[at] != '\n') ++at;
            else if (std::isspace(b[at]))
                ++at;
            else
                break;
        }
    };
    auto number = [&](const char* what) {
        skip_space();
        std::uint64_t v = 0;
        const std::size_t start = at;
        while (at < b.size() && b[at] >= '0' && b[at] <= '9' && v < (1u << 30)) v = v * 10 + (b[at++] - '0');
        if (at == start) throw fail(std::string("expected ") + what);
        if (at < b.size() && b[at] >= '0' && b[at] <= '9') throw fail(std::string(what) + " is too large");
        return v;
    };
    const bool bitmap = kind == '1' || kind == '4', text = kind <= '3';
    const int file_channels = kind == '3' || kind == '6' ? 3 : 1;
    const std::uint64_t w = number("the width"), h = number("the height");
    const std::uint64_t maxval = bitmap ? 1 : number("the maximum value");
    check_pixel_count(path, b.size(), format, w, h);
    if (maxval == 0 || maxval > 65535) throw fail("maximum value " + std::to_string(maxval) + " outside 1-65535");
    if (!text) {
        if (at >= b.size() || !std::isspace(b[at])) throw fail("no space after the header");
        ++at;  // exactly one whitespace byte before binary data
    }
    const std::size_t n = std::size_t(w) * h * file_channels;
    Image rgba(int(w), int(h), 4, 255);
    auto scale = [&](std::uint64_t v) -> std::uint8_t {
        if (v > maxval) v = maxval;
        if (maxval == 65535) return static_cast<std::uint8_t>(v >> 8);
        return static_cast<std::uint8_t>((v * 255 + maxval / 2) / maxval);
    };
    const std::size_t bytes_per = maxval > 255 ? 2 : 1, row_bits = (std::size_t(w) + 7) / 8;
    if (!text && b.size() - at < (kind == '4' ? row_bits * h : n * bytes_per))
        throw fail("pixel data shorter than " + std::to_string(w) + "x" + std::to_string(h) + " needs");
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t v = 0;
        if (kind == '4') {
            const std::size_t y = i / w, x = i % w;
            v = (b[at + y * row_bits + x / 8] >> (7 - x % 8)) & 1;
        } else if (kind == '1') {
            skip_space();
            if (at >= b.size() || (b[at] != '0' && b[at] != '1')) throw fail("expected a 0 or 1");
            v = b[at++] - '0';
        } else if (text) {
            v = number("a pixel value");
        } else {
            v = bytes_per == 2 ? be(b, at + 2 * i, 2) : b[at + i];
        }
        const std::uint8_t level = bitmap ? (v ? 0 : 255) : scale(v);
        const std::size_t pixel = i / file_channels;
        if (file_channels == 3)
            rgba.pixels[pixel * 4 + i % 3] = level;
        else
            rgba.pixels[pixel * 4] = rgba.pixels[pixel * 4 + 1] = rgba.pixels[pixel * 4 + 2] = level;
    }
    return convert_channels(rgba, channels);
}

// The bytes Debian's stb_image 2.27 mishandles, refused before it sees them (each found by
// tests/fuzz): PNG chunks past the end, truncated BMPs, BMP pixels past their palette, JPEG
// Huffman tables too large or undefined, undefined quantisation tables, components no scan fills.
inline void check_before_stb(const std::vector<unsigned char>& b, const std::filesystem::path& path) {
    if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && !png_chunks_fit(b))
        throw decode_error(path, b.size(), "a PNG", "a chunk runs past the end of the file (truncated or corrupt file?)");
    if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M' && !bmp_complete(b))
        throw decode_error(path, b.size(), "a BMP", "shorter than the pixel rows its header describes (truncated file?)");
    if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M')
        if (const std::string why = bmp_palette_problem(b); !why.empty()) throw decode_error(path, b.size(), "a BMP", why);
    if (const char* why = b[0] == 0xFF ? jpeg_table_problem(b) : nullptr)  // what stb would try as a JPEG
        throw decode_error(path, b.size(), "a JPEG", why);
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

// Writes PNG (.png) or JPEG at quality 95 (.jpg, .jpeg; without alpha, which JPEG cannot hold),
// chosen by the extension. The file is
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
    if (ext == ".png")
        ok = stbi_write_png_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(),
                                    img.width * img.channels);
    else if (ext == ".jpg" || ext == ".jpeg")
        ok = stbi_write_jpg_to_func(append, &encoded, img.width, img.height, img.channels, img.pixels.data(), 95);
    else
        throw image_error(where + ": unsupported extension '" + printable(path.extension().string()) +
                          "' (use .png, .jpg or .jpeg)");
    if (!ok || encoded.empty()) throw image_error(where + ": encoding failed");
    try {
        write_file_atomically(path, encoded);
    } catch (const io_error& e) {
        throw image_error(std::string("write_image: ") + e.what());
    }
}
#endif

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
