#pragma once
// What a model owns, named once, as PyTorch's named_modules and state_dict name it: everything
// that walks a model (checkpoints, the start of a distributed run, the learning rate, the
// translator, every rank's pools) reads the model's list instead of naming its members again.
//
// A model lists its state in three member functions, each calling f(name, member) for every
// member of that kind in a fixed order (its files' order):
//   for_each_network(f)    Network<...>&          tensors "<name>.<state_dict name>"
//   for_each_optimizer(f)  the optimizer's State&  "optimizer.<name>.<tensor>", metadata .steps, .lr
//   for_each_pool(f)       ImagePool<backend>&     "pool.<name>.<k>", metadata .count, .rng
// and has a `backend` type and device(). visit_named below writes such a function from a list of
// names and the members in the same order (CycleGAN's: models/cycle_gan.hpp). A model with no pools
// gives an empty list. The learning-rate schedule is the trainer's (TrainingProgress, saved
// beside the model's state by io/checkpoint.hpp).
#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <vector>

#include "../core/tensor.hpp"

namespace cyclegan {

namespace model_state_detail {

// Takes any name and any member: what TrainableModel calls the lists with.
struct AnyVisitor {
    template <class Name, class Member>
    void operator()(const Name&, Member&) const {}
};

}  // namespace model_state_detail

// A type that names its state as above.
template <class M>
concept TrainableModel = requires(M& m, model_state_detail::AnyVisitor f) {
    typename M::backend;
    { m.device() } -> std::same_as<typename M::backend&>;
    m.for_each_network(f);
    m.for_each_optimizer(f);
    m.for_each_pool(f);
};

// f(names[0], members[0]), f(names[1], members[1]), ...: one list of a model's state, written as
// its names and its members in the same order (a different count is a compile error).
template <std::size_t N, class F, class... Members>
void visit_named(const std::array<const char*, N>& names, F&& f, Members&... members) {
    static_assert(sizeof...(Members) == N, "visit_named: give one member per name, in the names' order");
    std::size_t k = 0;
    (f(names[k++], members), ...);
}

// Every rank's weights and buffers (of all the model's networks) become rank `root`'s: the start of
// a distributed run, so that all ranks begin where one does. All ranks call it.
template <TrainableModel M, class Comm>
void broadcast_weights(M& model, Comm& comm, int root = 0) {
    using B = typename M::backend;
    std::vector<Tensor<B>*> bucket;
    model.for_each_network([&](const auto&, auto& net) {
        if (!net.parameters().empty()) bucket.push_back(&net.parameters());
    });
    model.for_each_network([&](const auto&, auto& net) {
        if (!net.buffers().empty()) bucket.push_back(&net.buffers());
    });
    comm.broadcast(model.device(), std::span<Tensor<B>* const>(bucket), root);
}

// Sets the learning rate of every optimizer of the model (a schedule's output).
template <TrainableModel M>
void set_lr(M& model, double lr) {
    model.for_each_optimizer([&](const auto&, auto& opt) { opt.set_lr(lr); });
}

}  // namespace cyclegan
