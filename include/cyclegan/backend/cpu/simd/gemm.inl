// Our GEMM for one vector width (Simd), after Goto's scheme: a kc x nc block of B packed for the
// L2/L3, an mc x kc block of A packed for the L2, and an MR x NR tile of C held in registers while
// the packed panels stream through: 8 x 32 with AVX-512's 32 registers (16 accumulators), 6 x 16
// with AVX2's 16 (12 accumulators). Included inside a namespace compiled for that instruction set
// (simd_kernels.hpp); no include guard, no includes of its own.

struct GemmTile {
    static constexpr int MR = Simd::registers >= 32 ? 8 : 6;  // rows of a C tile
    static constexpr int NV = 2, NR = NV * Simd::lanes;       // its columns: two vectors
    static constexpr int KC = 256, MC = 128 / MR * MR, NC = 3072;
};

// A value, or a vector of them, as a product with operands Ops reads it (matrix.hpp): rounded to
// bf16 for RoundedBf16Operands, so the float kernels below multiply bf16 values exactly.
template <class Ops>
[[gnu::always_inline]] inline float operand(float v) {
    if constexpr (rounds_to_bf16<Ops>) return round_to_bf16(v);
    else return v;
}
template <class Ops>
[[gnu::always_inline]] inline typename Simd::reg operand(typename Simd::reg v) {
    if constexpr (rounds_to_bf16<Ops>) return Simd::round_bf16(v);
    else return v;
}

// Ap[(panel * kc + k) * MR + i] = A(i0 + panel * MR + i, k0 + k), zero past the last row.
template <class Ops>
inline void gemm_pack_a(MatrixView<float> A, int i0, int mc, int k0, int kc, float* Ap) {
    constexpr int MR = GemmTile::MR;
    for (int p = 0; p < mc; p += MR) {
        float* dst = Ap + static_cast<std::ptrdiff_t>(p) * kc;
        const int rows = std::min(MR, mc - p);
        if (A.row_step == 1 && rows == MR) {  // columns of A are contiguous: MR values per k
            for (int k = 0; k < kc; ++k) {
                const float* src = &A(i0 + p, k0 + k);
                CYCLEGAN_UNROLL(8)
                for (int i = 0; i < MR; ++i) dst[k * MR + i] = operand<Ops>(src[i]);  // (not copy_n: a call per 32 bytes)
            }
            continue;
        }
        for (int i = 0; i < MR; ++i) {
            if (i >= rows) {
                for (int k = 0; k < kc; ++k) dst[k * MR + i] = 0.f;
                continue;
            }
            const float* src = &A(i0 + p + i, k0);
            for (int k = 0; k < kc; ++k) dst[k * MR + i] = operand<Ops>(src[k * A.col_step]);
        }
    }
}

// Bp[(panel * kc + k) * NR + j] = B(k0 + k, j0 + panel * NR + j), zero past the last column.
template <class Ops>
inline void gemm_pack_b(MatrixView<float> B, int k0, int kc, int j0, int nc, float* Bp) {
    constexpr int NR = GemmTile::NR;
    for (int p = 0; p < nc; p += NR) {
        float* dst = Bp + static_cast<std::ptrdiff_t>(p) * kc;
        const int cols = std::min(NR, nc - p);
        if (B.col_step == 1) {  // rows of B are contiguous: NR values per k, as vectors
            constexpr int L = Simd::lanes;
            for (int k = 0; k < kc; ++k) {
                const float* src = &B(k0 + k, j0 + p);
                CYCLEGAN_UNROLL(4)
                for (int v = 0; v < GemmTile::NV; ++v) {
                    const int n = std::clamp(cols - v * L, 0, L);
                    Simd::store_aligned(dst + k * NR + v * L,
                                        operand<Ops>(n == L ? Simd::load(src + v * L) : Simd::load_first(src + v * L, n)));
                }
            }
            continue;
        }
        // Rows of B are strided (B = X^T): read each column of the panel contiguously instead.
        for (int j = 0; j < NR; ++j) {
            if (j >= cols) {
                for (int k = 0; k < kc; ++k) dst[k * NR + j] = 0.f;
                continue;
            }
            const float* src = &B(k0, j0 + p + j);
            for (int k = 0; k < kc; ++k) dst[k * NR + j] = operand<Ops>(src[k * B.row_step]);
        }
    }
}

