// Copies and fills of a few dozen floats with this namespace's vectors (Simd), inline: for such
// lengths a call to memmove costs more than the copy, and compilers given a plain loop either call
// it or expand it into `rep movs`, which is slower still. The tail is copied value by value, not
// with a masked store: AMD's Zen 4 and 5 take many cycles per masked store to memory. Included inside a namespace compiled for
// an instruction set (simd_kernels.hpp); no include guard, no includes of its own.

template <class T>
inline void copy_values(const T* src, int n, T* dst) {
    if constexpr (std::is_same_v<T, float>) {
        constexpr int L = Simd::lanes;
        int i = 0;
        for (; i + L <= n; i += L) Simd::store(dst + i, Simd::load(src + i));
        for (; i < n; ++i) dst[i] = src[i];
    } else {
        std::copy(src, src + n, dst);
    }
}

template <class T>
inline void zero_values(T* dst, int n) {
    if constexpr (std::is_same_v<T, float>) {
        constexpr int L = Simd::lanes;
        int i = 0;
        for (; i + L <= n; i += L) Simd::store(dst + i, Simd::zero());
        for (; i < n; ++i) dst[i] = 0.f;
    } else {
        std::fill(dst, dst + n, T(0));
    }
}
