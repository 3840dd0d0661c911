// The CPU backend's plain loops (normalisation, activations, optimizer steps, biases, im2col),
// compiled once per kernel set like the other kernels, so that a build for the baseline x86-64
// vectorises them for the CPU it runs on as a native build does: they were the difference between
// the two (10% of a training step at 128). Each is its public kernel's loop, which stays in
// norm.hpp, pointwise.hpp, optim.hpp and conv.hpp with its contract; those call these through
// with_cpu_kernels. Included inside every kernel-set namespace and the portable one
// (simd_kernels.hpp); no include guard, no includes of its own; loop bodies are lambdas (parallel.hpp).

// Σ term(j) for j < n, in double over 32 independent lanes added in a fixed order: one running
// double sum waits 4 cycles per element (the statistics of 64x256x256 took 8 ms); lanes vectorise
// and the result still does not depend on the thread count.
template <class F>
double lane_sum(std::size_t n, F term) {
    constexpr std::size_t L = 32;
    double lanes[L] = {};
    std::size_t j = 0;
    for (; j + L <= n; j += L)
        for (std::size_t l = 0; l < L; ++l) lanes[l] += term(j + l);
    double sum = 0;
    for (std::size_t l = 0; l < L; ++l) sum += lanes[l];
    for (; j < n; ++j) sum += term(j);
    return sum;
}

// norm_statistics (norm.hpp): mean, 1 / sqrt(var + eps) and the biased variance of each group.
template <class T, class Groups>
void norm_statistics_loop(Isa, const T* px, std::size_t numel, const Groups& g, double eps, T* pmean, T* prstd, T* pvar) {
    const double m = static_cast<double>(g.count());
    parallel_for(g.groups, static_cast<double>(numel), [&](int i) {
        double sum = 0;
        for (int k = 0; k < g.chunks; ++k) {
            const T* p = px + g.offset(i, k);
            sum += lane_sum(g.len, [p](std::size_t j) { return double(p[j]); });
        }
        const double mu = sum / m;
        double sq = 0;
        for (int k = 0; k < g.chunks; ++k) {
            const T* p = px + g.offset(i, k);
            sq += lane_sum(g.len, [p, mu](std::size_t j) { return (p[j] - mu) * (p[j] - mu); });
        }
        const double v = sq / m;
        pmean[i] = static_cast<T>(mu);
        prstd[i] = static_cast<T>(inverse_std(v, eps));
        if (pvar) pvar[i] = static_cast<T>(v);
    });
}

// norm_forward: y = x * scale + shift per group, weight and bias optional.
template <class T, class Groups>
void norm_forward_loop(Isa, const T* px, std::size_t numel, const Groups& g, const T* pmean, const T* prstd, const T* pw,
                       const T* pb, T* py) {
    parallel_for(g.groups * g.chunks, static_cast<double>(numel), [&](int r) {
        const int i = r / g.chunks;
        const NormAffine<T> a = norm_affine(pmean[i], prstd[i], pw, pb, g.channel(i));
        const T scale = a.scale, shift = a.shift;
        const std::size_t o = g.offset(i, r % g.chunks);
        for (std::size_t j = 0; j < g.len; ++j) py[o + j] = px[o + j] * scale + shift;
    });
}

// norm_backward: each group's sums of dy and dy * xhat (when need_sums), and dx (when pdx).
template <class T, class Groups>
void norm_backward_loop(Isa, const T* px, const T* pdy, std::size_t numel, const Groups& g, const T* pmean, const T* prstd,
                        const T* pw, bool batch_stats, bool need_sums, T* pdx, double* sum_dy, double* sum_dy_xhat) {
    const double m = static_cast<double>(g.count());
    parallel_for(g.groups, static_cast<double>(numel), [&](int i) {
        const double mu = pmean[i], rs = prstd[i];
        double s1 = 0, s2 = 0;
        if (need_sums)
            for (int k = 0; k < g.chunks; ++k) {
                const T *d = pdy + g.offset(i, k), *p = px + g.offset(i, k);
                s1 += lane_sum(g.len, [d](std::size_t j) { return double(d[j]); });
                s2 += lane_sum(g.len, [d, p, mu, rs](std::size_t j) { return d[j] * ((p[j] - mu) * rs); });
            }
        sum_dy[i] = s1;
        sum_dy_xhat[i] = s2;
        if (!pdx) return;
        const double scale = rs * (pw ? double(pw[g.channel(i)]) : 1.0);
        // dx = scale * (dy - a - xhat * b); a = b = 0 when the statistics are constants.
        const double a = batch_stats ? s1 / m : 0.0, b = batch_stats ? s2 / m : 0.0;
        for (int k = 0; k < g.chunks; ++k) {
            const std::size_t o = g.offset(i, k);
            for (std::size_t j = 0; j < g.len; ++j)
                pdx[o + j] = static_cast<T>(norm_input_grad(pdy[o + j], px[o + j], mu, rs, scale, a, b));
        }
    });
}

// Elementwise over n values in blocks (each thread a contiguous run): body(i0, i1).
template <class F>
void blocks(std::ptrdiff_t n, double work, F&& body) {
    constexpr std::ptrdiff_t block = 4096;
    const int count = static_cast<int>((n + block - 1) / block);
    parallel_for(count, work, [&](int b) { body(b * block, std::min(n, (b + 1) * block)); });
}

