#pragma once
// An unpaired task with a known answer, made on the fly: domain A shows discs and rectangles in
// red (60%) or yellow (40%) on a grey background; domain B shows the same kind of scene with the
// red and blue channels swapped (blue and cyan shapes). A -> B is therefore the colour map
// (r, g, b) -> (b, g, r), and a translation's error against it is measurable.
#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "../core/tensor.hpp"

namespace cyclegan::demo {

struct ShapesDataset {
    int size = 32;
    std::mt19937 rng{1};

    // One image of domain A as CHW floats in [-1, 1].
    std::vector<float> scene_A() {
        std::vector<float> img(3 * size * size, -0.4f);  // grey background
        std::uniform_int_distribution<int> count(1, 3), pos(0, size - 1), radius(size / 8, size / 4);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        for (int s = count(rng); s-- > 0;) {
            const float colour[3] = {1.0f, u(rng) < 0.6f ? -1.0f : 1.0f, -1.0f};  // red or yellow
            const int cy = pos(rng), cx = pos(rng), r = radius(rng);
            const bool disc = u(rng) < 0.5f;
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x) {
                    const int dy = y - cy, dx = x - cx;
                    const bool inside = disc ? dy * dy + dx * dx <= r * r : std::abs(dy) <= r && std::abs(dx) <= r / 2;
                    if (inside)
                        for (int c = 0; c < 3; ++c) img[(c * size + y) * size + x] = colour[c];
                }
        }
        return img;
    }

    // The known answer: red and blue channels swapped.
    std::vector<float> to_B(const std::vector<float>& a) const {
        std::vector<float> b(a);
        const std::size_t plane = static_cast<std::size_t>(size) * size;
        std::copy_n(a.begin() + 2 * plane, plane, b.begin());
        std::copy_n(a.begin(), plane, b.begin() + 2 * plane);
        return b;
    }

    // A batch of n images: domain A, or domain B drawn independently (unpaired).
    template <class B>
    Tensor<B> batch(B& dev, int n, bool domain_B) {
        std::vector<float> all;
        for (int i = 0; i < n; ++i) {
            auto a = scene_A();
            auto img = domain_B ? to_B(a) : a;
            all.insert(all.end(), img.begin(), img.end());
        }
        return Tensor<B>::from_host(dev, Shape{n, 3, size, size}, all);
    }
};

}  // namespace cyclegan::demo
