#pragma once
// The arithmetic precision of a device's convolutions: a setting of the device object, not a type,
// so one network runs in either (docs/architecture.md, "Precision").
//   f32:  float operands and sums (the default; what earlier versions did, and what converted
//         reference weights were checked against).
//   bf16: the convolutions' operands (weights, activations, gradients) rounded to bfloat16, their
//         products summed in float, as PyTorch's CPU autocast and OpenVINO's default on a CPU with
//         AVX512_BF16 do. Everything else stays float: master weights, optimizer state, norm
//         statistics, losses, and the tensors between layers. bf16 keeps float's exponent range,
//         so training needs no loss scaling.
// The rounding is the hardware's (VCVTNEPS2BF16): to nearest, ties to even; a denormal becomes a
// zero of its sign; a NaN stays a NaN. CPUs without bf16 instructions round the same way in
// software, so a result depends on the CPU no more than the order of the float sums does.
#include <bit>
#include <cstdint>

#include "choice.hpp"

namespace cyclegan {

enum class Precision { f32, bf16 };

// --precision's names: "auto" is the programs' (bf16 where the CPU has native bf16, as OpenVINO
// chooses), resolved before it reaches a device, so it is not a Precision.
inline constexpr Choice<Precision> precision_choices[] = {{"f32", Precision::f32}, {"bf16", Precision::bf16}};

inline const char* to_string(Precision p) { return choice_name(precision_choices, p); }

// x rounded to the nearest bfloat16 (the upper 16 bits of a float), returned as a float whose low
// 16 bits are zero, exactly as VCVTNEPS2BF16 rounds (see above).
inline float round_to_bf16(float x) {
    std::uint32_t u = std::bit_cast<std::uint32_t>(x);
    if ((u & 0x7f800000u) == 0) return std::bit_cast<float>(u & 0x80000000u);              // zero, denormal
    if ((u & 0x7fffffffu) > 0x7f800000u) return std::bit_cast<float>((u | 0x00400000u) & 0xffff0000u);  // NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return std::bit_cast<float>(u & 0xffff0000u);
}

}  // namespace cyclegan
