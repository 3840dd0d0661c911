#pragma once

namespace cyclegan {

// What backward does with parameter gradients.
//  accumulate: add this call's weight gradients to the network's gradient buffer.
//  ignore:     a frozen network (the discriminators during the generator step): no weight-gradient
//              work at all; the input gradient is still computed when asked for.
enum class Grad { accumulate, ignore };

// Dropout and batch norm behave differently when training and when translating.
//  train:     dropout on, batch norm on batch statistics (and updating its running ones);
//  eval:      dropout off, batch norm on running statistics; backward still possible;
//  inference: as eval, but no backward will follow, so compositions drop each layer's saved
//             activations as soon as the next layer has its input (peak memory of one layer).
enum class Phase { train, eval, inference };

}  // namespace cyclegan
