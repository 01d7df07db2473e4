// The training's fused layers (fused_train.hpp) against the unfused layers autograd records: the
// same outputs and the same gradients of every input. On the CPU the nodes compute their fused
// steps with LibTorch's operators, so this checks what each node saves and how its backward
// puts the gradients together; the cuBLASLt epilogues themselves are checked on the GPU
// (gpu.tests.cpp).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <torch/torch.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fused_train.hpp"
#include "gpt_model.hpp"

namespace tf = fracnas::eval::torch_fused;

namespace {

double relative(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-300);
}

std::vector<torch::Tensor> leaves(const std::vector<torch::Tensor>& values) {
    std::vector<torch::Tensor> out;
    for (const auto& v : values) out.push_back(v.detach().clone().requires_grad_(true));
    return out;
}

// output and gradients of f(inputs) . probe, a fixed random projection of the output
std::vector<torch::Tensor> with_grads(const std::vector<torch::Tensor>& inputs,
                                      const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& f,
                                      const torch::Tensor& probe) {
    const auto out = f(inputs);
    (out * probe).sum().backward();
    std::vector<torch::Tensor> result = {out.detach()};
    for (const auto& t : inputs) result.push_back(t.grad());
    return result;
}

}  // namespace

TEST_CASE("the fused linear node gives the linear map's output and gradients, with and without the residual", "[eval][torch][train]") {
    torch::manual_seed(11);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const std::int64_t B = 3, T = 5, in = 12, out = 20;
    const auto x = torch::randn({B, T, in}, opts), w = torch::randn({out, in}, opts), b = torch::randn({out}, opts);
    const auto r = torch::randn({B, T, out}, opts), probe = torch::randn({B, T, out}, opts);
    for (const bool residual : {false, true}) {
        const auto inputs = residual ? std::vector<torch::Tensor>{x, w, b, r} : std::vector<torch::Tensor>{x, w, b};
        const auto fused = with_grads(
            leaves(inputs), [&](const auto& v) { return tf::linear_train(v[0], v[1], v[2], residual ? v[3] : torch::Tensor()); }, probe);
        const auto plain = with_grads(
            leaves(inputs),
            [&](const auto& v) {
                const auto y = at::linear(v[0], v[1], v[2]);
                return residual ? v[3] + y : y;
            },
            probe);
        REQUIRE(fused.size() == plain.size());
        for (std::size_t i = 0; i < fused.size(); ++i) {
            CAPTURE(residual, i);
            REQUIRE(fused[i].sizes() == plain[i].sizes());
            REQUIRE(relative(fused[i], plain[i]) < 1e-12);
        }
    }
}

TEST_CASE("the fused MLP node gives GPT-2's MLP output and gradients of all six inputs", "[eval][torch][train]") {
    torch::manual_seed(12);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const std::int64_t B = 2, T = 7, d = 16, f = 40;  // f a multiple of 8 and not
    for (const std::int64_t width : {f, f + 3}) {
        const auto inputs = std::vector<torch::Tensor>{torch::randn({B, T, d}, opts), torch::randn({width, d}, opts) * 0.3,
                                                       torch::randn({width}, opts),   torch::randn({d, width}, opts) * 0.3,
                                                       torch::randn({d}, opts),       torch::randn({B, T, d}, opts)};
        const auto probe = torch::randn({B, T, d}, opts);
        const auto fused = with_grads(
            leaves(inputs), [](const auto& v) { return tf::mlp_train(v[0], v[1], v[2], v[3], v[4], v[5]); }, probe);
        const auto plain = with_grads(
            leaves(inputs), [](const auto& v) { return v[5] + at::linear(at::gelu(at::linear(v[0], v[1], v[2]), "tanh"), v[3], v[4]); },
            probe);
        for (std::size_t i = 0; i < fused.size(); ++i) {
            CAPTURE(width, i);
            REQUIRE(fused[i].sizes() == plain[i].sizes());
            REQUIRE(relative(fused[i], plain[i]) < 1e-12);
        }
    }
}

