// The LibTorch adapter links and computes: the stack the GPT evaluator will stand on.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/torch/evaluator.hpp"

TEST_CASE("LibTorch is the pinned version and computes on the CPU", "[eval][torch]") {
    REQUIRE(fracnas::eval::torch_version() == "2.11.0");
    REQUIRE(fracnas::eval::torch_smoke_product() == 42.0);
}
#endif
