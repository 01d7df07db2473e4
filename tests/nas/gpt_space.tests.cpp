// The GPT search-space preset: every point decodes to an architecture that meets the
// constraints, canonical points, and the reference models inside the space.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_space.hpp"

using namespace fracnas;
using namespace fracnas::nas;

namespace {

core::point random_point(std::size_t dim, core::rng& r) {
    core::point x(dim);
    for (double& v : x) v = r.uniform();
    return x;
}

gpt_space homogeneous_space() {
    gpt_space_config cfg;
    cfg.homogeneous = true;
    return gpt_space(cfg);
}

// Runs encode(a) and returns the error it throws; fails the test when it throws none.
config_error encode_error(const gpt_space& space, const architecture& a) {
    try {
        space.encode(a);
    } catch (const config_error& e) {
        return e;
    }
    FAIL("encode() accepted " << canonical(a));
    return config_error("", "");
}

}  // namespace

TEST_CASE("every point of the default space decodes to an architecture within its constraints", "[nas]") {
    const gpt_space space;
    REQUIRE(space.dim() == 2 + 24 + 24);
    core::rng r(1);
    for (int i = 0; i < 2000; ++i) {
        const architecture a = space.decode(random_point(space.dim(), r));
        REQUIRE_NOTHROW(validate(a));
        REQUIRE((a.n_layer >= 2 && a.n_layer <= 24));
        REQUIRE((a.d_model >= 128 && a.d_model <= 2048 && a.d_model % 64 == 0));
        for (std::uint32_t l = 0; l < a.n_layer; ++l) {
            REQUIRE(a.d_inner[l] > 1.7 * a.d_model);
            REQUIRE(a.d_inner[l] <= 4 * a.d_model);
            REQUIRE(a.d_inner[l] % 64 == 0);
            const std::uint32_t head_size = a.d_model / a.n_head[l];
            REQUIRE(a.d_model % a.n_head[l] == 0);
            REQUIRE(head_size >= 64);  // sizes 64 or 128, or the next divisor when 128 does not divide
        }
    }
    // the corners: shallowest and narrowest, deepest and widest
    const architecture lo = space.decode(core::point(space.dim(), 0.0));
    REQUIRE(canonical(lo) == "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=50257 context=1024");
    const architecture hi = space.decode(core::point(space.dim(), 1.0));
    REQUIRE(hi.n_layer == 24);
    REQUIRE(hi.d_inner.front() == 8192);
    REQUIRE(hi.n_head.front() == 16);  // head size 128
}

TEST_CASE("canonical points: one per architecture, idempotent, blind to inactive layers", "[nas]") {
    const gpt_space space;
    core::rng r(2);
    for (int i = 0; i < 500; ++i) {
        const core::point x = random_point(space.dim(), r);
        const core::point c = space.canonical(x);
        REQUIRE(space.decode(c) == space.decode(x));
        REQUIRE(space.canonical(c) == c);
        // layers beyond n_layer do not matter
        core::point y = x;
        const architecture a = space.decode(x);
        for (std::size_t l = a.n_layer; l < 24; ++l) {
            y[2 + l] = r.uniform();
            y[2 + 24 + l] = r.uniform();
        }
        REQUIRE(space.canonical(y) == c);
        REQUIRE(hash(space.decode(y)) == hash(a));
    }
}

TEST_CASE("GPT-2 small and medium are points of the space", "[nas]") {
    const gpt_space space;
    for (const architecture& a : {gpt2_small(), gpt2_medium()}) {
        INFO(canonical(a));
        REQUIRE(space.decode(space.encode(a)) == a);
    }
    REQUIRE(space.d_inner_grid(768).front() == 1344);  // the first multiple of 64 above 1.7 x 768
    REQUIRE(space.d_inner_grid(768).back() == 3072);
    REQUIRE(count_parameters(space.decode(space.encode(gpt2_small()))).decoder == 85056000);
}

