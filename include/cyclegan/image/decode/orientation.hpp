#pragma once
// The orientation an image file records (an EXIF tag in a JPEG's APP1 segment or a PNG's eXIf
// chunk; a TIFF's own tag), read from the bytes, and applied to the pixels.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "bytes.hpp"

namespace cyclegan {
namespace image_detail {

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

}  // namespace image_detail
}  // namespace cyclegan
