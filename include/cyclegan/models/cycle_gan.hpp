#pragma once
// CycleGAN (Zhu et al. 2017): two generators G_A: A -> B and G_B: B -> A, two discriminators
// (D_A judges domain B, D_B judges domain A, as the reference names them), and one training step
// in exactly the reference's order.
#include <array>
#include <concepts>
#include <stdexcept>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../core/image_pool.hpp"
#include "../core/network.hpp"
#include "../core/option_range.hpp"
#include "../core/random.hpp"
#include "../distributed/communicator.hpp"
#include "../losses/gan_loss.hpp"
#include "../losses/pixel_loss.hpp"
#include "../optim/adam.hpp"
#include "../optim/optimizer.hpp"
#include "model_network.hpp"
#include "model_state.hpp"
#include "patch_discriminator.hpp"
#include "resnet_generator.hpp"

namespace cyclegan {

struct CycleGANOptions {
    double lambda_A = 10.0;         // cycle A -> B -> A
    double lambda_B = 10.0;         // cycle B -> A -> B
    double lambda_identity = 0.5;   // identity loss weight, times lambda_A / lambda_B
    int pool_size = 50;             // 0: no history, discriminators see the newest fakes only
    InitOptions init{};             // normal(0, 0.02) by default
    std::uint64_t seed = 0;         // image pools (each draws from random_key(seed, {hash of its name}))

    static constexpr OptionRange loss_weight_range{.min = 0};                // the lambdas
    static constexpr OptionRange pool_size_range{.min = 0, .integer = true};
    // Throws std::invalid_argument naming the first option out of its range.
    void check() const {
        check_option("CycleGAN", "lambda_A", lambda_A, loss_weight_range);
        check_option("CycleGAN", "lambda_B", lambda_B, loss_weight_range);
        check_option("CycleGAN", "lambda_identity", lambda_identity, loss_weight_range);
        check_option("CycleGAN", "pool_size", pool_size, pool_size_range);
        init.check();
    }
};

// CycleGAN's state as its files name it (models/model_state.hpp), readable without a model: the
// translator picks a generator by these names.
struct CycleGANNames {
    // networks[0] translates A to B, networks[1] B to A; D_A judges domain B, D_B domain A. Each
    // optimizer is named as the network it steps.
    static constexpr std::array networks{"G_A", "G_B", "D_A", "D_B"};
    static constexpr std::array pools{"fake_A", "fake_B"};  // G_B's fakes (for D_B), G_A's (for D_A)
};

// The eight losses the reference reports, in its order.
struct CycleGANLosses {
    double D_A = 0, G_A = 0, cycle_A = 0, idt_A = 0, D_B = 0, G_B = 0, cycle_B = 0, idt_B = 0;

    static constexpr std::array<const char*, 8> names = {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"};
    std::array<double, 8> values() const { return {D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B}; }
};

template <class Generator, class Discriminator, class GanLossType = LSGAN, class OptimizerType = Adam,
          class PixelLossType = L1Loss>
class CycleGAN {
    // What each network must provide (models/model_network.hpp); Built<builder> makes one from a function.
    static_assert(check_model_generator<Generator>());
    static_assert(check_model_discriminator<Discriminator>());

    using B_ = typename Generator::backend;
    B_* dev_;
    CycleGANOptions o_;

public:
    using B = B_;
    using backend = B;
    using OptState = typename OptimizerType::template State<B>;

    static_assert(std::same_as<typename Discriminator::backend, B>,
                  "CycleGAN: the generator and the discriminator must use the same backend");
    static_assert(GanLoss<GanLossType, B>,
                  "CycleGAN: the GAN loss must be callable as loss(dev, pred, Target, Player, grad*, weight) "
                  "-> double (see LSGAN)");
    static_assert(PixelLoss<PixelLossType, B>,
                  "CycleGAN: the cycle loss must be callable as loss(dev, pred, target, grad*, weight) -> double");
    static_assert(Optimizer<OptimizerType, B>,
                  "CycleGAN: the optimizer must have Options and a State<B>(dev, n, options) with step(params, "
                  "grads), lr(), set_lr(), steps() and tensors() (see Adam)");

