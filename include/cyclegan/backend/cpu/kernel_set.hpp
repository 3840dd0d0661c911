#pragma once
// Which CPU kernels run, chosen at run time: one build, compiled for any x86-64, runs the AVX-512
// kernels on a CPU that has AVX-512, the AVX2+FMA kernels on one that has those, and portable
// code (Eigen, and loops the compiler vectorises for the build's own flags) elsewhere, ARM
// included. The kernel sets are compiled side by side with per-function target attributes
// (simd_kernels.hpp); the CPU is asked once.
//
// CYCLEGAN_CPU_KERNELS=avx512_bf16|avx512|avx2|generic in the environment forces a set (so one
// machine can test every set it supports); set_cpu_kernels() does the same from code.
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../../core/choice.hpp"
#include "../../core/precision.hpp"
#include "../../core/text.hpp"

// The x86 kernel sets exist where GCC or Clang compile for x86-64, nvcc's host side included (every
// translation unit must see the same definitions); other compilers get the portable code only.
// Defining CYCLEGAN_NO_CPU_DISPATCH (in every translation unit) leaves them out.
#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__NVCOMPILER) && !defined(__INTEL_COMPILER) && !defined(CYCLEGAN_NO_CPU_DISPATCH)
#define CYCLEGAN_X86_KERNELS 1
#else
#define CYCLEGAN_X86_KERNELS 0
#endif
#if CYCLEGAN_X86_KERNELS
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

namespace cyclegan {

// A set of CPU kernels: the GEMM under every convolution, the few-output-channel convolutions and
// the Winograd transforms.
enum class CpuKernels {
    generic,      // portable: Eigen's products and compiler-vectorised loops, at the build's flags
    avx2,         // AVX2 + FMA: 16 ymm registers, 8 floats each (Intel since Haswell, AMD since Zen)
    avx512,       // AVX-512 F/BW/DQ/VL: 32 zmm registers, 16 floats each (Intel server, AMD Zen 4 and 5)
    avx512_bf16,  // avx512, and the bf16 products on VDPBF16PS (AVX512_BF16: AMD Zen 4 and 5, Intel
                  // since Cooper Lake); in f32 it is the avx512 set
    amx_bf16,     // avx512, and the bf16 products on AMX's tiles (Intel since Sapphire Rapids); in f32
                  // it is the avx512 set
};

// Every set, fastest first: the table of names for CYCLEGAN_CPU_KERNELS and --cpu-kernels.
inline constexpr Choice<CpuKernels> cpu_kernel_choices[] = {{"amx_bf16", CpuKernels::amx_bf16},
                                                            {"avx512_bf16", CpuKernels::avx512_bf16},
                                                            {"avx512", CpuKernels::avx512},
                                                            {"avx2", CpuKernels::avx2},
                                                            {"generic", CpuKernels::generic}};

inline const char* to_string(CpuKernels k) { return choice_name(cpu_kernel_choices, k); }

namespace cpu_detail {

// AMX-TILE and AMX-BF16 (CPUID leaf 7, EDX bits 24 and 22), and the operating system's leave to
// use the tiles' 8 KB of state (Linux keeps it off until a process asks: arch_prctl
// ARCH_REQ_XCOMP_PERM for XTILEDATA). Asked once per process.
inline bool amx_usable() {
#if CYCLEGAN_X86_KERNELS && defined(__linux__)
    static const bool usable = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 24 & 1) || !(d >> 22 & 1)) return false;
        constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
        return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
    }();
    return usable;
#else
    return false;
#endif
}

}  // namespace cpu_detail

// Whether this build has the set and this CPU (and its operating system) can run it.
inline bool cpu_kernels_available(CpuKernels k) {
    if (k == CpuKernels::generic) return true;
#if CYCLEGAN_X86_KERNELS
    __builtin_cpu_init();  // safe to call again; needed when asked from a static initialiser
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (k == CpuKernels::avx2) return avx2;
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (k == CpuKernels::avx512) return avx512;
    if (k == CpuKernels::avx512_bf16) return avx512 && __builtin_cpu_supports("avx512bf16");
    if (k == CpuKernels::amx_bf16) return avx512 && cpu_detail::amx_usable();
#endif
    return false;
}

