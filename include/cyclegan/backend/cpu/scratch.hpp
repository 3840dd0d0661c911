#pragma once
// Per-thread scratch memory that outlives a call: a fresh multi-megabyte buffer per convolution
// cost more in page faults and zeroing than the work done in it (the 3 -> 64 7x7 convolution at
// 128: 9.5 -> 2.7 ms with a reused column buffer). Each Slot is one buffer; it grows to the
// largest request and stays that size, uninitialised.
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>

namespace cyclegan::cpu_detail {

enum class Scratch { columns, winograd_input, winograd_product, winograd_filter, gemm_a, gemm_b, thin_rows, direct_input, direct_weights,
                     direct_output, direct_pairs, direct_sums };

// Bytes held by every thread's scratch buffers together (they are never given back).
inline std::atomic<std::size_t>& scratch_bytes() {
    static std::atomic<std::size_t> bytes{0};
    return bytes;
}

template <class T, Scratch Slot>
T* scratch_buffer(std::size_t n) {
    struct Buffer {
        T* data = nullptr;
        std::size_t size = 0;
        void reset() {
            ::operator delete(data, std::align_val_t{64});
            scratch_bytes() -= size * sizeof(T);
            data = nullptr, size = 0;
        }
        ~Buffer() { reset(); }
    };
    thread_local Buffer buffer;
    if (n > buffer.size) {
        buffer.reset();  // the old one first: both at once would raise the peak
        buffer.data = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
        buffer.size = n;
        scratch_bytes() += n * sizeof(T);
    }
    return buffer.data;
}

}  // namespace cyclegan::cpu_detail
