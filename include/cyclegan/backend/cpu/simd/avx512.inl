// The AVX-512 vector of the kernels in simd_kernels.hpp: 16 floats, 32 registers. Included inside
// a namespace compiled with the AVX-512 target; no include guard, no includes of its own.

#include "round_bf16.inl"

struct Simd {
    using reg = __m512;
    static constexpr int lanes = 16, registers = 32;

    [[gnu::always_inline]] static inline reg zero() { return _mm512_setzero_ps(); }
    [[gnu::always_inline]] static inline reg set1(float v) { return _mm512_set1_ps(v); }
    [[gnu::always_inline]] static inline reg load(const float* p) { return _mm512_loadu_ps(p); }
    [[gnu::always_inline]] static inline reg load_aligned(const float* p) { return _mm512_load_ps(p); }
    [[gnu::always_inline]] static inline void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
    [[gnu::always_inline]] static inline void store_aligned(float* p, reg v) { _mm512_store_ps(p, v); }
    [[gnu::always_inline]] static inline reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    [[gnu::always_inline]] static inline reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    // The first n lanes (0 <= n <= 16), zeros after; memory past them is not touched.
    [[gnu::always_inline]] static inline reg load_first(const float* p, int n) {
        return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p);
    }
    [[gnu::always_inline]] static inline void store_first(float* p, reg v, int n) {
        _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v);
    }
    // Each lane rounded to bf16 as round_to_bf16 does (core/precision.hpp), low 16 bits zero.
    [[gnu::always_inline]] static inline reg round_bf16(reg v) { return round_bf16_lanes(v); }
};

// The tag of this kernel set: dispatchers pass it, and argument-dependent lookup finds this
// namespace's kernels (with_simd_kernels in simd_kernels.hpp).
struct Isa {
    static constexpr CpuKernels kernels = CpuKernels::avx512;
    static constexpr bool paired_bf16 = true;  // simd/gemm_bf16.inl is compiled in (run on avx512_bf16 CPUs only)
    static constexpr bool amx_bf16 = true;     // and simd/gemm_amx.inl (run on amx_bf16 CPUs only)
};
