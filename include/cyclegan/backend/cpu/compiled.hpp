#pragma once
// The CPU kernels compiled once (issue 29; the switch and its macros: core/compiled.hpp). Where the
// build has cyclegan_kernels, every entry point below, for float and double, is an explicit
// instantiation declaration: the compiler neither instantiates nor optimises them again in every
// translation unit, and the headers holding the kernel sets (conv.hpp, norm.hpp, optim.hpp,
// pointwise.hpp's loops) declare them only (CYCLEGAN_DETAIL_KERNELS_DECLARED); the linker takes
// them from the library (src/cpu_kernels.cpp). Pointwise or loss ops of a program's own are
// instantiated where they are used. The networks the programs choose by name (AnyGenerator<cpu>,
// AnyDiscriminator<cpu>) and the models they train are built in the library too.
// An entry point added to those headers and not here does not link where the kernels are compiled;
// one added elsewhere in backend/cpu is compiled again in each file. The test compiled_kernels
// (tests/compiled/check_symbols.cmake) names either.
#include "conv.hpp"
#include "cpu.hpp"
#include "dropout.hpp"
#include "loss.hpp"
#include "norm.hpp"
#include "optim.hpp"
#include "pad.hpp"
#include "pointwise.hpp"
#include "tensor_ops.hpp"
#include "upsample.hpp"
#include "../../layers/activations.hpp"
#include "../../models/any_model.hpp"
#include "../../models/cycle_gan.hpp"
#include "../../ops/loss.hpp"

#include "../../core/compiled.hpp"

#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS

namespace cyclegan {

#define CYCLEGAN_DETAIL_CPU_ENTRY_POINTS(T)                                                                                    \
    CYCLEGAN_DETAIL_INSTANCE void conv2d_forward<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&,   \
                                                    const Conv2dGeometry&, ConvWeights);                                      \
    CYCLEGAN_DETAIL_INSTANCE void conv2d_backward_data<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&,            \
                                                          CpuTensor<T>&, const Conv2dGeometry&);                             \
    CYCLEGAN_DETAIL_INSTANCE void conv2d_backward_filter<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&,          \
                                                            CpuTensor<T>&, const Conv2dGeometry&);                           \
    CYCLEGAN_DETAIL_INSTANCE void add_channel_bias<T>(basic_cpu<T>&, CpuTensor<T>&, const CpuTensor<T>&);                     \
    CYCLEGAN_DETAIL_INSTANCE void channel_bias_backward<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&);                \
    CYCLEGAN_DETAIL_INSTANCE void norm_statistics<T>(basic_cpu<T>&, const CpuTensor<T>&, const NormGroups&, double,           \
                                                     CpuTensor<T>&, CpuTensor<T>&, CpuTensor<T>*);                            \
    CYCLEGAN_DETAIL_INSTANCE void norm_inverse_std<T>(basic_cpu<T>&, const CpuTensor<T>&, double, CpuTensor<T>&);             \
    CYCLEGAN_DETAIL_INSTANCE void update_running_statistics<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&,       \
                                                               std::size_t, double, CpuTensor<T>&, CpuTensor<T>&);            \
    CYCLEGAN_DETAIL_INSTANCE void norm_forward<T>(basic_cpu<T>&, const CpuTensor<T>&, const NormGroups&, const CpuTensor<T>&, \
                                                  const CpuTensor<T>&, const CpuTensor<T>&, const CpuTensor<T>&,              \
                                                  CpuTensor<T>&);                                                             \
    CYCLEGAN_DETAIL_INSTANCE void norm_backward<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&,                   \
                                                   const NormGroups&, const CpuTensor<T>&, const CpuTensor<T>&,               \
                                                   const CpuTensor<T>&, bool, CpuTensor<T>*, CpuTensor<T>*, CpuTensor<T>*);   \
    CYCLEGAN_DETAIL_INSTANCE void adam_update<T>(basic_cpu<T>&, CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&,            \
                                                 CpuTensor<T>&, double, double, double, double, double, long);                \
    CYCLEGAN_DETAIL_INSTANCE void sgd_update<T>(basic_cpu<T>&, CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&, double,     \
                                                double, double, double, bool, bool);                                          \
    CYCLEGAN_DETAIL_INSTANCE void pad2d_forward<T>(basic_cpu<T>&, PaddingMode, const CpuTensor<T>&, CpuTensor<T>&,            \
                                                   const Padding2d&);                                                         \
    CYCLEGAN_DETAIL_INSTANCE void pad2d_backward<T>(basic_cpu<T>&, PaddingMode, const CpuTensor<T>&, CpuTensor<T>&,           \
                                                    const Padding2d&);                                                        \
    CYCLEGAN_DETAIL_INSTANCE void upsample_nearest2d_forward<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&, int);      \
    CYCLEGAN_DETAIL_INSTANCE void upsample_nearest2d_backward<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&, int);     \
    CYCLEGAN_DETAIL_INSTANCE void upsample_bilinear2d_forward<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&, int,      \
                                                                 bool);                                                       \
    CYCLEGAN_DETAIL_INSTANCE void upsample_bilinear2d_backward<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&, int,     \
                                                                  bool);                                                      \
    CYCLEGAN_DETAIL_INSTANCE void add<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&);             \
    CYCLEGAN_DETAIL_INSTANCE void concat_channels<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&); \
    CYCLEGAN_DETAIL_INSTANCE void split_channels<T>(basic_cpu<T>&, const CpuTensor<T>&, CpuTensor<T>&, CpuTensor<T>&);        \
    CYCLEGAN_DETAIL_INSTANCE void dropout_forward<T>(basic_cpu<T>&, const CpuTensor<T>&, const DropoutDraw&, CpuTensor<T>&,   \
                                                     CpuTensor<T>&);                                                          \
    CYCLEGAN_DETAIL_INSTANCE void dropout_backward<T>(basic_cpu<T>&, const CpuTensor<T>&, const CpuTensor<T>&, CpuTensor<T>&);

