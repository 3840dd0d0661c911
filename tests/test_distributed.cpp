// Data-parallel training over MPI, run by ctest as `mpirun -np 2 test_distributed`: two ranks with
// a batch of 1 each take the step of one process with a batch of 2 on the same images (every loss,
// every weight, in float32 and in double), also when the epoch's last batch leaves a rank idle;
// the start of a run takes rank 0's weights; the transport's own calls move what they say.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cyclegan/cyclegan.hpp>
#include <cyclegan/distributed/mpi.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace cyclegan;

namespace {

MpiCommunicator* world = nullptr;

template <class B, class Opt>
using Model = CycleGAN<ResnetGenerator<B, 1>, PatchDiscriminator<B, 2>, LSGAN, Opt>;

template <class B, class Opt>
Model<B, Opt> make_model(B& dev, std::uint64_t seed = 5) {
    return Model<B, Opt>(dev, {.ngf = 4}, {.ndf = 4}, {.init = {.seed = seed}, .seed = 11}, {});
}

// n images [n, 3, 16, 16], the k-th drawn from seed + k: the same image whatever the batch.
template <class B>
Tensor<B> images(B& dev, int first, int n, std::uint64_t seed) {
    std::vector<typename B::scalar> v;
    for (int k = first; k < first + n; ++k) {
        std::mt19937_64 rng(seed + k);
        std::uniform_real_distribution<double> d(-1.0, 1.0);
        for (int i = 0; i < 3 * 16 * 16; ++i) v.push_back(static_cast<typename B::scalar>(d(rng)));
    }
    return Tensor<B>::from_host(dev, Shape{n, 3, 16, 16}, v);
}

// max |a - b| over max |b|: how far apart two sets of values are, relative to their size.
template <class T>
double relative_difference(const std::vector<T>& a, const std::vector<T>& b) {
    CHECK(a.size() == b.size());  // not REQUIRE: a rank that left a test case early would leave the other waiting
    if (a.size() != b.size()) return 1e300;
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return diff / std::max(scale, 1e-30);
}

// The four networks' parameters (or gradients), one after another.
template <class B, class M>
std::vector<typename B::scalar> all_of(B& dev, M& m, bool gradients = false) {
    std::vector<typename B::scalar> out;
    for (auto* n : {&m.G_A, &m.G_B})
        for (const auto v = (gradients ? n->gradients() : n->parameters()).to_host(dev); auto x : v) out.push_back(x);
    for (auto* n : {&m.D_A, &m.D_B})
        for (const auto v = (gradients ? n->gradients() : n->parameters()).to_host(dev); auto x : v) out.push_back(x);
    return out;
}

// The steps of `sizes` (images per global batch, split over the ranks in runs of one image) taken
// by both ranks, against one process taking them whole: every loss of every step, the gradients
// of the first step and (with `compare_weights`) every weight at the end, within `tolerance`
// relative. Adam's weights are not compared: its first steps move each weight by about lr times
// the sign of its gradient, and the gradients that are zero but for rounding (a bias before an
// instance norm) take either sign whatever the batch's split, so the gradients are compared
// instead; with SGD the weights follow the gradients.
template <class B, class Opt>
void check_equivalence(const std::vector<int>& sizes, double tolerance, bool compare_weights) {
    REQUIRE(world->size() == 2);
    const int rank = world->rank();
    B dev(1);
    auto alone = make_model<B, Opt>(dev);
    auto shared = make_model<B, Opt>(dev, rank == 0 ? 5 : 99);  // rank 1 starts elsewhere, then takes rank 0's weights
    shared.broadcast_weights(*world);
    CHECK(relative_difference(all_of(dev, shared), all_of(dev, alone)) == 0.0);
    int first = 0;
    for (std::size_t step = 0; step < sizes.size(); ++step) {
        CAPTURE(step);
        const int n = sizes[step];
        const CycleGANLosses whole = alone.train_step(images(dev, first, n, 100), images(dev, first, n, 200));
        const Shard shard{rank, 2};
        const auto [lo, hi] = shard.items(first, first + n, 1);
        const int mine = static_cast<int>(hi - lo);
        const Tensor<B> a = mine ? images(dev, static_cast<int>(lo), mine, 100) : Tensor<B>();
        const Tensor<B> b = mine ? images(dev, static_cast<int>(lo), mine, 200) : Tensor<B>();
        const CycleGANLosses parts = shared.train_step(a, b, *world, double(mine) / n);
        for (std::size_t k = 0; k < 8; ++k) {
            CAPTURE(CycleGANLosses::names[k]);
            CHECK(std::abs(parts.values()[k] - whole.values()[k]) <= tolerance * std::abs(whole.values()[k]) + 1e-30);
        }
        if (step == 0) {
            const double gradients = relative_difference(all_of(dev, shared, true), all_of(dev, alone, true));
            MESSAGE("rank " << rank << ": gradients of the first step differ by " << gradients << " (relative)");
            CHECK(gradients <= tolerance);
        }
        first += n;
    }
    if (compare_weights) {
        const double weights = relative_difference(all_of(dev, shared), all_of(dev, alone));
        MESSAGE("rank " << rank << ": weights after " << sizes.size() << " steps differ by " << weights << " (relative)");
        CHECK(weights <= tolerance);
    }
}

}  // namespace

