#pragma once
// Every non-convolution kernel of the GPU backend.
#include "bias.cuh"
#include "dropout.cuh"
#include "loss.cuh"
#include "norm.cuh"
#include "optim.cuh"
#include "pad.cuh"
#include "pointwise.cuh"
#include "tensor_ops.cuh"
#include "upsample.cuh"
