#pragma once
// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
//   8 bytes little-endian header length, a JSON header naming each tensor's dtype, shape and byte
//   range, then the raw little-endian data. Python reads it with `safetensors` or by hand.
// The JSON here is the small subset the format uses; every error names the file and the problem.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cyclegan::safetensors {

struct format_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TensorInfo {
    std::string dtype;  // "F32", "F64", "I64", ...
    std::vector<std::int64_t> shape;
    std::size_t begin = 0, end = 0;  // byte range in the data section

    std::size_t numel() const {
        std::size_t n = 1;
        for (auto d : shape) n *= static_cast<std::size_t>(d);
        return n;
    }
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
    HeaderParser(std::string_view text, std::string where) : s_(text), where_(std::move(where)) {}

    void parse(std::map<std::string, TensorInfo>& tensors, std::map<std::string, std::string>& meta) {
        expect('{');
        if (peek() == '}') { ++i_; return; }
        for (;;) {
            std::string key = string();
            expect(':');
            if (key == "__metadata__") {
                expect('{');
                if (peek() != '}')
                    for (;;) {
                        std::string k = string();
                        expect(':');
                        meta[k] = string();
                        if (peek() == ',') { ++i_; continue; }
                        break;
                    }
                expect('}');
            } else {
                if (tensors.count(key)) fail("tensor '" + key + "' appears twice");
                tensors[key] = tensor(key);
            }
            if (peek() == ',') { ++i_; continue; }
            break;
        }
        expect('}');
        skip_ws();
        if (i_ != s_.size()) fail("trailing characters after the header object");
    }

private:
    TensorInfo tensor(const std::string& name) {
        TensorInfo t;
        bool has_dtype = false, has_shape = false, has_offsets = false;
        expect('{');
        for (;;) {
            std::string k = string();
            expect(':');
            if (k == "dtype") { t.dtype = string(); has_dtype = true; }
            else if (k == "shape") { t.shape = ints(); has_shape = true; }
            else if (k == "data_offsets") {
                auto o = ints();
                if (o.size() != 2 || o[0] < 0 || o[1] < o[0]) fail("tensor '" + name + "' has bad data_offsets");
                t.begin = static_cast<std::size_t>(o[0]);
                t.end = static_cast<std::size_t>(o[1]);
                has_offsets = true;
            } else fail("tensor '" + name + "' has unknown field '" + k + "'");
            if (peek() == ',') { ++i_; continue; }
            break;
        }
        expect('}');
        if (!has_dtype || !has_shape || !has_offsets)
            fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
        return t;
    }

    std::vector<std::int64_t> ints() {
        std::vector<std::int64_t> out;
        expect('[');
        if (peek() == ']') { ++i_; return out; }
        for (;;) {
            skip_ws();
            std::size_t start = i_;
            while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-')) ++i_;
            if (start == i_) fail("expected an integer");
            out.push_back(std::stoll(std::string(s_.substr(start, i_ - start))));
            if (peek() == ',') { ++i_; continue; }
            break;
        }
        expect(']');
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
                    if (i_ + 4 > s_.size()) fail("bad \\u escape");
                    unsigned code = std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16);
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

}  // namespace detail

// A whole safetensors file in memory.
class File {
public:
    static File read(const std::filesystem::path& path) {
        const std::string where = path.string();
        std::ifstream in(path, std::ios::binary);
        if (!in) throw format_error(where + ": cannot open for reading");
        in.seekg(0, std::ios::end);
        const auto size = static_cast<std::size_t>(in.tellg());
        in.seekg(0);
        if (size < 8) throw format_error(where + ": too short to be a safetensors file (" + std::to_string(size) + " bytes)");
        unsigned char len_bytes[8];
        in.read(reinterpret_cast<char*>(len_bytes), 8);
        std::uint64_t header_len = 0;
        for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
        if (header_len > size - 8)
            throw format_error(where + ": header length " + std::to_string(header_len) +
                               " runs past the end of the file (truncated?)");
        std::string header(header_len, '\0');
        in.read(header.data(), static_cast<std::streamsize>(header_len));
        File f;
        f.path_ = where;
        detail::HeaderParser(header, where).parse(f.tensors_, f.metadata_);
        f.data_.resize(size - 8 - header_len);
        in.read(reinterpret_cast<char*>(f.data_.data()), static_cast<std::streamsize>(f.data_.size()));
        if (!in) throw format_error(where + ": read failed");
        for (auto& [name, t] : f.tensors_) {
            const std::size_t es = dtype_size(t.dtype);
            if (es == 0) throw format_error(where + ": tensor '" + name + "' has unknown dtype " + t.dtype);
            if (t.end > f.data_.size())
                throw format_error(where + ": tensor '" + name + "' ends at byte " + std::to_string(t.end) +
                                   " but the data section has " + std::to_string(f.data_.size()) + " (truncated?)");
            if (t.end - t.begin != t.numel() * es)
                throw format_error(where + ": tensor '" + name + "' has " + std::to_string(t.end - t.begin) +
                                   " bytes for its shape and dtype, expected " + std::to_string(t.numel() * es));
        }
        return f;
    }

    bool contains(const std::string& name) const { return tensors_.count(name) > 0; }

    const TensorInfo& info(const std::string& name) const {
        auto it = tensors_.find(name);
        if (it == tensors_.end()) throw format_error(path_ + ": no tensor named '" + name + "'");
        return it->second;
    }

    // A floating-point tensor's values, converted to T.
    template <class T>
    std::vector<T> values(const std::string& name) const {
        const TensorInfo& t = info(name);
        std::vector<T> out(t.numel());
        const unsigned char* p = data_.data() + t.begin;
        if (t.dtype == "F32") {
            for (std::size_t i = 0; i < out.size(); ++i) { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<T>(v); }
        } else if (t.dtype == "F64") {
            for (std::size_t i = 0; i < out.size(); ++i) { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<T>(v); }
        } else if (t.dtype == "I64") {
            for (std::size_t i = 0; i < out.size(); ++i) { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<T>(v); }
        } else {
            throw format_error(path_ + ": tensor '" + name + "' has dtype " + t.dtype + ", expected F32, F64 or I64");
        }
        return out;
    }

    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::map<std::string, TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
    std::vector<unsigned char> data_;
};

// A tensor to write: F32 values with their shape.
struct Entry {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// The file's bytes (header padded to 8 bytes, as the reference writer does).
inline std::string serialize(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata = {}) {
    std::string header = "{";
    bool first = true;
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        for (auto it = metadata.begin(); it != metadata.end(); ++it) {
            if (it != metadata.begin()) header += ",";
            header += detail::json_string(it->first) + ":" + detail::json_string(it->second);
        }
        header += "}";
        first = false;
    }
    std::size_t offset = 0;
    for (const auto& e : entries) {
        header += first ? "" : ",";
        first = false;
        header += detail::json_string(e.name) + ":{\"dtype\":\"F32\",\"shape\":[";
        for (std::size_t i = 0; i < e.shape.size(); ++i) {
            if (i) header += ',';
            header += std::to_string(e.shape[i]);
        }
        const std::size_t bytes = e.values.size() * 4;
        header += "],\"data_offsets\":[";
        header += std::to_string(offset);
        header += ',';
        header += std::to_string(offset + bytes);
        header += "]}";
        offset += bytes;
    }
    header += "}";
    while (header.size() % 8) header += ' ';
    std::string out(8, '\0');
    const std::uint64_t len = header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
    out += header;
    for (const auto& e : entries) out.append(reinterpret_cast<const char*>(e.values.data()), e.values.size() * 4);
    return out;
}

}  // namespace cyclegan::safetensors
