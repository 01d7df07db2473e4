// The source of fracnas's own CUDA kernels (eval/torch/device_kernels.hpp) compiled by NVRTC for
// the architectures the project runs on, here without a GPU: a kernel that would not compile on
// the device fails here first. What the kernels compute is checked on the GPU (gpu.tests.cpp).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <string>

#include "device_kernels.hpp"

using fracnas::eval::torch_kernels::compile_for;

TEST_CASE("the device kernels compile with NVRTC for Hopper and Ampere, and a bad architecture is named", "[eval][torch]") {
    std::string log;
    for (const char* arch : {"sm_90", "sm_80", "compute_90"}) {
        CAPTURE(arch, log);
        REQUIRE(compile_for(arch, &log) > 0);
    }
    REQUIRE(compile_for("sm_1", &log) == 0);
    REQUIRE(log.find("--gpu-architecture=sm_1") != std::string::npos);
}
#endif
