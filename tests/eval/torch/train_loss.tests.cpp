// The chunked linear cross-entropy against LibTorch's own: the same loss and gradients as
// cross_entropy(h w^T) in fp32 for any chunk size, and within bf16's rounding in bf16 (the dtype it
// computes in on the GPU; here on the CPU, where the same operators run).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <torch/torch.h>

#include <vector>

#include "train_loss.hpp"

using fracnas::eval::torch_train::linear_cross_entropy;
using fracnas::eval::torch_train::loss_chunk_rows;

namespace {

struct reference {
    double loss;
    torch::Tensor grad_h, grad_w;
};

reference cross_entropy_of_logits(const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& y) {
    auto h = h0.detach().clone().requires_grad_(true), w = w0.detach().clone().requires_grad_(true);
    const auto loss = torch::nn::functional::cross_entropy(torch::matmul(h, w.t()), y);
    loss.backward();
    return {loss.item<double>(), h.grad(), w.grad()};
}

double relative(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm().item<double>() / b.to(torch::kFloat64).norm().item<double>();
}

}  // namespace

TEST_CASE("the chunked linear cross-entropy equals cross_entropy of the logits, loss and gradients", "[eval][torch][train]") {
    torch::manual_seed(3);
    const std::int64_t N = 37, e = 16, V = 50;
    const auto h0 = torch::randn({N, e}), w0 = torch::randn({V, e}) * 0.5, y = torch::randint(V, {N}, torch::kInt64);
    const auto ref = cross_entropy_of_logits(h0, w0, y);
    for (const std::int64_t chunk : {std::int64_t{1}, std::int64_t{8}, std::int64_t{37}, std::int64_t{100}}) {
        auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
        const auto loss = linear_cross_entropy(h, w, y, chunk, at::kFloat);
        REQUIRE(loss.dim() == 0);
        REQUIRE(loss.item<double>() == Approx(ref.loss).epsilon(1e-5));
        (loss * 2.0).backward();  // the backward scales by the incoming gradient
        REQUIRE(relative(h.grad(), 2.0 * ref.grad_h) < 1e-5);
        REQUIRE(relative(w.grad(), 2.0 * ref.grad_w) < 1e-5);
        REQUIRE(h.grad().scalar_type() == at::kFloat);
    }
    // without gradients (validation) it only scores
    torch::NoGradGuard no_grad;
    REQUIRE(linear_cross_entropy(h0, w0, y, 5, at::kFloat).item<double>() == Approx(ref.loss).epsilon(1e-5));
}

TEST_CASE("in bf16 the chunked loss stays within bf16's rounding, its gradients in the inputs' dtypes", "[eval][torch][train]") {
    torch::manual_seed(4);
    const std::int64_t N = 64, e = 32, V = 300;
    const auto h0 = torch::randn({N, e}), w0 = torch::randn({V, e}) * 0.2, y = torch::randint(V, {N}, torch::kInt64);
    const auto ref = cross_entropy_of_logits(h0, w0, y);
    auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    const auto loss = linear_cross_entropy(h, w, y, 16, at::kBFloat16);
    REQUIRE(loss.scalar_type() == at::kFloat);
    REQUIRE(loss.item<double>() == Approx(ref.loss).epsilon(0.02));
    loss.backward();
    REQUIRE(h.grad().scalar_type() == at::kFloat);  // fp32 weights and features, as under autocast
    REQUIRE(w.grad().scalar_type() == at::kFloat);
    REQUIRE(relative(h.grad(), ref.grad_h) < 0.03);
    REQUIRE(relative(w.grad(), ref.grad_w) < 0.03);
    // bf16 inputs get bf16 gradients
    auto hb = h0.to(at::kBFloat16).requires_grad_(true);
    linear_cross_entropy(hb, w0.to(at::kBFloat16), y, 64, at::kBFloat16).backward();
    REQUIRE(hb.grad().scalar_type() == at::kBFloat16);
}

TEST_CASE("on the CPU the loss kernel's setting changes nothing: LibTorch's operators, to the bit", "[eval][torch][train]") {
    torch::manual_seed(4);
    const auto h0 = torch::randn({20, 8}), w0 = torch::randn({30, 8}), y = torch::randint(30, {20}, torch::kInt64);
    std::vector<torch::Tensor> grads;
    std::vector<double> losses;
    for (const bool kernel : {false, true}) {
        auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
        const auto loss = linear_cross_entropy(h, w, y, 7, torch::kBFloat16, kernel);  // bf16 as on the GPU
        loss.backward();
        losses.push_back(loss.item<double>());
        grads.push_back(h.grad());
        grads.push_back(w.grad());
    }
    REQUIRE(losses[0] == losses[1]);
    REQUIRE(torch::equal(grads[0], grads[2]));
    REQUIRE(torch::equal(grads[1], grads[3]));
}

TEST_CASE("the loss chunk holds about 2^27 logits, at least a row, at most all", "[eval][torch][train]") {
    REQUIRE(loss_chunk_rows(16384, 32768) == 4096);
    REQUIRE(loss_chunk_rows(100, 32768) == 100);
    REQUIRE(loss_chunk_rows(16384, std::int64_t{1} << 30) == 1);
}
#endif
