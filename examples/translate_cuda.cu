// cyclegan-translate on the GPU backend (--device cuda); nvcc compiles this file.
#include <cyclegan/cuda.cuh>

#include "translate_loop.hpp"

namespace translate_program {

int translate_on_cuda(const TranslateOptions& o) {
    if (cyclegan::cuda::device_count() == 0)
        throw std::runtime_error("--device cuda: no CUDA device is available (no GPU, or no driver)");
    cyclegan::cuda dev;
    return translate(dev, o);
}

}  // namespace translate_program
