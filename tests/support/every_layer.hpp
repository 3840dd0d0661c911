#pragma once
// One of every layer the library has, each with an input shape it takes, for any backend: the
// make function takes std::type_identity<B> and builds the layer for B. test_compose runs each on
// cpu and cpu64 (and checks its output_shape against forward) and test_cuda on the GPU against the
// CPU, so a layer whose kernels a backend lacks fails to compile there. The every_layer_listed test
// fails while a layer template of include/cyclegan/layers/ is not named here as Name<B>: a new
// layer, or a new variant of a shared template, is added to this list too.
#include <cyclegan/core/shape.hpp>
#include <cyclegan/layers/activations.hpp>
#include <cyclegan/layers/norm2d.hpp>
#include <cyclegan/layers/conv2d.hpp>
#include <cyclegan/layers/dropout.hpp>
#include <cyclegan/layers/identity.hpp>
#include <cyclegan/layers/padding.hpp>
#include <cyclegan/layers/upsample.hpp>

#include <type_traits>

#define CYCLEGAN_TEST_LAYER(...) [](auto tag) { using B = typename decltype(tag)::type; return __VA_ARGS__; }

namespace cyclegan::test {

// f(name, make, input shape) for every layer.
template <class F>
void for_each_layer(F&& f) {
    f("Conv2d", CYCLEGAN_TEST_LAYER(Conv2d<B>(3, 4, 3, {.padding = 1, .padding_mode = PaddingMode::reflect})), Shape{2, 3, 6, 5});
    f("ConvTranspose2d", CYCLEGAN_TEST_LAYER(ConvTranspose2d<B>(3, 2, 3, {.stride = 2, .padding = 1, .output_padding = 1})),
      Shape{2, 3, 4, 5});
    f("InstanceNorm2d", CYCLEGAN_TEST_LAYER(InstanceNorm2d<B>(3, {.affine = true})), Shape{2, 3, 4, 5});
    f("BatchNorm2d", CYCLEGAN_TEST_LAYER(BatchNorm2d<B>(3)), Shape{2, 3, 4, 5});
    f("ReflectionPad2d", CYCLEGAN_TEST_LAYER(ReflectionPad2d<B>(1, 2, 2, 1)), Shape{2, 3, 4, 5});
    f("ReplicationPad2d", CYCLEGAN_TEST_LAYER(ReplicationPad2d<B>(2)), Shape{2, 3, 4, 5});
    f("ZeroPad2d", CYCLEGAN_TEST_LAYER(ZeroPad2d<B>(1)), Shape{2, 3, 4, 5});
    f("Upsample nearest", CYCLEGAN_TEST_LAYER(Upsample<B>({.scale_factor = 2})), Shape{2, 3, 4, 5});
    f("Upsample bilinear", CYCLEGAN_TEST_LAYER(Upsample<B>({.scale_factor = 2, .mode = UpsampleMode::bilinear})),
      Shape{2, 3, 4, 5});
    f("Dropout", CYCLEGAN_TEST_LAYER(Dropout<B>(0.5, 3)), Shape{2, 3, 4, 5});
    f("ReLU", CYCLEGAN_TEST_LAYER(ReLU<B>{}), Shape{2, 3, 4, 5});
    f("LeakyReLU", CYCLEGAN_TEST_LAYER(LeakyReLU<B>(0.2)), Shape{2, 3, 4, 5});
    f("Tanh", CYCLEGAN_TEST_LAYER(Tanh<B>{}), Shape{2, 3, 4, 5});
    f("Sigmoid", CYCLEGAN_TEST_LAYER(Sigmoid<B>{}), Shape{2, 3, 4, 5});
    f("Identity", CYCLEGAN_TEST_LAYER(Identity<B>{}), Shape{2, 3, 4, 5});
}

}  // namespace cyclegan::test