TEST_CASE("a model with the fused layers trains with the same loss and gradients; not under no_grad", "[eval][torch][train]") {
    namespace tm = fracnas::eval::torch_model;
    const auto arch = fracnas::nas::parse_architecture("n_layer=2 d_model=32 d_inner=64,72 n_head=2,4 vocab=50 d_embed=16 context=16");
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    torch::manual_seed(5);
    tm::Gpt plain(arch, opts);
    torch::manual_seed(5);
    tm::Gpt fused(arch, opts);
    fused->use_fused_dense(true);
    const auto idx = torch::randint(50, {3, 16}, torch::kInt64);
    const auto lp = plain->forward(idx), lf = fused->forward(idx);
    REQUIRE(relative(lf, lp) < 1e-12);
    lp.logsumexp(-1).sum().backward();
    lf.logsumexp(-1).sum().backward();
    const auto pp = plain->named_parameters(), pf = fused->named_parameters();
    REQUIRE(pp.size() == pf.size());
    for (const auto& item : pp) {
        CAPTURE(item.key());
        REQUIRE(pf[item.key()].grad().defined());
        REQUIRE(relative(pf[item.key()].grad(), item.value().grad()) < 1e-10);
    }
    // the nodes are in the graph: a forward autograd records has a fused node as the logits' ancestor
    const auto traced = fused->forward(idx);
    bool found = false;
    std::set<torch::autograd::Node*> seen;
    std::vector<torch::autograd::Node*> stack = {traced.grad_fn().get()};
    while (!stack.empty() && !found) {
        auto* node = stack.back();
        stack.pop_back();
        if (node == nullptr || !seen.insert(node).second) continue;
        found = node->name().find("mlp_fn") != std::string::npos;
        for (const auto& e : node->next_edges()) stack.push_back(e.function.get());
    }
    REQUIRE(found);
    torch::NoGradGuard no_grad;
    REQUIRE(relative(fused->forward(idx), lp.detach()) < 1e-12);  // an evaluation takes the inference paths
}

TEST_CASE("the LayerNorm node gives LibTorch's LayerNorm and its gradients; a model with it, the same gradients", "[eval][torch][train]") {
    torch::manual_seed(6);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const auto x = torch::randn({3, 5, 24}, opts) * 2.0 + 0.5, w = torch::randn({24}, opts), b = torch::randn({24}, opts);
    const auto probe = torch::randn({3, 5, 24}, opts);
    const auto node = with_grads(
        leaves({x, w, b}), [](const auto& in) { return tf::layer_norm_train(in[0], in[1], in[2]); }, probe);
    const auto ref = with_grads(
        leaves({x, w, b}), [](const auto& in) { return at::layer_norm(in[0], {24}, in[1], in[2], 1e-5); }, probe);
    for (std::size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(i);
        REQUIRE(relative(node[i], ref[i]) < 1e-12);
    }
    namespace tm = fracnas::eval::torch_model;
    const auto arch = fracnas::nas::parse_architecture("n_layer=2 d_model=32 d_inner=64,72 n_head=2,4 vocab=50 context=16");
    torch::manual_seed(7);
    tm::Gpt plain(arch, opts);
    torch::manual_seed(7);
    tm::Gpt kernel(arch, opts);
    kernel->use_norm_kernel(true);
    const auto idx = torch::randint(50, {3, 16}, torch::kInt64);
    const auto lp = plain->forward(idx), lk = kernel->forward(idx);
    REQUIRE(relative(lk, lp) < 1e-12);
    lp.logsumexp(-1).sum().backward();
    lk.logsumexp(-1).sum().backward();
    const auto pk = kernel->named_parameters();
    for (const auto& item : plain->named_parameters()) {
        CAPTURE(item.key());
        REQUIRE(relative(pk[item.key()].grad(), item.value().grad()) < 1e-10);
    }
}

TEST_CASE("a bf16 model with an fp32 residual stream is the fp32 model to bf16's rounding, nearer than with a bf16 stream",
          "[eval][torch][train]") {
    namespace tm = fracnas::eval::torch_model;
    const auto arch = fracnas::nas::parse_architecture(
        "n_layer=6 d_model=64 d_inner=256,256,256,256,256,256 n_head=2,2,2,2,2,2 "
        "vocab=80 context=32");
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    const auto idx = torch::randint(80, {4, 32}, torch::kInt64);
    const auto model = [&](bool bf16, bool fp32_residual) {
        torch::manual_seed(8);
        tm::Gpt m(arch, f32);
        if (bf16) m->to(torch::kBFloat16);
        m->use_fp32_residual(fp32_residual);
        // large residual contributions: the stream's rounding is what differs
        torch::NoGradGuard no_grad;
        for (const auto& p : m->named_parameters())
            if (p.key().find("c_proj.weight") != std::string::npos) p.value().mul_(8.0);
        return m;
    };
    auto reference = model(false, false), narrow = model(true, false), wide = model(true, true);
    const auto want = reference->forward(idx);
    const auto lb = narrow->forward(idx), lw = wide->forward(idx);
    REQUIRE(lw.scalar_type() == torch::kBFloat16);  // the model's dtype at its output
    const double err_narrow = relative(lb.to(torch::kFloat32), want), err_wide = relative(lw.to(torch::kFloat32), want);
    CAPTURE(err_narrow, err_wide);
    REQUIRE(err_wide < 0.05);
    REQUIRE(err_wide < err_narrow);
    // it trains: every weight gets a bf16 gradient near the fp32 model's
    want.logsumexp(-1).sum().backward();
    lw.to(torch::kFloat32).logsumexp(-1).sum().backward();
    const auto pw = wide->named_parameters();
    for (const auto& item : reference->named_parameters()) {
        CAPTURE(item.key());
        const auto& g = pw[item.key()].grad();
        REQUIRE(g.scalar_type() == torch::kBFloat16);
        REQUIRE(relative(g.to(torch::kFloat32), item.value().grad()) < 0.1);
    }
}

#endif