TEST_CASE("architectures outside the space and bad ranges are refused by name", "[nas]") {
    const gpt_space space;
    architecture a = gpt2_small();
    a.d_inner[2] = 3000;
    REQUIRE_THROWS_WITH(space.encode(a),
                        Catch::Contains("d_inner[2] = 3000 is not on the FFN grid for d_model = 768 (1344..3072 step 64)"));
    a = gpt2_small();
    a.n_head[0] = 3;
    REQUIRE_THROWS_WITH(space.encode(a), Catch::Contains("n_head[0] = 3 is not a head count the space gives"));
    gpt_space_config cfg;
    cfg.d_inner_max_ratio = 1.75;
    REQUIRE_THROWS_WITH(gpt_space(cfg), Catch::Contains("no FFN width on the 64 grid"));
    cfg = gpt_space_config{};
    cfg.d_model_max = 2000;
    REQUIRE_THROWS_WITH(gpt_space(cfg), Catch::Contains("multiple of d_model_step"));
    cfg = gpt_space_config{};
    cfg.head_sizes.clear();
    REQUIRE_THROWS_WITH(gpt_space(cfg), Catch::Contains("at least one head choice"));
    // LiteTransformerSearch's head counts
    cfg = gpt_space_config{};
    cfg.head_sizes.clear();
    cfg.head_counts = {2, 4, 8};
    const gpt_space lts(cfg);
    core::rng r(4);
    for (int i = 0; i < 200; ++i) {
        const architecture b = lts.decode(random_point(lts.dim(), r));
        for (auto h : b.n_head) REQUIRE((h == 2 || h == 4 || h == 8));
    }
}

TEST_CASE("every point of the homogeneous space decodes to a uniform architecture within its constraints", "[nas]") {
    const gpt_space space = homogeneous_space();
    REQUIRE(space.dim() == 4);
    REQUIRE(space.codec().coordinate_names() == std::vector<std::string>{"n_layer", "d_model", "d_inner", "n_head"});
    core::rng r(5);
    std::set<std::uint32_t> depths, widths;
    for (int i = 0; i < 2000; ++i) {
        const architecture a = space.decode(random_point(space.dim(), r));
        REQUIRE_NOTHROW(validate(a));
        REQUIRE((a.n_layer >= 2 && a.n_layer <= 24));
        REQUIRE((a.d_model >= 128 && a.d_model <= 2048 && a.d_model % 64 == 0));
        const auto grid = space.d_inner_grid(a.d_model);
        REQUIRE(std::find(grid.begin(), grid.end(), a.d_inner[0]) != grid.end());
        REQUIRE((a.n_head[0] == space.heads(0, a.d_model) || a.n_head[0] == space.heads(1, a.d_model)));
        REQUIRE(a.d_inner == std::vector<std::uint32_t>(a.n_layer, a.d_inner[0]));
        REQUIRE(a.n_head == std::vector<std::uint32_t>(a.n_layer, a.n_head[0]));
        depths.insert(a.n_layer);
        widths.insert(a.d_model);
    }
    REQUIRE(depths.size() == 23);  // every depth and width is reached
    REQUIRE(widths.size() == 31);
    // LiteTransformerSearch's head counts: still one categorical coordinate
    gpt_space_config cfg;
    cfg.homogeneous = true;
    cfg.head_sizes.clear();
    cfg.head_counts = {2, 4, 8};
    const gpt_space lts(cfg);
    REQUIRE(lts.dim() == 4);
    for (int i = 0; i < 200; ++i) {
        const architecture b = lts.decode(random_point(lts.dim(), r));
        REQUIRE((b.n_head[0] == 2 || b.n_head[0] == 4 || b.n_head[0] == 8));
        REQUIRE(b.n_head == std::vector<std::uint32_t>(b.n_layer, b.n_head[0]));
    }
}

