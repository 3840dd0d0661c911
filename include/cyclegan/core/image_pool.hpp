#pragma once
// The reference's ImagePool: a history of generated images that the discriminators also see, so
// they do not forget earlier generator modes (Shrivastava et al.). For each image of a batch:
// while the pool fills, store it and return it; afterwards, with probability 1/2 return it, else
// swap it for a stored image chosen uniformly and return that one.
//
// The draws are a counter-based stream (core/random.hpp), so the pool's random state is two
// numbers (its key and how many words it has drawn) and every toolchain draws alike.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "concepts.hpp"
#include "random.hpp"

namespace cyclegan {

namespace image_pool_detail {

inline constexpr const char* stream_tag = "counter";

// A pool's random state as text, for checkpoints: "counter <key> <position>" in decimal.
inline std::string state_text(const RandomStream& s) {
    return std::string(stream_tag) + " " + std::to_string(s.key) + " " + std::to_string(s.position);
}

// The state from its text; nothing when the text is not one. A pool saved before the draws were
// counter-based holds std::mt19937_64's text instead: it continues from a stream keyed by that
// engine's next output (its old draws cannot be continued; the new ones are as random).
inline std::optional<RandomStream> parse_state(const std::string& text) {
    const std::string tag = std::string(stream_tag) + " ";
    if (text.starts_with(tag)) {
        RandomStream s;
        const char* at = text.data() + tag.size();
        const char* end = text.data() + text.size();
        auto r = std::from_chars(at, end, s.key);
        if (r.ec != std::errc() || r.ptr == end || *r.ptr != ' ') return std::nullopt;
        r = std::from_chars(r.ptr + 1, end, s.position);
        if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
        return s;
    }
    std::istringstream is(text);
    std::mt19937_64 engine;
    if (!(is >> engine)) return std::nullopt;
    return RandomStream{engine(), 0};
}

}  // namespace image_pool_detail

template <class B>
class ImagePool {
public:
    // A pool of `pool_size` images (0 or less: none, queries pass through) that draws from the
    // stream `key` (a model derives each pool's from its seed and the pool's name).
    explicit ImagePool(int pool_size = 50, std::uint64_t key = 0) : size_(pool_size), rng_{key, 0} {}

    Tensor<B> query(B& dev, const Tensor<B>& images) {
        if (size_ <= 0) return images;
        const Shape s = images.shape();
        Tensor<B> out(dev, s);
        for (int i = 0; i < s.n; ++i) {
            Tensor<B> img = images.images(i);
            Tensor<B> chosen = img;
            if (static_cast<int>(pool_.size()) < size_) {
                pool_.push_back(img.clone(dev));
            } else if (uniform01(rng_()) > 0.5) {
                const auto k = static_cast<std::size_t>(random_below(rng_(), static_cast<std::uint64_t>(size_)));
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

    // Empty again, and the stream back at its first word: the pool as it was constructed.
    void reset() {
        pool_.clear();
        rng_.position = 0;
    }

    // The random state as text (image_pool_detail::state_text), for checkpoints; set_rng_state
    // throws std::invalid_argument for text that is not one.
    std::string rng_state() const { return image_pool_detail::state_text(rng_); }
    void set_rng_state(const std::string& s) {
        const auto state = image_pool_detail::parse_state(s);
        if (!state) throw std::invalid_argument("ImagePool: bad random state '" + s.substr(0, 40) + "'");
        rng_ = *state;
    }

    // The whole pool (random state and images) as bytes, to move it between processes (a
    // distributed run's checkpoint gathers every rank's pools); from_bytes restores it. Throws
    // std::invalid_argument for bytes that are not a pool of this scalar type.
    std::string to_bytes(B& dev) const {
        std::string out;
        auto put = [&](const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); };
        const std::string rng = rng_state();
        const std::uint64_t header[2] = {rng.size(), pool_.size()};
        put(header, sizeof header);
        put(rng.data(), rng.size());
        for (const Tensor<B>& img : pool_) {
            const Shape s = img.shape();
            const std::int32_t dims[4] = {s.n, s.c, s.h, s.w};
            put(dims, sizeof dims);
            const auto values = img.to_host(dev);
            put(values.data(), values.size() * sizeof(values[0]));
        }
        return out;
    }
    void from_bytes(B& dev, const std::string& bytes) {
        std::size_t at = 0;
        auto take = [&](void* p, std::size_t n) {
            if (bytes.size() - at < n) throw std::invalid_argument("ImagePool::from_bytes: the bytes end too soon");
            std::memcpy(p, bytes.data() + at, n);
            at += n;
        };
        std::uint64_t header[2];
        take(header, sizeof header);
        if (header[0] > bytes.size() || header[1] > static_cast<std::uint64_t>(std::max(size_, 0)))
            throw std::invalid_argument("ImagePool::from_bytes: not a pool of at most " + std::to_string(size_) + " images");
        std::string rng(header[0], '\0');
        take(rng.data(), rng.size());
        std::vector<Tensor<B>> images;
        for (std::uint64_t k = 0; k < header[1]; ++k) {
            std::int32_t d[4];
            take(d, sizeof d);
            if (d[0] != 1 || d[1] < 1 || d[2] < 1 || d[3] < 1 || std::int64_t(d[1]) * d[2] * d[3] > std::int64_t(1) << 30)
                throw std::invalid_argument("ImagePool::from_bytes: an image of a bad shape");
            std::vector<typename B::scalar> values(static_cast<std::size_t>(d[1]) * d[2] * d[3]);
            take(values.data(), values.size() * sizeof(values[0]));
            images.push_back(Tensor<B>::from_host(dev, Shape{d[0], d[1], d[2], d[3]}, values));
        }
        if (at != bytes.size()) throw std::invalid_argument("ImagePool::from_bytes: bytes left over");
        set_rng_state(rng);
        pool_ = std::move(images);
    }

private:
    int size_;
    RandomStream rng_;
    std::vector<Tensor<B>> pool_;
};

}  // namespace cyclegan
