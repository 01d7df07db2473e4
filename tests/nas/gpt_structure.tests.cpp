// The GPT space's cube structure: a layer's coordinates inactive beyond every depth a cell
// allows, FFN fractions on the FFN grid of the cell's widest d_model, and pruning exact against
// brute force (the largest decoder count of every point of a cell against the floor).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>

#include "fracnas/core/cube_structure.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_space.hpp"
#include "fracnas/nas/gpt_structure.hpp"

using namespace fracnas;
using namespace fracnas::nas;

namespace {

gpt_space_config small_config(bool homogeneous) {
    gpt_space_config cfg;
    cfg.n_layer_min = 2;
    cfg.n_layer_max = 5;
    cfg.d_model_min = 128;
    cfg.d_model_max = 512;
    cfg.homogeneous = homogeneous;
    return cfg;
}

gpt_space small_space(bool homogeneous) {
    return gpt_space(small_config(homogeneous));
}

// a box of whole levels: [a/n, b/n) on the discrete coordinates, a random sub-interval elsewhere
core::box random_box(const gpt_structure& s, std::size_t dim, core::rng& r) {
    core::box b{core::point(dim, 0.0), core::point(dim, 1.0)};
    for (std::size_t i = 0; i < dim; ++i) {
        const std::uint64_t n = s.levels(i, b);
        if (n == 0) {
            const double u = r.uniform(), v = r.uniform();
            b.lo[i] = std::min(u, v);
            b.hi[i] = std::max(u, v) + 1e-3 > 1.0 ? 1.0 : std::max(u, v) + 1e-3;
            continue;
        }
        const auto a = r.below(n), c = r.below(n);
        b.lo[i] = static_cast<double>(std::min(a, c)) / static_cast<double>(n);
        b.hi[i] = static_cast<double>(std::max(a, c) + 1) / static_cast<double>(n);
    }
    return b;
}

// the largest decoder count over b: every level of the discrete coordinates, FFN fractions on a
// fine grid of b's side (the largest FFN width comes from the largest fraction)
std::uint64_t brute_max(const gpt_space& space, const core::box& b, std::size_t dim) {
    std::uint64_t best = 0;
    core::rng r(11);
    for (int trial = 0; trial < 3000; ++trial) {
        core::point x(dim);
        for (std::size_t i = 0; i < dim; ++i) x[i] = b.lo[i] + (b.hi[i] - b.lo[i]) * r.uniform() * (1.0 - 1e-12);
        best = std::max(best, count_parameters(space.decode(x)).decoder);
    }
    return best;
}

}  // namespace

TEST_CASE("gpt structure: a layer's coordinates are inactive beyond every depth the cell allows", "[nas][structure]") {
    const auto space = small_space(false);  // n_layer 2..5: 4 levels; d_inner[0..4], n_head[0..4]
    const gpt_structure s(space, 0);
    const auto names = space.codec().coordinate_names();
    const std::size_t dim = space.dim();
    core::box b{core::point(dim, 0.0), core::point(dim, 1.0)};
    b.hi[0] = 0.5;  // n_layer levels 0 and 1: depth 2 or 3
    for (std::size_t i = 0; i < dim; ++i) {
        CAPTURE(names[i]);
        const bool layer_3_or_4 = names[i].find("[3]") != std::string::npos || names[i].find("[4]") != std::string::npos;
        REQUIRE(s.active(i, b) == !layer_3_or_4);
    }
    b.hi[0] = 1.0;
    for (std::size_t i = 0; i < dim; ++i) REQUIRE(s.active(i, b));
    // weights: depth and width set every layer, a layer's own coordinates one
    REQUIRE(s.weight(0) == 5.0);
    REQUIRE(s.weight(1) == 5.0);
    REQUIRE(s.weight(2) == 1.0);
}

TEST_CASE("gpt structure: an FFN fraction has the levels of the widest d_model's FFN grid", "[nas][structure]") {
    const auto space = small_space(true);  // n_layer, d_model (7 levels: 128..512), d_inner, n_head
    const gpt_structure s(space, 0);
    core::box b{core::point(4, 0.0), core::point(4, 1.0)};
    REQUIRE(s.levels(2, b) == space.d_inner_grid(512).size());
    b.hi[1] = 2.0 / 7.0;  // d_model 128 or 192
    REQUIRE(s.levels(2, b) == space.d_inner_grid(192).size());
    REQUIRE(s.levels(0, b) == 4);
    REQUIRE(s.levels(3, b) == 2);  // head sizes 64 and 128
}

