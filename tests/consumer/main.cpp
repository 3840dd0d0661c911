// A program outside the project that uses the installed library.
#include <cyclegan/cyclegan.hpp>

#include <cstdio>

int main() {
    using namespace cyclegan;
    cpu dev;
    using Net = Sequential<Conv2d<cpu>, ReLU<cpu>>;
    Network<Net> net(dev, Net(Conv2d<cpu>(3, 2, 3, {.padding = 1}), ReLU<cpu>{}), "model");
    auto x = Tensor<cpu>::full(dev, Shape{1, 3, 4, 4}, 1.0f);
    auto y = net(x);
    const bool ok = y.shape() == Shape{1, 2, 4, 4} && net.named_tensors().size() == 2 &&
                    net.named_tensors()[0].spec.name == "model.0.weight";
    std::printf("consumer: output %s, %zu parameters: %s\n", to_string(y.shape()).c_str(),
                net.parameter_count(), ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
