#pragma once
// Run-time choices by name (--norm instance, --lr-policy cosine, ...). Each choice is one table of
// names and values, next to the thing it chooses; the parsers, the names written into checkpoints
// and the option lists in --help all read it.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "text.hpp"

namespace cyclegan {

// One entry of a table: the name the programs accept (the reference's spelling) and its value.
template <class E>
struct Choice {
    const char* name;
    E value;
};

// The names of a table, in its order: {"instance", "batch", "none"}.
template <class E, std::size_t N>
std::vector<std::string> choice_names(const Choice<E> (&table)[N]) {
    std::vector<std::string> out;
    for (const auto& c : table) out.push_back(c.name);
    return out;
}

// The value named `s`; throws std::invalid_argument "unknown <what> 's' (the names)", with `s` as
// printable() shows it (it may come from a file).
template <class E, std::size_t N>
E parse_choice(const Choice<E> (&table)[N], const std::string& s, const char* what) {
    for (const auto& c : table)
        if (s == c.name) return c.value;
    throw std::invalid_argument("unknown " + std::string(what) + " '" + printable(s) + "' (" + join(choice_names(table)) + ")");
}

template <class E, std::size_t N>
const char* choice_name(const Choice<E> (&table)[N], E value) {
    for (const auto& c : table)
        if (c.value == value) return c.name;
    throw std::invalid_argument("choice_name: a value outside its table");
}

}  // namespace cyclegan
