#pragma once
// Tiled inference with the whole image's normalisation statistics (issue 27). A generator runs on
// tiles: each tile is a core (the part of the output it gives) and a halo around it, at least the
// network's receptive radius, inside which the tile's own borders disturb the values. Every
// InstanceNorm2d uses statistics of the whole image instead of the tile's own, so the cores join
// without seams; a tile's own statistics are what leaves seams in the usual tiling (the
// reference's issue 1040).
//
// Exact statistics: norm k's input depends on the statistics of the norms before it, so pass k runs
//   every tile up to norm k with those, sums norm k's input over the tile's core (where the tile's
//   values are the whole image's) and stops; the pass after the last norm writes the output. A
//   network with K instance norms takes K + 1 passes over ever longer prefixes of it (about 11
//   full passes for resnet_9blocks, whose residual blocks hold most of its work and norms).
// Sampled statistics: a few windows of the image, run as one batch, normalise by statistics taken
//   over all their cores together, and those statistics serve every tile in one more pass: about
//   (windows + tiles) tiles' work. They estimate the whole image's; their error is measured in
//   docs/workflow.md.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../layers/norm2d.hpp"
#include "../core/network.hpp"
#include "../core/option_range.hpp"

namespace cyclegan {

enum class TileStatistics { exact, sampled };

struct TiledOptions {
    int tile = 512;  // the core's side, in input pixels
    int halo = 0;    // input pixels around a core; at least the network's receptive radius
    TileStatistics statistics = TileStatistics::exact;
    int sample_windows = 4;  // sampled: windows run together for the statistics, of
    int window = 0;          // this side in input pixels, halo included (0: tile + 2 halo)

    // Sides beyond an image's largest (max_image_pixels) are typos. The programs' --tile adds 0
    // (whole images) and --halo -1 (the generator's radius) to these.
    static constexpr OptionRange tile_range{.min = 1, .max = 1 << 20, .integer = true};
    static constexpr OptionRange halo_range{.min = 0, .max = 1 << 20, .integer = true};
    static constexpr OptionRange sample_windows_range{.min = 1, .max = 1024, .integer = true};

