// A 64-bit fingerprint of a tensor's values, for the weight cache (weight_cache.hpp): 16 lanes of
// a multiply-rotate hash (MurmurHash3's mixing) over the values' bits, each lane over every 16th
// value, then the lanes folded in order, so that changing, moving or swapping values changes it.
// Plain loops the compiler vectorises for the instruction set. Included inside a namespace per
// instruction set and the portable one (simd_kernels.hpp); no include guard, no includes.

inline std::uint64_t fingerprint(const float* values, std::size_t n) {
    constexpr int L = 16;
    std::uint32_t h[L];
    for (int l = 0; l < L; ++l) h[l] = 0x9E3779B9u * static_cast<std::uint32_t>(l + 1);
    auto mix = [](std::uint32_t hl, std::uint32_t x) {
        x *= 0xCC9E2D51u;
        hl ^= (x << 15) | (x >> 17);
        hl = (hl << 13) | (hl >> 19);
        return hl * 5u + 0xE6546B64u;
    };
    std::size_t i = 0;
    for (; i + L <= n; i += L)
        for (int l = 0; l < L; ++l) {
            std::uint32_t x;
            std::memcpy(&x, values + i + l, sizeof x);
            h[l] = mix(h[l], x);
        }
    for (int l = 0; i + l < n; ++l) {
        std::uint32_t x;
        std::memcpy(&x, values + i + l, sizeof x);
        h[l] = mix(h[l], x);
    }
    std::uint64_t out = n;
    for (int l = 0; l < L; ++l) {
        out = (out ^ h[l]) * 0x9E3779B97F4A7C15ull;
        out ^= out >> 29;
    }
    return out;
}
