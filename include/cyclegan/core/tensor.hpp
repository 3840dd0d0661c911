#pragma once
#include <concepts>
#include <cstring>
#include <memory>
#include <ranges>
#include <span>
#include <vector>

#include "out_of_memory.hpp"
#include "shape.hpp"

namespace cyclegan {

// A batch of images in backend B's memory: logical shape N, C, H, W, stored NCHW and contiguous.
//
// Storage is reference counted, so copying a Tensor is cheap and makes a view of the same memory;
// layers keep such views in their per-call contexts instead of copying activations. `clone`
// copies the data.
template <class B>
class Tensor {
public:
    using backend = B;
    using scalar = typename B::scalar;

    Tensor() = default;

    // Uninitialised storage of the given shape, aligned by the backend. Throws out_of_memory (a
    // std::bad_alloc) naming the shape and the bytes when the backend has none to give.
    Tensor(B& dev, Shape shape) : shape_(shape) {
        try {
            storage_ = dev.allocate(shape.numel());
        } catch (const out_of_memory&) {
            throw;
        } catch (const std::bad_alloc&) {
            throw out_of_memory("a tensor of " + to_string(shape), double(shape.numel()) * sizeof(scalar));
        }
        data_ = storage_.get();
    }

    static Tensor zeros(B& dev, Shape shape) { return full(dev, shape, scalar(0)); }

    static Tensor full(B& dev, Shape shape, scalar value) {
        Tensor t(dev, shape);
        dev.fill(t.data(), t.numel(), value);
        return t;
    }

    static Tensor from_host(B& dev, Shape shape, std::span<const scalar> values) {
        if (values.size() != shape.numel())
            throw shape_error("Tensor::from_host: " + std::to_string(values.size()) +
                              " values for shape " + to_string(shape));
        Tensor t(dev, shape);
        dev.upload(values.data(), t.data(), values.size());
        return t;
    }
    // Values of another type (float pixels for a double backend, say), converted first.
    template <std::ranges::contiguous_range R>
        requires(!std::same_as<std::ranges::range_value_t<R>, scalar>)
    static Tensor from_host(B& dev, Shape shape, const R& values) {
        const std::vector<scalar> converted(std::ranges::begin(values), std::ranges::end(values));
        return from_host(dev, shape, std::span<const scalar>(converted));
    }

    // A view of memory owned elsewhere (a slice of a network's flat parameter buffer, say).
    static Tensor view_of(std::shared_ptr<scalar> owner, scalar* data, Shape shape) {
        Tensor t;
        t.storage_ = std::move(owner);
        t.data_ = data;
        t.shape_ = shape;
        return t;
    }

    std::vector<scalar> to_host(B& dev) const {
        std::vector<scalar> out(numel());
        if (!out.empty()) dev.download(data_, out.data(), out.size());
        return out;
    }

    Tensor clone(B& dev) const {
        Tensor t(dev, shape_);
        dev.copy(data_, t.data(), numel());
        return t;
    }

    // Same memory, another shape with as many elements.
    Tensor reshaped(Shape s) const {
        if (s.numel() != numel())
            throw shape_error("Tensor::reshaped: cannot view " + to_string(shape_) + " as " +
                              to_string(s));
        return view_of(storage_, data_, s);
    }

    // Images [first, first + count) of the batch, sharing memory.
    Tensor images(int first, int count = 1) const {
        if (first < 0 || count < 0 || first + count > shape_.n)
            throw shape_error("Tensor::images: range [" + std::to_string(first) + ", " +
                              std::to_string(first + count) + ") outside batch of " +
                              std::to_string(shape_.n));
        return view_of(storage_, data_ + static_cast<std::size_t>(first) * shape_.image(),
                       Shape{count, shape_.c, shape_.h, shape_.w});
    }

    const Shape& shape() const { return shape_; }
    std::size_t numel() const { return shape_.numel(); }
    bool empty() const { return data_ == nullptr; }
    scalar* data() const { return data_; }
    const std::shared_ptr<scalar>& storage() const { return storage_; }
    // No other tensor or view shares this memory: writing to it in place affects nobody else.
    bool sole_owner() const { return storage_ && storage_.use_count() == 1; }

private:
    std::shared_ptr<scalar> storage_;
    scalar* data_ = nullptr;
    Shape shape_{};
};

}  // namespace cyclegan
