#pragma once
// The GPU backend: memory in device memory, convolutions through cuDNN, everything else as CUDA
// kernels, all on one stream per `cuda` object (one per model). Compile with nvcc.
#if !defined(__CUDACC__)
#error "cyclegan's GPU backend is CUDA code: compile this translation unit with nvcc (a .cu file)"
#endif
#include <cstddef>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <cuda_runtime.h>
#include <cudnn.h>

#include "../../core/concepts.hpp"
#include "conv_plan.cuh"
#include "errors.cuh"
#include "launch.cuh"

namespace cyclegan {

// One object per GPU and model. Each call runs on the object's stream on its device; a thread that
// uses two objects on different GPUs calls activate() before switching (kernels launch on the
// current device).
class cuda {
public:
    using scalar = float;

    // Number of usable GPUs; 0 where there is no driver or no device (tests skip then).
    static int device_count() {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            (void)cudaGetLastError();  // clear the sticky "no device" error
            return 0;
        }
        return n;
    }

    explicit cuda(int device = 0) : s_(std::make_shared<State>(device)) {}

    // Stream-ordered allocation from the device's memory pool: after the first steps, memory freed
    // by one layer is handed to the next without a cudaMalloc. Every tensor keeps the stream alive.
    // Throws std::bad_alloc when the device has no room (Tensor says for what, and how much).
    std::shared_ptr<float> allocate(std::size_t n) {
        if (n == 0) return {};
        activate();
        void* p = nullptr;
        if (const cudaError_t e = cudaMallocAsync(&p, n * sizeof(float), s_->stream); e == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // not sticky: clear it, the device goes on working
            throw std::bad_alloc();
        } else {
            CYCLEGAN_CUDA_CHECK(e);
        }
        auto state = s_;
        return std::shared_ptr<float>(static_cast<float*>(p), [state](float* q) {
            cudaSetDevice(state->device);
            cudaFreeAsync(q, state->stream);
        });
    }
    void fill(float* p, std::size_t n, float v) {
        for_each_index(s_->stream, n, [=] __device__(std::size_t i) { p[i] = v; });
    }
    // Host to device and back wait for the copy: the host buffer may go away when they return.
    void upload(const float* host, float* dst, std::size_t n) {
        if (!n) return;
        activate();
        CYCLEGAN_CUDA_CHECK(cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice, s_->stream));
        synchronize();
    }
    void download(const float* src, float* host, std::size_t n) {
        if (!n) return;
        activate();
        CYCLEGAN_CUDA_CHECK(cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost, s_->stream));
        synchronize();
    }
    void copy(const float* src, float* dst, std::size_t n) {
        if (!n || src == dst) return;
        CYCLEGAN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s_->stream));
    }

    // Hands the pool's free blocks back to the driver: cuDNN's algorithm search allocates with plain
    // cudaMalloc, which cannot use memory the pool keeps.
    void release_cached_memory() {
        synchronize();
        cudaMemPool_t pool;
        CYCLEGAN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, s_->device));
        CYCLEGAN_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
    }

    void synchronize() { CYCLEGAN_CUDA_CHECK(cudaStreamSynchronize(s_->stream)); }
    void activate() const { CYCLEGAN_CUDA_CHECK(cudaSetDevice(s_->device)); }
    int device() const { return s_->device; }
    cudaStream_t stream() const { return s_->stream; }
    cudnnHandle_t cudnn() const { return s_->cudnn; }

    // Scratch memory for cuDNN, grown when a call needs more and otherwise reused. Valid until the
    // next call to workspace() on this object; every user runs on this object's stream, in order.
    void* workspace(std::size_t bytes) {
        if (bytes > s_->workspace_bytes) {
            s_->workspace.reset();
            s_->workspace_bytes = 0;  // stays 0 if the allocation below throws
            void* p = nullptr;
            CYCLEGAN_CUDA_CHECK(cudaMallocAsync(&p, bytes, s_->stream));
            auto state = s_.get();
            s_->workspace = std::shared_ptr<void>(p, [state](void* q) { cudaFreeAsync(q, state->stream); });
            s_->workspace_bytes = bytes;
        }
        return s_->workspace.get();
    }

    // Descriptors and algorithms per convolution shape (conv.cuh): the key is the geometry and the
    // tensor shapes.
    using ConvKey = std::vector<int>;
    std::map<ConvKey, ConvPlan>& conv_plans() { return s_->conv_plans; }

    // TensorFloat-32 in convolutions, on by default as in PyTorch (torch.backends.cudnn.allow_tf32);
    // off, every product is a full FP32 FMA (the tests compare with the CPU that way).
    bool allow_tf32() const { return s_->allow_tf32; }
    void set_allow_tf32(bool on) { s_->allow_tf32 = on; }

    // One double in pinned host memory, for a scalar that must come back (a loss).
    double* host_scalar() { return s_->host_scalar; }

private:
    struct State {
        int device = 0;
        cudaStream_t stream = nullptr;
        cudnnHandle_t cudnn = nullptr;
        std::shared_ptr<void> workspace;
        std::size_t workspace_bytes = 0;
        std::map<ConvKey, ConvPlan> conv_plans;
        double* host_scalar = nullptr;
        bool allow_tf32 = true;

        explicit State(int d) : device(d) {
            CYCLEGAN_CUDA_CHECK(cudaSetDevice(d));
            CYCLEGAN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
            CYCLEGAN_CUDNN_CHECK(cudnnCreate(&cudnn));
            CYCLEGAN_CUDNN_CHECK(cudnnSetStream(cudnn, stream));
            CYCLEGAN_CUDA_CHECK(cudaMallocHost(&host_scalar, sizeof(double)));
            // Keep freed blocks in the pool instead of returning them to the driver at each sync.
            cudaMemPool_t pool;
            CYCLEGAN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, d));
            std::uint64_t keep = ~std::uint64_t{0};
            CYCLEGAN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
        }
        ~State() {
            workspace.reset();
            cudaStreamSynchronize(stream);
            cudaFreeHost(host_scalar);
            cudnnDestroy(cudnn);
            cudaStreamDestroy(stream);
        }
        State(const State&) = delete;
        State& operator=(const State&) = delete;
    };
    std::shared_ptr<State> s_;
};

template <class T>
concept IsCudaBackend = std::same_as<T, cuda>;

using CudaTensor = Tensor<cuda>;

}  // namespace cyclegan
