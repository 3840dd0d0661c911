#pragma once
// The reference's ImagePool: a history of generated images that the discriminators also see, so
// they do not forget earlier generator modes (Shrivastava et al.). For each image of a batch:
// while the pool fills, store it and return it; afterwards, with probability 1/2 return it, else
// swap it for a stored image chosen uniformly and return that one.
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "concepts.hpp"

namespace cyclegan {

template <class B>
class ImagePool {
public:
    explicit ImagePool(int pool_size = 50, std::uint64_t seed = 0) : size_(pool_size), rng_(seed) {}

    Tensor<B> query(B& dev, const Tensor<B>& images) {
        if (size_ <= 0) return images;
        const Shape s = images.shape();
        Tensor<B> out(dev, s);
        for (int i = 0; i < s.n; ++i) {
            Tensor<B> img = images.images(i);
            Tensor<B> chosen = img;
            if (static_cast<int>(pool_.size()) < size_) {
                pool_.push_back(img.clone(dev));
            } else if (uniform_(rng_) > 0.5) {
                const auto k = std::uniform_int_distribution<int>(0, size_ - 1)(rng_);
                chosen = pool_[k];
                pool_[k] = img.clone(dev);
            }
            if (!(chosen.shape() == img.shape()))
                throw shape_error("ImagePool: image of shape " + to_string(img.shape()) +
                                  " meets stored image of shape " + to_string(chosen.shape()));
            dev.copy(chosen.data(), out.data() + static_cast<std::size_t>(i) * s.image(), s.image());
        }
        return out;
    }

    int capacity() const { return size_; }
    const std::vector<Tensor<B>>& images() const { return pool_; }
    std::vector<Tensor<B>>& images() { return pool_; }

    // The random engine's state as text (std::mt19937_64's stream format), for checkpoints.
    std::string rng_state() const {
        std::ostringstream os;
        os << rng_;
        return os.str();
    }
    void set_rng_state(const std::string& s) {
        std::istringstream is(s);
        is >> rng_;
        if (!is) throw std::invalid_argument("ImagePool: bad random state");
    }

private:
    int size_;
    std::mt19937_64 rng_;
    std::uniform_real_distribution<double> uniform_{0.0, 1.0};
    std::vector<Tensor<B>> pool_;
};

}  // namespace cyclegan