// Every set this build and CPU can run, fastest first.
inline std::vector<CpuKernels> available_cpu_kernels() {
    std::vector<CpuKernels> out;
    for (const auto& c : cpu_kernel_choices)
        if (cpu_kernels_available(c.value)) out.push_back(c.value);
    return out;
}

// Whether this CPU's VDPBF16PS outruns its float FMAs, so that bf16 products on it pay. AMD's do
// (Zen 5: 2.2x the FMA's multiply-adds per second, issue 25); Intel's do not (this project's
// Sapphire Rapids Xeon: 0.54x, 100 against 185 GFLOP/s on one core, where bf16 belongs on AMX,
// amx_bf16): there avx512_bf16 must be asked for by name.
inline bool fast_bf16_products() {
#if CYCLEGAN_X86_KERNELS
    __builtin_cpu_init();
    return __builtin_cpu_is("amd");
#else
    return false;
#endif
}

// The fastest set this build and CPU can run (avx512_bf16 only where its products are fast).
inline CpuKernels best_cpu_kernels() {
    for (CpuKernels k : available_cpu_kernels())
        if (k != CpuKernels::avx512_bf16 || fast_bf16_products()) return k;
    return CpuKernels::generic;
}

namespace cpu_detail {

inline std::string available_list() {
    std::string s;
    for (CpuKernels k : available_cpu_kernels()) s += (s.empty() ? "" : ", ") + std::string(to_string(k));
    return s;
}

// A set by name; throws std::invalid_argument naming `what` (the option or variable) otherwise.
inline CpuKernels parse_cpu_kernels(std::string_view name, const std::string& what) {
    for (const auto& c : cpu_kernel_choices)
        if (name == c.name) {
            if (!cpu_kernels_available(c.value))
                throw std::invalid_argument(what + "=" + std::string(name) + ": this CPU or build cannot run the " +
                                            std::string(name) + " kernels; it can run: " + available_list());
            return c.value;
        }
    throw std::invalid_argument(what + "=" + printable(name) + " is not a kernel set; use " + join(choice_names(cpu_kernel_choices)));
}

inline std::atomic<int>& kernel_choice() {
    static std::atomic<int> choice{-1};  // -1: not chosen yet
    return choice;
}

}  // namespace cpu_detail

// The set in use: CYCLEGAN_CPU_KERNELS if set, else the fastest available. Throws
// std::invalid_argument, naming the variable, if it names a set that does not exist or cannot run.
inline CpuKernels cpu_kernels() {
    int c = cpu_detail::kernel_choice().load(std::memory_order_relaxed);
    if (c < 0) {
        const char* forced = std::getenv("CYCLEGAN_CPU_KERNELS");
        const CpuKernels k = forced && *forced ? cpu_detail::parse_cpu_kernels(forced, "CYCLEGAN_CPU_KERNELS") : best_cpu_kernels();
        c = static_cast<int>(k);
        cpu_detail::kernel_choice().store(c, std::memory_order_relaxed);
    }
    return static_cast<CpuKernels>(c);
}

// Whether the kernel set in use multiplies bf16 natively (AMX's tiles or VDPBF16PS), rather than
// rounding the operands of float products.
inline bool native_bf16() { return cpu_kernels() == CpuKernels::amx_bf16 || cpu_kernels() == CpuKernels::avx512_bf16; }

// The precision a user who does not choose gets where it is fastest, as OpenVINO picks its default:
// bf16 where the kernel set in use multiplies bf16 natively (amx_bf16, or avx512_bf16, the default
// set only where those products are fast: best_cpu_kernels), f32 elsewhere.
inline Precision preferred_precision() { return native_bf16() ? Precision::bf16 : Precision::f32; }

// Uses `k` from now on, in every thread. Throws std::invalid_argument if it cannot run here.
inline void set_cpu_kernels(CpuKernels k) {
    if (!cpu_kernels_available(k))
        throw std::invalid_argument(std::string("set_cpu_kernels: this CPU or build cannot run the ") + to_string(k) +
                                    " kernels; it can run: " + cpu_detail::available_list());
    cpu_detail::kernel_choice().store(static_cast<int>(k), std::memory_order_relaxed);
}

}  // namespace cyclegan
