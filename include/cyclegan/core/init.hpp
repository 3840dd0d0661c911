#pragma once
// Weight initialisers, as the reference implementation's init_weights applies them: conv weights
// by the chosen rule, norm weights N(1, gain), biases zero. They fill host memory; the Network
// uploads the result, so every backend starts from the same numbers for the same seed. Normal
// draws are core/random.hpp's random_normal on std::mt19937_64's words: unlike
// std::normal_distribution, whose algorithm each standard library chooses, they give the same
// weights with every toolchain.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "choice.hpp"
#include "option_range.hpp"
#include "parameters.hpp"
#include "random.hpp"

namespace cyclegan {

enum class InitType { normal, xavier, kaiming, orthogonal };
inline constexpr Choice<InitType> init_type_choices[] = {
    {"normal", InitType::normal}, {"xavier", InitType::xavier}, {"kaiming", InitType::kaiming},
    {"orthogonal", InitType::orthogonal}};

struct InitOptions {
    InitType type = InitType::normal;
    double gain = 0.02;  // the reference's init_gain
    std::uint64_t seed = 0;

    static constexpr OptionRange gain_range{.min = 0};  // a standard deviation or a scale
    // Throws std::invalid_argument for a gain out of its range.
    void check() const { check_option("init", "gain", gain, gain_range); }
};

namespace init_detail {

// Rows of an r x c matrix made orthonormal (or columns, when r > c), from a Gaussian draw,
// by modified Gram-Schmidt with re-orthogonalisation, in double precision.
inline std::vector<double> orthogonal(int rows, int cols, std::mt19937_64& rng) {
    const bool tall = rows > cols;
    const int k = tall ? cols : rows, len = tall ? rows : cols;  // k vectors of length len
    std::vector<double> v(static_cast<std::size_t>(k) * len);
    for (auto& e : v) e = random_normal(rng, 0.0, 1.0);
    for (int i = 0; i < k; ++i) {
        double* vi = &v[static_cast<std::size_t>(i) * len];
        for (int pass = 0; pass < 2; ++pass)
            for (int j = 0; j < i; ++j) {
                const double* vj = &v[static_cast<std::size_t>(j) * len];
                double dot = 0;
                for (int t = 0; t < len; ++t) dot += vi[t] * vj[t];
                for (int t = 0; t < len; ++t) vi[t] -= dot * vj[t];
            }
        double norm = 0;
        for (int t = 0; t < len; ++t) norm += vi[t] * vi[t];
        norm = std::sqrt(norm);
        for (int t = 0; t < len; ++t) vi[t] /= norm;
    }
    if (!tall) return v;
    std::vector<double> out(v.size());  // transpose: the vectors become columns
    for (int i = 0; i < k; ++i)
        for (int t = 0; t < len; ++t) out[static_cast<std::size_t>(t) * k + i] = v[static_cast<std::size_t>(i) * len + t];
    return out;
}

}  // namespace init_detail

// Initial values of one parameter, in PyTorch's element order.
template <class T>
std::vector<T> initial_values(const ParamSpec& p, const InitOptions& o, std::mt19937_64& rng) {
    std::vector<T> out(p.numel(), T(0));
    double mean = 0, stddev = o.gain;
    switch (p.role) {
        case ParamRole::bias:
        case ParamRole::norm_bias:
        case ParamRole::running_mean:
            return out;
        case ParamRole::running_var:
            std::fill(out.begin(), out.end(), T(1));
            return out;
        case ParamRole::norm_weight:  // N(1, gain), whatever the init type
            mean = 1;
            break;
        case ParamRole::weight:
            switch (o.type) {
                case InitType::normal:
                    break;
                case InitType::xavier:  // xavier_normal_(gain)
                    stddev = o.gain * std::sqrt(2.0 / (p.fan_in() + p.fan_out()));
                    break;
                case InitType::kaiming:  // kaiming_normal_(a=0, mode='fan_in'), as the reference calls it
                    stddev = std::sqrt(2.0 / p.fan_in());
                    break;
                case InitType::orthogonal: {
                    const int rows = p.dims[0], cols = static_cast<int>(p.numel() / p.dims[0]);
                    const auto q = init_detail::orthogonal(rows, cols, rng);
                    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(o.gain * q[i]);
                    return out;
                }
            }
    }
    for (auto& e : out) e = static_cast<T>(random_normal(rng, mean, stddev));
    return out;
}

}  // namespace cyclegan
