// A 64-bit fingerprint of a tensor's values, for the weight cache (weight_cache.hpp): 16 lanes of
// a multiply-rotate hash (MurmurHash3's mixing) over the values' bits, each lane over every 16th
// value, then the lanes folded in order, so that changing, moving or swapping values changes it.
// Written with GCC/Clang vector extensions, which compile to this namespace's vectors: a scalar
// loop was 5% of inference (18 x 2.4 MB of weights hashed per call). Included inside the x86
// kernel-set namespaces (simd_kernels.hpp); no include guard, no includes of its own.
// fingerprint_run hashes one run of values on this thread; fingerprint, below, whole tensors.

inline std::uint64_t fingerprint_run(const float* values, std::size_t n) {
    using u32x16 = std::uint32_t __attribute__((vector_size(64)));
    u32x16 h = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    h *= 0x9E3779B9u;
    auto mix = [](u32x16& hv, u32x16& x) {  // (by reference: 64-byte vectors by value change the ABI without AVX-512)
        x *= 0xCC9E2D51u;
        hv ^= (x << 15) | (x >> 17);
        hv = (hv << 13) | (hv >> 19);
        hv = hv * 5u + 0xE6546B64u;
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        u32x16 x;
        std::memcpy(&x, values + i, sizeof x);
        mix(h, x);
    }
    if (i < n) {
        u32x16 x = {};
        std::memcpy(&x, values + i, (n - i) * sizeof(float));
        mix(h, x);
    }
    std::uint64_t out = n;
    for (int l = 0; l < 16; ++l) {
        out = (out ^ h[l]) * 0x9E3779B97F4A7C15ull;
        out ^= out >> 29;
    }
    return out;
}

// The values in runs of 64 Ki, each hashed as above on whichever thread takes it, and the runs'
// hashes folded in order: the same value for any thread count. One thread hashing every weight
// was 2 ms of the 26 of a bf16 generator's inference at 128 pixels.
inline std::uint64_t fingerprint(const float* values, std::size_t n) {
    constexpr std::size_t run = std::size_t{1} << 16;
    const std::size_t runs = (n + run - 1) / run;
    if (runs <= 1) return fingerprint_run(values, n);
    std::vector<std::uint64_t> prints(runs);
    parallel_for(static_cast<int>(runs), static_cast<double>(n), [&](int r) {
        const std::size_t i0 = static_cast<std::size_t>(r) * run;
        prints[r] = fingerprint_run(values + i0, std::min(run, n - i0));
    });
    std::uint64_t out = n;
    for (std::uint64_t p : prints) {
        out = (out ^ p) * 0x9E3779B97F4A7C15ull;
        out ^= out >> 29;
    }
    return out;
}