// The MR x NR tile at c (rows ldc apart) = or += Ap panel · Bp panel; only rows x cols of it exist.
inline void gemm_tile(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, bool accumulate, int rows,
                      int cols) {
    constexpr int MR = GemmTile::MR, NV = GemmTile::NV, NR = GemmTile::NR, L = Simd::lanes;
    typename Simd::reg acc[MR][NV];
CYCLEGAN_UNROLL(16)
    for (int i = 0; i < MR; ++i)
CYCLEGAN_UNROLL(4)
        for (int v = 0; v < NV; ++v) acc[i][v] = Simd::zero();
CYCLEGAN_UNROLL(2)
    for (int k = 0; k < kc; ++k) {
        typename Simd::reg bv[NV];
CYCLEGAN_UNROLL(4)
        for (int v = 0; v < NV; ++v) bv[v] = Simd::load_aligned(b + k * NR + L * v);
CYCLEGAN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            const auto ai = Simd::set1(a[k * MR + i]);
CYCLEGAN_UNROLL(4)
            for (int v = 0; v < NV; ++v) acc[i][v] = Simd::fmadd(ai, bv[v], acc[i][v]);
        }
    }
    if (rows == MR && cols == NR) {
CYCLEGAN_UNROLL(16)
        for (int i = 0; i < MR; ++i)
CYCLEGAN_UNROLL(4)
            for (int v = 0; v < NV; ++v) {
                float* dst = c + i * ldc + L * v;
                Simd::store(dst, accumulate ? Simd::add(Simd::load(dst), acc[i][v]) : acc[i][v]);
            }
        return;
    }
    alignas(64) float tile[MR * NR];
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) Simd::store_aligned(tile + i * NR + L * v, acc[i][v]);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

// One thread's share: C (M x N, rows ldc apart) = or += A · B, K > 0.
template <class Ops>
inline void gemm_serial(int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                        bool accumulate) {
    constexpr int MR = GemmTile::MR, NR = GemmTile::NR, KC = GemmTile::KC, MC = GemmTile::MC, NC = GemmTile::NC;
    float* Ap = scratch_buffer<float, Scratch::gemm_a>(static_cast<std::size_t>(MC) * KC);
    float* Bp = scratch_buffer<float, Scratch::gemm_b>(static_cast<std::size_t>(KC) * NC);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            const bool add = accumulate || k0 > 0;
            gemm_pack_b<Ops>(B, k0, kc, j0, nc, Bp);
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = std::min(MC, M - i0);
                gemm_pack_a<Ops>(A, i0, mc, k0, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        gemm_tile(kc, Ap + static_cast<std::ptrdiff_t>(ir) * kc, Bp + static_cast<std::ptrdiff_t>(jr) * kc,
                                  C + static_cast<std::ptrdiff_t>(i0 + ir) * ldc + j0 + jr, ldc, add, std::min(MR, mc - ir),
                                  std::min(NR, nc - jr));
            }
        }
    }
}

// A whole M x K matrix in the packed layout of gemm_pack_a, made once and used for many products
// (a Winograd convolution's transformed weights): K blocks of KC, each with the M rows (rounded up
// to MR, zeros past M) in panels of MR: element (i, k) sits at packed_a_index(i, k, M, K).
inline std::size_t packed_a_rows(int M) { return static_cast<std::size_t>((M + GemmTile::MR - 1) / GemmTile::MR) * GemmTile::MR; }
inline std::size_t packed_a_index(int i, int k, int M, int K) {
    constexpr int MR = GemmTile::MR, KC = GemmTile::KC;
    const int k0 = k / KC * KC, kc = std::min(KC, K - k0);
    return static_cast<std::size_t>(k0) * packed_a_rows(M) + static_cast<std::size_t>(i / MR) * MR * kc +
           static_cast<std::size_t>(k - k0) * MR + i % MR;
}