    // Throws std::invalid_argument, before anything is allocated, for options out of their ranges
    // (CycleGANOptions::check, the optimizer's Options::check). `gan` is the adversarial loss
    // object: a run-time choice for GANLoss ({.mode = GanMode::hinge}), nothing to set for the others.
    CycleGAN(B& dev, const typename Generator::Options& g, const typename Discriminator::Options& d,
             const CycleGANOptions& o = {}, const typename OptimizerType::Options& opt = {},
             const GanLossType& gan = {});

    // Networks of one backend on a device of another: a sentence, not "no matching constructor".
    template <class Device, class... Options>
        requires(!std::derived_from<Device, B>)
    CycleGAN(Device& dev, const Options&... options) : CycleGAN(device_of_backend<B>(dev), options...) {}

    // One step of the reference's optimize_parameters(): the generators' update with the
    // discriminators frozen, then the discriminators' update on real images and pooled fakes.
    // Images of sides the networks cannot take (size_rule()) or of other channels than the
    // domains' throw shape_error naming the sides that would do, before anything changes.
    CycleGANLosses train_step(const Tensor<B>& real_A, const Tensor<B>& real_B);

    // The same step shared by the ranks of `comm` (distributed/communicator.hpp): this rank runs
    // its part of the batch (real_A, real_B: [n, C, H, W], or empty when the epoch's last batch
    // leaves this rank nothing), `weight` is n over the images of all ranks. The gradients are
    // summed over ranks times their weights before each optimizer step, the generators' in one
    // all-reduce and the discriminators' (with the eight losses) in another, so every rank takes
    // the step of one process on the whole batch, up to rounding, and returns its losses. Each
    // rank keeps its own image pools, as the reference's DistributedDataParallel does. Batch
    // norm's statistics are each rank's own (of its part of the batch).
    template <class Comm>
    CycleGANLosses train_step(const Tensor<B>& real_A, const Tensor<B>& real_B, Comm& comm, double weight);

    // The model's state, named once (models/model_state.hpp): what checkpoints, broadcast_weights,
    // set_lr, the translator and every rank's pools read.
    template <class F>
    void for_each_network(F&& f) { visit_named(CycleGANNames::networks, f, G_A, G_B, D_A, D_B); }
    template <class F>
    void for_each_optimizer(F&& f) { visit_named(CycleGANNames::networks, f, opt_G_A, opt_G_B, opt_D_A, opt_D_B); }
    template <class F>
    void for_each_pool(F&& f) { visit_named(CycleGANNames::pools, f, fake_A_pool, fake_B_pool); }

    // Every rank's weights and buffers become rank `root`'s (cyclegan::broadcast_weights).
    template <class Comm>
    void broadcast_weights(Comm& comm, int root = 0) { cyclegan::broadcast_weights(*this, comm, root); }

    // Translation in eval mode (dropout off, batch norm on running statistics); shape_error for
    // images of sides the generators cannot take (naming the sides that would do) or other channels.
    Tensor<B> translate_AtoB(const Tensor<B>& a) {
        check_images("CycleGAN::translate_AtoB", "the image", a.shape(), channels_[0], generator_sizes_);
        return translate(G_A, a);
    }
    Tensor<B> translate_BtoA(const Tensor<B>& b) {
        check_images("CycleGAN::translate_BtoA", "the image", b.shape(), channels_[1], generator_sizes_);
        return translate(G_B, b);
    }

    // The image sides the model trains on (its generators' and discriminators' rules, derived
    // from their layers) and those its generators translate.
    SizeRule size_rule() const { return sizes_; }
    SizeRule generator_size_rule() const { return generator_sizes_; }

    // The images of the last step, for reports (idt_* empty without the identity loss).
    struct Visuals {
        Tensor<B> real_A, real_B, fake_B, rec_A, fake_A, rec_B, idt_A, idt_B;
    };
    const Visuals& visuals() const { return last_; }