TEST_CASE("gpt structure: a cell is pruned exactly when none of its points reaches the floor", "[nas][structure]") {
    for (const bool homogeneous : {true, false}) {
        const auto space = small_space(homogeneous);
        const std::size_t dim = space.dim();
        core::rng r(homogeneous ? 5 : 6);
        int pruned = 0, kept = 0;
        for (int trial = 0; trial < 120; ++trial) {
            const gpt_structure probe(space, 0);
            const core::box b = random_box(probe, dim, r);
            const std::uint64_t top = count_parameters(probe.top_corner(b)).decoder;
            const std::uint64_t most = brute_max(space, b, dim);
            CAPTURE(homogeneous, trial, top, most);
            REQUIRE(top >= most);  // no point of the cell has more than its top corner
            // floors just above and just below the cell's largest count
            REQUIRE_FALSE(gpt_structure(space, top + 1).may_be_feasible(b));
            REQUIRE(gpt_structure(space, top).may_be_feasible(b));
            // and against a common floor, agreeing with the brute force up to the FFN sampling
            const std::uint64_t floor = 3000000;
            const bool may = gpt_structure(space, floor).may_be_feasible(b);
            if (most >= floor) REQUIRE(may);
            (may ? kept : pruned) += 1;
        }
        REQUIRE(pruned > 0);  // both outcomes occur
        REQUIRE(kept > 0);
    }
}

TEST_CASE("gpt structure: a cell's representative is feasible, in the cell, and on the floor along its diagonal", "[nas][structure]") {
    for (const bool homogeneous : {true, false}) {
        const auto space = small_space(homogeneous);
        const std::size_t dim = space.dim();
        core::rng r(homogeneous ? 7 : 8);
        const std::uint64_t floor = 3000000;
        const gpt_structure s(space, floor);
        REQUIRE(s.has_representatives());
        REQUIRE_FALSE(gpt_structure(space, 0).has_representatives());
        int on_floor = 0, at_bottom = 0;
        for (int trial = 0; trial < 200; ++trial) {
            const core::box b = random_box(s, dim, r);
            if (!s.may_be_feasible(b)) continue;
            const core::point x = s.representative(b);
            CAPTURE(homogeneous, trial);
            for (std::size_t i = 0; i < dim; ++i) {
                REQUIRE(x[i] >= b.lo[i]);
                REQUIRE(x[i] < b.hi[i]);
            }
            const std::uint64_t here = count_parameters(space.decode(x)).decoder;
            REQUIRE(here >= floor);
            // a little further down the diagonal (towards the lowest corner) is below the floor,
            // unless the representative is that corner
            core::point lower = x;
            bool moved = false;
            for (std::size_t i = 0; i < dim; ++i) {
                lower[i] = std::max(b.lo[i], x[i] - 1e-6 * (b.hi[i] - b.lo[i]));
                moved = moved || lower[i] < x[i];
            }
            if (moved && count_parameters(space.decode(lower)).decoder < floor) ++on_floor;
            if (!moved) ++at_bottom;
            REQUIRE((!moved || count_parameters(space.decode(lower)).decoder <= here));
        }
        REQUIRE(on_floor > 20);  // most cells meet the floor inside; those whose bottom corner is feasible sample it
        CAPTURE(at_bottom);
    }
    // without a floor: the centre
    const auto space = small_space(false);
    const core::box b{core::point(space.dim(), 0.25), core::point(space.dim(), 0.75)};
    REQUIRE(gpt_structure(space, 0).representative(b) == core::centre(b));
}

TEST_CASE("gpt structure: with the block options as coordinates no point of a cell has more than its top corner", "[nas][structure]") {
    for (const bool homogeneous : {true, false}) {
        gpt_space_config cfg = small_config(homogeneous);
        for (const auto& key : block_option_keys()) cfg.block_options.push_back({key, block_option_words(key)});
        cfg.kv_heads = {1, 2, 0};  // one per query head last: the level order is not the parameters' order
        const gpt_space space(cfg);
        const std::size_t dim = space.dim();
        core::rng r(homogeneous ? 9 : 10);
        const gpt_structure probe(space, 0);
        for (int trial = 0; trial < 60; ++trial) {
            const core::box b = random_box(probe, dim, r);
            const std::uint64_t top = count_parameters(probe.top_corner(b)).decoder;
            const std::uint64_t most = brute_max(space, b, dim);
            CAPTURE(homogeneous, trial, top, most);
            REQUIRE(top >= most);
            REQUIRE(gpt_structure(space, top).may_be_feasible(b));
            REQUIRE_FALSE(gpt_structure(space, top + 1).may_be_feasible(b));
        }
    }
    // a SwiGLU space's FFN fractions have the SwiGLU grid's levels
    gpt_space_config swiglu;
    swiglu.block_options = {{"mlp", {"swiglu"}}};
    const gpt_space space(swiglu);
    const gpt_structure s(space, 0);
    const core::box whole{core::point(space.dim(), 0.0), core::point(space.dim(), 1.0)};
    REQUIRE(s.levels(2, whole) == space.d_inner_grid(2048, mlp_kind::swiglu).size());
    REQUIRE(s.levels(2, whole) < space.d_inner_grid(2048, mlp_kind::gelu).size());
}
