#pragma once
// Per-thread scratch memory that outlives a call: a fresh multi-megabyte buffer per convolution
// cost more in page faults and zeroing than the work done in it (the 3 -> 64 7x7 convolution at
// 128: 9.5 -> 2.7 ms with a reused column buffer). Each Slot is one buffer; it grows to the
// largest request and stays that size, uninitialised.
#include <cstddef>
#include <memory>
#include <new>

namespace cyclegan::cpu_detail {

enum class Scratch { columns, winograd_input, winograd_product, winograd_filter, gemm_a, gemm_b, thin_rows };

template <class T, Scratch Slot>
T* scratch_buffer(std::size_t n) {
    struct Aligned {
        void operator()(T* p) const { ::operator delete(p, std::align_val_t{64}); }
    };
    thread_local std::unique_ptr<T, Aligned> buffer;
    thread_local std::size_t size = 0;
    if (n > size) {
        buffer.reset();  // the old one first: both at once would raise the peak
        buffer.reset(static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})));
        size = n;
    }
    return buffer.get();
}

}  // namespace cyclegan::cpu_detail
