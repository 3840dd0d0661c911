// Compiled by benchmarks/compile_times.py to time a user's build; not run.
// A user's own network: a Conv2d and a ReLU composed, run once.
#include <cyclegan/cyclegan.hpp>
using namespace cyclegan;
int main() {
    cpu dev;
    Network<Sequential<Conv2d<cpu>, ReLU<cpu>>> net(dev, Sequential(Conv2d<cpu>(3, 8, 3, {.padding = 1}), ReLU<cpu>{}), "model");
    auto y = net(Tensor<cpu>::full(dev, {1, 3, 16, 16}, 0.5f));
    return y.numel() == 8 * 256 ? 0 : 1;
}
