#pragma once
// The checks run on a file's bytes before stb_image sees them (PNG chunks, BMP rows and palettes,
// JPEG tables and scans: what Debian's stb_image 2.27 mishandles), and the fix of a BMP's unused
// alpha byte after it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bytes.hpp"

namespace cyclegan {
namespace image_detail {

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
}  // namespace cyclegan