TEST_CASE("homogeneous canonical points: one per architecture, idempotent", "[nas]") {
    const gpt_space space = homogeneous_space();
    core::rng r(6);
    for (int i = 0; i < 500; ++i) {
        const core::point x = random_point(space.dim(), r);
        const architecture a = space.decode(x);
        const core::point c = space.encode(a);
        REQUIRE(space.canonical(x) == c);
        REQUIRE(space.decode(c) == a);
        REQUIRE(space.canonical(c) == c);
        // another point in the same FFN level and head choice has the same canonical point
        const double ffn_levels = static_cast<double>(space.d_inner_grid(a.d_model).size());
        core::point y = c;
        y[2] = (std::floor(c[2] * ffn_levels) + 0.01) / ffn_levels;
        y[3] = c[3] < 0.5 ? 0.0 : 0.99;
        REQUIRE(space.canonical(y) == c);
    }
}

TEST_CASE("GPT-2 small and medium are points of the homogeneous space", "[nas]") {
    const gpt_space space = homogeneous_space();
    REQUIRE(space.heads(0, 768) == 12);  // head size 64: 768 / 64
    REQUIRE(space.heads(0, 1024) == 16);
    const core::point small = space.encode(gpt2_small());
    REQUIRE(small.size() == 4);
    CHECK(small[0] == Approx(10.5 / 23));  // depth level 12 - 2 of 23
    CHECK(small[1] == Approx(10.5 / 31));  // width level (768 - 128) / 64 of 31
    CHECK(small[2] == Approx(27.5 / 28));  // 3072, the last of 1344..3072 step 64
    CHECK(small[3] == Approx(0.25));       // the first of two head choices
    for (const architecture& a : {gpt2_small(), gpt2_medium()}) {
        INFO(canonical(a));
        REQUIRE(space.decode(space.encode(a)) == a);
    }
}

TEST_CASE("the homogeneous space refuses architectures whose layers differ, by name", "[nas]") {
    const gpt_space space = homogeneous_space();
    const gpt_space heterogeneous;
    architecture a = gpt2_small();
    a.d_inner[2] = 1344;  // on the grid: only the sharing rule refuses it
    REQUIRE_NOTHROW(heterogeneous.encode(a));
    config_error e = encode_error(space, a);
    CHECK(e.field() == "d_inner[2]");
    CHECK_THAT(e.what(), Catch::Equals("d_inner[2] = 1344 differs from d_inner[0] = 3072: the homogeneous space "
                                       "needs every layer to share one FFN width."));
    a = gpt2_small();
    std::fill(a.n_head.begin() + 5, a.n_head.end(), 6u);  // 6 = head size 128, a choice of the space
    REQUIRE_NOTHROW(heterogeneous.encode(a));
    e = encode_error(space, a);
    CHECK(e.field() == "n_head[5]");
    CHECK_THAT(e.what(), Catch::Contains("n_head[5] = 6 differs from n_head[0] = 12") && Catch::Contains("share one head count"));
    // uniform but off the grid: the heterogeneous space's message
    a = gpt2_small();
    std::fill(a.d_inner.begin(), a.d_inner.end(), 3000u);
    e = encode_error(space, a);
    CHECK(e.field() == "d_inner[0]");
    CHECK_THAT(e.what(), Catch::Contains("d_inner[0] = 3000 is not on the FFN grid for d_model = 768"));
    a = gpt2_small();
    a.n_layer = 25;  // uniform, one layer too deep
    a.d_inner.assign(25, 3072);
    a.n_head.assign(25, 12);
    CHECK(encode_error(space, a).field() == "n_layer");
}

TEST_CASE("the homogeneous and heterogeneous spaces agree on uniform architectures", "[nas]") {
    const gpt_space space = homogeneous_space();
    const gpt_space heterogeneous;
    // the corners decode to the same architectures
    for (const double corner : {0.0, 1.0}) {
        const architecture a = space.decode(core::point(space.dim(), corner));
        REQUIRE(a == heterogeneous.decode(core::point(heterogeneous.dim(), corner)));
    }
    REQUIRE(canonical(space.decode(core::point(4, 0.0))) == "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=50257 context=1024");
    // a homogeneous point means what the heterogeneous point with its coordinates in every layer means
    core::rng r(7);
    for (int i = 0; i < 500; ++i) {
        const core::point x = random_point(space.dim(), r);
        core::point y{x[0], x[1]};
        y.insert(y.end(), 24, x[2]);
        y.insert(y.end(), 24, x[3]);
        const architecture a = space.decode(x);
        REQUIRE(heterogeneous.decode(y) == a);
        // and the canonical coordinates agree with the heterogeneous ones of layer 0
        const core::point c = space.encode(a);
        const core::point h = heterogeneous.encode(a);
        REQUIRE(c == core::point{h[0], h[1], h[2], h[2 + 24]});
    }
}

