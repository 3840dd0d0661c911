#pragma once
// PatchNCE, CUT's contrastive loss (Park, Efros, Isola, Zhu, "Contrastive Learning for Unpaired
// Image-to-Image Translation", ECCV 2020, eq. 2-3; its code's models/patchnce.py, PatchNCELoss, with
// nce_includes_all_negatives_from_minibatch off, its default). A patch of the translated image
// (the query q) should be most like the patch of the input at the same place (the positive k)
// among the input's other patches (the negatives): cross-entropy over similarities / τ.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/shape.hpp"
#include "../core/tensor.hpp"

namespace cyclegan {

// q, k: [N, C, H, W], image n's H x W = P patch features of C values each (CUT's projection head's
// output, normalised), q from the translated image and k from the input, patch p of both at the
// same place. For patch i of image n the logits are
//     [q_i . k_i,  q_i . k_j for every other patch j of the image,  -10 for j = i] / temperature
// (the PyTorch code fills the diagonal of the negatives with -10 before dividing), and the loss is
// their cross-entropy with the first as the target. Returns weight * the mean over the N x P
// patches; *d_q (allocated here, if given) = its gradient with respect to q. k gets none: the
// reference detaches it.
//
// Computed on the host in double (P x P products of C values per image: 256 patches of 256 values
// by default, 17 M multiply-adds), so every backend runs it as it is.
// Throws shape_error when q and k differ in shape or are empty, std::invalid_argument for a
// temperature that is not positive.
template <class B>
double patch_nce_loss(B& dev, const Tensor<B>& q, const Tensor<B>& k, std::type_identity_t<Tensor<B>*> d_q, double weight = 1,
                      double temperature = 0.07) {
    using scalar = typename B::scalar;
    if (!(q.shape() == k.shape()))
        throw shape_error("patch_nce_loss: the queries' shape " + to_string(q.shape()) + " differs from the keys' " + to_string(k.shape()));
    if (q.numel() == 0) throw shape_error("patch_nce_loss: no patches");
    if (!(temperature > 0)) throw std::invalid_argument("patch_nce_loss: the temperature must be positive, not " + std::to_string(temperature));
    const Shape s = q.shape();
    const int N = s.n, C = s.c, P = s.h * s.w;
    const std::vector<scalar> qh = q.to_host(dev), kh = k.to_host(dev);
    auto at = [&](const std::vector<scalar>& v, int n, int c, int p) {
        return static_cast<double>(v[(static_cast<std::size_t>(n) * C + c) * P + p]);
    };
    std::vector<scalar> grad(d_q ? qh.size() : 0);
    const double scale = weight / (static_cast<double>(N) * P);  // d(mean)/d(one patch's loss), weighted
    double total = 0;
    std::vector<double> logits(P + 1), q_i(C), d_i(C);
    for (int n = 0; n < N; ++n)
        for (int i = 0; i < P; ++i) {
            for (int c = 0; c < C; ++c) q_i[c] = at(qh, n, c, i);
            auto dot_k = [&](int j) {
                double d = 0;
                for (int c = 0; c < C; ++c) d += q_i[c] * at(kh, n, c, j);
                return d;
            };
            logits[0] = dot_k(i) / temperature;
            for (int j = 0; j < P; ++j) logits[1 + j] = j == i ? -10.0 / temperature : dot_k(j) / temperature;
            const double top = *std::max_element(logits.begin(), logits.end());
            double sum = 0;
            for (double l : logits) sum += std::exp(l - top);
            total += top + std::log(sum) - logits[0];
            if (!d_q) continue;
            // d(loss)/d(logit m) = softmax_m - [m = 0]; the masked logit is a constant.
            std::fill(d_i.begin(), d_i.end(), 0.0);
            for (int m = 0; m <= P; ++m) {
                const int j = m == 0 ? i : m - 1;
                if (m > 0 && j == i) continue;
                const double g = (std::exp(logits[m] - top) / sum - (m == 0 ? 1 : 0)) / temperature;
                for (int c = 0; c < C; ++c) d_i[c] += g * at(kh, n, c, j);
            }
            for (int c = 0; c < C; ++c) grad[(static_cast<std::size_t>(n) * C + c) * P + i] = static_cast<scalar>(scale * d_i[c]);
        }
    if (d_q) *d_q = Tensor<B>::from_host(dev, s, grad);
    return total * scale;
}

}  // namespace cyclegan
