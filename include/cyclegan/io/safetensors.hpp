#pragma once
// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
//   8 bytes little-endian header length, a JSON header naming each tensor's dtype, shape and byte
//   range, then the raw little-endian data. Python reads it with `safetensors` or by hand.
// The JSON here is the small subset the format uses; every error names the file and the problem,
// with the file's name and every string from the file as printable() shows them.
#include <bit>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/text.hpp"

namespace cyclegan::safetensors {

struct format_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
// The number of elements of a shape: the product of its dims (1 for a scalar).
inline std::size_t numel(const std::vector<std::int64_t>& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
}
}  // namespace detail

struct TensorInfo {
    std::string dtype;  // "F32", "F64", "I64", ...
    std::vector<std::int64_t> shape;
    std::size_t begin = 0, end = 0;  // byte range in the data section

    std::size_t numel() const { return detail::numel(shape); }
};

inline std::size_t dtype_size(const std::string& dtype) {
    if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
    if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
    if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
    return 0;
}

namespace detail {

// Recursive-descent reader for the JSON that safetensors headers contain.
class HeaderParser {
public:
    // where: the file's name, already printable().
    HeaderParser(std::string_view text, std::string where) : s_(text), where_(std::move(where)) {}

    void parse(std::map<std::string, TensorInfo>& tensors, std::map<std::string, std::string>& meta) {
        list('{', '}', true, [&] {
            std::string key = string();
            expect(':');
            if (key == "__metadata__") {
                list('{', '}', true, [&] {
                    std::string k = string();
                    expect(':');
                    meta[k] = string();
                });
            } else {
                if (tensors.count(key)) fail("tensor '" + printable(key) + "' appears twice");
                tensors[key] = tensor(key);
            }
        });
        skip_ws();
        if (i_ != s_.size()) fail("trailing characters after the header object");
    }

private:
    // open item (, item)* close, or open close where `may_be_empty`.
    template <class Item>
    void list(char open, char close, bool may_be_empty, Item&& item) {
        expect(open);
        if (!may_be_empty || peek() != close)
            for (item(); peek() == ','; item()) ++i_;
        expect(close);
    }

    TensorInfo tensor(const std::string& key) {
        const std::string name = printable(key);  // for messages
        TensorInfo t;
        bool has_dtype = false, has_shape = false, has_offsets = false;
        list('{', '}', false, [&] {
            std::string k = string();
            expect(':');
            if (k == "dtype") { t.dtype = string(); has_dtype = true; }
            else if (k == "shape") {
                t.shape = ints();
                has_shape = true;
                for (auto d : t.shape)
                    if (d < 0) fail("tensor '" + name + "' has a negative dimension");
            }
            else if (k == "data_offsets") {
                auto o = ints();
                if (o.size() != 2 || o[0] < 0 || o[1] < o[0]) fail("tensor '" + name + "' has bad data_offsets");
                t.begin = static_cast<std::size_t>(o[0]);
                t.end = static_cast<std::size_t>(o[1]);
                has_offsets = true;
            } else fail("tensor '" + name + "' has unknown field '" + printable(k) + "'");
        });
        if (!has_dtype || !has_shape || !has_offsets)
            fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
        return t;
    }

    std::vector<std::int64_t> ints() {
        std::vector<std::int64_t> out;
        list('[', ']', true, [&] {
            skip_ws();
            std::size_t start = i_;
            while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-')) ++i_;
            if (start == i_) fail("expected an integer");
            // from_chars, not stoll: a corrupt header ("--", 99999999999999999999) must give format_error
            std::int64_t v = 0;
            const auto r = std::from_chars(s_.data() + start, s_.data() + i_, v);
            if (r.ec != std::errc() || r.ptr != s_.data() + i_)
                fail("bad integer '" + printable(s_.substr(start, i_ - start)) + "'");
            out.push_back(v);
        });
        return out;
    }

    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') { out += c; continue; }
            if (i_ >= s_.size()) break;
            char e = s_[i_++];
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'u': {
                    unsigned code = 0;
                    const auto r = i_ + 4 <= s_.size() ? std::from_chars(s_.data() + i_, s_.data() + i_ + 4, code, 16)
                                                       : std::from_chars_result{nullptr, std::errc::invalid_argument};
                    if (r.ec != std::errc() || r.ptr != s_.data() + i_ + 4) fail("bad \\u escape");
                    i_ += 4;
                    if (code < 0x80) out += static_cast<char>(code);
                    else if (code < 0x800) { out += static_cast<char>(0xC0 | (code >> 6)); out += static_cast<char>(0x80 | (code & 0x3F)); }
                    else { out += static_cast<char>(0xE0 | (code >> 12)); out += static_cast<char>(0x80 | ((code >> 6) & 0x3F)); out += static_cast<char>(0x80 | (code & 0x3F)); }
                    break;
                }
                default: out += e;
            }
        }
        expect('"');
        return out;
    }

    char peek() {
        skip_ws();
        return i_ < s_.size() ? s_[i_] : '\0';
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "' at byte " + std::to_string(i_) + " of the header");
        ++i_;
    }
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    [[noreturn]] void fail(const std::string& what) { throw format_error(where_ + ": " + what); }

    std::string_view s_;
    std::string where_;
    std::size_t i_ = 0;
};