TEST_CASE("embedding widths add one coordinate, every point decodes to a listed width", "[nas]") {
    gpt_space_config cfg;
    cfg.embed_widths = {0, 256, 512};
    const gpt_space space(cfg), plain;
    REQUIRE(space.dim() == plain.dim() + 1);
    core::rng r(11);
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 500; ++i) {
        const auto x = random_point(space.dim(), r);
        const architecture a = space.decode(x);
        const std::uint32_t e = embed_width(a);
        REQUIRE((e == a.d_model || e == 256 || e == 512));
        seen.insert(a.d_embed == 0 ? 0 : e);
        REQUIRE(space.decode(space.encode(a)) == a);
        REQUIRE(space.canonical(space.canonical(x)) == space.canonical(x));
        // the decoder proxy does not see e: the same point with the tied table counts the same
        core::point tied = x;
        tied.back() = 0.1;  // the first choice, 0
        REQUIRE(count_parameters(space.decode(tied)).decoder == count_parameters(a).decoder);
    }
    REQUIRE(seen == std::set<std::uint32_t>{0, 256, 512});
    REQUIRE(space.decode(space.encode(gpt2_small())) == gpt2_small());  // 0: the tied table
    architecture narrow = gpt2_small();
    narrow.d_embed = 384;
    REQUIRE(std::string(encode_error(space, narrow).what()) == "d_embed = 384 is not an embedding width of the space.");
    narrow.d_embed = 256;
    REQUIRE(space.decode(space.encode(narrow)) == narrow);
    REQUIRE(std::string(encode_error(plain, narrow).what()) == "the space has no embedding widths: d_embed must equal d_model (768).");
    gpt_space_config twice;
    twice.embed_widths = {256, 256};
    REQUIRE_THROWS_WITH(gpt_space(twice), "the embedding width 256 is listed twice.");
}

