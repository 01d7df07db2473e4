// The LibTorch GPT against an independent reference (Hugging Face transformers' GPT-2, same
// weights, same logits), against itself (a KV-cached decode equals the full forward), and
// against the analytic parameter count. CPU, fp32 unless stated.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "fracnas/core/rng.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_space.hpp"
#include "gpt_model.hpp"
#include "reference_support.hpp"

using namespace fracnas;
using fracnas::eval::torch_model::Gpt;
using fracnas::test::max_abs_diff;

namespace {

struct reference_model {
    nas::architecture arch;
    Gpt model{nullptr};
    torch::Tensor idx, logits;
};

reference_model load(const std::string& which) {
    const auto entry = test::cached_reference("hf_gpt2_reference.py").at(which).toGenericDict();
    const auto a = entry.at("arch").toTensor();
    reference_model r;
    const auto layers = static_cast<std::uint32_t>(a[0].item<std::int64_t>());
    r.arch.n_layer = layers;
    r.arch.d_model = static_cast<std::uint32_t>(a[1].item<std::int64_t>());
    r.arch.vocab = static_cast<std::uint32_t>(a[2].item<std::int64_t>());
    r.arch.context = static_cast<std::uint32_t>(a[3].item<std::int64_t>());
    for (std::uint32_t l = 0; l < layers; ++l) {
        r.arch.d_inner.push_back(static_cast<std::uint32_t>(a[4 + l].item<std::int64_t>()));
        r.arch.n_head.push_back(static_cast<std::uint32_t>(a[4 + layers + l].item<std::int64_t>()));
    }
    r.model = Gpt(r.arch);
    r.model->eval();
    test::copy_weights(*r.model, entry.at("weights").toGenericDict());
    r.idx = entry.at("idx").toTensor();
    r.logits = entry.at("logits").toTensor();
    return r;
}

nas::architecture small_random_architecture(core::rng& r) {
    nas::gpt_space_config cfg;
    cfg.n_layer_max = 6;
    cfg.d_model_max = 512;
    cfg.vocab = 1000;
    cfg.context = 64;
    const nas::gpt_space space(cfg);
    core::point x(space.dim());
    for (double& v : x) v = r.uniform();
    return space.decode(x);
}

}  // namespace

TEST_CASE("same weights, same logits as Hugging Face GPT-2 (homogeneous)", "[eval][torch][hf]") {
    auto r = load("homogeneous");
    torch::NoGradGuard no_grad;
    const auto logits = r.model->forward(r.idx);
    REQUIRE(logits.sizes() == r.logits.sizes());
    REQUIRE(max_abs_diff(logits, r.logits) < 1e-4);
}

TEST_CASE("same weights, same logits as a per-layer Hugging Face reference (heterogeneous)", "[eval][torch][hf]") {
    auto r = load("heterogeneous");
    REQUIRE(r.arch.n_head == std::vector<std::uint32_t>{2, 8, 3});
    torch::NoGradGuard no_grad;
    const auto logits = r.model->forward(r.idx);
    REQUIRE(max_abs_diff(logits, r.logits) < 1e-4);
}

