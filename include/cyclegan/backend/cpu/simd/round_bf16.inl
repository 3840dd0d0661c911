// A vector of floats rounded to bf16 lane by lane, exactly as round_to_bf16 rounds one
// (core/precision.hpp), low 16 bits zero. Written in GCC/Clang vector extensions, so one text
// serves every vector width, and because GCC 12's own shift and widening intrinsics warn in
// programs built with -Wall (they start from undefined vectors). Included by simd/avx512.inl and
// simd/avx2.inl; no include guard, no includes of its own.

// The 32-bit unsigned lanes of a vector register of `Bytes` (an attribute cannot depend on a template
// parameter, hence one specialisation per width).
template <int Bytes>
struct LaneBits;
template <>
struct LaneBits<32> {
    typedef std::uint32_t type __attribute__((vector_size(32)));
};
template <>
struct LaneBits<64> {
    typedef std::uint32_t type __attribute__((vector_size(64)));
};

template <class Reg>
[[gnu::always_inline]] inline Reg round_bf16_lanes(Reg v) {
    using U = typename LaneBits<sizeof(Reg)>::type;
    const U u = (U)v;
    const U nan = (U)((u & 0x7fffffffu) > 0x7f800000u), tiny = (U)((u & 0x7f800000u) == 0);
    U r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    r = (r & ~nan) | ((u | 0x00400000u) & 0xffff0000u & nan);  // NaN: quiet, sign and payload kept
    r = (r & ~tiny) | (u & 0x80000000u & tiny);                // zero and denormal: a zero of its sign
    return (Reg)r;
}