    // `multiple`: the network's size rule's; tile and halo must be multiples of it so that every
    // tile meets the strided layers' grid where the whole image does. Throws std::invalid_argument.
    void check(int multiple) const {
        check_option("tiled inference", "tile", tile, tile_range);
        check_option("tiled inference", "halo", halo, halo_range);
        check_option("tiled inference", "sample_windows", sample_windows, sample_windows_range);
        if (window != 0 && (window % multiple || window <= 2 * halo))
            throw std::invalid_argument("tiled inference: window " + std::to_string(window) + " must be a multiple of " +
                                        std::to_string(multiple) + " and wider than two halos (" + std::to_string(2 * halo) + ")");
        if (tile % multiple || halo % multiple)
            throw std::invalid_argument("tiled inference: tile " + std::to_string(tile) + " and halo " + std::to_string(halo) +
                                        " must be multiples of " + std::to_string(multiple) + ", the generator's size rule's");
    }
};

// Where a tiled translation is, after each tile: the programs print it (with an estimate of the
// time left) and stop on Ctrl-C through it.
struct TileProgress {
    int pass = 0;   // from 0; exact statistics take one pass per instance norm and one more, whose
                    // count is known only at the end (`last`); sampled ones one pass after the sampling
    int tile = 0;   // tiles done in this pass, 1 .. tiles
    int tiles = 0;  // tiles in a pass
    bool last = false;  // this pass writes the output
};
// Called after each tile; returning false stops the translation (translation_interrupted).
using TileProgressCallback = std::function<bool(const TileProgress&)>;

// Thrown when a progress callback asked to stop: no part of the image is returned.
struct translation_interrupted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace tiled_detail {

// A rectangle [y0, y1) x [x0, x1) of input pixels.
struct Box {
    int y0, y1, x0, x1;
    int height() const { return y1 - y0; }
    int width() const { return x1 - x0; }
};

// A tile: the input it reads (its core and halo, clipped to the image) and its core.
struct Tile {
    Box input, core;
};

inline Box grown(const Box& b, int by, int height, int width) {
    return {std::max(0, b.y0 - by), std::min(height, b.y1 + by), std::max(0, b.x0 - by), std::min(width, b.x1 + by)};
}

// The cores tile the image on a grid of `tile`; the last row and column may be narrower.
inline std::vector<Tile> plan(int height, int width, const TiledOptions& o) {
    std::vector<Tile> tiles;
    for (int y = 0; y < height; y += o.tile)
        for (int x = 0; x < width; x += o.tile) {
            const Box core{y, std::min(height, y + o.tile), x, std::min(width, x + o.tile)};
            tiles.push_back({grown(core, o.halo, height, width), core});
        }
    return tiles;
}

// Up to `count` windows of o.window (or tile + 2 halo) pixels, all of one size, spread over the
// image on a grid aligned to `multiple`; each one's core is the window less the halo on sides inside
// the image.
inline std::vector<Tile> sample_windows(int height, int width, const TiledOptions& o, int multiple) {
    const int side = o.window ? o.window : o.tile + 2 * o.halo;
    const int side_h = std::min(height, side), side_w = std::min(width, side);
    const int rows = std::clamp(static_cast<int>(std::lround(std::sqrt(double(o.sample_windows) * height / width))), 1,
                                o.sample_windows);  // a tall image: one column of them, no more than asked
    const int cols = std::max(1, o.sample_windows / rows);
    auto place = [multiple](int i, int n, int span, int side) {  // i-th of n starts in [0, span - side]
        const int room = span - side;
        const int at = n > 1 ? static_cast<int>(std::lround(double(room) * i / (n - 1))) : room / 2;
        return at / multiple * multiple;
    };
    std::vector<Tile> windows;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const int y = place(r, rows, height, side_h), x = place(c, cols, width, side_w);
            const Box input{y, y + side_h, x, x + side_w};
            const Box core{y > 0 ? y + o.halo : 0, y + side_h < height ? y + side_h - o.halo : height,
                           x > 0 ? x + o.halo : 0, x + side_w < width ? x + side_w - o.halo : width};
            if (core.height() > 0 && core.width() > 0) windows.push_back({input, core});
        }
    if (windows.empty()) windows.push_back({{0, side_h, 0, side_w}, {0, side_h, 0, side_w}});
    return windows;
}

// Tensors whose data() the host may read and write (the CPU backends).
template <class B>
constexpr bool on_host = requires { requires B::host_memory; };

// Thrown by a pass when it has summed the norm it was run for: the rest of the network is not needed.
struct StopAtNorm {};

// The statistics of every InstanceNorm2d of one image, found norm by norm.
template <class B>
class WholeImageStatistics final : public NormStatisticsSource<B> {
public:
    // Before each forward: the cores of its images (one per image of the batch), in the tile's
    // input pixels, and the tile's input height (to find each map's scale).
    void begin(std::vector<Box> cores, int input_height, bool joint) {
        cores_ = std::move(cores);
        input_height_ = input_height;
        joint_ = joint;
        next_ = 0;
    }
    std::size_t known() const { return mean_.size(); }

    // Exact passes: the sums of norm known() over every tile's core so far become its statistics.
    void settle(double eps) {
        std::vector<double> mean(s1_.size()), rstd(s1_.size());
        for (std::size_t c = 0; c < s1_.size(); ++c) {
            mean[c] = s1_[c] / count_;
            const double var = std::max(0.0, s2_[c] / count_ - mean[c] * mean[c]);  // biased, as InstanceNorm2d
            rstd[c] = 1.0 / std::sqrt(var + eps);
        }
        mean_.push_back(std::move(mean));
        rstd_.push_back(std::move(rstd));
        s1_.clear(), s2_.clear(), count_ = 0;
    }
    double eps() const { return eps_; }