TEST_CASE("block options: one word fixes them, two make coordinates, KV choices a per-layer one", "[nas]") {
    const gpt_space plain;
    gpt_space_config fixed;  // Llama's block, fixed: the same coordinates as GPT-2's space
    fixed.block_options = {
        {"norm", {"rmsnorm"}}, {"mlp", {"swiglu"}}, {"positions", {"rotary"}}, {"output", {"untied"}}, {"bias", {"off"}}};
    fixed.kv_heads = {4};
    const gpt_space llama(fixed);
    REQUIRE(llama.dim() == plain.dim());
    gpt_space_config searched;  // every option a coordinate, KV heads per layer
    for (const auto& key : block_option_keys()) searched.block_options.push_back({key, block_option_words(key)});
    searched.kv_heads = {0, 1, 2, 4};
    const gpt_space both(searched);
    REQUIRE(both.dim() == plain.dim() + 6 + 24);
    gpt_space_config shared = searched;
    shared.homogeneous = true;
    const gpt_space uniform(shared);
    REQUIRE(uniform.dim() == 4 + 6 + 1);

    core::rng r(12);
    std::set<std::string> words;
    std::set<std::uint32_t> groups;
    for (int i = 0; i < 1000; ++i) {
        const architecture f = llama.decode(random_point(llama.dim(), r));
        REQUIRE_NOTHROW(validate(f));
        REQUIRE(f.norm == norm_kind::rms_norm);
        REQUIRE(f.mlp == mlp_kind::swiglu);
        REQUIRE(f.positions == position_kind::rotary);
        REQUIRE_FALSE(f.tied);
        REQUIRE_FALSE(f.bias);
        REQUIRE(f.block == block_kind::sequential);  // not listed: GPT-2's
        for (std::uint32_t l = 0; l < f.n_layer; ++l) {
            // SwiGLU's grid: GELU's ratios times 2/3, in (1.13, 2.67] x d_model
            REQUIRE(3.0 * f.d_inner[l] > 2.0 * 1.7 * f.d_model);
            REQUIRE(3.0 * f.d_inner[l] <= 2.0 * 4.0 * f.d_model);
            REQUIRE(kv_heads(f, l) <= 4);
            REQUIRE(f.n_head[l] % kv_heads(f, l) == 0);
            REQUIRE((f.d_model / f.n_head[l]) % 2 == 0);  // rotary: even head dimensions
        }
        REQUIRE(llama.decode(llama.encode(f)) == f);

        const auto x = random_point(both.dim(), r);
        const architecture a = both.decode(x);
        REQUIRE_NOTHROW(validate(a));
        REQUIRE(both.decode(both.encode(a)) == a);
        REQUIRE(both.canonical(both.canonical(x)) == both.canonical(x));
        for (const auto& key : block_option_keys()) words.insert(key + "=" + block_option(a, key));
        for (std::uint32_t l = 0; l < a.n_layer; ++l) {
            groups.insert(a.n_head[l] / kv_heads(a, l));
            if (a.positions == position_kind::rotary) REQUIRE((a.d_model / a.n_head[l]) % 2 == 0);
        }
        const architecture u = uniform.decode(random_point(uniform.dim(), r));
        for (std::uint32_t l = 1; l < u.n_layer; ++l) REQUIRE(kv_heads(u, l) == kv_heads(u, 0));
        REQUIRE(uniform.decode(uniform.encode(u)) == u);
    }
    REQUIRE(words.size() == 12);  // every word of every option decoded
    REQUIRE(groups.count(1) == 1);
    REQUIRE(groups.size() > 3);  // one per query head, and grouped by several factors

    // GPT-2 small is in the plain space and in the searched one, not in Llama's
    REQUIRE(both.decode(both.encode(gpt2_small())) == gpt2_small());
    REQUIRE(std::string(encode_error(llama, gpt2_small()).what()) == "norm=layernorm is not in the space, whose norm is rmsnorm.");
    auto grouped = gpt2_small();
    grouped.n_kv_head.assign(12, 3);
    REQUIRE(std::string(encode_error(plain, grouped).what()) == "n_kv_head[0] = 3 is not a KV head count the space gives for n_head = 12.");
    grouped.n_kv_head.assign(12, 2);
    REQUIRE(both.decode(both.encode(grouped)) == grouped);
    grouped.n_kv_head.assign(12, 12);  // said out loud, one KV head per query head: GPT-2 small itself
    REQUIRE(plain.encode(grouped) == plain.encode(gpt2_small()));

    gpt_space_config bad;
    bad.block_options = {{"norm", {"rmsnorm", "rmsnorm"}}};
    REQUIRE_THROWS_WITH(gpt_space(bad), "norm lists rmsnorm twice.");
    bad.block_options = {{"norm", {"batchnorm"}}};
    REQUIRE_THROWS_WITH(gpt_space(bad), "norm must be layernorm or rmsnorm, got 'batchnorm'.");
    bad.block_options = {{"attention", {"linear"}}};
    REQUIRE_THROWS_WITH(gpt_space(bad), "'attention' is not a block option (norm, mlp, positions, block, output, bias).");
    bad.block_options = {{"mlp", {"swiglu"}}};
    bad.d_inner_max_ratio = 2.0;  // SwiGLU: (1.13, 1.33] x 128 holds no multiple of 64
    REQUIRE_THROWS_WITH(gpt_space(bad), "no swiglu FFN width on the 64 grid lies in the space's ratios for d_model = 128.");
    bad = {};
    bad.kv_heads = {2, 2};
    REQUIRE_THROWS_WITH(gpt_space(bad), "the KV head choice 2 is listed twice.");
}
