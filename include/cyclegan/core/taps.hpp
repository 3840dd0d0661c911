#pragma once
// Taps: the outputs of chosen layers of a network, read during its forward, and gradients of a
// loss on them added during its backward. CUT's PatchNCE loss reads its generator's encoder this
// way (its nce_layers), a perceptual or feature-matching loss a network's features: one forward
// gives the output and the features, one backward takes d(loss)/d(output) and d(loss)/d(feature)
// together, and the network's type stays what it is.
//
// A layer is named by its path, as named_tensors() and error messages name it ("model.4",
// "model.12.conv_block.1"): the compositions (Sequential, Repeat, Skip) hand each child's output
// and output gradient to the taps active on the calling thread (compose/taps.hpp; Network::forward
// and backward with a Taps argument make them active for the call).
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "shape.hpp"
#include "tensor.hpp"
#include "text.hpp"

namespace cyclegan {

template <class B>
class Taps {
public:
    // The layers to read, by path; a path asked twice is refused (std::invalid_argument).
    explicit Taps(std::vector<std::string> paths)
        : paths_(std::move(paths)), ids_(paths_.size()), features_(paths_.size()), gradients_(paths_.size()), added_(paths_.size()) {
        for (std::size_t i = 0; i < paths_.size(); ++i)
            if (std::find(paths_.begin(), paths_.begin() + i, paths_[i]) != paths_.begin() + i)
                throw std::invalid_argument("Taps: layer '" + printable(paths_[i]) + "' is asked twice");
    }

    std::size_t size() const { return paths_.size(); }
    const std::string& path(std::size_t i) const { return paths_.at(i); }

    // Layer i's output in the last forward with these taps: a view of the tensor the next layer
    // was given (a layer that writes over its input does not write over a tapped one).
    // Throws std::logic_error before such a forward.
    const Tensor<B>& feature(std::size_t i) const {
        if (features_.at(i).empty())
            throw std::logic_error("Taps: no output of '" + printable(paths_[i]) + "' yet: run the network's forward with these taps first");
        return features_[i];
    }

    // d(loss)/d(feature i), added to the layer's output gradient in the next backward with these
    // taps; of the feature's shape (shape_error otherwise). A feature without one adds nothing.
    void set_gradient(std::size_t i, Tensor<B> d) {
        const Shape want = feature(i).shape();
        if (!(d.shape() == want))
            throw shape_error("Taps: the gradient of '" + printable(paths_[i]) + "' has shape " + to_string(d.shape()) +
                              ", its output " + to_string(want));
        gradients_[i] = std::move(d);
    }

    // --- What Network and the compositions call. ---

    // Finds each path among `layers` (Network::layer_paths); std::invalid_argument naming a path
    // that no layer has, with some that exist. Clears the features and gradients of a last call.
    void bind(const std::map<LayerId, std::string>& layers, const std::string& network = "") {
        for (std::size_t i = 0; i < paths_.size(); ++i) {
            ids_[i].clear();  // every layer of the path: a wrapper and the layer it holds may share one
            for (const auto& [id, path] : layers)
                if (path == paths_[i]) ids_[i].push_back(id);
            if (ids_[i].empty()) throw std::invalid_argument(unknown_path(layers, paths_[i], network));
            features_[i] = {};
            gradients_[i] = {};
        }
    }

    // The output of layer `id`, if tapped.
    void record(LayerId id, const Tensor<B>& out) {
        for (std::size_t i = 0; i < ids_.size(); ++i)
            if (bound(i, id)) features_[i] = out;
    }

    // The gradient set for layer `id` (null if none, or if already added in this backward),
    // counted as added to its output gradient.
    const Tensor<B>* take_gradient(LayerId id) {
        for (std::size_t i = 0; i < ids_.size(); ++i)
            if (bound(i, id) && !gradients_[i].empty() && !added_[i]) {
                added_[i] = true;
                return &gradients_[i];
            }
        return nullptr;
    }

    // After a forward: std::logic_error naming a tapped layer whose output no composition handed
    // over (a composition of the user's own that does not call compose/taps.hpp's hooks).
    void check_recorded() const {
        for (std::size_t i = 0; i < paths_.size(); ++i)
            if (features_[i].empty())
                throw std::logic_error("Taps: no output of layer '" + printable(paths_[i]) +
                                       "' was handed over in this forward: the composition holding it does not pass taps on");
    }
    void forget_features() { std::fill(features_.begin(), features_.end(), Tensor<B>{}); }
    void start_backward() { std::fill(added_.begin(), added_.end(), false); }
    // After a backward: every gradient set was added (std::logic_error otherwise, after the
    // backward has run), and is then forgotten: a second backward adds none.
    void finish_backward() {
        for (std::size_t i = 0; i < paths_.size(); ++i)
            if (!gradients_[i].empty() && !added_[i])
                throw std::logic_error("Taps: the gradient of '" + printable(paths_[i]) +
                                       "' was not added: the composition holding its layer does not pass taps on");
        std::fill(gradients_.begin(), gradients_.end(), Tensor<B>{});
    }

private:
    // "no layer 'model.9'; the layers in 'model' are 'model.0', ...": the children of the nearest
    // ancestor that exists (the network's, named `network`, when none does).
    static std::string unknown_path(const std::map<LayerId, std::string>& layers, const std::string& path, const std::string& network) {
        auto exists = [&](const std::string& p) {  // a layer, or a prefix of layers (the network's name)
            return std::any_of(layers.begin(), layers.end(), [&](const auto& l) { return l.second == p || l.second.rfind(p + ".", 0) == 0; });
        };
        std::string parent = path;
        do {
            const auto dot = parent.rfind('.');
            parent = dot == std::string::npos ? std::string() : parent.substr(0, dot);
        } while (!parent.empty() && !exists(parent));
        if (parent.empty()) parent = network;  // paths start with the network's name
        std::vector<std::string> children;
        for (const auto& [id, p] : layers) {
            const std::string rest = parent.empty() ? p : p.rfind(parent + ".", 0) == 0 ? p.substr(parent.size() + 1) : std::string();
            if (!rest.empty() && rest.find('.') == std::string::npos) children.push_back(p);
        }
        std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;  // model.2 before model.10
        });
        children.erase(std::unique(children.begin(), children.end()), children.end());
        std::string list;
        for (const auto& c : children) list += (list.empty() ? "'" : ", '") + printable(c) + "'";
        return "Taps: the network has no layer '" + printable(path) + "'; the layers in '" + printable(parent) + "' are " +
               (list.empty() ? "none" : list);
    }

    bool bound(std::size_t i, const LayerId& id) const {
        return std::any_of(ids_[i].begin(), ids_[i].end(), [&](const LayerId& b) { return b.address == id.address && b.type == id.type; });
    }

    std::vector<std::string> paths_;
    std::vector<std::vector<LayerId>> ids_;
    std::vector<Tensor<B>> features_, gradients_;
    std::vector<bool> added_;
};

namespace taps_detail {
template <class B>
inline thread_local Taps<B>* active = nullptr;

// Makes `taps` the calling thread's for a scope (and the ones before it again after).
template <class B>
class Activate {
public:
    explicit Activate(Taps<B>* taps) : saved_(active<B>) { active<B> = taps; }
    ~Activate() { active<B> = saved_; }
    Activate(const Activate&) = delete;
    Activate& operator=(const Activate&) = delete;

private:
    Taps<B>* saved_;
};
}  // namespace taps_detail

// The taps active on the calling thread, or null.
template <class B>
Taps<B>* active_taps() {
    return taps_detail::active<B>;
}

}  // namespace cyclegan
