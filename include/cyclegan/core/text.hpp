#pragma once
// Text for messages: strings joined into lists, and the one rule for every string that comes from
// outside the program (a file name, a file's metadata or tensor names, an image library's
// complaint) before it is put into an exception, a log line or a page. A downloaded checkpoint
// whose metadata holds "\x1b[2J" must not clear the terminal of whoever reads the error.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cyclegan {

// "instance, batch, none": names (strings or C strings) joined for messages.
template <class Names = std::vector<std::string>>
std::string join(const Names& names, const std::string& separator = ", ") {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : separator) + std::string(n);
    return out;
}

// How many characters of a string printable() shows before it cuts the middle out.
inline constexpr std::size_t printable_max_length = 256;

namespace text_detail {

// The code point of the UTF-8 character at s[i] and its length in bytes; length 0 when the bytes
// there are not one (a stray continuation byte, an overlong form, a surrogate, a cut character).
inline std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range (RFC 3629's table)
    if (b < 0x80) return cp = b, 1;
    if (b >= 0xC2 && b <= 0xDF) n = 2, cp = b & 0x1F;
    else if (b >= 0xE0 && b <= 0xEF) n = 3, cp = b & 0x0F, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) n = 4, cp = b & 0x07, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    return n;
}

// Characters a terminal or a page acts on rather than shows: C0 and C1 controls and DEL, which
// start escape sequences; the invisible marks that reorder or break lines (U+200E, U+200F,
// U+2028, U+2029, U+202A-U+202E, U+2066-U+2069), which can make a name read as another.
inline bool acts(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace text_detail

// `s` as it may be printed: what a file or a file name holds, made safe for a terminal, a log
// and a page. The rule, for every such string the library and its programs print:
// - each control character (C0, DEL, C1) and each invisible direction or line mark shows as an
//   escape: "\x1b" for ESC, "\x07" for BEL, "\u202e" for U+202E; a byte that is not part of a
//   UTF-8 character shows as "\xff"; every other character, ASCII or not, stays as it is;
// - a string longer than `max_length` characters (each escape counts as one) keeps its first and
//   last max_length / 2 and shows "[... N characters cut ...]" between them, so a path keeps its
//   file name.
// A backslash is not doubled: printable(printable(s)) == printable(s) for strings under the
// length, so text made printable once can pass through another layer that applies the rule.
inline std::string printable(std::string_view s, std::size_t max_length = printable_max_length) {
    std::string out;
    std::vector<std::size_t> starts;  // where each shown character begins in `out`
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        starts.push_back(out.size());
        char32_t cp = 0;
        const std::size_t n = text_detail::decode_utf8(s, i, cp);
        char buf[16];
        if (n == 0) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
            out += buf;
            ++i;
        } else if (text_detail::acts(cp)) {
            std::snprintf(buf, sizeof buf, cp < 0x80 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
            i += n;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    const std::size_t count = starts.size();
    if (count <= max_length || max_length < 2) return out;
    const std::size_t head = max_length / 2, tail = max_length - head;
    return out.substr(0, starts[head]) + "[... " + std::to_string(count - max_length) + " characters cut ...]" +
           out.substr(starts[count - tail]);
}

// An exception's message, ready to print. The library's own messages follow printable()'s rule
// already; a std::filesystem::filesystem_error (from the standard library, in a program's own
// file handling) carries its paths raw, and gets them made printable here.
inline std::string printable_error(const std::exception& e) {
    std::string what = e.what();
    if (const auto* fe = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
        for (const auto* p : {&fe->path1(), &fe->path2()}) {
            const std::string raw = p->string(), shown = printable(raw);
            if (raw.empty() || raw == shown) continue;
            for (std::size_t at = what.find(raw); at != std::string::npos; at = what.find(raw, at + shown.size()))
                what.replace(at, raw.size(), shown);
        }
    }
    return what;
}

}  // namespace cyclegan