    void statistics(B& dev, const Tensor<B>& x, double eps, Tensor<B>& mean, Tensor<B>& rstd) override {
        const std::size_t k = next_++;
        eps_ = eps;
        if (k == known()) {
            accumulate(dev, x);
            if (!joint_) throw StopAtNorm{};
            settle(eps);
        }
        if (k >= known()) throw std::logic_error("tiled inference: a norm ran after the one being measured");
        if (mean_[k].size() != static_cast<std::size_t>(x.shape().c))
            throw std::logic_error("tiled inference: norm " + std::to_string(k) + " changed its channels between passes");
        using T = typename Tensor<B>::scalar;
        std::vector<T> m, r;
        for (int n = 0; n < x.shape().n; ++n)
            for (int c = 0; c < x.shape().c; ++c) m.push_back(static_cast<T>(mean_[k][c])), r.push_back(static_cast<T>(rstd_[k][c]));
        mean = Tensor<B>::from_host(dev, {x.shape().n * x.shape().c, 1, 1, 1}, m);
        rstd = Tensor<B>::from_host(dev, {x.shape().n * x.shape().c, 1, 1, 1}, r);
    }

private:
    // Per channel, the sum and the sum of squares of x over each image's core, at x's scale.
    void accumulate(B& dev, const Tensor<B>& x) {
        const Shape s = x.shape();
        if (s.n != static_cast<int>(cores_.size())) throw std::logic_error("tiled inference: one core per image");
        if (input_height_ % s.h) throw std::logic_error("tiled inference: a map's height does not divide the tile's");
        const int scale = input_height_ / s.h;
        using T = typename Tensor<B>::scalar;
        std::vector<T> copy;
        const T* data = x.data();
        if constexpr (!on_host<B>) copy = x.to_host(dev), data = copy.data();
        if (s1_.empty()) s1_.assign(s.c, 0.0), s2_.assign(s.c, 0.0);
        for (int n = 0; n < s.n; ++n) {
            const Box& b = cores_[n];
            const int y0 = b.y0 / scale, y1 = b.y1 / scale, x0 = b.x0 / scale, x1 = b.x1 / scale;
            for (int c = 0; c < s.c; ++c) {
                const T* plane = data + (static_cast<std::size_t>(n) * s.c + c) * s.plane();
                double a = 0, q = 0;
                for (int y = y0; y < y1; ++y)
                    for (int xx = x0; xx < x1; ++xx) {
                        const double v = plane[static_cast<std::size_t>(y) * s.w + xx];
                        a += v, q += v * v;
                    }
                s1_[c] += a, s2_[c] += q;
            }
            count_ += double(y1 - y0) * (x1 - x0);
        }
    }

    std::vector<std::vector<double>> mean_, rstd_;  // per norm, per channel
    std::vector<double> s1_, s2_;
    double count_ = 0, eps_ = 0;
    std::vector<Box> cores_;
    int input_height_ = 0;
    bool joint_ = false;
    std::size_t next_ = 0;
};

// Installs a statistics source on this thread for as long as it lives.
template <class B>
class Installed {
public:
    explicit Installed(NormStatisticsSource<B>* s) : before_(installed_norm_statistics<B>()) { installed_norm_statistics<B>() = s; }
    ~Installed() { installed_norm_statistics<B>() = before_; }
    Installed(const Installed&) = delete;
    Installed& operator=(const Installed&) = delete;

private:
    NormStatisticsSource<B>* before_;
};

// The boxes' inputs (read(box, values) fills [C, h, w]) stacked as [N, C, h, w].
// Read straight into the tensor where it lies in host memory: no copy of a tile beside the network's.
template <class B, class Read>
Tensor<B> crops(B& dev, Read& read, int channels, const std::vector<Tile>& tiles) {
    const Box& first = tiles.front().input;
    const std::size_t each = std::size_t(channels) * first.height() * first.width();
    const Shape s{static_cast<int>(tiles.size()), channels, first.height(), first.width()};
    if constexpr (on_host<B>) {
        Tensor<B> x(dev, s);
        for (std::size_t i = 0; i < tiles.size(); ++i) read(tiles[i].input, x.data() + i * each);
        return x;
    } else {
        std::vector<typename Tensor<B>::scalar> out(tiles.size() * each);
        for (std::size_t i = 0; i < tiles.size(); ++i) read(tiles[i].input, out.data() + i * each);
        return Tensor<B>::from_host(dev, s, out);
    }
}

}  // namespace tiled_detail

