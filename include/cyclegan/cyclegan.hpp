#pragma once
// The library with its CPU backend. The GPU backend will have its own header.

#include "core/concepts.hpp"
#include "core/image_pool.hpp"
#include "core/init.hpp"
#include "core/network.hpp"
#include "core/shape_walk.hpp"

#include "layers/activations.hpp"
#include "layers/norm2d.hpp"
#include "layers/conv2d.hpp"
#include "layers/dropout.hpp"
#include "layers/identity.hpp"
#include "layers/padding.hpp"
#include "layers/upsample.hpp"

#include "compose/any_layer.hpp"
#include "compose/one_of.hpp"
#include "compose/repeat.hpp"
#include "compose/skip.hpp"
#include "compose/sequential.hpp"

#include "data/shapes.hpp"
#include "models/any_model.hpp"
#include "models/cycle_gan.hpp"
#include "models/model_network.hpp"
#include "models/patch_discriminator.hpp"
#include "models/resnet_generator.hpp"
#include "models/tiled.hpp"
#include "models/unet_generator.hpp"

#include "losses/gan_loss.hpp"
#include "losses/patch_nce.hpp"
#include "losses/pixel_loss.hpp"

#include "optim/adam.hpp"
#include "optim/lr_schedule.hpp"
#include "optim/sgd.hpp"

#include "backend/cpu/conv.hpp"
#include "backend/cpu/cpu.hpp"
#include "backend/cpu/dropout.hpp"
#include "backend/cpu/kernel_set.hpp"
#include "backend/cpu/loss.hpp"
#include "backend/cpu/norm.hpp"
#include "backend/cpu/optim.hpp"
#include "backend/cpu/pad.hpp"
#include "backend/cpu/pointwise.hpp"
#include "backend/cpu/tensor_ops.hpp"
#include "backend/cpu/upsample.hpp"
#include "backend/cpu/compiled.hpp"  // last: the kernels compiled once, where the build has them
