#pragma once
// The values a numeric option may take, each range written once beside the options it bounds
// (AdamOptions::beta_range, CycleGANOptions::loss_weight_range, ...): the library's constructors
// check their options against it, and the programs' command lines check the same range before any
// work (examples/program_options.hpp), so `--lr -1` and `AdamOptions{.lr = -1}` are refused with
// the same words.
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace cyclegan {

struct OptionRange {
    static constexpr double unbounded = std::numeric_limits<double>::infinity();
    double min = -unbounded, max = unbounded;
    bool min_open = false, max_open = false;  // whether the bound itself is excluded
    bool integer = false;

    // Whether v lies in the range; NaN and the infinities never do.
    bool contains(double v) const {
        if (!std::isfinite(v) || (integer && v != std::floor(v))) return false;
        return (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
    }

    // "a number >= 0", "a number in [0, 1)", "an integer from 1 to 5", "an integer >= 1".
    std::string describe() const {
        const std::string kind = integer ? "an integer" : "a number";
        const bool low = min > -unbounded, high = max < unbounded;
        if (low && high) {
            if (integer) return kind + " from " + text(min) + " to " + text(max);
            return kind + " in " + (min_open ? "(" : "[") + text(min) + ", " + text(max) + (max_open ? ")" : "]");
        }
        if (low) return kind + (min_open ? " > " : " >= ") + text(min);
        if (high) return kind + (max_open ? " < " : " <= ") + text(max);
        return "a finite number";
    }

    // A number as messages give it: 0.0002, 1e+30, nan, 4294967295 (whole numbers in full).
    static std::string text(double v) {
        char buf[32];
        const bool whole = std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15;
        std::snprintf(buf, sizeof buf, whole ? "%.0f" : "%.6g", v);
        return buf;
    }
};

// Throws std::invalid_argument "<who>: <name> is <value>; it must be <range>" unless the range
// holds value.
inline void check_option(const std::string& who, const char* name, double value, const OptionRange& range) {
    if (!range.contains(value))
        throw std::invalid_argument(who + ": " + name + " is " + OptionRange::text(value) + "; it must be " +
                                    range.describe());
}

}  // namespace cyclegan