// A rectangle [y0, y1) x [x0, x1) of an image's pixels, as tiled translation reads and writes them.
using PixelBox = tiled_detail::Box;

// The network (a generator: output of the input's height and width) on an image of `channels` x
// `height` x `width` that need not be held whole (a streamed file): tiled as translate_tiled below
// tiles, each tile's input asked of read(box, values), which fills [channels, h, w] floats of `box`
// (the same box may be asked once per pass), and each core's output handed to write(core, values)
// as [C_out, h, w] floats, in the image's coordinates: cores come in the last pass only, each once,
// in rows, left to right and top to bottom. Throws what translate_tiled throws; after
// translation_interrupted, write has had the cores before the stop.
template <class Net, class Read, class Write>
void translate_tiled_parts(Network<Net>& net, int channels, int height, int width, Read&& read, Write&& write,
                           const TiledOptions& o, int multiple, const TileProgressCallback& progress = {}) {
    using B = typename Network<Net>::backend;
    using namespace tiled_detail;
    o.check(multiple);
    const Shape s{1, channels, height, width};
    if (height < 1 || width < 1 || height % multiple || width % multiple)
        throw shape_error("translate_tiled: expected one image with sides multiples of " + std::to_string(multiple) + ", got " +
                          to_string(s));
    B& dev = net.device();
    const bool was_training = net.training();
    net.eval();
    struct Restore {
        Network<Net>& net;
        bool training;
        ~Restore() { net.train(training); }
    } restore{net, was_training};

    WholeImageStatistics<B> stats;
    Installed<B> installed(&stats);
    if (o.statistics == TileStatistics::sampled) {
        const auto windows = sample_windows(s.h, s.w, o, multiple);
        std::vector<Box> cores;
        for (const Tile& w : windows) cores.push_back({w.core.y0 - w.input.y0, w.core.y1 - w.input.y0, w.core.x0 - w.input.x0, w.core.x1 - w.input.x0});
        stats.begin(cores, windows.front().input.height(), /*joint=*/true);
        (void)net(crops(dev, read, s.c, windows));
    }

    const auto tiles = plan(s.h, s.w, o);
    std::vector<typename Tensor<B>::scalar> core_values;
    int pass = 0, done = 0;
    // After each tile; `last`: the tile ran to the output, so its whole pass does.
    auto tick = [&](bool last) {
        ++done;
        if (progress && !progress(TileProgress{pass, done, static_cast<int>(tiles.size()), last}))
            throw translation_interrupted("tiled translation interrupted in pass " + std::to_string(pass + 1) + " after tile " +
                                          std::to_string(done) + " of " + std::to_string(tiles.size()));
    };
    for (bool finished = false; !finished; ++pass, done = 0) {
        finished = true;
        for (const Tile& t : tiles) {
            const Box core{t.core.y0 - t.input.y0, t.core.y1 - t.input.y0, t.core.x0 - t.input.x0, t.core.x1 - t.input.x0};
            stats.begin({core}, t.input.height(), /*joint=*/false);
            Tensor<B> y;
            try {
                y = net(crops(dev, read, s.c, {t}));
            } catch (const StopAtNorm&) {
                finished = false;
                tick(false);
                continue;
            }
            if (!finished) throw std::logic_error("tiled inference: a tile ran past a norm the others stopped at");
            const Shape ys = y.shape();
            if (ys.h != t.input.height() || ys.w != t.input.width())
                throw shape_error("translate_tiled: the network turned a tile of " + to_string(Shape{1, s.c, t.input.height(), t.input.width()}) +
                                  " into " + to_string(ys) + ": only generators, which keep the size, tile");
            std::vector<typename Tensor<B>::scalar> host_copy;  // only where the tensor is not in host memory
            if constexpr (!on_host<B>) host_copy = y.to_host(dev);
            const auto* part = on_host<B> ? y.data() : host_copy.data();
            core_values.clear();
            for (int c = 0; c < ys.c; ++c)
                for (int yy = core.y0; yy < core.y1; ++yy) {
                    const auto* src = part + (static_cast<std::size_t>(c) * ys.h + yy) * ys.w;
                    core_values.insert(core_values.end(), src + core.x0, src + core.x1);
                }
            write(t.core, std::as_const(core_values));
            tick(true);
        }
        if (!finished) stats.settle(stats.eps());
    }
}

