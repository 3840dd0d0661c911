#pragma once
// The message of what a call throws, for tests that compare error texts whole.
#include <exception>
#include <string>

namespace cyclegan::test {

// What f() throws as E, its what(); "(no exception)" when it throws nothing, so that a comparison
// with the expected text fails showing that. An exception of another type propagates (doctest
// reports it).
template <class E = std::exception, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace cyclegan::test
