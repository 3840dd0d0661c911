#pragma once
// What every decoder shares: numbers and tags read from untrusted bytes (the caller checks the
// bounds), the format a file starts like, and the refusals every decoder throws (decode_error,
// check_pixel_count), each naming the file as quoted() shows it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../../core/text.hpp"
#include "../image.hpp"

namespace cyclegan {
namespace image_detail {

// 'the/path' in messages, as printable() shows it.
inline std::string quoted(const std::filesystem::path& p) {
    std::string out = "'";  // appended piecewise: GCC 12 -O3 warns (wrongly) on "'" + s + "'"
    out += printable(p.string());
    out += '\'';
    return out;
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

}  // namespace image_detail
}  // namespace cyclegan
