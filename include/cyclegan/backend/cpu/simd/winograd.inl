// The Winograd convolutions of conv_winograd.hpp (its coefficients: winograd_coefficients.hpp):
// the transforms, which run on kLanes tiles or channels at once in loops the compiler vectorises
// for the instruction set, and the three convolutions built from them, serial_product, and the
// short copies copy_values and zero_values. Included inside a namespace compiled for an
// instruction set (simd_kernels.hpp), and once more for the portable code; no include guard, no
// includes of its own. Loop bodies run by parallel_for are
// lambdas of this file (parallel.hpp).

// out[r] = Σ_k C[r][k] in[k] for one row r, each a vector of L lanes, unrolled at compile time so
// that zero coefficients cost nothing.
template <const auto& C, int r, class T, int L>
inline void combine_row(const T* in, int in_step, T* out) {
    T acc[L] = {};
    [&]<int... k>(std::integer_sequence<int, k...>) {
        (
            [&] {
                if constexpr (C.v[r][k] != 0) {
                    constexpr T c = static_cast<T>(C.v[r][k]);
                    for (int l = 0; l < L; ++l) acc[l] += c * in[k * in_step + l];
                }
            }(),
            ...);
    }(std::make_integer_sequence<int, std::remove_cvref_t<decltype(C)>::cols>{});
    for (int l = 0; l < L; ++l) out[l] = acc[l];
}

// out = C · in · C^T on L lanes: in is K x K, out R x R, entry (i, j) at (i * size + j) * L.
template <const auto& C, class T, int L>
inline void sandwich(const T* in, T* out) {
    constexpr int R = std::remove_cvref_t<decltype(C)>::rows, K = std::remove_cvref_t<decltype(C)>::cols;
    T tmp[R * K * L];
    auto left = [&]<int... r>(const T* src, int src_step, T* dst, int dst_step, std::integer_sequence<int, r...>) {
        (combine_row<C, r, T, L>(src, src_step, dst + r * dst_step), ...);
    };
    for (int j = 0; j < K; ++j)  // tmp[r][j] = Σ_k C[r][k] in[k][j]
        left(in + j * L, K * L, tmp + j * L, K * L, std::make_integer_sequence<int, R>{});
    for (int r = 0; r < R; ++r)  // out[r][s] = Σ_j C[s][j] tmp[r][j]
        left(tmp + r * K * L, L, out + r * R * L, L, std::make_integer_sequence<int, R>{});
}

// Where the tiles read: tile (th, tw) covers padded rows th*m .. th*m + m + 1 and columns likewise;
// rows[p] / cols[p] is the input row / column at padded position p, or -1 for a zero (the padding
// of a zero-padded convolution, and whatever lies past the last output, whose results are dropped).
struct WinogradTiles {
    int TH, TW, pad_w;
    std::vector<int> rows, cols;
    int inside_lo, inside_hi;  // the padded columns [lo, hi) inside the image, where cols[p] = p - pad_w

    WinogradTiles(int m, const Shape& xs, const Shape& ys, const Conv2dGeometry& g)
        : TH((ys.h + m - 1) / m), TW((ys.w + m - 1) / m), pad_w(g.padding.w),
          rows(source(TH * m + 2, xs.h, g.padding.h, g.padding_mode)), cols(source(TW * m + 2, xs.w, pad_w, g.padding_mode)),
          inside_lo(std::min(pad_w, TW * m + 2)), inside_hi(std::clamp(pad_w + xs.w, inside_lo, TW * m + 2)) {}

    static std::vector<int> source(int positions, int n, int pad, PaddingMode mode) {
        std::vector<int> s(positions);
        for (int p = 0; p < positions; ++p) s[p] = p - pad < n + pad ? padded_source(p - pad, n, mode) : -1;
        return s;
    }

    // row[q] = input row `in` at padded column p0 + q for q < width (a plain copy inside the
    // image, the padding rule outside), then zeros up to `length`.
    template <class T>
    void gather_row(const T* in, int p0, int width, int length, T* row) const {
        const int lo = std::clamp(inside_lo - p0, 0, width), hi = std::clamp(inside_hi - p0, lo, width);
        auto border = [&](int q) { row[q] = cols[p0 + q] >= 0 ? in[cols[p0 + q]] : T(0); };
        for (int q = 0; q < lo; ++q) border(q);
        copy_values(in + p0 + lo - pad_w, hi - lo, row + lo);
        for (int q = hi; q < width; ++q) border(q);
        zero_values(row + width, length - width);
    }
};

