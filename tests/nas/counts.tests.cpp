// Parameter and FLOP counts: GPT-2's published sizes, LiteTransformerSearch's own counts of 200
// trained architectures, and the rank correlation of the proxy with their trained perplexity.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"

#include "../spearman.hpp"

using namespace fracnas;
using namespace fracnas::nas;

namespace {

struct lts_row {
    architecture arch;
    std::uint64_t attn = 0, ffn = 0, nonembedding = 0;
    double valid_ppl = 0.0;
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep)) out.push_back(item);
    return out;
}

// tests/data/lts/lts_gpt2_wt103.csv: the authors' counts for 200 trained architectures.
std::vector<lts_row> read_lts(const std::string& file) {
    const std::string path = std::string(FRACNAS_DATA) + "/" + file;
    std::ifstream in(path);
    INFO("reading " << path);
    REQUIRE(in.good());
    std::string line;
    std::getline(in, line);
    const auto header = split(line, ',');
    auto column = [&](const char* name) {
        return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    std::vector<lts_row> rows;
    while (std::getline(in, line)) {
        const auto f = split(line, ',');
        lts_row r;
        r.arch.n_layer = static_cast<std::uint32_t>(std::stoul(f[column("n_layer")]));
        r.arch.d_model = static_cast<std::uint32_t>(std::stoul(f[column("d_model")]));
        for (const auto& v : split(f[column("d_inner")], ';')) r.arch.d_inner.push_back(static_cast<std::uint32_t>(std::stoul(v)));
        for (const auto& v : split(f[column("n_head")], ';')) r.arch.n_head.push_back(static_cast<std::uint32_t>(std::stoul(v)));
        r.attn = std::stoull(f[column("attn_params")]);
        r.ffn = std::stoull(f[column("ffn_params")]);
        r.nonembedding = std::stoull(f[column("nonembedding_params")]);
        r.valid_ppl = std::stod(f[column("valid_ppl")]);
        rows.push_back(std::move(r));
    }
    return rows;
}

}  // namespace

TEST_CASE("GPT-2 small and medium have their published parameter counts", "[nas]") {
    const auto small = count_parameters(gpt2_small());
    REQUIRE(small.decoder == 85056000);  // DESIGN: 85.06 M decoder parameters
    REQUIRE(small.total == 124439808);   // GPT-2 small: 124 M with the tied output
    const auto medium = count_parameters(gpt2_medium());
    REQUIRE(medium.decoder == 302311424);
    REQUIRE(medium.total == 354823168);  // GPT-2 medium: 355 M
    REQUIRE(small.decoder == small.attention + small.ffn + small.layer_norm);
}

TEST_CASE("the decoder count reproduces LiteTransformerSearch's for all 200 WikiText-103 models", "[nas]") {
    const auto rows = read_lts("lts_gpt2_wt103.csv");
    REQUIRE(rows.size() == 200);
    std::vector<double> proxy, ppl;
    for (const auto& r : rows) {
        INFO(canonical(r.arch));
        const auto c = count_parameters(r.arch);
        REQUIRE(c.attention == r.attn);
        REQUIRE(c.ffn == r.ffn);
        REQUIRE(c.decoder == r.nonembedding);
        proxy.push_back(static_cast<double>(c.decoder));
        ppl.push_back(r.valid_ppl);
    }
    // the proxy ranks trained perplexity almost perfectly (their paper: 0.97 to 0.99)
    REQUIRE(test::spearman(proxy, ppl) == Approx(-0.967).margin(0.0005));
}

TEST_CASE("d_embed moves the table to width e and adds the two projections to the embedding", "[nas]") {
    architecture a = gpt2_small();
    const auto tied = count_parameters(a);
    a.d_embed = 256;
    const auto narrow = count_parameters(a);
    REQUIRE(narrow.decoder == tied.decoder);  // the proxy counts the blocks only
    REQUIRE(narrow.embedding == 50257ULL * 256 + 1024ULL * 768 + 2ULL * 256 * 768 + 256 + 768);
    REQUIRE(narrow.total == narrow.decoder + narrow.embedding);
    // one decode step: the table product shrinks from 2 d V to 2 e V, plus d -> e and e -> d
    const auto f_tied = decode_flops(gpt2_small(), 1, 100), f_narrow = decode_flops(a, 1, 100);
    REQUIRE(f_narrow.logits == 2ULL * 256 * 50257 + 2ULL * 768 * 256);
    REQUIRE(f_narrow.linear == f_tied.linear + 2ULL * 256 * 768);
    REQUIRE(f_narrow.attention == f_tied.attention);
    REQUIRE(prefill_flops(a, 2, 10).linear == prefill_flops(gpt2_small(), 2, 10).linear + 2ULL * 10 * 2 * 256 * 768);
    // what a decode step reads besides the decoder: the table, and the projections when e != d
    REQUIRE(embedding_matmul_weights(gpt2_small()) == 50257ULL * 768);
    REQUIRE(embedding_matmul_weights(a) == 50257ULL * 256 + 2ULL * 256 * 768);
}

TEST_CASE("FLOP counts obey the identities that tie them to the parameters", "[nas]") {
    core::rng r(11);
    for (int trial = 0; trial < 100; ++trial) {
        architecture a;
        a.n_layer = static_cast<std::uint32_t>(1 + r.below(24));
        a.d_model = static_cast<std::uint32_t>(64 * (1 + r.below(32)));
        for (std::uint32_t l = 0; l < a.n_layer; ++l) {
            a.d_inner.push_back(static_cast<std::uint32_t>(64 * (1 + r.below(128))));
            a.n_head.push_back(1);
        }
        const auto p = count_parameters(a);
        const std::uint64_t d = a.d_model;
        std::uint64_t biases = 0;
        for (auto di : a.d_inner) biases += 4 * d + di + d;
        // one token through the linear layers: 2 FLOPs per weight
        const auto step = decode_flops(a, 1, 0);
        REQUIRE(step.linear == 2 * (p.attention + p.ffn - biases));
        REQUIRE(step.logits == 2 * d * a.vocab);
        // a one-token prefill is a decode step on an empty cache
        REQUIRE(prefill_flops(a, 3, 1).total == decode_flops(a, 3, 0).total);
        // causal attention: query t reads t keys, 4 d FLOPs per key and layer
        const std::uint64_t tokens = 1 + r.below(a.context);
        std::uint64_t attention = 0;
        for (std::uint64_t t = 1; t <= tokens; ++t) attention += 4 * d * t * a.n_layer;
        const auto pre = prefill_flops(a, 2, tokens);
        REQUIRE(pre.attention == 2 * attention);
        REQUIRE(pre.linear == 2 * tokens * step.linear);
        REQUIRE(pre.total == pre.linear + pre.attention + pre.logits);
    }
    // GPT-2 small, one decode step at context 1,023 (1,023 cached tokens)
    const auto step = decode_flops(gpt2_small(), 1, 1023);
    REQUIRE(step.linear == 169869312);
    REQUIRE(step.attention == 37748736);
    REQUIRE(step.logits == 77194752);
    REQUIRE_THROWS_WITH(decode_flops(gpt2_small(), 1, 1024), Catch::Contains("0..1023 tokens, got 1024"));
    REQUIRE_THROWS_WITH(prefill_flops(gpt2_small(), 1, 0), Catch::Contains("1..1024 tokens, got 0"));
    REQUIRE_THROWS_WITH(prefill_flops(gpt2_small(), 0, 8), Catch::Contains("batch"));
}
