#pragma once
#include <numeric>
#include <string>
#include <vector>

namespace cyclegan {

// How a parameter is used; initialisers pick their rule by it (the reference initialises conv
// weights N(0, gain) but norm weights N(1, gain), biases to zero).
enum class ParamRole { weight, bias, norm_weight, norm_bias, running_mean, running_var };

// One named tensor of a network, as PyTorch's state_dict names and shapes it.
struct ParamSpec {
    std::string name;       // "model.1.weight"
    std::vector<int> dims;  // PyTorch's shape: [out, in, kh, kw] for a Conv2d weight, [out] for a bias
    ParamRole role = ParamRole::weight;

    std::size_t numel() const {
        return std::accumulate(dims.begin(), dims.end(), std::size_t{1},
                               [](std::size_t a, int d) { return a * static_cast<std::size_t>(d); });
    }
    // PyTorch's fan rule: dims[1] * receptive field in, dims[0] * receptive field out.
    int fan_in() const { return dims.size() > 1 ? dims[1] * receptive() : dims[0]; }
    int fan_out() const { return dims.size() > 1 ? dims[0] * receptive() : dims[0]; }

private:
    int receptive() const {
        int r = 1;
        for (std::size_t i = 2; i < dims.size(); ++i) r *= dims[i];
        return r;
    }
};

// "a" + "weight" -> "a.weight"; "" + "weight" -> "weight".
inline std::string join_name(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : name.empty() ? prefix : prefix + "." + name;
}

}  // namespace cyclegan
