// What the LibTorch model tests share: an independent reference written by a Python script of this
// folder (transformers, with the venv's Python) and the largest difference of two tensors.
#pragma once

#include <torch/torch.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace fracnas::test {

/// Runs tests/eval/torch/`script` OUT.pt and loads what it saved with torch.save (a dict); one
/// file per process, as CTest runs test cases in parallel processes.
inline c10::Dict<c10::IValue, c10::IValue> python_reference(const std::string& script) {
    const std::string out = std::string(FRACNAS_TEST_TMP) + "/" + script + "." + std::to_string(::getpid()) + ".pt";
    const std::string command = std::string(FRACNAS_PYTHON) + " " + FRACNAS_SOURCE_DIR + "/tests/eval/torch/" + script + " " + out;
    if (std::system(command.c_str()) != 0)
        FAIL("the reference script failed (is transformers installed? cmake/dev.sh deps installs it): " << command);
    std::ifstream in(out, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(out.c_str());
    return torch::pickle_load(bytes).toGenericDict();
}

/// python_reference(script), run once per process and script.
inline const c10::Dict<c10::IValue, c10::IValue>& cached_reference(const std::string& script) {
    static std::map<std::string, c10::Dict<c10::IValue, c10::IValue>> done;
    auto it = done.find(script);
    if (it == done.end()) it = done.emplace(script, python_reference(script)).first;
    return it->second;
}

/// Copies the reference's weights, by fracnas's parameter names, into the model's parameters;
/// every one must have a place of its shape, and every parameter a weight.
inline void copy_weights(torch::nn::Module& model, const c10::Dict<c10::IValue, c10::IValue>& weights) {
    torch::NoGradGuard no_grad;
    std::size_t copied = 0;
    for (auto& p : model.named_parameters()) {
        INFO("parameter " << p.key());
        const auto w = weights.at(p.key()).toTensor();
        REQUIRE(w.sizes() == p.value().sizes());
        p.value().copy_(w);
        ++copied;
    }
    REQUIRE(copied == weights.size());  // every reference weight has a place, and no more
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<double>();
}

}  // namespace fracnas::test
