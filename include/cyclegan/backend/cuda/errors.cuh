#pragma once
// Every CUDA and cuDNN call is checked; a failure throws cuda_error naming the call and the place.
#include <stdexcept>
#include <string>

#include <cuda_runtime.h>
#include <cudnn.h>

namespace cyclegan {

struct cuda_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
inline void check_cuda(cudaError_t e, const char* expr, const char* file, int line) {
    if (e != cudaSuccess)
        throw cuda_error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                         ") in " + expr + " at " + file + ":" + std::to_string(line));
}
inline void check_cudnn(cudnnStatus_t s, const char* expr, const char* file, int line) {
    if (s != CUDNN_STATUS_SUCCESS)
        throw cuda_error(std::string("cuDNN error ") + cudnnGetErrorString(s) + " in " + expr + " at " + file +
                         ":" + std::to_string(line));
}
}  // namespace detail

#define CYCLEGAN_CUDA_CHECK(expr) ::cyclegan::detail::check_cuda((expr), #expr, __FILE__, __LINE__)
#define CYCLEGAN_CUDNN_CHECK(expr) ::cyclegan::detail::check_cudnn((expr), #expr, __FILE__, __LINE__)

}  // namespace cyclegan
