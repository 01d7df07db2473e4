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
#include <tuple>
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

TEST_CASE("a model with the fused layers trains with the same loss and gradients, not under no_grad", "[eval][torch][train]") {
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
    // the nodes are in the graph: a forward autograd records has the fused MLP and attention's
    // split (whose backward fell back to the concatenation here: no kernels on the CPU) as the
    // logits' ancestors
    const auto traced = fused->forward(idx);
    bool mlp = false, split = false;
    std::set<torch::autograd::Node*> seen;
    std::vector<torch::autograd::Node*> stack = {traced.grad_fn().get()};
    while (!stack.empty()) {
        auto* node = stack.back();
        stack.pop_back();
        if (node == nullptr || !seen.insert(node).second) continue;
        mlp = mlp || node->name().find("mlp_fn") != std::string::npos;
        split = split || node->name().find("split_heads_fn") != std::string::npos;
        for (const auto& e : node->next_edges()) stack.push_back(e.function.get());
    }
    REQUIRE(mlp);
    REQUIRE(split);
    torch::NoGradGuard no_grad;
    REQUIRE(relative(fused->forward(idx), lp.detach()) < 1e-12);  // an evaluation takes the inference paths
}

TEST_CASE("a model with its residual adds in the LayerNorms gives the same logits and gradients, the add node alone too",
          "[eval][torch][train]") {
    namespace tm = fracnas::eval::torch_model;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    // the node: (LayerNorm(x + y), x + y), gradients of x, y and the weights as autograd's
    torch::manual_seed(8);
    const auto x = torch::randn({3, 5, 24}, opts), y = torch::randn({3, 5, 24}, opts), w = torch::randn({24}, opts),
               b = torch::randn({24}, opts);
    const auto probe = torch::randn({3, 5, 24}, opts), probe_s = torch::randn({3, 5, 24}, opts);
    const auto node = with_grads(
        leaves({x, y, w, b}),
        [&](const auto& in) {
            const auto [h, s] = tf::layer_norm_add(in[0], in[1], in[2], in[3]);
            return h + s * probe_s;
        },
        probe);
    const auto ref = with_grads(
        leaves({x, y, w, b}),
        [&](const auto& in) {
            const auto s = in[0] + in[1];
            return at::layer_norm(s, {24}, in[2], in[3], 1e-5) + s * probe_s;
        },
        probe);
    for (std::size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(i);
        REQUIRE(relative(node[i], ref[i]) < 1e-12);
    }
    // the model: every block's adds in the LayerNorms (with the fused layers and the LayerNorm
    // nodes; LibTorch's operators here, on the CPU), against the plain model
    const auto arch = fracnas::nas::parse_architecture("n_layer=3 d_model=32 d_inner=64,72,40 n_head=2,4,2 vocab=50 context=16");
    torch::manual_seed(9);
    tm::Gpt plain(arch, opts);
    for (const bool fused : {false, true}) {
        CAPTURE(fused);
        torch::manual_seed(9);
        tm::Gpt adds(arch, opts);
        adds->use_fused_dense(fused);
        adds->use_norm_kernel(true);
        adds->use_norm_add(true);
        const auto idx = torch::randint(50, {3, 16}, torch::kInt64);
        for (auto& p : plain->parameters()) p.mutable_grad() = torch::Tensor();
        const auto lp = plain->forward(idx), la = adds->forward(idx);
        REQUIRE(relative(la, lp) < 1e-12);
        lp.logsumexp(-1).sum().backward();
        la.logsumexp(-1).sum().backward();
        const auto pa = adds->named_parameters();
        for (const auto& item : plain->named_parameters()) {
            CAPTURE(item.key());
            REQUIRE(relative(pa[item.key()].grad(), item.value().grad()) < 1e-10);
        }
        // the nodes are in the graph
        const auto traced = adds->forward(idx);
        int add_nodes = 0;
        std::set<torch::autograd::Node*> seen;
        std::vector<torch::autograd::Node*> stack = {traced.grad_fn().get()};
        while (!stack.empty()) {
            auto* n = stack.back();
            stack.pop_back();
            if (n == nullptr || !seen.insert(n).second) continue;
            if (n->name().find("layer_norm_add_fn") != std::string::npos) ++add_nodes;
            for (const auto& e : n->next_edges()) stack.push_back(e.function.get());
        }
        REQUIRE(add_nodes == 2 * 3);  // ln_2 of each block, ln_1 of the second and third, ln_f
    }
}