// pointwise_forward / pointwise_backward (pointwise.hpp): y = f(x); dx = dy * f'(x, y).
template <class T, class Op>
void pointwise_forward_loop(Isa, const Op& op, const T* px, T* py, std::ptrdiff_t n) {
    blocks(n, static_cast<double>(n), [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
        for (std::ptrdiff_t i = i0; i < i1; ++i) py[i] = op.f(px[i]);
    });
}
template <class T, class Op>
void pointwise_backward_loop(Isa, const Op& op, const T* px, const T* py, const T* pdy, T* pdx, std::ptrdiff_t n) {
    blocks(n, 2.0 * n, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
        for (std::ptrdiff_t i = i0; i < i1; ++i) pdx[i] = pdy[i] * op.df(px[i], py[i]);
    });
}

// adam_update / sgd_update (optim.hpp): rule(param, grad, state...) element by element.
template <class T, class Rule>
void adam_loop(Isa, const Rule& rule, T* p, const T* g, T* m, T* v, std::ptrdiff_t n) {
    blocks(n, 4.0 * n, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
        for (std::ptrdiff_t i = i0; i < i1; ++i) rule(p[i], g[i], m[i], v[i]);
    });
}
template <class T, class Rule>
void sgd_loop(Isa, const Rule& rule, T* p, const T* g, T* b, std::ptrdiff_t n) {
    blocks(n, 3.0 * n, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
        for (std::ptrdiff_t i = i0; i < i1; ++i) rule(p[i], g[i], b[i]);
    });
}

// add_channel_bias / channel_bias_backward (conv.hpp): y[n, c] += b[c]; db[c] += Σ dy[n, c].
template <class T>
void add_channel_bias_loop(Isa, T* y, const T* b, const Shape& s) {
    parallel_for(s.n * s.c, static_cast<double>(s.numel()), [&](int nc) {
        T* p = y + static_cast<std::size_t>(nc) * s.plane();
        const T v = b[nc % s.c];
        for (std::size_t i = 0; i < s.plane(); ++i) p[i] += v;
    });
}
template <class T>
void channel_bias_backward_loop(Isa, const T* dy, T* db, const Shape& s) {
    parallel_for(s.c, static_cast<double>(s.numel()), [&](int c) {
        double sum = 0;
        for (int n = 0; n < s.n; ++n) {
            const T* p = dy + (static_cast<std::size_t>(n) * s.c + c) * s.plane();
            sum += lane_sum(s.plane(), [p](std::size_t i) { return double(p[i]); });
        }
        db[c] += static_cast<T>(sum);
    });
}

// im2col / col2im (conv.hpp).
// cols[(c, ki, kj), (oh - oh0, ow)] = x[c, oh*s - p + ki*d, ow*s - p + kj*d] for oh in [oh0, oh1),
// read outside the image as the padding mode says (zero, reflected or replicated).
template <class T>
void im2col_loop(Isa, const T* x, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* cols) {
    const int KH = g.kernel.h, KW = g.kernel.w, rows = oh1 - oh0, sw = g.stride.w;
    parallel_for(C * KH * KW, static_cast<double>(C) * KH * KW * rows * OW, [&](int r) {
        const int c = r / (KH * KW), ki = (r / KW) % KH, kj = r % KW;
        const int base = kj * g.dilation.w - g.padding.w;
        const auto [lo, hi] = inside_columns(base, sw, W, OW);
        T* out = cols + static_cast<std::size_t>(r) * rows * OW;
        const T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int oh = oh0; oh < oh1; ++oh) {
            const int ih = padded_source(oh * g.stride.h - g.padding.h + ki * g.dilation.h, H, g.padding_mode);
            T* row = out + static_cast<std::size_t>(oh - oh0) * OW;
            if (ih < 0) {
                std::fill(row, row + OW, T(0));
                continue;
            }
            const T* in = plane + static_cast<std::size_t>(ih) * W;
            auto border = [&](int ow) {
                const int iw = padded_source(ow * sw + base, W, g.padding_mode);
                row[ow] = iw >= 0 ? in[iw] : T(0);
            };
            for (int ow = 0; ow < lo; ++ow) border(ow);
            if (sw == 1) std::copy(in + lo + base, in + hi + base, row + lo);
            else
                for (int ow = lo; ow < hi; ++ow) row[ow] = in[ow * sw + base];
            for (int ow = hi; ow < OW; ++ow) border(ow);
        }
    });
}

// The adjoint of im2col for the band [oh0, oh1): x[c, ih, iw] += every column entry read from it
// (with reflect or replicate padding, some pixels are read several times).
template <class T>
void col2im_loop(Isa, const T* cols, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* x) {
    const int KH = g.kernel.h, KW = g.kernel.w, rows = oh1 - oh0, sw = g.stride.w;
    // Channels are independent, so threads never write the same plane.
    parallel_for(C, static_cast<double>(C) * KH * KW * rows * OW, [&](int c) {
        T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int ki = 0; ki < KH; ++ki)
            for (int kj = 0; kj < KW; ++kj) {
                const int base = kj * g.dilation.w - g.padding.w;
                const auto [lo, hi] = inside_columns(base, sw, W, OW);
                const T* in = cols + (static_cast<std::size_t>(c) * KH * KW + ki * KW + kj) * rows * OW;
                for (int oh = oh0; oh < oh1; ++oh) {
                    const int ih = padded_source(oh * g.stride.h - g.padding.h + ki * g.dilation.h, H, g.padding_mode);
                    if (ih < 0) continue;
                    const T* src = in + static_cast<std::size_t>(oh - oh0) * OW;
                    T* out = plane + static_cast<std::size_t>(ih) * W;
                    auto border = [&](int ow) {
                        const int iw = padded_source(ow * sw + base, W, g.padding_mode);
                        if (iw >= 0) out[iw] += src[ow];
                    };
                    for (int ow = 0; ow < lo; ++ow) border(ow);
                    for (int ow = lo; ow < hi; ++ow) out[ow * sw + base] += src[ow];
                    for (int ow = hi; ow < OW; ++ow) border(ow);
                }
            }
    });
}