// The library's own loss ops (ops/loss.hpp); its pointwise ops are listed in pointwise.hpp, beside the
// loop a program's own op takes instead.
#define CYCLEGAN_DETAIL_CPU_LOSS(T, Op)                                                                                       \
    CYCLEGAN_DETAIL_INSTANCE double elementwise_loss<T, Op>(basic_cpu<T>&, const Op&, const CpuTensor<T>&,                    \
                                                            const CpuTensor<T>*, T, CpuTensor<T>*, double);
#define CYCLEGAN_DETAIL_CPU_ALL(T)                                                                                            \
    CYCLEGAN_DETAIL_CPU_ENTRY_POINTS(T)                                                                                       \
    CYCLEGAN_DETAIL_CPU_LOSS(T, SquaredError)                                                                                 \
    CYCLEGAN_DETAIL_CPU_LOSS(T, AbsoluteError)                                                                                \
    CYCLEGAN_DETAIL_CPU_LOSS(T, BinaryCrossEntropyWithLogits)

CYCLEGAN_DETAIL_CPU_ALL(float)
CYCLEGAN_DETAIL_CPU_ALL(double)

// The networks chosen at run time by name (models/any_model.hpp): building one instantiates every
// generator or discriminator the programs offer, and their layers' forward and backward passes.
CYCLEGAN_DETAIL_INSTANCE AnyLayer<cpu> AnyGenerator<cpu>::build(const AnyGeneratorOptions&);
CYCLEGAN_DETAIL_INSTANCE std::string AnyGenerator<cpu>::prefix_of(const std::string&);
CYCLEGAN_DETAIL_INSTANCE SizeRule AnyGenerator<cpu>::size_rule_of(const std::string&);
CYCLEGAN_DETAIL_INSTANCE AnyGeneratorOptions AnyGenerator<cpu>::infer_options(
    const std::map<std::string, std::vector<std::int64_t>>&, const std::string&);
CYCLEGAN_DETAIL_INSTANCE AnyLayer<cpu> AnyDiscriminator<cpu>::build(const AnyDiscriminatorOptions&);
CYCLEGAN_DETAIL_INSTANCE SizeRule AnyDiscriminator<cpu>::size_rule_of(const AnyDiscriminatorOptions&);
CYCLEGAN_DETAIL_INSTANCE std::string AnyDiscriminator<cpu>::prefix_of(const AnyDiscriminatorOptions&);

// The models the programs and the README train: the paper's CycleGAN, and the one cyclegan-train
// builds from its options (networks by name, the GAN loss chosen at run time), each constructed and
// stepped here, with the networks' forward and backward passes (issue 29: a training step that
// compiled in 10 s). A step shared by other communicators than SingleProcess is compiled where used.
CYCLEGAN_DETAIL_INSTANCE class CycleGAN<ResnetGenerator9<cpu>, PatchDiscriminator<cpu, 3>, LSGAN, Adam>;
CYCLEGAN_DETAIL_INSTANCE CycleGANLosses CycleGAN<ResnetGenerator9<cpu>, PatchDiscriminator<cpu, 3>, LSGAN, Adam>::train_step<SingleProcess>(
    const Tensor<cpu>&, const Tensor<cpu>&, SingleProcess&, double);
CYCLEGAN_DETAIL_INSTANCE class CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>, GANLoss>;
CYCLEGAN_DETAIL_INSTANCE CycleGANLosses CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>, GANLoss>::train_step<SingleProcess>(
    const Tensor<cpu>&, const Tensor<cpu>&, SingleProcess&, double);

#undef CYCLEGAN_DETAIL_CPU_ALL
#undef CYCLEGAN_DETAIL_CPU_LOSS
#undef CYCLEGAN_DETAIL_CPU_ENTRY_POINTS

}  // namespace cyclegan
#endif
