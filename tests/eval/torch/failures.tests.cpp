// The one place failures become statuses (failures.hpp): what LibTorch and the standard library
// throw, classified, each with one sentence.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "failures.hpp"
#include "fracnas/error.hpp"

using namespace fracnas::eval;

namespace {

template <class F>
torch_failures::failure classify(F f) {
    try {
        f();
    } catch (...) {
        return torch_failures::current("out of host memory while testing.", "an unknown exception.");
    }
    FAIL("nothing was thrown");
    return {};
}

}  // namespace

TEST_CASE("a failed host allocation in LibTorch is out_of_memory with the size, not the allocator's text", "[eval][torch]") {
    // more bytes than any machine has: LibTorch's CPU allocator refuses with a c10::Error
    const auto f = classify([] { (void)torch::empty({std::int64_t{1} << 60}, torch::kUInt8); });
    INFO(f.message);
    REQUIRE(f.what == torch_failures::kind::out_of_memory);
    REQUIRE(f.message == "out of host memory while testing (LibTorch's CPU allocator could not allocate " +
                             std::to_string(std::uint64_t{1} << 60) + " bytes).");
}

TEST_CASE("the other failures keep their kinds", "[eval][torch]") {
    REQUIRE(classify([] { throw std::bad_alloc(); }).what == torch_failures::kind::out_of_memory);
    REQUIRE(classify([] { throw std::bad_alloc(); }).message == "out of host memory while testing.");
    const auto invalid = classify([] { throw fracnas::config_error("arch", "no such layer."); });
    REQUIRE(invalid.what == torch_failures::kind::invalid);
    REQUIRE(invalid.message == "no such layer.");
    const auto shapes = classify([] { (void)torch::matmul(torch::ones({2, 3}), torch::ones({2, 3})); });
    REQUIRE(shapes.what == torch_failures::kind::error);
    REQUIRE(shapes.message.find("cannot be multiplied") != std::string::npos);
    REQUIRE(classify([] { throw 42; }).message == "an unknown exception.");
}
#endif
