#pragma once
// Weights transformed for a kernel (a Winograd convolution's U = G w G^T, packed for our GEMM),
// kept between calls that run the same weights again. Conv2d asks for it only in inference
// (Phase::inference, ConvWeights::fixed), where transforming 256 x 256 x 3 x 3 weights on every
// call was 13% of a generator's time at 128 pixels; training changes the weights every step.
//
// An entry is found by the weights' address, count and the transform's kind, and holds a
// fingerprint of their values (a 64-bit hash): weights changed in place (a checkpoint loaded into
// the same network, an optimizer step) no longer match, and the transform is redone. At most
// `limit` bytes stay cached, the least recently used going first. Safe to use from several threads.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>

namespace cyclegan::cpu_detail {

class WeightCache {
public:
    struct Key {
        const void* weights;
        std::size_t count;
        int kind;  // which transform, for which kernel set
        friend bool operator<(const Key& a, const Key& b) {
            if (a.weights != b.weights) return a.weights < b.weights;
            if (a.count != b.count) return a.count < b.count;
            return a.kind < b.kind;
        }
    };

    explicit WeightCache(std::size_t limit) : limit_(limit) {}

    // A 64-byte aligned buffer of n values (float, or bf16 bits), for a transform to fill before store().
    template <class V>
    static std::shared_ptr<V> make_buffer(std::size_t n) {
        return std::shared_ptr<V>(static_cast<V*>(::operator new(n * sizeof(V), std::align_val_t{64})),
                                  [](V* p) { ::operator delete(p, std::align_val_t{64}); });
    }

    // The transformed weights stored for `key` if they were made from weights with this
    // fingerprint; null otherwise. The buffer stays valid while held, even if evicted meanwhile.
    std::shared_ptr<const void> find(const Key& key, std::uint64_t fingerprint) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        if (it == entries_.end() || it->second.fingerprint != fingerprint) return nullptr;
        it->second.used = ++clock_;
        return it->second.data;
    }

    // Keeps `data` (bytes long) for `key`, replacing what was there and evicting the least
    // recently used entries to stay within the limit; nothing is kept if it alone exceeds it.
    void store(const Key& key, std::uint64_t fingerprint, std::shared_ptr<const void> data, std::size_t bytes) {
        std::lock_guard lock(mutex_);
        erase(key);
        if (bytes > limit_) return;
        while (bytes_ + bytes > limit_) evict_oldest();
        entries_[key] = Entry{std::move(data), bytes, fingerprint, ++clock_};
        bytes_ += bytes;
    }

    void set_limit(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        limit_ = bytes;
        while (bytes_ > limit_) evict_oldest();
    }
    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
        bytes_ = 0;
    }
    std::size_t bytes() const {
        std::lock_guard lock(mutex_);
        return bytes_;
    }

private:
    struct Entry {
        std::shared_ptr<const void> data;
        std::size_t bytes = 0;
        std::uint64_t fingerprint = 0, used = 0;
    };

    void erase(const Key& key) {
        if (auto it = entries_.find(key); it != entries_.end()) {
            bytes_ -= it->second.bytes;
            entries_.erase(it);
        }
    }
    void evict_oldest() {
        auto oldest = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->second.used < oldest->second.used) oldest = it;
        bytes_ -= oldest->second.bytes;
        entries_.erase(oldest);
    }

    mutable std::mutex mutex_;
    std::map<Key, Entry> entries_;
    std::size_t limit_, bytes_ = 0;
    std::uint64_t clock_ = 0;
};

}  // namespace cyclegan::cpu_detail