    // Sets the learning rate of all four optimizers (a schedule's output; cyclegan::set_lr).
    void set_lr(double lr) { cyclegan::set_lr(*this, lr); }
    double lr() const { return opt_G_A.lr(); }  // every optimizer's
    const CycleGANOptions& options() const { return o_; }
    B& device() const { return *dev_; }

    Network<Generator> G_A, G_B;
    Network<Discriminator> D_A, D_B;
    OptState opt_G_A, opt_G_B, opt_D_A, opt_D_B;
    ImagePool<B> fake_A_pool, fake_B_pool;

private:
    static const CycleGANOptions& checked(const CycleGANOptions& o, const typename OptimizerType::Options& opt) {
        o.check();
        if constexpr (requires { opt.check(); }) opt.check();
        return o;
    }

    // Network k of the four, initialised from its own stream of the seed.
    template <class N>
    static Network<N> network(B& dev, N net, InitOptions init, std::uint64_t k) {
        init.seed = sub_seed(init.seed, k, CycleGANNames::networks.size());
        const std::string prefix = network_prefix(net);
        return Network<N>(dev, std::move(net), prefix, init);
    }
    static typename Generator::Options mirrored(typename Generator::Options g) {
        std::swap(g.input_nc, g.output_nc);
        return g;
    }
    static typename Discriminator::Options d_for(typename Discriminator::Options d, int channels) {
        d.input_nc = channels;
        return d;
    }

    // One cycle x -> fake = G(x) -> rec = F(fake), forward and backward: the adversarial loss of
    // D(fake) with D frozen and the cycle loss lambda |rec - x|.
    struct Cycle {
        Tensor<B> fake, rec;
        double gan_loss, cycle_loss;
    };
    Cycle cycle(Network<Generator>& G, Network<Generator>& F, Network<Discriminator>& D, const Tensor<B>& x, double lambda) {
        typename Network<Generator>::Context g_ctx, f_ctx;
        Cycle c;
        c.fake = G.forward(x, g_ctx);
        c.rec = F.forward(c.fake, f_ctx);
        Tensor<B> d_fake, g, d_from_cycle;
        c.gan_loss = judge(D, c.fake, Target::real, Player::generator, 1.0, &d_fake, Grad::ignore);  // D frozen
        c.cycle_loss = pixel_(*dev_, c.rec, x, &g, lambda);
        F.backward(f_ctx, g, &d_from_cycle);
        ops::add(*dev_, d_fake, d_from_cycle, d_fake);
        G.backward(g_ctx, d_fake, nullptr);
        return c;
    }

    // The identity loss weight |G(y) - y|, for a generator that maps into y's domain: G(y) and the loss.
    std::pair<Tensor<B>, double> identity(Network<Generator>& G, const Tensor<B>& y, double weight) {
        typename Network<Generator>::Context ctx;
        Tensor<B> g;
        Tensor<B> idt = G.forward(y, ctx);
        const double loss = pixel_(*dev_, idt, y, &g, weight);
        G.backward(ctx, g, nullptr);
        return {idt, loss};
    }

    // The GAN loss of D(x) against `target` as `player` sees it, forward and backward through D:
    // returns the loss, writes dLoss/dx to *dx when dx is given, adds D's gradients with Grad::accumulate.
    double judge(Network<Discriminator>& D, const Tensor<B>& x, Target target, Player player, double weight,
                 Tensor<B>* dx, Grad grad) {
        typename Network<Discriminator>::Context ctx;
        Tensor<B> pred = D.forward(x, ctx), g;
        const double loss = gan_(*dev_, pred, target, player, &g, weight);
        D.backward(ctx, g, dx, grad);
        return loss;
    }

    // 0.5 * (loss on real + loss on fake), the real images first (batch norm's statistics see that order).
    double discriminator_step(Network<Discriminator>& D, const Tensor<B>& real, const Tensor<B>& fake) {
        const double on_real = judge(D, real, Target::real, Player::discriminator, 0.5, nullptr, Grad::accumulate);
        return on_real + judge(D, fake, Target::fake, Player::discriminator, 0.5, nullptr, Grad::accumulate);
    }

