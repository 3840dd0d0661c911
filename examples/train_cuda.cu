// cyclegan-train's loop on the GPU backend (--device cuda); nvcc compiles this file.
#include <cyclegan/cuda.cuh>

#include "train_loop.hpp"

namespace train_program {

int train_on_cuda(const TrainOptions& o) {
    if (cyclegan::cuda::device_count() == 0)
        throw std::runtime_error("--device cuda: no CUDA device is available (no GPU, or no driver)");
    cyclegan::cuda dev;
    return train_with(dev, o);
}

}  // namespace train_program
