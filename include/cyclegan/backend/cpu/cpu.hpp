#pragma once
// The CPU backend: memory in host RAM, kernels on Eigen, threads through OpenMP.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>
#include <new>

#include <Eigen/Core>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../../core/concepts.hpp"
#include "../../core/option_range.hpp"
#include "../../core/precision.hpp"
#include "block_cache.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tuning.hpp"
#include "weight_cache.hpp"

namespace cyclegan {

// Scalar type is a parameter so that gradient checks can run in double precision (cpu64);
// models use float (cpu).
template <class T>
class basic_cpu {
public:
    using scalar = T;
    static constexpr std::size_t alignment = 64;  // one cache line, one AVX-512 register

    // threads = 0: OpenMP's default (OMP_NUM_THREADS if set, else every core). Throws
    // std::invalid_argument for a count outside threads_range.
    explicit basic_cpu(int threads = 0) { set_threads(threads); }
    // Each thread is the system's, with its own stack: more than 1024 is a typo, not a machine
    // (0 takes every core, however many there are).
    static constexpr OptionRange threads_range{.min = 0, .max = 1024, .integer = true};

    // Copies share one cache of freed blocks (block_cache.hpp); tensors keep it alive after the
    // device object is gone.
    static constexpr std::size_t default_cache_limit = std::size_t{1} << 30;

    // Eigen and OpenMP keep their thread counts process-wide, so this setting is too.
    void set_threads(int threads) {
        check_option("cpu", "threads", threads, threads_range);
        threads_ = threads > 0 ? threads : default_threads();
#if defined(_OPENMP)
        omp_set_num_threads(threads_);
#endif
        Eigen::setNbThreads(threads_);
    }
    int threads() const { return threads_; }

    // The convolutions' arithmetic (core/precision.hpp): f32 by default, or bf16 operands with float
    // sums. A device's copies carry it, so one network can run in f32 and another in bf16 through
    // two devices. On cpu64, bf16 rounds the operands the same way and sums in double: the
    // reference the tests hold float's bf16 to.
    Precision precision() const { return precision_; }
    void set_precision(Precision p) { precision_ = p; }

    // The kernels' tuning settings (tuning.hpp), the process's like the thread count: set them
    // before the work that should see them. Throws std::invalid_argument for a setting that
    // cannot work.
    static const CpuTuning& tuning() { return cpu_detail::cpu_tuning; }
    static void set_tuning(const CpuTuning& t) {
        t.check();
        cpu_detail::cpu_tuning = t;
    }

    // Uninitialised; large blocks come from (and go back to) the cache of freed blocks.
    std::shared_ptr<T> allocate(std::size_t n) {
        if (n == 0) return {};
        const std::size_t bytes = cpu_detail::BlockCache::rounded(n * sizeof(T));
        T* p = static_cast<T*>(cache_->allocate(bytes));
        return std::shared_ptr<T>(p, [cache = cache_, bytes](T* q) { cache->release(q, bytes); });
    }

    // Hands the cached free blocks and transformed weights back to the system (as
    // cuda::release_cached_memory does).
    void release_cached_memory() {
        cache_->trim(0);
        weights_->clear();
    }

    // Weights transformed for the Winograd kernels, kept between inference calls (weight_cache.hpp):
    // at most this many bytes (512 MiB by default; a resnet_9blocks generator at ngf 64 needs 170 MB;
    // 0 keeps none, and every call transforms its weights again).
    static constexpr std::size_t default_weight_cache_limit = std::size_t{512} << 20;
    void set_weight_cache_limit(std::size_t bytes) { weights_->set_limit(bytes); }
    std::size_t weight_cache_bytes() const { return weights_->bytes(); }
    cpu_detail::WeightCache* weight_cache() { return weights_.get(); }
    // At most this many bytes of freed blocks stay cached (1 GiB by default; 0 caches nothing).
    void set_cache_limit(std::size_t bytes) { cache_->set_limit(bytes); }
    std::size_t cached_bytes() const { return cache_->cached_bytes(); }
    // Bytes of the tensors alive now from this device and its copies, and the most at once since
    // reset_peak_memory(): what a computation needs, beside the cached free blocks above and the
    // kernels' scratch (scratch_bytes: every thread's, process-wide, kept for the next call).
    std::size_t tensor_bytes() const { return cache_->in_use_bytes(); }
    std::size_t peak_tensor_bytes() const { return cache_->peak_in_use_bytes(); }
    void reset_peak_memory() { cache_->reset_peak(); }
    static std::size_t scratch_bytes() { return cpu_detail::scratch_bytes().load(std::memory_order_relaxed); }
    // Tensors live in host memory: their data() may be read and written directly.
    static constexpr bool host_memory = true;
    void fill(T* p, std::size_t n, T v) { std::fill(p, p + n, v); }
    void upload(const T* host, T* dst, std::size_t n) { copy(host, dst, n); }
    void download(const T* src, T* host, std::size_t n) { copy(src, host, n); }
    void copy(const T* src, T* dst, std::size_t n) {
        if (n) std::memmove(dst, src, n * sizeof(T));
    }

private:
    static int default_threads() {
#if defined(_OPENMP)
        static const int initial = omp_get_max_threads();  // before any set_threads changed it
        return initial;
#else
        return 1;  // without OpenMP the loops run on one thread
#endif
    }

    int threads_ = 1;
    Precision precision_ = Precision::f32;
    std::shared_ptr<cpu_detail::BlockCache> cache_ = std::make_shared<cpu_detail::BlockCache>(default_cache_limit);
    std::shared_ptr<cpu_detail::WeightCache> weights_ = std::make_shared<cpu_detail::WeightCache>(default_weight_cache_limit);
};

using cpu = basic_cpu<float>;
using cpu64 = basic_cpu<double>;

static_assert(Backend<cpu> && Backend<cpu64>);

template <class T>
using CpuTensor = Tensor<basic_cpu<T>>;

namespace cpu_detail {

// body(in, out) for each (n, c) plane of `from` and `to` (the same N and C, any H and W), one plane
// per iteration of a loop over the threads, so no two threads write the same value.
template <class T, class F>
void for_each_plane(const CpuTensor<T>& from, CpuTensor<T>& to, F&& body) {
    const std::size_t a = from.shape().plane(), b = to.shape().plane();
    const int planes = to.shape().n * to.shape().c;
    CYCLEGAN_PARALLEL_FOR(std::max(from.numel(), to.numel()))
    for (int p = 0; p < planes; ++p) body(from.data() + p * a, to.data() + p * b);
}

// The adjoint of a gather, per plane: body(in, acc) adds the gradients of `from`'s plane onto a
// zeroed double plane of `to`'s size (a pixel read many times sums exactly), rounded once into `to`.
template <class T, class F>
void scatter_each_plane(const CpuTensor<T>& from, CpuTensor<T>& to, F&& body) {
    for_each_plane(from, to, [&](const T* in, T* out) {
        std::vector<double> acc(to.shape().plane(), 0.0);
        body(in, acc.data());
        for (std::size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<T>(acc[i]);
    });
}

}  // namespace cpu_detail

}  // namespace cyclegan