// The network (a generator: output of the input's height and width) on x [1, C, H, W] in tiles,
// each InstanceNorm2d normalising by the statistics of the whole image (exact) or of sampled
// windows (sampled); returns [1, C_out, H, W]. With a halo of at least the network's receptive
// radius (ResnetGenerator::receptive_radius), exact statistics give the whole-image result up to
// the order of the sums. H and W must be multiples of `multiple` (the size rule's; pad first, as
// translate_images does). `progress`, if given, is called after each tile. Throws
// std::invalid_argument for options that do not fit, shape_error for x of another batch or sides,
// translation_interrupted when `progress` returns false. The network runs in eval mode, as for any
// translation.
template <class Net>
Tensor<typename Network<Net>::backend> translate_tiled(Network<Net>& net, const Tensor<typename Network<Net>::backend>& x,
                                                       const TiledOptions& o, int multiple,
                                                       const TileProgressCallback& progress = {}) {
    using B = typename Network<Net>::backend;
    using Scalar = typename Tensor<B>::scalar;
    const Shape s = x.shape();
    if (s.n != 1)
        throw shape_error("translate_tiled: expected one image with sides multiples of " + std::to_string(multiple) + ", got " +
                          to_string(s));
    B& dev = net.device();
    // The image and the output where the caller can read them: in place in host memory (the
    // image's pixels are the tiles' only full-size memory), else copies.
    std::vector<Scalar> host_copy, out_host;
    if constexpr (!tiled_detail::on_host<B>) host_copy = x.to_host(dev);
    const Scalar* image = tiled_detail::on_host<B> ? x.data() : host_copy.data();
    auto read = [&](const PixelBox& box, Scalar* values) {
        for (int c = 0; c < s.c; ++c)
            for (int y = box.y0; y < box.y1; ++y) {
                const Scalar* row = image + (static_cast<std::size_t>(c) * s.h + y) * s.w;
                values = std::copy(row + box.x0, row + box.x1, values);
            }
    };
    Tensor<B> result;
    Scalar* out = nullptr;
    auto write = [&](const PixelBox& core, const std::vector<Scalar>& values) {
        const std::size_t plane = std::size_t(core.height()) * core.width();
        const int channels = static_cast<int>(values.size() / plane);
        if (!out) {
            result = Tensor<B>(dev, {1, channels, s.h, s.w});
            if constexpr (tiled_detail::on_host<B>) out = result.data();
            else out_host.resize(result.shape().numel()), out = out_host.data();
        }
        for (int c = 0; c < channels; ++c)
            for (int y = core.y0; y < core.y1; ++y)
                std::copy_n(values.data() + c * plane + std::size_t(y - core.y0) * core.width(), core.width(),
                            out + (static_cast<std::size_t>(c) * s.h + y) * s.w + core.x0);
    };
    translate_tiled_parts(net, s.c, s.h, s.w, read, write, o, multiple, progress);
    if constexpr (!tiled_detail::on_host<B>) dev.upload(out_host.data(), result.data(), out_host.size());
    return result;
}

}  // namespace cyclegan
