#pragma once
// Netpbm (PBM, PGM, PPM: P1 to P6), our own decoder.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../channels.hpp"
#include "../image.hpp"
#include "bytes.hpp"

namespace cyclegan {
namespace image_detail {

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

}  // namespace image_detail
}  // namespace cyclegan