TEST_CASE("the LayerNorm node gives LibTorch's LayerNorm and its gradients, a model with it, the same gradients", "[eval][torch][train]") {
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
    // an fp32 input (the fp32 residual stream) with bf16 weights: normalised in fp32, the output
    // in bf16, x's gradient in fp32 and the weights' in bf16, as LibTorch's LayerNorm on the cast weights
    {
        const auto xf = x.to(torch::kFloat32), wb = w.to(torch::kBFloat16), bb = b.to(torch::kBFloat16);
        const auto pf = probe.to(torch::kFloat32);
        const auto mixed = with_grads(
            leaves({xf, wb, bb}), [](const auto& in) { return tf::layer_norm_train(in[0], in[1], in[2]).to(torch::kFloat32); }, pf);
        const auto cast = with_grads(
            leaves({xf, wb, bb}),
            [](const auto& in) {
                return at::layer_norm(in[0], {24}, in[1].to(torch::kFloat32), in[2].to(torch::kFloat32), 1e-5)
                    .to(torch::kBFloat16)
                    .to(torch::kFloat32);
            },
            pf);
        const auto node_out = tf::layer_norm_train(xf, wb, bb);
        REQUIRE(node_out.scalar_type() == torch::kBFloat16);
        for (std::size_t i = 0; i < cast.size(); ++i) {
            CAPTURE(i);
            REQUIRE(mixed[i].scalar_type() == cast[i].scalar_type());
            REQUIRE(torch::equal(mixed[i], cast[i]));
        }
        REQUIRE(mixed[1].scalar_type() == torch::kFloat32);   // x's gradient
        REQUIRE(mixed[2].scalar_type() == torch::kBFloat16);  // the weight's
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

TEST_CASE("the LayerNorm stream node passes the stream through and adds its gradient to LayerNorm's", "[eval][torch][train]") {
    torch::manual_seed(8);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const auto x = torch::randn({2, 7, 16}, opts) * 3.0 - 1.0, w = torch::randn({16}, opts), b = torch::randn({16}, opts);
    const auto py = torch::randn({2, 7, 16}, opts), ps = torch::randn({2, 7, 16}, opts);
    // both outputs used, as a block uses them: LayerNorm's output and the stream beside it
    const auto grads = [&](bool node, const std::vector<torch::Tensor>& values, const torch::Tensor& probe_y, const torch::Tensor& probe_s,
                           bool use_y) {
        auto in = leaves(values);
        torch::Tensor y, stream;
        if (node) {
            std::tie(y, stream) = tf::layer_norm_stream(in[0], in[1], in[2]);
        } else {
            y = at::layer_norm(in[0], {16}, in[1].to(in[0].scalar_type()), in[2].to(in[0].scalar_type()), 1e-5).to(in[1].scalar_type());
            stream = in[0];
        }
        auto loss = (stream * probe_s).sum();
        if (use_y) loss = loss + (y.to(probe_y.scalar_type()) * probe_y).sum();
        loss.backward();
        std::vector<torch::Tensor> out = {y.detach(), stream.detach()};
        for (const auto& t : in) out.push_back(t.grad().defined() ? t.grad() : torch::zeros_like(t));
        return out;
    };
    for (const bool use_y : {true, false}) {
        CAPTURE(use_y);
        const auto node = grads(true, {x, w, b}, py, ps, use_y), ref = grads(false, {x, w, b}, py, ps, use_y);
        REQUIRE(torch::equal(node[1], x));  // the stream itself
        for (std::size_t i = 0; i < ref.size(); ++i) {
            CAPTURE(i);
            REQUIRE(relative(node[i], ref[i]) < 1e-12);
        }
    }
    // an fp32 stream with bf16 weights (LibTorch's steps on the CPU): the two gradients of x added
    // in fp32, as autograd adds them, to the bit
    const auto xf = x.to(torch::kFloat32), wb = w.to(torch::kBFloat16), bb = b.to(torch::kBFloat16);
    const auto node = grads(true, {xf, wb, bb}, py.to(torch::kFloat32), ps.to(torch::kFloat32), true);
    const auto ref = grads(false, {xf, wb, bb}, py.to(torch::kFloat32), ps.to(torch::kFloat32), true);
    REQUIRE(node[0].scalar_type() == torch::kBFloat16);
    REQUIRE(node[2].scalar_type() == torch::kFloat32);
    for (std::size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(i);
        REQUIRE(torch::equal(node[i], ref[i]));
    }
}

TEST_CASE("the residual add keeps the stream's dtype, the output's gradient is the stream's, rounded", "[eval][torch][train]") {
    torch::manual_seed(9);
    auto x = torch::randn({3, 5, 16}).requires_grad_(true), y = torch::randn({3, 5, 16}).to(torch::kBFloat16).requires_grad_(true);
    const auto out = tf::residual_add(x, y);
    REQUIRE(out.scalar_type() == torch::kFloat32);
    REQUIRE(torch::equal(out, x.detach() + y.detach().to(torch::kFloat32)));
    const auto probe = torch::randn({3, 5, 16});
    (out * probe).sum().backward();
    REQUIRE(torch::equal(x.grad(), probe));
    REQUIRE(y.grad().scalar_type() == torch::kBFloat16);
    REQUIRE(torch::equal(y.grad(), probe.to(torch::kBFloat16)));
    REQUIRE_THROWS(tf::residual_add(x, torch::randn({3, 5, 1}).to(torch::kBFloat16)));  // a broadcast is not a residual
}

TEST_CASE("the fused MLP and projection add a bf16 layer to an fp32 stream in fp32, the stream's gradient kept", "[eval][torch][train]") {
    torch::manual_seed(10);
    const auto bf = torch::TensorOptions().dtype(torch::kBFloat16);
    const auto x = torch::randn({2, 6, 16}, bf), w1 = torch::randn({32, 16}, bf) * 0.2, b1 = torch::randn({32}, bf),
               w2 = torch::randn({16, 32}, bf) * 0.2, b2 = torch::randn({16}, bf), res = torch::randn({2, 6, 16});
    const auto probe = torch::randn({2, 6, 16});
    const auto node = with_grads(
        leaves({x, w1, b1, w2, b2, res}), [](const auto& in) { return tf::mlp_train(in[0], in[1], in[2], in[3], in[4], in[5]); }, probe);
    const auto ref = with_grads(
        leaves({x, w1, b1, w2, b2, res}),
        [](const auto& in) { return in[5] + at::linear(at::gelu(at::linear(in[0], in[1], in[2]), "tanh"), in[3], in[4]); }, probe);
    REQUIRE(node[0].scalar_type() == torch::kFloat32);
    REQUIRE(torch::equal(node[0], ref[0]));  // the same sum in fp32
    REQUIRE(torch::equal(node[6], probe));   // the stream's gradient, unrounded
    for (std::size_t i = 1; i < 6; ++i) {
        CAPTURE(i);
        REQUIRE(node[i].scalar_type() == torch::kBFloat16);
        REQUIRE(relative(node[i].to(torch::kFloat32), ref[i].to(torch::kFloat32)) < 1e-2);
    }
    const auto proj = with_grads(
        leaves({x, w2.narrow(1, 0, 16).contiguous(), b2, res}), [](const auto& in) { return tf::linear_train(in[0], in[1], in[2], in[3]); },
        probe);
    REQUIRE(proj[0].scalar_type() == torch::kFloat32);
    REQUIRE(torch::equal(proj[4], probe));
}

TEST_CASE("a bf16 model with an fp32 residual stream is the fp32 model to bf16's rounding, nearer than with a bf16 stream",
          "[eval][torch][train]") {
    namespace tm = fracnas::eval::torch_model;
    const auto arch = fracnas::nas::parse_architecture(
        "n_layer=6 d_model=64 d_inner=256,256,256,256,256,256 n_head=2,2,2,2,2,2 "
        "vocab=80 context=32");
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    torch::manual_seed(11);
    const auto idx = torch::randint(80, {4, 32}, torch::kInt64);
    const auto model = [&](bool bf16, bool fp32_residual, std::uint64_t seed) {
        torch::manual_seed(seed);
        tm::Gpt m(arch, f32);
        if (bf16) m->to(torch::kBFloat16);
        m->use_fp32_residual(fp32_residual);
        // large residual contributions: the stream's rounding is what differs
        torch::NoGradGuard no_grad;
        for (const auto& p : m->named_parameters())
            if (p.key().find("c_proj.weight") != std::string::npos) p.value().mul_(8.0);
        return m;
    };
    // three draws of the weights: nearer each time
    for (const std::uint64_t seed : {8u, 18u, 28u}) {
        auto reference = model(false, false, seed), narrow = model(true, false, seed), wide = model(true, true, seed);
        torch::NoGradGuard no_grad;
        const auto want = reference->forward(idx);
        const auto lb = narrow->forward(idx), lw = wide->forward(idx);
        REQUIRE(lw.scalar_type() == torch::kBFloat16);  // the model's dtype at its output
        const double err_narrow = relative(lb.to(torch::kFloat32), want), err_wide = relative(lw.to(torch::kFloat32), want);
        CAPTURE(seed, err_narrow, err_wide);
        REQUIRE(err_wide < 0.05);
        REQUIRE(err_wide < err_narrow);
    }
    auto reference = model(false, false, 8), wide = model(true, true, 8);
    const auto want = reference->forward(idx);
    const auto lw = wide->forward(idx);
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
