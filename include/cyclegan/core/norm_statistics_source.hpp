#pragma once
#include "tensor.hpp"

namespace cyclegan {

// Statistics from outside the tensor being normalised (tiled inference, models/tiled.hpp): while a
// source is installed on this thread, each InstanceNorm2d in Phase::inference asks it for the mean
// and rstd ([N*C, 1, 1, 1]) of its input x [N, C, H, W] instead of computing x's own.
template <class B>
class NormStatisticsSource {
public:
    virtual void statistics(B& dev, const Tensor<B>& x, double eps, Tensor<B>& mean, Tensor<B>& rstd) = 0;

protected:
    ~NormStatisticsSource() = default;
};

template <class B>
NormStatisticsSource<B>*& installed_norm_statistics() {
    thread_local NormStatisticsSource<B>* source = nullptr;
    return source;
}

}  // namespace cyclegan