TEST_CASE("a KV-cached prefill and decode give the full forward's logits", "[eval][torch]") {
    torch::manual_seed(3);
    core::rng r(7);
    for (int trial = 0; trial < 4; ++trial) {
        auto arch = small_random_architecture(r);
        if (trial >= 2) arch.d_embed = 48;  // a decoupled embedding width: table (V, 48), projections
        INFO(nas::canonical(arch));
        Gpt model(arch);
        model->eval();
        torch::NoGradGuard no_grad;
        const auto idx = torch::randint(0, arch.vocab, {2, 20}, torch::kLong);
        const auto full = model->forward(idx);  // (2, 20, V)
        // fp32 with another summation order: within 1e-5 of the logits' scale (random weights give
        // logits of a few hundred; 1.5e-4 absolute was seen on the H200 host's CPU)
        const double tol = 1e-5 * std::max(1.0, full.abs().max().item<double>());
        auto cache = model->make_cache(2, torch::TensorOptions().dtype(torch::kFloat32));
        const auto prefill = model->forward_cached(idx.narrow(1, 0, 12), cache, 0);
        REQUIRE(max_abs_diff(prefill, full.narrow(1, 0, 12)) < tol);
        for (std::int64_t t = 12; t < 20; ++t) {
            const auto step = model->forward_cached(idx.narrow(1, t, 1), cache, t);  // (2, 1, V)
            REQUIRE(max_abs_diff(step, full.narrow(1, t, 1)) < tol);
        }
        // a server's prefill: logits of the last position only
        auto fresh = model->make_cache(2, torch::TensorOptions().dtype(torch::kFloat32));
        const auto last = model->forward_cached(idx, fresh, 0, /*last_only=*/true);
        REQUIRE(last.size(1) == 1);
        REQUIRE(max_abs_diff(last, full.narrow(1, 19, 1)) < tol);
    }
}

TEST_CASE("the analytic decoder count equals the built model's", "[eval][torch]") {
    core::rng r(9);
    for (int trial = 0; trial < 14; ++trial) {
        auto arch = small_random_architecture(r);
        if (trial >= 10) arch.d_embed = static_cast<std::uint32_t>(32 * (1 + r.below(8)));  // e < d, e = d or e > d
        INFO(nas::canonical(arch));
        Gpt model(arch);
        std::uint64_t decoder = 0, all = 0;
        for (const auto& p : model->named_parameters()) {
            const auto n = static_cast<std::uint64_t>(p.value().numel());
            all += n;
            const bool embedding = p.key() == "wte.weight" || p.key() == "wpe.weight" || p.key().rfind("proj_", 0) == 0;
            if (!embedding) decoder += n;
        }
        const auto counts = nas::count_parameters(arch);
        REQUIRE(decoder == counts.decoder);
        REQUIRE(all == counts.total);  // the output projection is tied: no extra weights
    }
}

TEST_CASE("a narrow embedding width starts at the scales of the tied table", "[eval][torch]") {
    // the token vectors that enter the residual stream, and the vectors the tied table scores,
    // have the same spread at initialisation with e < d, e = d and e > d
    torch::manual_seed(6);
    nas::architecture arch = nas::gpt2_small();
    arch.n_layer = 1;
    arch.d_inner = {256};
    arch.n_head = {4};
    arch.d_model = 256;
    arch.vocab = 4096;
    arch.context = 64;
    torch::NoGradGuard no_grad;
    const auto spread = [](const torch::Tensor& t) { return t.std().item<double>(); };
    for (const std::uint32_t e : {64u, 0u, 1024u}) {  // 0: the tied table at d
        arch.d_embed = e;
        INFO("d_embed " << e);
        Gpt model(arch);
        auto tokens = model->wte->weight;                                         // (vocab, e)
        if (model->proj_in) tokens = at::linear(tokens, model->proj_in->weight);  // (vocab, d)
        REQUIRE(tokens.size(1) == 256);
        REQUIRE(spread(tokens) == Approx(0.02).epsilon(0.1));
        auto scored = torch::randn({4096, 256});                                    // ln_f's output scale
        if (model->proj_out) scored = at::linear(scored, model->proj_out->weight);  // (rows, e)
        REQUIRE(spread(scored) == Approx(1.0).epsilon(0.1));
    }
}

TEST_CASE("bf16 follows fp32 within bf16's precision", "[eval][torch]") {
    torch::manual_seed(4);
    core::rng r(11);
    const auto arch = small_random_architecture(r);
    Gpt model(arch);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto idx = torch::randint(0, arch.vocab, {1, 16}, torch::kLong);
    const auto fp32 = model->forward(idx);
    model->to(torch::kBFloat16);
    const auto bf16 = model->forward(idx);
    REQUIRE(bf16.scalar_type() == torch::kBFloat16);
    const double scale = fp32.abs().max().item<double>();
    REQUIRE(max_abs_diff(bf16, fp32) < 0.05 * scale);
}
#endif