inline std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (c == '\n') out += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += c;
    }
    return out + "\"";
}

// Why `path` cannot be opened for reading, as an exception naming it.
inline format_error open_error(const std::filesystem::path& path) {
    std::error_code ec;
    const std::string where = printable(path.string());
    if (!std::filesystem::exists(path, ec)) return format_error(where + ": no such file");
    if (std::filesystem::is_directory(path, ec)) return format_error(where + ": is a folder, not a safetensors file");
    return format_error(where + ": cannot open for reading (permission denied?)");
}

// Reads the length prefix and the JSON header of a file of `size` bytes open at its start; leaves
// the stream at the data section and returns where it begins. `where`: the file's name, printable().
CYCLEGAN_COMPILED_FUNCTION std::size_t read_header(std::istream& in, std::size_t size, const std::string& where,
                                                   std::map<std::string, TensorInfo>& tensors, std::map<std::string, std::string>& meta);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::size_t read_header(std::istream& in, std::size_t size, const std::string& where,
                                                   std::map<std::string, TensorInfo>& tensors, std::map<std::string, std::string>& meta) {
    if (size < 8) throw format_error(where + ": too short to be a safetensors file (" + std::to_string(size) + " bytes)");
    unsigned char len_bytes[8];
    in.read(reinterpret_cast<char*>(len_bytes), 8);
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    // The header is JSON: anything else after the length is another kind of file (an image, a .pth).
    if (size > 8 && in.peek() != '{')
        throw format_error(where + ": not a safetensors file (no JSON header after its first 8 bytes)");
    if (header_len > size - 8)
        throw format_error(where + ": header length " + std::to_string(header_len) +
                           " runs past the end of the file (truncated?)");
    std::string header(header_len, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_len));
    if (!in) throw format_error(where + ": read failed");
    HeaderParser(header, where).parse(tensors, meta);
    return 8 + header_len;
}
#endif

// Every tensor's dtype is known and its byte range lies inside a data section of `data_size` bytes
// and fits its shape: a truncated file fails here, before any data is read.
CYCLEGAN_COMPILED_FUNCTION void check_ranges(const std::map<std::string, TensorInfo>& tensors, std::size_t data_size, const std::string& where);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void check_ranges(const std::map<std::string, TensorInfo>& tensors, std::size_t data_size, const std::string& where) {
    for (auto& [key, t] : tensors) {
        const std::string name = printable(key);
        const std::size_t es = dtype_size(t.dtype);
        if (es == 0) throw format_error(where + ": tensor '" + name + "' has unknown dtype " + printable(t.dtype));
        if (t.end > data_size)
            throw format_error(where + ": tensor '" + name + "' ends at byte " + std::to_string(t.end) +
                               " but the data section has " + std::to_string(data_size) + " (truncated?)");
        if (t.end - t.begin != t.numel() * es)
            throw format_error(where + ": tensor '" + name + "' has " + std::to_string(t.end - t.begin) +
                               " bytes for its shape and dtype, expected " + std::to_string(t.numel() * es));
    }
}
#endif

// Little-endian F32 / F64 / I64 bytes -> T. `where` is printable(), `name` is as in the file.
template <class T>
std::vector<T> convert(const unsigned char* p, const TensorInfo& t, const std::string& where, const std::string& name) {
    static_assert(std::endian::native == std::endian::little, "safetensors: big-endian hosts are not supported");
    std::vector<T> out(t.numel());
    auto read_as = [&](auto v) {  // v: a value of the file's type
        for (std::size_t i = 0; i < out.size(); ++i) { std::memcpy(&v, p + sizeof v * i, sizeof v); out[i] = static_cast<T>(v); }
    };
    if (t.dtype == "F32") read_as(float{});
    else if (t.dtype == "F64") read_as(double{});
    else if (t.dtype == "I64") read_as(std::int64_t{});
    else
        throw format_error(where + ": tensor '" + printable(name) + "' has dtype " + printable(t.dtype) +
                           ", expected F32, F64 or I64");
    return out;
}

}  // namespace detail

// The dtype name of a C++ element type.
template <class T>
constexpr const char* dtype_of() {
    if constexpr (std::is_same_v<T, float>) return "F32";
    else if constexpr (std::is_same_v<T, double>) return "F64";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
    else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
    else static_assert(sizeof(T) == 0, "safetensors: no dtype for this type");
}

