#pragma once
// Which image sides a network takes: each side (height and width alike) a multiple of `multiple`
// and at least `min_side`. A network's rule is derived from its layers (derive_size_rule in
// core/shape_walk.hpp); tests/test_models.cpp runs every model at its smallest side and one below.
#include <algorithm>
#include <numeric>
#include <utility>
#include <string>

#include "shape.hpp"

namespace cyclegan {

struct SizeRule {
    int multiple = 1;  // stride-2 steps down and back up must divide the side
    int min_side = 1;  // a reflection pad, a norm over more than one value, a 4x4 kernel must fit

    // The smallest side that is both a multiple and at least min_side.
    constexpr int smallest_side() const { return (std::max(min_side, 1) + multiple - 1) / multiple * multiple; }
    constexpr bool takes(int side) const { return side >= min_side && side % multiple == 0; }
    constexpr bool takes(int height, int width) const { return takes(height) && takes(width); }
    // The side an image is padded to: up to the next multiple, at least smallest_side().
    constexpr int padded(int side) const { return std::max(smallest_side(), (side + multiple - 1) / multiple * multiple); }

    // What two networks that see the same images (a generator and its discriminator) both take.
    friend constexpr SizeRule operator&(SizeRule a, SizeRule b) {
        return {std::lcm(a.multiple, b.multiple), std::max(a.min_side, b.min_side)};
    }
    friend constexpr bool operator==(SizeRule, SizeRule) = default;

    // "multiples of 4, at least 8": for messages.
    std::string describe() const {
        std::string s = multiple > 1 ? "sides that are multiples of " + std::to_string(multiple) : "sides";
        if (smallest_side() > 1) s += (multiple > 1 ? " and at least " : " of at least ") + std::to_string(smallest_side());
        return s;
    }

    // "32 or 36": the sides it takes nearest to `side`, below (where there is one) and above.
    std::string nearest(int side) const {
        const int up = padded(side), down = side / multiple * multiple;
        if (down >= smallest_side() && down != up) return std::to_string(down) + " or " + std::to_string(up);
        return std::to_string(up);
    }
};

// shape_error, starting with `who`, unless `rule` (what `taker` takes) takes the height and width of
// s: says what it takes and the nearest sides that would do ("(height 33: 32 or 36)").
inline void check_sides(const SizeRule& rule, const Shape& s, const std::string& who, const char* taker = "the network takes") {
    if (rule.takes(s.h, s.w)) return;
    std::string which;
    for (const auto& [name, side] : {std::pair{"height", s.h}, std::pair{"width", s.w}})
        if (!rule.takes(side))
            which += std::string(which.empty() ? "" : "; ") + name + " " + std::to_string(side) + ": " + rule.nearest(side);
    throw shape_error(who + " is " + to_string(s) + ", but " + taker + " " + rule.describe() + " (" + which +
                      "; preprocessing crops or resizes to them, translate_image pads)");
}

}  // namespace cyclegan