// Lanes in the group of tiles starting at column tw0.
inline int lanes_from(int tw0, int TW, int L) { return std::min(L, TW - tw0); }

// A group of L tiles takes consecutive tiles of the band, across tile rows, so that images only a
// few tiles wide (8 at 32x32) still fill the lanes: f(th, tw, l0, n) for each run of n lanes from
// l0 on that lies in tile row th from column tw, for the nl tiles from band index t0.
template <class F>
void for_each_row_run(int t0, int nl, int TW, int th0, F&& f) {
    for (int l = 0; l < nl;) {
        const int t = t0 + l, tw = t % TW, n = std::min(nl - l, TW - tw);
        f(th0 + t / TW, tw, l, n);
        l += n;
    }
}

// Lane groups and the position-major matrices: entry ξ of lane l sits at dst[ξ * stride + l].
template <int L, class T>
void store_positions(const T* v, int positions, int lanes, T* dst, std::size_t stride) {
    for (int xi = 0; xi < positions; ++xi) copy_values(v + xi * L, lanes, dst + xi * stride);
}
template <int L, class T>
void load_positions(const T* src, std::size_t stride, int positions, int lanes, T* v) {
    for (int xi = 0; xi < positions; ++xi)
        for (int l = 0; l < L; ++l) v[xi * L + l] = l < lanes ? src[xi * stride + l] : T(0);
}
// Row i of n tiles M columns apart, into lanes l0 .. l0 + n: tile[(i, j)][l0 + l] = row[l * M + j]
// for j < cols.
template <int M, int cols, int L, class T>
void spread_row(const T* row, int i, T* tile, int l0, int n) {
    for (int j = 0; j < cols; ++j)
        for (int l = 0; l < n; ++l) tile[(i * cols + j) * L + l0 + l] = row[l * M + j];
}

// U[ξ][o][c] = (G w[o][c] G^T)[ξ].
template <int M, class T>
void winograd_filter(const T* w, int O, int C, T* U) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    parallel_for(O, static_cast<double>(O) * C * a * a * 4, [&](int o) {
        for (int c0 = 0; c0 < C; c0 += L) {
            const int nl = lanes_from(c0, C, L);
            alignas(64) T g[9 * L] = {}, u[a * a * L];
            for (int l = 0; l < nl; ++l)
                for (int k = 0; k < 9; ++k) g[k * L + l] = w[(static_cast<std::size_t>(o) * C + c0 + l) * 9 + k];
            sandwich<F::G, T, L>(g, u);
            store_positions<L>(u, a * a, nl, U + static_cast<std::size_t>(o) * C + c0, static_cast<std::size_t>(O) * C);
        }
    });
}

// U[ξ][c][o] = (G w[o][c] G^T)[ξ], lanes over output channels: the forward's products read U[ξ]
// as an O x C matrix whose columns are contiguous, which the GEMM packs as plain copies.
template <int M, class T>
void winograd_filter_by_output(const T* w, int O, int C, T* U) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    parallel_for(C, static_cast<double>(O) * C * a * a * 4, [&](int c) {
        for (int o0 = 0; o0 < O; o0 += L) {
            const int nl = lanes_from(o0, O, L);
            alignas(64) T g[9 * L] = {}, u[a * a * L];
            for (int l = 0; l < nl; ++l)
                for (int k = 0; k < 9; ++k) g[k * L + l] = w[(static_cast<std::size_t>(o0 + l) * C + c) * 9 + k];
            sandwich<F::G, T, L>(g, u);
            store_positions<L>(u, a * a, nl, U + static_cast<std::size_t>(c) * O + o0, static_cast<std::size_t>(O) * C);
        }
    });
}

