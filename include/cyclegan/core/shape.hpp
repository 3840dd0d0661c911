#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <typeinfo>
#include <vector>

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

// The channel count of a shape walk (core/shape_walk.hpp) before any layer has fixed it: a
// Network checks its composition when it is built, before it knows what it will be given. No
// tensor has it (a negative count); a layer that needs c channels takes it as c (expect_channels).
inline constexpr int any_channels = -1;

// "[1, 3, 256, 256]"; "*" for any_channels.
inline std::string to_string(const Shape& s) {
    std::string out = "[";  // appended piecewise: GCC 12 warns (wrongly) on a chain of operator+
    out += std::to_string(s.n);
    out += ", ";
    out += s.c == any_channels ? std::string("*") : std::to_string(s.c);
    for (int v : {s.h, s.w}) {
        out += ", ";
        out += std::to_string(v);
    }
    out += "]";
    return out;
}

// One layer object of a tree: its address and its type (a composition and its first element may
// share an address).
struct LayerId {
    const void* address = nullptr;
    const std::type_info* type = nullptr;

    template <class L>
    static LayerId of(const L& layer) {
        return {static_cast<const void*>(&layer), &typeid(L)};
    }
    friend bool operator<(const LayerId& a, const LayerId& b) {
        return std::tie(a.address, a.type) < std::tie(b.address, b.type);
    }
};

// Thrown when a tensor reaches a layer with a shape that layer cannot take, or a composition is
// one no input fits. On its way out through the compositions it collects the layers it came from
// and through (innermost first: within() in core/shape_walk.hpp), and the Network that holds them
// names the innermost it knows by its parameter path ("Conv2d at model.4.conv_block.1: ...").
class shape_error : public std::invalid_argument {
public:
    explicit shape_error(const std::string& what) : std::invalid_argument(what) {}
    // The same error with a message that says more, from the same place.
    shape_error(const std::string& what, const shape_error& from)
        : std::invalid_argument(what), trail_(from.trail_), path_(from.path_) {}

    void came_through(LayerId layer) {
        if (!trail_) trail_ = std::make_shared<std::vector<LayerId>>();
        trail_->push_back(layer);
    }
    // The layers it came from and through, innermost first.
    std::vector<LayerId> trail() const { return trail_ ? *trail_ : std::vector<LayerId>{}; }

    // The parameter path of the layer it came from ("model.4.conv_block.1"), once a Network has
    // named it; empty before, and for a layer that is not in a Network.
    const std::string& path() const { return path_; }
    void set_path(std::string path) { path_ = std::move(path); }

private:
    std::shared_ptr<std::vector<LayerId>> trail_;  // shared: copying an exception must not throw
    std::string path_;
};

// Throws shape_error naming `layer` unless `s` has `channels` channels (any_channels is taken as
// them: a walk that has not fixed them yet).
inline void expect_channels(const char* layer, const Shape& s, int channels) {
    if (s.c != channels && s.c != any_channels)
        throw shape_error(std::string(layer) + ": expected " + std::to_string(channels) +
                          " input channels, got input of shape " + to_string(s));
}

}  // namespace cyclegan
