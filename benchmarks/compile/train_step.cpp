// Compiled by benchmarks/compile_times.py to time a user's build; not run.
// The paper's CycleGAN (PaperCycleGAN<cpu>) built and stepped once.
#include <cyclegan/cyclegan.hpp>
using namespace cyclegan;
int main() {
    cpu dev;
    PaperCycleGAN<cpu> model(dev, {.ngf = 8}, {.ndf = 8});
    auto a = Tensor<cpu>::full(dev, {1, 3, 32, 32}, 0.1f), b = Tensor<cpu>::full(dev, {1, 3, 32, 32}, -0.1f);
    auto l = model.train_step(a, b);
    return l.D_A >= 0 ? 0 : 1;
}