// U[ξ] = (G w G^T)[ξ] in the GEMM's packed layout (Packed::index), as the O x C matrices the
// forward multiplies by (or, Transposed, the C x O matrices U[ξ]^T of the input gradient), one
// after another, Packed::size(rows, cols) values apart: the products take them as they are.
// The lanes of one transform hold Packed::run_rows rows (a panel's, for the float GEMM) for
// L / run_rows consecutive columns: a run that Packed::store_run writes whole (for the float GEMM a
// contiguous run of the packed layout; as bf16 pairs, or AMX's rows, where the products take
// those): each of the 36 positions is written as whole runs, front to back (more, shorter streams
// of writes were 2.4x slower).
template <int M, class Packed, bool Transposed>
void winograd_filter_packed(const float* w, int O, int C, typename Packed::value* Up) {
    using F = Winograd<M>;
    constexpr int L = kLanes<float>, a = F::a, R = Packed::run_rows, CS = L / R;  // CS columns per transform
    static_assert(CS % 2 == 0, "a run holds whole pairs of columns (bf16 pairs take k two at a time)");
    const int rows = Transposed ? C : O, cols = Transposed ? O : C;
    const std::size_t per_position = Packed::size(rows, cols);
    const int panels = static_cast<int>(Packed::rows(rows)) / R;
    if (per_position != Packed::rows(rows) * cols)  // columns past the last that no run writes (AMX's steps of 32 k)
        std::fill(Up, Up + static_cast<std::size_t>(a) * a * per_position, typename Packed::value{0});
    parallel_for(panels, static_cast<double>(O) * C * a * a * 4, [&](int panel) {
        const int i0 = panel * R;
        for (int k0 = 0; k0 < cols; k0 += CS) {
            const int cs = std::min(CS, cols - k0);
            alignas(64) float g[9 * L] = {}, u[a * a * L];
            for (int j = 0; j < cs; ++j)
                for (int r = 0; r < R && i0 + r < rows; ++r) {  // rows past the last stay zero, as the layout wants
                    const int o = Transposed ? k0 + j : i0 + r, c = Transposed ? i0 + r : k0 + j;
                    for (int t = 0; t < 9; ++t) g[t * L + j * R + r] = w[(static_cast<std::size_t>(o) * C + c) * 9 + t];
                }
            sandwich<F::G, float, L>(g, u);
            auto* dst = Up + Packed::index(i0, k0, rows, cols);
            for (int xi = 0; xi < a * a; ++xi) Packed::store_run(u + xi * L, cs, dst + xi * per_position);
        }
    });
}

// dw[o][c] += G^T dU[o][c] G.
template <int M, class T>
void winograd_filter_adjoint(const T* dU, int O, int C, T* dw) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    parallel_for(O, static_cast<double>(O) * C * a * a * 4, [&](int o) {
        for (int c0 = 0; c0 < C; c0 += L) {
            const int nl = lanes_from(c0, C, L);
            alignas(64) T u[a * a * L], g[9 * L];
            load_positions<L>(dU + static_cast<std::size_t>(o) * C + c0, static_cast<std::size_t>(O) * C, a * a, nl, u);
            sandwich<F::GT, T, L>(u, g);
            for (int l = 0; l < nl; ++l)
                for (int k = 0; k < 9; ++k) dw[(static_cast<std::size_t>(o) * C + c0 + l) * 9 + k] += g[k * L + l];
        }
    });
}

// V[ξ][c][t] = (B^T d B)[ξ] for the patches d of tile rows [th0, th1) of one image.
template <int M, class T>
void winograd_input(const T* x, const Shape& xs, const WinogradTiles& tiles, int th0, int th1, T* V) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    const int TW = tiles.TW, nt = (th1 - th0) * TW;
    parallel_for(xs.c, static_cast<double>(xs.c) * nt * a * a * 8, [&](int c) {
        const T* plane = x + static_cast<std::size_t>(c) * xs.h * xs.w;
        alignas(64) T d[a * a * L] = {}, v[a * a * L], row[L * M + M];
        for (int t0 = 0; t0 < nt; t0 += L) {
            const int nl = std::min(L, nt - t0);
            for_each_row_run(t0, nl, TW, th0, [&](int th, int tw, int l0, int n) {
                for (int i = 0; i < a; ++i) {
                    const int ih = tiles.rows[th * M + i];
                    if (ih < 0) zero_values(row, n * M + 2);
                    else tiles.gather_row(plane + static_cast<std::size_t>(ih) * xs.w, tw * M, n * M + 2, n * M + 2, row);
                    spread_row<M, a, L>(row, i, d, l0, n);
                }
            });
            sandwich<F::BT, T, L>(d, v);
            store_positions<L>(v, a * a, nl, V + static_cast<std::size_t>(c) * nt + t0, static_cast<std::size_t>(xs.c) * nt);
        }
    });
}

