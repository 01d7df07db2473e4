// The GPT search-space preset: every point decodes to an architecture that meets the
// constraints, canonical points, and the reference models inside the space.
#include <catch2/catch.hpp>

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
    REQUIRE_THROWS_WITH(space.encode(a), Catch::Contains("d_inner[2] = 3000 is not on the FFN grid for d_model = 768 (1344..3072 step 64)"));
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
