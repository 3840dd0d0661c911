#pragma once
// How an op's checked entry point reaches a backend's kernel. Every op has one entry point per
// kernel, `ops::<kernel>` in its ops/ header (ops::conv2d_forward, ops::add, ...): it runs the op's
// check, written there once for every backend, and then the backend's kernel, which may assume
// valid input. Layers, compositions, losses and optimizers call the entry points, never a kernel.
//
// A kernel is a free function of the backend's namespace (conv2d_forward(basic_cpu<T>&, ...),
// conv2d_forward(cuda&, ...)) found by argument-dependent lookup on the device's type. The entry
// point has the kernel's name, so an unqualified call from inside it would find the entry point
// itself first. CYCLEGAN_KERNEL_LOOKUP(name), once per kernel in its op's header, declares a
// deleted `kernel_lookup::hidden::name` that no call fits and a caller `kernel_lookup::name`
// whose body says `using hidden::name;`: that ends ordinary lookup there, while argument-dependent
// lookup (which a using-declaration leaves on) brings in the backend's kernels and only them.
//
//   CYCLEGAN_KERNEL_LOOKUP(add)
//   namespace ops {
//   template <class B>
//   void add(B& dev, const Tensor<B>& a, const Tensor<B>& b, Tensor<B>& out) {
//       check_add(a, b, out), kernel_lookup::add(dev, a, b, out);
//   }
//   }
#define CYCLEGAN_KERNEL_LOOKUP(name)                                                          \
    namespace kernel_lookup {                                                                 \
    namespace hidden {                                                                        \
    void name() = delete;                                                                     \
    }                                                                                         \
    inline constexpr auto name = [](auto&... a) -> decltype(auto) {                           \
        using hidden::name;                                                                   \
        return name(a...);                                                                    \
    };                                                                                        \
    }
