#pragma once
// Spatial padding: PyTorch's nn.ReflectionPad2d, nn.ReplicationPad2d and nn.ZeroPad2d. One generic
// layer; a small mode functor's index mapping `source(i, n)` is the whole difference between the
// three. Forward gathers y[oh, ow] = x[source(oh - top, H), source(ow - left, W)]; backward is its
// adjoint, a scatter-add of dy onto the pixels that were read.
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../core/macros.hpp"

namespace cyclegan {

// Pads on each side, in PyTorch's 4-tuple order (left, right, top, bottom).
struct Padding2d {
    int left = 0, right = 0, top = 0, bottom = 0;

    constexpr int out_h(int h) const { return h + top + bottom; }
    constexpr int out_w(int w) const { return w + left + right; }
    friend constexpr bool operator==(const Padding2d&, const Padding2d&) = default;
};

// Each mode maps a padded coordinate i (already shifted by the leading pad, so the image is
// 0 <= i < n) to the input coordinate it copies, or -1 for a zero. `fits` is PyTorch's rule on
// the pad of one side.

// ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...: mirror about the edge pixel, which is not repeated.
struct ReflectPadMode {
    static constexpr const char* layer_name = "ReflectionPad2d";
    static constexpr const char* rule = "each pad must be less than the input size";
    static constexpr bool fits(int pad, int n) { return pad < n; }  // one bounce must land inside
    CYCLEGAN_HD int source(int i, int n) const {
        if (i < 0) return -i;
        if (i >= n) return 2 * (n - 1) - i;
        return i;
    }
};

// ... 0 0 | 0 1 2 ... n-1 | n-1 n-1 ...: the edge pixel repeated.
struct ReplicatePadMode {
    static constexpr const char* layer_name = "ReplicationPad2d";
    static constexpr const char* rule = "the input must not be empty";
    static constexpr bool fits(int, int n) { return n > 0; }
    CYCLEGAN_HD int source(int i, int n) const { return i < 0 ? 0 : i >= n ? n - 1 : i; }
};

// ... z z | 0 1 2 ... n-1 | z z ...: zeros outside.
struct ZeroPadMode {
    static constexpr const char* layer_name = "ZeroPad2d";
    static constexpr const char* rule = "";
    static constexpr bool fits(int, int) { return true; }
    CYCLEGAN_HD int source(int i, int n) const { return i >= 0 && i < n ? i : -1; }
};

template <class B, class Mode>
concept PadKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Mode& m, const Padding2d& p) {
    pad2d_forward(d, m, ct, t, p);   // y = gather of x (y preallocated, padded shape)
    pad2d_backward(d, m, ct, t, p);  // dx = scatter-add of dy (dx preallocated, input shape)
};

template <class B, class Mode>
class Pad2d {
public:
    using backend = B;
    struct Context {
        Shape x;  // the gather needs only the input's shape to be undone
    };

    explicit Pad2d(int padding) : Pad2d(padding, padding, padding, padding) {}
    Pad2d(int left, int right, int top, int bottom) : pad_{left, right, top, bottom} {
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw std::invalid_argument(std::string(Mode::layer_name) + ": negative padding (" +
                                        describe() + ")");
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(PadKernels<B, Mode>,
                      "Pad2d (ReflectionPad2d, ReplicationPad2d, ZeroPad2d): the backend has no padding "
                      "kernels pad2d_forward/pad2d_backward; include the backend's header");
        const Shape s = x.shape();
        const Mode m{};
        if (!(Mode::fits(pad_.left, s.w) && Mode::fits(pad_.right, s.w) && Mode::fits(pad_.top, s.h) &&
              Mode::fits(pad_.bottom, s.h)))
            throw shape_error(std::string(Mode::layer_name) + ": " + Mode::rule + ", got padding (" +
                              describe() + ") for input of shape " + to_string(s));
        Tensor<B> y(dev, Shape{s.n, s.c, pad_.out_h(s.h), pad_.out_w(s.w)});
        pad2d_forward(dev, m, x, y, pad_);
        ctx.x = s;
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        if (dx) {
            const Shape s = ctx.x;
            if (!(dy.shape() == Shape{s.n, s.c, pad_.out_h(s.h), pad_.out_w(s.w)}))
                throw shape_error(std::string(Mode::layer_name) + ": output gradient of shape " +
                                  to_string(dy.shape()) + " does not match the output for input " + to_string(s));
            *dx = Tensor<B>(dev, s);
            pad2d_backward(dev, Mode{}, dy, *dx, pad_);
        }
        ctx = {};
    }

    const Padding2d& padding() const { return pad_; }

private:
    std::string describe() const {
        std::string out = "left " + std::to_string(pad_.left);
        out += ", right " + std::to_string(pad_.right);
        out += ", top " + std::to_string(pad_.top);
        out += ", bottom " + std::to_string(pad_.bottom);
        return out;
    }

    Padding2d pad_;
};

// PyTorch's names. Constructed from one int (every side) or from left, right, top, bottom.
template <class B>
struct ReflectionPad2d : Pad2d<B, ReflectPadMode> {
    using Pad2d<B, ReflectPadMode>::Pad2d;
};

template <class B>
struct ReplicationPad2d : Pad2d<B, ReplicatePadMode> {
    using Pad2d<B, ReplicatePadMode>::Pad2d;
};

template <class B>
struct ZeroPad2d : Pad2d<B, ZeroPadMode> {
    using Pad2d<B, ZeroPadMode>::Pad2d;
};

}  // namespace cyclegan
