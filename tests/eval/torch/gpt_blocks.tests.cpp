// The LibTorch model's block options (issue 25) against Hugging Face transformers' LlamaForCausalLM
// (same weights, same logits: RMSNorm, SwiGLU, rotary positions, grouped KV heads, untied head,
// biases on and off), and, for every option, against itself (a KV-cached prefill and decode give
// the full forward's logits) and against the analytic counts. CPU, fp32.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <string>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"
#include "gpt_model.hpp"
#include "reference_support.hpp"

using namespace fracnas;
using fracnas::eval::torch_model::Gpt;
using fracnas::test::max_abs_diff;

namespace {

// The full forward against a 12-token prefill, then one decode step per token, and a server's
// last-position prefill.
void check_cached(Gpt& model, const torch::Tensor& idx) {
    torch::NoGradGuard no_grad;
    const auto T = idx.size(1);
    const auto full = model->forward(idx);
    const double tol = 1e-5 * std::max(1.0, full.abs().max().item<double>());
    auto cache = model->make_cache(idx.size(0), torch::TensorOptions().dtype(torch::kFloat32));
    REQUIRE(max_abs_diff(model->forward_cached(idx.narrow(1, 0, 12), cache, 0), full.narrow(1, 0, 12)) < tol);
    for (std::int64_t t = 12; t < T; ++t)
        REQUIRE(max_abs_diff(model->forward_cached(idx.narrow(1, t, 1), cache, t), full.narrow(1, t, 1)) < tol);
    auto fresh = model->make_cache(idx.size(0), torch::TensorOptions().dtype(torch::kFloat32));
    REQUIRE(max_abs_diff(model->forward_cached(idx, fresh, 0, /*last_only=*/true), full.narrow(1, T - 1, 1)) < tol);
}

}  // namespace

TEST_CASE("block options: same weights, same logits as Hugging Face Llama, full and KV-cached", "[eval][torch][hf]") {
    for (const char* which : {"grouped_untied", "tied_biases"}) {
        CAPTURE(which);
        const auto entry = test::cached_reference("hf_llama_reference.py").at(which).toGenericDict();
        const auto arch = nas::parse_architecture(entry.at("arch").toStringRef());
        INFO(nas::canonical(arch));
        Gpt model(arch);
        model->eval();
        test::copy_weights(*model, entry.at("weights").toGenericDict());
        const auto idx = entry.at("idx").toTensor();
        const auto reference = entry.at("logits").toTensor();
        torch::NoGradGuard no_grad;
        const auto logits = model->forward(idx);
        REQUIRE(logits.sizes() == reference.sizes());
        REQUIRE(max_abs_diff(logits, reference) < 1e-4 * std::max(1.0, reference.abs().max().item<double>()));
        check_cached(model, idx);
    }
}

TEST_CASE("block options: every option alone and together builds, decodes from its cache as it forwards, and holds its count",
          "[eval][torch]") {
    const std::string base = "n_layer=3 d_model=96 d_inner=256,192,320 n_head=6,4,3 vocab=200 context=40";
    for (const std::string options :
         {"", " norm=rmsnorm", " mlp=swiglu", " positions=rotary", " n_kv_head=2,1,3", " block=parallel", " output=untied", " bias=off",
          " norm=rmsnorm bias=off", " d_embed=48 block=parallel output=untied bias=off",
          " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=3,2,1 block=parallel output=untied bias=off"}) {
        const auto arch = nas::parse_architecture(base + options);
        CAPTURE(nas::canonical(arch));
        torch::manual_seed(11);
        Gpt model(arch);
        model->eval();
        std::uint64_t all = 0;
        for (const auto& p : model->named_parameters()) all += static_cast<std::uint64_t>(p.value().numel());
        REQUIRE(all == nas::count_parameters(arch).total);
        const auto idx = torch::randint(0, arch.vocab, {2, 20}, torch::kLong);
        check_cached(model, idx);
        // the cache holds the keys' width of each layer: grouped heads make it narrower
        const auto cache = model->make_cache(1, torch::TensorOptions().dtype(torch::kFloat32));
        for (std::uint32_t l = 0; l < arch.n_layer; ++l)
            REQUIRE(cache[l].kv.size(3) == static_cast<std::int64_t>(nas::kv_heads(arch, l) * (arch.d_model / arch.n_head[l])));
    }
}
TEST_CASE("block options: rotary tables first made under InferenceMode serve a later forward that autograd records", "[eval][torch]") {
    const auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=128,128 n_head=4,2 vocab=100 context=32 positions=rotary");
    torch::manual_seed(3);
    Gpt model(arch);
    const auto idx = torch::randint(0, arch.vocab, {2, 16}, torch::kLong);
    torch::Tensor timed;
    {
        c10::InferenceMode inference;  // as the evaluator times a model
        timed = model->forward(idx).clone();
    }
    const auto logits = model->forward(idx);  // the tables again, now saved for the backward
    REQUIRE(max_abs_diff(logits.detach(), timed) == 0.0);
    REQUIRE_NOTHROW(logits.pow(2).mean().backward());
    REQUIRE(model->h[0]->as<eval::torch_model::Block>()->attn->c_attn->weight.grad().abs().sum().item<double>() > 0.0);
}
#endif