// Opens a file, reads and checks its header, and reads a tensor's bytes only when asked: loading
// one network from a checkpoint of four touches only that network's bytes.
class LazyFile {
public:
    static LazyFile open(const std::filesystem::path& path) {
        LazyFile f;
        f.path_ = path.string();
        f.where_ = printable(f.path_);
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) throw detail::open_error(path);
        f.in_.open(path, std::ios::binary);
        if (!f.in_) throw detail::open_error(path);
        f.in_.seekg(0, std::ios::end);
        const auto size = static_cast<std::size_t>(f.in_.tellg());
        f.in_.seekg(0);
        f.data_start_ = detail::read_header(f.in_, size, f.where_, f.tensors_, f.metadata_);
        f.bytes_read_ = f.data_start_;
        detail::check_ranges(f.tensors_, size - f.data_start_, f.where_);
        return f;
    }

    bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
    const TensorInfo& info(const std::string& name) const {
        auto it = tensors_.find(name);
        if (it == tensors_.end()) throw format_error(where_ + ": no tensor named '" + printable(name) + "'");
        return it->second;
    }
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string& path() const { return path_; }  // as given: printable() it for messages

    // The tensor's raw bytes (little-endian, its dtype), read from disk now.
    std::vector<unsigned char> bytes(const std::string& name) const {
        const TensorInfo& t = info(name);
        std::vector<unsigned char> out(t.end - t.begin);
        in_.clear();
        in_.seekg(static_cast<std::streamoff>(data_start_ + t.begin));
        in_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
        if (!in_) throw format_error(where_ + ": cannot read tensor '" + printable(name) + "' (file changed or truncated?)");
        bytes_read_ += out.size();
        return out;
    }

    // A tensor's values converted to T (F32, F64 or I64 in the file), read from disk now.
    template <class T>
    std::vector<T> values(const std::string& name) const {
        const auto b = bytes(name);
        return detail::convert<T>(b.data(), info(name), where_, name);
    }

    // Header plus tensor bytes read so far: what loading touched.
    std::size_t bytes_read() const { return bytes_read_; }

private:
    std::string path_, where_;  // the path as given, and as messages show it
    mutable std::ifstream in_;  // reading a tensor moves the stream, not what the file holds
    std::size_t data_start_ = 0;
    mutable std::size_t bytes_read_ = 0;
    std::map<std::string, TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
};

// A tensor's entry in a header: its data follows the previous one's.
struct TensorDecl {
    std::string name;
    std::string dtype;  // "F32", "F64", "I64", ...
    std::vector<std::int64_t> shape;

    std::size_t bytes() const { return dtype_size(dtype) * detail::numel(shape); }
};

// The 8-byte length and the JSON header (padded to 8 bytes, as the reference writer does) for
// tensors stored back to back in `decls`' order. A writer appends their bytes in that order, so
// values can go straight from a device into the output without an intermediate copy.
CYCLEGAN_COMPILED_FUNCTION std::string serialize_header(const std::vector<TensorDecl>& decls, const std::map<std::string, std::string>& metadata = {});
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::string serialize_header(const std::vector<TensorDecl>& decls, const std::map<std::string, std::string>& metadata) {
    std::vector<std::string> entries, meta;
    for (const auto& [k, v] : metadata) meta.push_back(detail::json_string(k) + ":" + detail::json_string(v));
    if (!metadata.empty()) entries.push_back("\"__metadata__\":{" + join(meta, ",") + "}");
    std::size_t offset = 0;
    for (const auto& d : decls) {
        if (dtype_size(d.dtype) == 0)
            throw format_error("safetensors: tensor '" + printable(d.name) + "' has unknown dtype " + printable(d.dtype));
        std::vector<std::string> dims;
        for (const std::int64_t n : d.shape) dims.push_back(std::to_string(n));
        entries.push_back(detail::json_string(d.name) + ":{\"dtype\":" + detail::json_string(d.dtype) + ",\"shape\":[" +
                          join(dims, ",") + "],\"data_offsets\":[" + std::to_string(offset) + "," +
                          std::to_string(offset + d.bytes()) + "]}");
        offset += d.bytes();
    }
    std::string header = "{" + join(entries, ",") + "}";
    while (header.size() % 8) header += ' ';
    std::string out(8, '\0');
    const std::uint64_t len = header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
    return out + header;
}
#endif

// A tensor to write: F32 values with their shape.
struct Entry {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// The file's bytes.
CYCLEGAN_COMPILED_FUNCTION std::string serialize(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata = {});
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::string serialize(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata) {
    std::vector<TensorDecl> decls;
    for (const auto& e : entries) {
        decls.push_back({e.name, "F32", e.shape});
        if (decls.back().bytes() != e.values.size() * 4)
            throw format_error("safetensors: tensor '" + printable(e.name) + "' has " + std::to_string(e.values.size()) +
                               " values for its shape");
    }
    std::string out = serialize_header(decls, metadata);
    for (const auto& e : entries) out.append(reinterpret_cast<const char*>(e.values.data()), e.values.size() * 4);
    return out;
}
#endif

}  // namespace cyclegan::safetensors