// dx += B dV[c][t] B^T, scattered over the patches of tile rows [th0, th1) of one image (and
// through the padding rule back to the pixels the padding read).
template <int M, class T>
void winograd_input_adjoint(const T* dV, const Shape& xs, const WinogradTiles& tiles, int th0, int th1, T* dx) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    const int TW = tiles.TW, nt = (th1 - th0) * TW;
    // Channels are independent, so threads never write the same plane.
    parallel_for(xs.c, static_cast<double>(xs.c) * nt * a * a * 8, [&](int c) {
        T* plane = dx + static_cast<std::size_t>(c) * xs.h * xs.w;
        alignas(64) T f[a * a * L], dd[a * a * L], row[L * M + 2];
        for (int t0 = 0; t0 < nt; t0 += L) {
            const int nl = std::min(L, nt - t0);
            load_positions<L>(dV + static_cast<std::size_t>(c) * nt + t0, static_cast<std::size_t>(xs.c) * nt, a * a, nl, f);
            sandwich<F::B, T, L>(f, dd);
            for_each_row_run(t0, nl, TW, th0, [&](int th, int tw, int l0, int n) {
                const int width = n * M + 2;
                for (int i = 0; i < a; ++i) {
                    const int ih = tiles.rows[th * M + i];
                    if (ih < 0) continue;
                    zero_values(row, width);
                    for (int l = 0; l < n; ++l)  // neighbouring patches overlap by two columns
                        for (int j = 0; j < a; ++j) row[l * M + j] += dd[(i * a + j) * L + l0 + l];
                    const int* cs = tiles.cols.data() + tw * M;
                    T* out = plane + static_cast<std::size_t>(ih) * xs.w;
                    for (int q = 0; q < width; ++q)
                        if (cs[q] >= 0) out[cs[q]] += row[q];
                }
            });
        }
    });
}

// y[o][tile] = A^T M[o][t] A, the part of each tile inside the output.
template <int M, class T>
void winograd_output(const T* Mx, const Shape& ys, int TW, int th0, int th1, T* y) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    const int nt = (th1 - th0) * TW;
    parallel_for(ys.c, static_cast<double>(ys.c) * nt * a * a * 4, [&](int o) {
        T* plane = y + static_cast<std::size_t>(o) * ys.h * ys.w;
        alignas(64) T in[a * a * L], out[M * M * L], row[L * M];
        for (int t0 = 0; t0 < nt; t0 += L) {
            const int nl = std::min(L, nt - t0);
            load_positions<L>(Mx + static_cast<std::size_t>(o) * nt + t0, static_cast<std::size_t>(ys.c) * nt, a * a, nl, in);
            sandwich<F::AT, T, L>(in, out);
            for_each_row_run(t0, nl, TW, th0, [&](int th, int tw, int l0, int n) {
                const int ow0 = tw * M, width = std::min(n * M, ys.w - ow0);
                for (int i = 0; i < M && th * M + i < ys.h; ++i) {
                    for (int l = 0; l < n; ++l)
                        for (int j = 0; j < M; ++j) row[l * M + j] = out[(i * M + j) * L + l0 + l];
                    copy_values(row, width, plane + static_cast<std::size_t>(th * M + i) * ys.w + ow0);
                }
            });
        }
    });
}

// dM[ξ][o][t] = (A dy[o][tile] A^T)[ξ], with dy zero past the output's edge.
template <int M, class T>
void winograd_output_adjoint(const T* dy, const Shape& ys, int TW, int th0, int th1, T* dM) {
    using F = Winograd<M>;
    constexpr int L = kLanes<T>, a = F::a;
    const int nt = (th1 - th0) * TW;
    parallel_for(ys.c, static_cast<double>(ys.c) * nt * a * a * 4, [&](int o) {
        const T* plane = dy + static_cast<std::size_t>(o) * ys.h * ys.w;
        alignas(64) T e[M * M * L] = {}, f[a * a * L], row[L * M];
        for (int t0 = 0; t0 < nt; t0 += L) {
            const int nl = std::min(L, nt - t0);
            for_each_row_run(t0, nl, TW, th0, [&](int th, int tw, int l0, int n) {
                const int ow0 = tw * M, width = std::min(n * M, ys.w - ow0);
                for (int i = 0; i < M; ++i) {
                    const int oh = th * M + i;
                    zero_values(row, n * M);
                    if (oh < ys.h) copy_values(plane + static_cast<std::size_t>(oh) * ys.w + ow0, width, row);
                    spread_row<M, M, L>(row, i, e, l0, n);
                }
            });
            sandwich<F::A, T, L>(e, f);
            store_positions<L>(f, a * a, nl, dM + static_cast<std::size_t>(o) * nt + t0, static_cast<std::size_t>(ys.c) * nt);
        }
    });
}

