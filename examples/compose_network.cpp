// The README's example, built so that it stays true.
#include <cyclegan/cyclegan.hpp>
using namespace cyclegan;

// A block type, and a network type built from it: all at compile time.
template <class B>
using ResBlock = Residual<Sequential<ReflectionPad2d<B>, Conv2d<B>, InstanceNorm2d<B>, ReLU<B>,
                                     ReflectionPad2d<B>, Conv2d<B>, InstanceNorm2d<B>>>;
template <class B>
using Net = Sequential<Conv2d<B>, ReLU<B>, Repeat<2, ResBlock<B>>, Conv2d<B>, Tanh<B>>;

int main() {
    cpu dev;  // every core; cpu dev(2) for two threads
    ResBlock<cpu> block(Sequential(ReflectionPad2d<cpu>(1), Conv2d<cpu>(8, 8, 3), InstanceNorm2d<cpu>(8), ReLU<cpu>{},
                                   ReflectionPad2d<cpu>(1), Conv2d<cpu>(8, 8, 3), InstanceNorm2d<cpu>(8)),
                        "conv_block");
    Network<Net<cpu>> net(dev, Net<cpu>(Conv2d<cpu>(3, 8, 3, {.padding = 1}), ReLU<cpu>{},
                                        Repeat<2, ResBlock<cpu>>(block), Conv2d<cpu>(8, 3, 1), Tanh<cpu>{}),
                          "model");  // parameters: model.0.weight, model.2.conv_block.1.weight, ...

    auto x = Tensor<cpu>::full(dev, {1, 3, 64, 64}, 0.5f);
    Network<Net<cpu>>::Context ctx1, ctx2;           // one context per call
    auto y1 = net.forward(x, ctx1);
    auto y2 = net.forward(y1, ctx2);                 // the same network again
    Tensor<cpu> dy1;
    net.backward(ctx2, Tensor<cpu>::full(dev, y2.shape(), 1.0f), &dy1);   // weight grads accumulate
    net.backward(ctx1, dy1, nullptr, Grad::accumulate);
    // net.parameters() and net.gradients() are two flat buffers of the same layout.
}