// In float32 one step: the rounding of the two reductions (per-image sums added by the all-reduce,
// or one sum over the batch) differs by about 1e-7, and a small GAN amplifies that over steps (to
// 5e-4 of the weights after 3 SGD steps on the generic kernels). Several steps are compared in
// double, where the same arithmetic agrees to rounding.
TEST_CASE("2 ranks with a batch of 1 take the step of 1 process with a batch of 2, in float32") {
    check_equivalence<cpu, Adam>({2}, 1e-5, false);
    check_equivalence<cpu, SGD>({2}, 1e-5, true);
}

TEST_CASE("3 such steps in double precision agree to rounding") {
    check_equivalence<cpu64, Adam>({2, 2, 2}, 1e-11, false);
    check_equivalence<cpu64, SGD>({2, 2, 2}, 1e-11, true);
}

TEST_CASE("a short last batch: rank 1 has no image in the third step and still steps with rank 0") {
    check_equivalence<cpu64, SGD>({2, 2, 1}, 1e-11, true);
}

TEST_CASE("the transport: weighted all-reduce of a bucket, broadcast, gather") {
    cpu dev(1);
    const int rank = world->rank();
    auto x = Tensor<cpu>::full(dev, Shape{1, 1, 1, 3}, float(rank + 1));  // rank 0: 1, rank 1: 2
    auto y = Tensor<cpu>::full(dev, Shape{1, 1, 2, 2}, float(10 * (rank + 1)));
    Tensor<cpu>* bucket[] = {&x, &y};
    world->all_reduce_weighted(dev, std::span<Tensor<cpu>* const>(bucket), rank == 0 ? 0.25 : 0.75);
    CHECK(x.to_host(dev) == std::vector<float>(3, 0.25f * 1 + 0.75f * 2));
    CHECK(y.to_host(dev) == std::vector<float>(4, 0.25f * 10 + 0.75f * 20));
    auto z = Tensor<cpu>::full(dev, Shape{1, 1, 1, 2}, float(rank + 7));
    Tensor<cpu>* one[] = {&z};
    world->broadcast(dev, std::span<Tensor<cpu>* const>(one), 1);
    CHECK(z.to_host(dev) == std::vector<float>(2, 8.0f));
    const auto gathered = world->gather_bytes(std::string(static_cast<std::size_t>(rank + 1), char('a' + rank)), 0);
    if (rank == 0) {
        CHECK(gathered == std::vector<std::string>{"a", "bb"});
    } else {
        CHECK(gathered.empty());
    }
    world->barrier();
}

int main(int argc, char** argv) {
    MpiCommunicator comm(&argc, &argv);
    world = &comm;
    doctest::Context context(argc, argv);
    if (comm.rank() != 0) context.setOption("minimal", true);  // rank 0 reports; others print failures only
    const int failed = context.run();
    // Every rank's verdict: the job fails when any rank's tests fail.
    cpu dev(1);
    auto verdict = Tensor<cpu>::full(dev, Shape{1, 1, 1, 1}, failed ? 1.0f : 0.0f);
    Tensor<cpu>* bucket[] = {&verdict};
    comm.all_reduce_weighted(dev, std::span<Tensor<cpu>* const>(bucket), 1.0);
    return verdict.to_host(dev)[0] > 0 ? 1 : 0;
}
