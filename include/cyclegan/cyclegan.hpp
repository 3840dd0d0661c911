#pragma once
// The library with its CPU backend. The GPU backend has its own header, <cyclegan/cuda.hpp>.

#include "core/concepts.hpp"
#include "core/init.hpp"
#include "core/network.hpp"

#include "layers/activations.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/identity.hpp"

#include "compose/repeat.hpp"
#include "compose/residual.hpp"
#include "compose/sequential.hpp"
#include "compose/skip_concat.hpp"

#include "backend/cpu/conv.hpp"
#include "backend/cpu/cpu.hpp"
#include "backend/cpu/pointwise.hpp"
#include "backend/cpu/tensor_ops.hpp"
