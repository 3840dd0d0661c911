#pragma once
// An oracle for printable() (core/text.hpp), written apart from it: whether text holds anything a
// terminal acts on instead of showing, or bytes that are not UTF-8.
#include <string_view>

namespace cyclegan::test {

// What a file name or metadata entry of the tests holds to attack a terminal: clear the screen,
// set the window title (OSC ... BEL), a C1 CSI, a right-to-left override, a byte that is not UTF-8.
inline constexpr std::string_view evil = "\x1b[2J\x1b]0;OWNED\x07" "evil\xc2\x9b" "31m\xe2\x80\xae" "gnp\xff";
// The same as printable() must show it.
inline constexpr std::string_view evil_shown = "\\x1b[2J\\x1b]0;OWNED\\x07evil\\u009b31m\\u202egnp\\xff";

// True when `s` holds a C0 control, DEL, a C1 control (U+0080-U+009F), an invisible direction or
// line mark (U+200E, U+200F, U+2028-U+202E, U+2066-U+2069), or bytes that are not UTF-8.
inline bool has_raw_control(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x20 || b == 0x7F) return true;
        if (b < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
        if (n == 0 || b > 0xF4 || i + n > s.size()) return true;
        char32_t cp = b & (0x7F >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return true;
            cp = (cp << 6) | (c & 0x3F);
        }
        const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return true;  // overlong, surrogate
        if (cp <= 0x9F || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
            return true;
        i += n;
    }
    return false;
}

}  // namespace cyclegan::test