// One call's working memory and loop: the transformed weights U (a^2 x O x C), and for one band
// of tile rows of one image the transformed input V (a^2 x C x tiles) and product P (a^2 x O x
// tiles), all per-thread scratch. A band holds at most about the budget.
template <int M, class T>
struct WinogradWork {
    static constexpr int a = Winograd<M>::a;
    int C, O, images;
    WinogradTiles tiles;
    int band;
    T *U, *V, *P;

    WinogradWork(const Shape& xs, const Shape& ys, const Conv2dGeometry& g)
        : C(xs.c), O(ys.c), images(xs.n), tiles(M, xs, ys, g),
          band(static_cast<int>(std::clamp<std::size_t>(
              cpu_tuning.winograd_budget / (static_cast<std::size_t>(a) * a * std::max(C, O) * tiles.TW), 1, tiles.TH))),
          U(scratch_buffer<T, Scratch::winograd_filter>(static_cast<std::size_t>(a) * a * O * C)),
          V(scratch_buffer<T, Scratch::winograd_input>(static_cast<std::size_t>(a) * a * C * band * tiles.TW)),
          P(scratch_buffer<T, Scratch::winograd_product>(static_cast<std::size_t>(a) * a * O * band * tiles.TW)) {}

    // For every image n and band [th0, th1) of tile rows: before(n, th0, th1), then
    // multiply(tiles in the band, ξ, U[ξ], V[ξ], P[ξ]) for the a^2 positions ξ, each product whole
    // on one thread (no synchronisation inside), then after(n, th0, th1).
    template <class Before, class Multiply, class After>
    void run(int images, Before&& before, Multiply&& multiply, After&& after) {
        for (int n = 0; n < images; ++n)
            for (int th0 = 0; th0 < tiles.TH; th0 += band) {
                const int th1 = std::min(tiles.TH, th0 + band), nt = (th1 - th0) * tiles.TW;
                before(n, th0, th1);
                parallel_for(a * a, 2.0 * a * a * O * C * nt, [&](int xi) {
                    multiply(nt, xi, U + static_cast<std::size_t>(xi) * O * C, V + static_cast<std::size_t>(xi) * C * nt,
                             P + static_cast<std::size_t>(xi) * O * nt);
                });
                after(n, th0, th1);
            }
    }
};

// The forward on a GEMM that takes the transformed weights prepacked (Packed: PackedProducts of
// gemm.inl, or of gemm_bf16.inl), made now or found in the weight cache.
template <int M, class Packed, class Work, class Input, class Output>
void winograd_forward_packed(Work& work, int O, int C, const float* w, WeightCache* cache, int kind, Input&& input,
                             Output&& output) {
    using V = typename Packed::value;
    const std::size_t per_position = Packed::size(O, C), count = static_cast<std::size_t>(Work::a) * Work::a * per_position;
    std::shared_ptr<const void> kept;
    const V* Up = nullptr;
    if (cache) {
        const WeightCache::Key key{w, static_cast<std::size_t>(O) * C * 9, kind};
        const std::uint64_t print = Packed::weights_fingerprint(w, key.count);
        kept = cache->find(key, print);
        if (!kept) {
            auto made = WeightCache::make_buffer<V>(count);
            winograd_filter_packed<M, Packed, false>(w, O, C, made.get());
            cache->store(key, print, made, count * sizeof(V));
            kept = std::move(made);
        }
        Up = static_cast<const V*>(kept.get());
    } else {
        V* scratch = scratch_buffer<V, Scratch::winograd_filter>(count);
        winograd_filter_packed<M, Packed, false>(w, O, C, scratch);
        Up = scratch;
    }
    work.run(work.images, input, [&](int nt, int xi, float*, float* V_, float* P) {
        Packed::product(O, nt, C, Up + xi * per_position, row_major(V_, nt), P, nt, false);
    }, output);
}

