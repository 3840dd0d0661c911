#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace cyclegan {

// Logical shape of an image batch: N images, C channels, H rows, W columns.
// Storage is NCHW, contiguous (docs/architecture.md says why).
struct Shape {
    int n = 0, c = 0, h = 0, w = 0;

    constexpr std::size_t numel() const {
        return static_cast<std::size_t>(n) * c * h * w;
    }
    constexpr std::size_t plane() const { return static_cast<std::size_t>(h) * w; }
    constexpr std::size_t image() const { return static_cast<std::size_t>(c) * h * w; }
    friend constexpr bool operator==(const Shape&, const Shape&) = default;
};

inline std::string to_string(const Shape& s) {
    std::string out = "[";  // appended piecewise: GCC 12 warns (wrongly) on a chain of operator+
    for (int v : {s.n, s.c, s.h, s.w}) {
        if (out.size() > 1) out += ", ";
        out += std::to_string(v);
    }
    out += "]";
    return out;
}

// Thrown when a tensor reaches a layer with a shape that layer cannot take.
struct shape_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

inline void expect_channels(const char* layer, const Shape& s, int channels) {
    if (s.c != channels)
        throw shape_error(std::string(layer) + ": expected " + std::to_string(channels) +
                          " input channels, got input of shape " + to_string(s));
}

}  // namespace cyclegan
