// The AVX2 + FMA vector of the kernels in simd_kernels.hpp: 8 floats, 16 registers. Included inside
// a namespace compiled with the AVX2 target; no include guard, no includes of its own.

#include "round_bf16.inl"

struct Simd {
    using reg = __m256;
    static constexpr int lanes = 8, registers = 16;

    [[gnu::always_inline]] static inline reg zero() { return _mm256_setzero_ps(); }
    [[gnu::always_inline]] static inline reg set1(float v) { return _mm256_set1_ps(v); }
    [[gnu::always_inline]] static inline reg load(const float* p) { return _mm256_loadu_ps(p); }
    [[gnu::always_inline]] static inline reg load_aligned(const float* p) { return _mm256_load_ps(p); }
    [[gnu::always_inline]] static inline void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
    [[gnu::always_inline]] static inline void store_aligned(float* p, reg v) { _mm256_store_ps(p, v); }
    [[gnu::always_inline]] static inline reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    [[gnu::always_inline]] static inline reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    // Lanes below n set: masked loads and stores do not touch memory past them.
    [[gnu::always_inline]] static inline __m256i first(int n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    // The first n lanes (0 <= n <= 8), zeros after.
    [[gnu::always_inline]] static inline reg load_first(const float* p, int n) { return _mm256_maskload_ps(p, first(n)); }
    [[gnu::always_inline]] static inline void store_first(float* p, reg v, int n) { _mm256_maskstore_ps(p, first(n), v); }
    // Each lane rounded to bf16 as round_to_bf16 does (core/precision.hpp), low 16 bits zero.
    [[gnu::always_inline]] static inline reg round_bf16(reg v) { return round_bf16_lanes(v); }
};

// The tag of this kernel set: dispatchers pass it, and argument-dependent lookup finds this
// namespace's kernels (with_simd_kernels in simd_kernels.hpp).
struct Isa {
    static constexpr CpuKernels kernels = CpuKernels::avx2;
    static constexpr bool paired_bf16 = false, amx_bf16 = false;
};