// C (M x N, rows ldc apart) = or += A · B on the calling thread, A packed whole (packed_a_index,
// its values already as Ops reads them).
template <class Ops>
inline void gemm_serial_packed_a(int M, int N, int K, const float* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                                 bool accumulate) {
    constexpr int MR = GemmTile::MR, NR = GemmTile::NR, KC = GemmTile::KC, MC = GemmTile::MC, NC = GemmTile::NC;
    float* Bp = scratch_buffer<float, Scratch::gemm_b>(static_cast<std::size_t>(KC) * NC);
    const std::size_t Mp = packed_a_rows(M);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            const bool add = accumulate || k0 > 0;
            gemm_pack_b<Ops>(B, k0, kc, j0, nc, Bp);
            const float* Ak = Ap + static_cast<std::size_t>(k0) * Mp;  // panel p at p * MR * kc
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = std::min(MC, M - i0);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        gemm_tile(kc, Ak + static_cast<std::ptrdiff_t>(i0 + ir) * kc, Bp + static_cast<std::ptrdiff_t>(jr) * kc,
                                  C + static_cast<std::ptrdiff_t>(i0 + ir) * ldc + j0 + jr, ldc, add, std::min(MR, mc - ir),
                                  std::min(NR, nc - jr));
            }
        }
    }
}

// This namespace's GEMM takes a prepacked A, through this (winograd.inl asks; the portable
// namespace has kPackedProducts = false and only declares the template). A whole matrix packed for
// the products: value type, size, where element (i, k) sits, how a transform's lanes are stored
// there (store_run), the product, and the fingerprint of the weights it came from, for the cache.
inline constexpr bool kPackedProducts = true;
template <class Ops>
struct PackedProducts {
    using value = float;
    static constexpr int run_rows = GemmTile::MR;  // rows of one run that store_run writes
    static std::size_t rows(int M) { return packed_a_rows(M); }
    static std::size_t size(int M, int K) { return packed_a_rows(M) * K; }
    static std::size_t index(int i, int k, int M, int K) { return packed_a_index(i, k, M, K); }
    // The lanes u[j * run_rows + r], for the cs columns j of one transform, into their run at dst
    // (index(i0, k0)), which is contiguous in this layout.
    static void store_run(const float* u, int cs, float* dst) {
        if constexpr (rounds_to_bf16<Ops>)
            for (int l = 0; l < cs * run_rows; ++l) dst[l] = round_to_bf16(u[l]);
        else
            copy_values(u, cs * run_rows, dst);
    }
    static void product(int M, int N, int K, const float* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc, bool accumulate) {
        gemm_serial_packed_a<Ops>(M, N, K, Ap, B, C, ldc, accumulate);
    }
    static std::uint64_t weights_fingerprint(const float* w, std::size_t n) { return fingerprint(w, n); }  // for the cache
};

// The entry points gemm.hpp threads over: the serial product, and the tile it works in.
template <class Ops>
inline void gemm_serial(Isa, Ops, int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                        bool accumulate) {
    gemm_serial<Ops>(M, N, K, A, B, C, ldc, accumulate);
}
template <class Ops>
inline GemmTile gemm_tile_of(Isa, Ops) {
    return {};
}

// The product the Winograd transforms call (winograd.inl), whole on the calling thread.
template <class Ops, class T>
void serial_product(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    if constexpr (std::is_same_v<T, float>) {
        if (M > 0 && N > 0 && K > 0) return gemm_serial<Ops>(M, N, K, A, B, C, ldc, accumulate);
    }
    gemm_eigen(M, N, K, A, B, C, ldc, accumulate);
}