    Tensor<B> translate(Network<Generator>& G, const Tensor<B>& x) {
        const bool was_training = G.training();
        G.eval();
        Tensor<B> y = G(x);
        G.train(was_training);
        return y;
    }

    // shape_error, naming `who` and `what`, unless s is a batch of images of `channels` channels
    // with sides `sizes` takes.
    static void check_images(const char* who, const char* what, const Shape& s, int channels, const SizeRule& sizes) {
        if (s.c != channels)
            throw shape_error(std::string(who) + ": " + what + " is " + to_string(s) + ", but its domain has " +
                              std::to_string(channels) + " channels (the generator options' input_nc, output_nc)");
        check_sides(sizes, s, std::string(who) + ": " + what, "this model's networks take");
    }

    GanLossType gan_{};
    PixelLossType pixel_{};
    Visuals last_{};
    std::array<int, 2> channels_;  // domain A's, domain B's
    SizeRule generator_sizes_, sizes_;
};

// Out of the class, so that the library can compile them once for the configurations the programs
// use (backend/cpu/compiled.hpp): an explicit instantiation declaration does not stop the compiler
// from instantiating a member defined inside the class, which is inline.

template <class Generator, class Discriminator, class GanLossType, class OptimizerType, class PixelLossType>
CycleGAN<Generator, Discriminator, GanLossType, OptimizerType, PixelLossType>::CycleGAN(B& dev, const typename Generator::Options& g, const typename Discriminator::Options& d,
                 const CycleGANOptions& o, const typename OptimizerType::Options& opt, const GanLossType& gan)
    : dev_(&dev), o_(checked(o, opt)),
      G_A(network(dev, Generator(g), o.init, 0)),
      G_B(network(dev, Generator(mirrored(g)), o.init, 1)),
      D_A(network(dev, Discriminator(d_for(d, g.output_nc)), o.init, 2)),
      D_B(network(dev, Discriminator(d_for(d, g.input_nc)), o.init, 3)),
      opt_G_A(dev, G_A.parameter_count(), opt), opt_G_B(dev, G_B.parameter_count(), opt),
      opt_D_A(dev, D_A.parameter_count(), opt), opt_D_B(dev, D_B.parameter_count(), opt), gan_(gan),
      channels_{g.input_nc, g.output_nc}, generator_sizes_(derive_size_rule(G_A.net(), Output::same_size)),
      sizes_(generator_sizes_ & derive_size_rule(D_A.net())) {
    for_each_pool([&](const char* name, ImagePool<B>& pool) {
        pool = ImagePool<B>(o.pool_size, random_key(o.seed, {fnv1a(name)}));
    });
    // G_A(B) only makes sense when both domains have the same channels (the reference asserts it).
    if (o.lambda_identity > 0 && g.input_nc != g.output_nc)
        throw std::invalid_argument("CycleGAN: the identity loss needs input_nc == output_nc (got " +
                                    std::to_string(g.input_nc) + " and " + std::to_string(g.output_nc) +
                                    "); set lambda_identity to 0");
}

template <class Generator, class Discriminator, class GanLossType, class OptimizerType, class PixelLossType>
CycleGANLosses CycleGAN<Generator, Discriminator, GanLossType, OptimizerType, PixelLossType>::train_step(const Tensor<B>& real_A, const Tensor<B>& real_B) {
    SingleProcess alone;
    return train_step(real_A, real_B, alone, 1.0);
}

template <class Generator, class Discriminator, class GanLossType, class OptimizerType, class PixelLossType>
template <class Comm>
CycleGANLosses CycleGAN<Generator, Discriminator, GanLossType, OptimizerType, PixelLossType>::train_step(const Tensor<B>& real_A, const Tensor<B>& real_B, Comm& comm, double weight) {
    static_assert(Communicator<Comm, B>, "CycleGAN::train_step: the communicator must have rank(), size(), "
                                         "all_reduce_weighted, broadcast and barrier (see SingleProcess)");
    B& dev = *dev_;
    const bool idle = real_A.empty();  // this rank has no images in this step, but steps with the others
    if (idle != real_B.empty() || (idle && weight != 0))
        throw std::invalid_argument("CycleGAN::train_step: real_A and real_B must both have images, or both none with weight 0");
    if (!idle) {
        check_images("CycleGAN::train_step", "real_A", real_A.shape(), channels_[0], sizes_);
        check_images("CycleGAN::train_step", "real_B", real_B.shape(), channels_[1], sizes_);
    }
    CycleGANLosses L;
    for (auto* n : {&G_A, &G_B}) n->train();
    for (auto* n : {&D_A, &D_B}) n->train();

    // Generators. The loss is a sum, so its gradient can be taken one cycle at a time: each
    // cycle's two forwards run and go backward before the next cycle's begin, and only two
    // generator forwards' activations are alive at once instead of six. Weights change only
    // after every backward, so this is the reference's gradient; each network still sees its
    // forwards in the reference's order (batch norm's running statistics depend on it).
    G_A.zero_grad();
    G_B.zero_grad();
    Tensor<B> fake_B, rec_A, fake_A, rec_B, idt_A, idt_B;
    if (!idle) {
        Cycle a = cycle(G_A, G_B, D_A, real_A, o_.lambda_A), b = cycle(G_B, G_A, D_B, real_B, o_.lambda_B);
        std::tie(fake_B, rec_A, L.G_A, L.cycle_A) = std::tie(a.fake, a.rec, a.gan_loss, a.cycle_loss);
        std::tie(fake_A, rec_B, L.G_B, L.cycle_B) = std::tie(b.fake, b.rec, b.gan_loss, b.cycle_loss);
        if (o_.lambda_identity > 0) {
            std::tie(idt_A, L.idt_A) = identity(G_A, real_B, o_.lambda_B * o_.lambda_identity);
            std::tie(idt_B, L.idt_B) = identity(G_B, real_A, o_.lambda_A * o_.lambda_identity);
        }
    }
    if (comm.size() > 1) {
        Tensor<B>* generators[] = {&G_A.gradients(), &G_B.gradients()};
        comm.all_reduce_weighted(dev, std::span<Tensor<B>* const>(generators), weight);
    }
    opt_G_A.step(G_A.parameters(), G_A.gradients());
    opt_G_B.step(G_B.parameters(), G_B.gradients());

    // Discriminators: 0.5 * (loss on real + loss on a fake from the pool).
    D_A.zero_grad();
    D_B.zero_grad();
    if (!idle) {
        L.D_A = discriminator_step(D_A, real_B, fake_B_pool.query(dev, fake_B));
        L.D_B = discriminator_step(D_B, real_A, fake_A_pool.query(dev, fake_A));
    }
    if (comm.size() > 1) {  // the losses ride along, so that each rank reports the whole batch's
        Tensor<B> losses = Tensor<B>::from_host(dev, Shape{1, 1, 1, 8}, L.values());
        Tensor<B>* discriminators[] = {&D_A.gradients(), &D_B.gradients(), &losses};
        comm.all_reduce_weighted(dev, std::span<Tensor<B>* const>(discriminators), weight);
        const auto mean = losses.to_host(dev);
        L = {mean[0], mean[1], mean[2], mean[3], mean[4], mean[5], mean[6], mean[7]};
    }
    opt_D_A.step(D_A.parameters(), D_A.gradients());
    opt_D_B.step(D_B.parameters(), D_B.gradients());

    if (!idle) last_ = {real_A, real_B, fake_B, rec_A, fake_A, rec_B, idt_A, idt_B};
    return L;
}

// The paper's configuration for 256x256 images: resnet_9blocks, the 70x70 PatchGAN, LSGAN, Adam.
template <class B>
using PaperCycleGAN = CycleGAN<ResnetGenerator9<B>, PatchDiscriminator<B, 3>, LSGAN, Adam>;

}  // namespace cyclegan
