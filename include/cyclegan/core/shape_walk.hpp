#pragma once
// The shape walk: a layer tree's shapes computed from an input shape without any data, each layer
// by its own output_shape (the checks its forward runs), each composition by its children's. A
// Network walks its tree when it is built (some image must fit: channels chain, a residual block
// keeps its shape, a skip's join fits) and before each call; the image sides a network takes
// (SizeRule) are derived by walking it, not stated by hand.
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "concepts.hpp"
#include "size_rule.hpp"

namespace cyclegan {

// f(), for `child`: a shape_error on its way out learns that it came from or through child, so
// that the Network holding the tree can name the layer by its path. Compositions wrap each call
// to a child (forward, backward, output_shape) in it.
template <class L, class F>
decltype(auto) within(const L& child, F&& f) {
    try {
        return f();
    } catch (shape_error& e) {
        e.came_through(LayerId::of(child));
        throw;
    }
}

// What a network must give back for the image sides it takes: any output (a discriminator), or
// an image of the input's height and width (a generator).
enum class Output { any, same_size };

// Walks are square and alike in height and width: every layer here treats the two axes alike.
inline constexpr int largest_walked_side = 16384;  // 2^28 pixels, what images may have (max_image_pixels)

namespace shape_walk_detail {

// The sides tried, in order: every side to 64, then 2^k and 3 * 2^k (U-Nets, deep PatchGANs).
inline const std::vector<int>& probe_sides() {
    static const std::vector<int> sides = [] {
        std::vector<int> out;
        for (int s = 1; s <= 64; ++s) out.push_back(s);
        for (int p = 64; p <= largest_walked_side; p *= 2) {
            if (3 * p / 2 > 64 && 3 * p / 2 < largest_walked_side) out.push_back(3 * p / 2);
            if (p > 64) out.push_back(p);
        }
        std::sort(out.begin(), out.end());
        return out;
    }();
    return sides;
}

// The error of `layer` at side `side`, with `why` added: no side fits.
template <class L>
[[noreturn]] void throw_no_side_fits(const L& layer, Phase phase, const std::string& why) {
    constexpr int side = 256;  // a usual image's, for the shapes the message shows
    try {
        (void)layer_output_shape(layer, Shape{1, any_channels, side, side}, phase);
    } catch (const shape_error& e) {
        throw shape_error(std::string(e.what()) + why, e);
    }
    throw shape_error(why.substr(2));  // the walk fits at 256, but not as asked (Output::same_size)
}

}  // namespace shape_walk_detail

// Throws the shape_error of `layer` (any channels, one image in `phase`) unless some side from 1
// to largest_walked_side fits: a composition that no image fits, which a Network refuses when it is built.
template <class L>
void check_some_size_fits(const L& layer, Phase phase = Phase::eval) {
    auto fits = [&](int side) {
        try {
            (void)layer_output_shape(layer, Shape{1, any_channels, side, side}, phase);
            return true;
        } catch (const shape_error&) {
            return false;
        }
    };
    if (fits(256)) return;  // the usual case, at once
    for (int side : shape_walk_detail::probe_sides())
        if (fits(side)) return;
    shape_walk_detail::throw_no_side_fits(layer, phase,
                                          "; no image fits this composition (none of sides 1 to " +
                                              std::to_string(largest_walked_side) + ")");
}

// The image sides `layer` takes, derived by walking it: one image of any channels in training
// (the strictest phase: batch norm on the batch's statistics), every side a multiple of
// `multiple` and at least `min_side`, with `output` (a generator's: Output::same_size). The smallest
// side that fits is found among the probe sides, the multiple among its divisors, and the rule is
// then checked on the next sides it takes and on oblong images. Throws shape_error (the walk's
// error at side 256) when no side fits, std::invalid_argument when the sides that fit are not
// such a rule.
template <class L>
SizeRule derive_size_rule(const L& layer, Output output = Output::any) {
    auto fits = [&](int h, int w) {
        try {
            const Shape y = layer_output_shape(layer, Shape{1, any_channels, h, w}, Phase::train);
            return output == Output::any || (y.h == h && y.w == w);
        } catch (const shape_error&) {
            return false;
        }
    };
    std::optional<int> first;
    for (int side : shape_walk_detail::probe_sides())
        if (fits(side, side)) {
            first = side;
            break;
        }
    if (!first)
        shape_walk_detail::throw_no_side_fits(layer, Phase::train,
                                              output == Output::same_size
                                                  ? "; the network gives back no image of its input's size at any side from 1 to " +
                                                        std::to_string(largest_walked_side)
                                                  : "; no image side from 1 to " + std::to_string(largest_walked_side) +
                                                        " fits this network");
    const int p = *first;
    for (int m = 1; m <= p; ++m) {
        if (p % m != 0) continue;
        bool rule = fits(p, p + m) && fits(p + m, p);
        for (int k = 1; rule && k <= 6; ++k) rule = fits(p + k * m, p + k * m);
        if (!rule) continue;
        int smallest = p;
        while (smallest - m >= 1 && fits(smallest - m, smallest - m)) smallest -= m;
        return {m, smallest};
    }
    throw std::invalid_argument("derive_size_rule: the network takes side " + std::to_string(p) +
                                " but no rule of a multiple and a smallest side: the sides that fit after it are not "
                                "every multiple of one of its divisors");
}

}  // namespace cyclegan
