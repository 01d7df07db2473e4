// LibTorch version and smoke check. One of the only files that include LibTorch
// (src/eval/torch/); the GPT evaluator will live beside it.
#include "fracnas/torch/evaluator.hpp"

#include <torch/torch.h>

namespace fracnas::eval {

std::string torch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

bool torch_cuda_available() {
    return torch::cuda::is_available();
}

double torch_smoke_product() {
    // (2, 3) x (3, 2) with known entries: [[1,2,3],[4,5,6]] x ones = [[6,6],[15,15]] -> sum 42.
    const auto a = torch::arange(1, 7, torch::kFloat64).reshape({2, 3});
    const auto b = torch::ones({3, 2}, torch::kFloat64);
    return torch::matmul(a, b).sum().item<double>();
}

}  // namespace fracnas::eval
