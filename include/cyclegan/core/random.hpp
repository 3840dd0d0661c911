#pragma once
// Every random number the library draws comes from here, and is the same on every compiler,
// standard library and CPU (std::'s distributions are not: each library picks its own algorithm).
//
// Counter-based draws: a random word is a pure function of a key and a position, so a draw needs
// no generator state to carry, save or restore, and threads, GPU kernels and restarted runs draw
// the same numbers in any order. The key of a stream is a seed with counters folded in
// (random_key(seed, {layer, call})); word i of a stream is random_word(key, i).
//   dropout        word i of key (seed, layer salt, call), i the element (ops/dropout.hpp)
//   preprocessing  crop and flip from key (seed, "PREP", epoch, item, side) (data/preprocess.hpp)
//   datasets       the shuffle and the B image of an item (data/folder_dataset.hpp)
//   image pools    word i of key (seed, hash of the pool's name) (core/image_pool.hpp)
// The initialisers (core/init.hpp) draw sequentially from std::mt19937_64, whose outputs the
// standard fixes, through random_normal below: PyTorch's parity tests and the fixtures' weights
// were drawn that way, so it stays.
//
// Seeds of sub-streams (a network of a model, a rank of a run) come from sub_seed and
// stream_seed below.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "macros.hpp"

namespace cyclegan {

inline constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, odd

// SplitMix64's output function (Steele, Lea & Flood 2014; Vigna's constants): a bijection of
// 64-bit words in which every input bit flips about half the output bits.
CYCLEGAN_HD constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// One SplitMix64 step from state z: mix64(z + gamma). splitmix64(0) = 0xe220a8397b1dcdaf, the
// reference generator's first output for seed 0 (the tests check it).
CYCLEGAN_HD constexpr std::uint64_t splitmix64(std::uint64_t z) { return mix64(z + golden_gamma); }

// The key of a stream: hash(seed, a, b, ...). Each input goes through a full mix before the next is
// folded in, so neighbouring seeds or counters give unrelated keys, and (1, 2) and (2, 1) differ;
// for a fixed prefix, distinct last counters give distinct keys (mix64 is a bijection).
constexpr std::uint64_t random_key(std::uint64_t seed, std::initializer_list<std::uint64_t> counters) {
    std::uint64_t h = splitmix64(seed);
    for (std::uint64_t c : counters) h = splitmix64(h ^ c);
    return h;
}

// Word `index` of the stream `key`: the index-th output of SplitMix64 started from state `key`.
CYCLEGAN_HD constexpr std::uint64_t random_word(std::uint64_t key, std::uint64_t index) {
    return mix64(key + (index + 1) * golden_gamma);
}

// A word's top 53 bits as a double in [0, 1): exact, so comparing it with a probability gives the
// same answer on any IEEE machine.
CYCLEGAN_HD constexpr double uniform01(std::uint64_t word) { return static_cast<double>(word >> 11) * 0x1.0p-53; }

// uniform01 of word `index` of the stream `key`.
CYCLEGAN_HD constexpr double random_uniform(std::uint64_t key, std::uint64_t index) {
    return uniform01(random_word(key, index));
}

// A value in [0, n) from a random word (n > 0). The modulo's bias is below n / 2^64.
CYCLEGAN_HD constexpr std::uint64_t random_below(std::uint64_t word, std::uint64_t n) { return word % n; }

// N(mean, stddev) by Box-Muller from the next two words of `words` (any callable that returns a
// 64-bit word, such as std::mt19937_64), the first for the radius, the second for the angle.
template <class Words>
double random_normal(Words& words, double mean, double stddev) {
    const double u1 = 1.0 - uniform01(words());  // (0, 1]: log stays finite
    const double u2 = uniform01(words());
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

// A stream of words that is a pure function of (key, position): the state a checkpoint keeps is
// these two numbers.
struct RandomStream {
    std::uint64_t key = 0;
    std::uint64_t position = 0;  // words drawn so far

    CYCLEGAN_HD constexpr std::uint64_t operator()() { return random_word(key, position++); }
    friend constexpr bool operator==(const RandomStream&, const RandomStream&) = default;
};

// FNV-1a (Fowler, Noll, Vo) of a text, continuing from `h` (so a list of texts hashes as one):
// turns a name (a layer's state_dict path, a pool's name, a dataset's file names) into a number.
inline constexpr std::uint64_t fnv1a_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t h = fnv1a_basis) {
    for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h;
}

// The seed of stream `index` of `count` numbered streams of one seed: seed * count + index, distinct
// for distinct (seed, index) while index < count. A model's networks are initialised so (network k
// of CycleGAN's four from sub_seed(seed, k, 4)); the fixtures' weights depend on it.
constexpr std::uint64_t sub_seed(std::uint64_t seed, std::uint64_t index, std::uint64_t count) {
    return seed * count + index;
}

// The seed of stream `stream` of a run seeded `seed` (a rank of a distributed run): stream 0 is
// the seed itself, so rank 0 draws as a single process does; distinct streams give distinct seeds
// (the multiplier is odd).
constexpr std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) { return seed ^ (stream * golden_gamma); }

}  // namespace cyclegan
