#pragma once
// The library with both backends: cyclegan::cpu and the GPU's cyclegan::cuda (cuDNN). Include this
// instead of cyclegan.hpp in a translation unit compiled by nvcc (link cyclegan::cuda in CMake).
#include "cyclegan.hpp"

#include "backend/cuda/conv.cuh"
#include "backend/cuda/cuda.cuh"
#include "backend/cuda/kernels.cuh"
