#pragma once

namespace cyclegan {

// What backward does with parameter gradients.
//  accumulate: add this call's weight gradients to the network's gradient buffer.
//  ignore:     a frozen network (the discriminators during the generator step): no weight-gradient
//              work at all; the input gradient is still computed when asked for.
enum class Grad { accumulate, ignore };

// Dropout and batch norm behave differently when training and when translating.
enum class Phase { train, eval };

}  // namespace cyclegan