// The input gradient on a GEMM that takes U[ξ]^T prepacked (Packed: PackedProducts).
template <int M, class Packed, class Work, class Gradient, class Scatter>
void winograd_backward_data_packed(Work& work, int O, int C, const float* w, Gradient&& gradient, Scatter&& scatter) {
    using V = typename Packed::value;
    const std::size_t per_position = Packed::size(C, O), count = static_cast<std::size_t>(Work::a) * Work::a * per_position;
    V* Up = scratch_buffer<V, Scratch::winograd_filter>(count);
    winograd_filter_packed<M, Packed, true>(w, O, C, Up);
    work.run(work.images, gradient, [&](int nt, int xi, float*, float* dV, float* dM) {
        Packed::product(C, nt, O, Up + xi * per_position, row_major(dM, nt), dV, nt, false);
    }, scatter);
}

// y = conv(x, w), its 36 products with operands Ops (matrix.hpp). With a weight cache (inference),
// the transformed weights are kept between calls and made again only when the weights' values
// change (weight_cache.hpp).
template <int M, class Ops, class T>
void winograd_forward(Isa isa, Ops, const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g,
                      WeightCache* cache) {
    WinogradWork<M, T> work(xs, ys, g);
    const int C = xs.c, O = ys.c;
    auto input = [&](int n, int th0, int th1) { winograd_input<M>(x + n * xs.image(), xs, work.tiles, th0, th1, work.V); };
    auto output = [&](int n, int th0, int th1) { winograd_output<M>(work.P, ys, work.tiles.TW, th0, th1, y + n * ys.image()); };
    if constexpr (std::is_same_v<T, float> && kPackedProducts) {
        const int kind = (M * 16 + static_cast<int>(decltype(isa)::kernels)) * 4 + static_cast<int>(operands_kind<Ops>);
        winograd_forward_packed<M, PackedProducts<Ops>>(work, O, C, w, cache, kind, input, output);
    } else {
        (void)isa, (void)cache;
        winograd_filter_by_output<M>(w, O, C, work.U);
        work.run(work.images, input, [&](int nt, int, T* U, T* V, T* P) {
            serial_product<Ops>(O, nt, C, MatrixView<T>{U, 1, O}, row_major(V, nt), P, nt, false);
        }, output);
    }
}

// dx = the adjoint of the convolution applied to dy (overwritten): dV[ξ] = U[ξ]^T dM[ξ].
template <int M, class Ops, class T>
void winograd_backward_data(Isa, Ops, const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs, const Conv2dGeometry& g) {
    WinogradWork<M, T> work(xs, ys, g);
    const int C = xs.c, O = ys.c;
    std::fill(dx, dx + xs.numel(), T(0));
    auto gradient = [&](int n, int th0, int th1) { winograd_output_adjoint<M>(dy + n * ys.image(), ys, work.tiles.TW, th0, th1, work.P); };
    auto scatter = [&](int n, int th0, int th1) { winograd_input_adjoint<M>(work.V, xs, work.tiles, th0, th1, dx + n * xs.image()); };
    if constexpr (std::is_same_v<T, float> && kPackedProducts) {
        winograd_backward_data_packed<M, PackedProducts<Ops>>(work, O, C, w, gradient, scatter);
    } else {
        winograd_filter<M>(w, O, C, work.U);
        work.run(work.images, gradient, [&](int nt, int, T* U, T* dV, T* dM) {
            serial_product<Ops>(C, nt, O, row_major(U, C).transposed(), row_major(dM, nt), dV, nt, false);
        }, scatter);
    }
}

template <int M, class Ops, class T>
void winograd_backward_filter(Isa, Ops, const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw, const Conv2dGeometry& g) {
    WinogradWork<M, T> work(xs, ys, g);
    const int C = xs.c, O = ys.c;
    std::fill(work.U, work.U + static_cast<std::size_t>(work.a) * work.a * O * C, T(0));
    work.run(
        xs.n,
        [&](int n, int th0, int th1) {
            winograd_input<M>(x + n * xs.image(), xs, work.tiles, th0, th1, work.V);
            winograd_output_adjoint<M>(dy + n * ys.image(), ys, work.tiles.TW, th0, th1, work.P);
        },
        [&](int nt, int, T* dU, T* V, T* dM) {
            serial_product<Ops>(O, C, nt, row_major(dM, nt), row_major(V, nt).transposed(), dU, C, true);
        },
        [](int, int, int) {});
    winograd_filter_adjoint<M>(work.U, O, C, dw);
}
