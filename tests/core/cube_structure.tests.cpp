// The cube structure's level arithmetic, the structured section (faces on level boundaries,
// the coordinate with most left to decide, leaves) and the fractal tree using it: every decoded
// point sampled once, pruned cells never sampled. A synthetic structure; no NAS here.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "drive.hpp"
#include "fracnas/core/cube_structure.hpp"
#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"

using namespace fracnas::core;

namespace {

// Discrete coordinates of the given level counts (0: continuous), weights, an optional activity
// rule and an optional feasibility rule.
struct grid_structure : cube_structure {
    std::vector<std::uint64_t> n;
    std::vector<double> w;
    std::function<bool(std::size_t, const box&)> is_active;
    std::function<bool(const box&)> feasible;
    std::uint64_t levels(std::size_t i, const box&) const override { return n.at(i); }
    bool active(std::size_t i, const box& b) const override { return !is_active || is_active(i, b); }
    double weight(std::size_t i) const override { return w.empty() ? 1.0 : w.at(i); }
    bool may_be_feasible(const box& b) const override { return !feasible || feasible(b); }
};

std::shared_ptr<grid_structure> grid(std::vector<std::uint64_t> n) {
    auto s = std::make_shared<grid_structure>();
    s->n = std::move(n);
    return s;
}

box unit(std::size_t d) {
    return box{point(d, 0.0), point(d, 1.0)};
}

// the level tuple a point decodes to
std::vector<std::uint64_t> levels_at(const point& x, const std::vector<std::uint64_t>& n) {
    std::vector<std::uint64_t> t;
    for (std::size_t i = 0; i < x.size(); ++i) t.push_back(level_of(x[i], n[i]));
    return t;
}

}  // namespace

TEST_CASE("level arithmetic: the quotients k/n are the boundaries", "[core][structure]") {
    for (const std::uint64_t n : {1u, 3u, 7u, 10u, 49u, 1000u})
        for (std::uint64_t k = 0; k < n; ++k) {
            const double at = static_cast<double>(k) / static_cast<double>(n);
            REQUIRE(level_of(at, n) == k);
            REQUIRE(level_of(std::nextafter(at, -1.0), n) == (k == 0 ? 0 : k - 1));
        }
    REQUIRE(level_of(1.0, 5) == 4);
    REQUIRE(level_span(0.2, 0.4, 5) == std::make_pair<std::uint64_t, std::uint64_t>(1, 1));  // [0.2, 0.4): level 1 only
    REQUIRE(level_span(0.2, 0.41, 5) == std::make_pair<std::uint64_t, std::uint64_t>(1, 2));
    REQUIRE(level_span(0.8, 1.0, 5) == std::make_pair<std::uint64_t, std::uint64_t>(4, 4));  // the top face is inside
    REQUIRE(level_span(0.0, 1.0, 3) == std::make_pair<std::uint64_t, std::uint64_t>(0, 2));
}

TEST_CASE("a structured section cuts on level boundaries along the coordinate with most left to decide", "[core][structure]") {
    auto s = grid({10, 4});
    // equal shares: the lowest index; 10 levels in 3 parts of 3, 4 and 3 levels
    auto c = structured_section(unit(2), 3, *s);
    REQUIRE(c.size() == 3);
    REQUIRE(c[0].hi[0] == 0.3);
    REQUIRE(c[1].lo[0] == 0.3);
    REQUIRE(c[1].hi[0] == 0.7);
    REQUIRE(c[2].lo[0] == 0.7);
    REQUIRE(c[2].hi[0] == 1.0);
    for (const auto& child : c) REQUIRE((child.lo[1] == 0.0 && child.hi[1] == 1.0));
    // a weight decides: coordinate 1 (4 levels: 1, 2 and 1 per child)
    s->w = {1.0, 2.0};
    c = structured_section(unit(2), 3, *s);
    REQUIRE(c.size() == 3);
    REQUIRE(c[0].hi[1] == 0.25);
    REQUIRE(c[1].hi[1] == 0.75);
    // what is left, not the side's length: after [0.3, 0.7) on coordinate 0 (4 of 10 levels,
    // priority 3/9), coordinate 1 with all its 4 levels (priority 1) goes first, though shorter
    s->w = {};
    c = structured_section(box{{0.3, 0.0}, {0.7, 1.0}}, 3, *s);
    REQUIRE(c[0].hi[1] == 0.25);
    // fewer levels than k: one child per level
    c = structured_section(box{{0.3, 0.25}, {0.5, 0.5}}, 3, *s);
    REQUIRE(c.size() == 2);
    REQUIRE(c[0].hi[0] == 0.4);
    // one level in every coordinate: a leaf, nothing to split
    REQUIRE(structured_section(box{{0.3, 0.25}, {0.4, 0.5}}, 3, *s).empty());
    // an inactive coordinate is never split, whatever its weight
    s->w = {1.0, 100.0};
    s->is_active = [](std::size_t i, const box&) { return i != 1; };
    c = structured_section(unit(2), 3, *s);
    REQUIRE(c[0].hi[0] == 0.3);
    REQUIRE(structured_section(box{{0.3, 0.0}, {0.4, 1.0}}, 3, *s).empty());
    // a continuous coordinate: equal slices of its side
    auto r = grid({0});
    c = structured_section(box{{0.2}, {0.8}}, 3, *r);
    REQUIRE(c.size() == 3);
    REQUIRE(c[1].lo[0] == Approx(0.4));
    REQUIRE_THROWS_AS(structured_section(unit(2), 1, *s), fracnas::config_error);
}

TEST_CASE("with the structure, the tree samples every decoded point once, then stops", "[core][structure]") {
    const std::vector<std::uint64_t> n = {4, 3, 5};  // 60 decoded points
    for (const std::size_t in_flight : {1u, 4u}) {
        fractal_config cfg = preset_config("soo", 3, 1000);
        cfg.max_depth = 1000;
        cfg.fill_idle = false;
        fractal_optimizer opt(3, cfg, 1, stopping{1000}, "soo", grid(n));
        std::map<std::vector<std::uint64_t>, int> seen;
        fracnas::test::drive(
            opt,
            [&](const point& x) {
                const auto t = levels_at(x, n);
                ++seen[t];
                return static_cast<double>(t[0] + 2 * t[1] + 3 * t[2]);
            },
            in_flight);
        CAPTURE(in_flight);
        REQUIRE(seen.size() == 60);  // all of them
        for (const auto& [t, times] : seen) REQUIRE(times == 1);
        REQUIRE(opt.asked() == 60);
        REQUIRE(opt.stats().leaves > 0);
    }
    // the plain tree (longest side first, thirds of the cube) samples decoded points again
    fractal_config cfg = preset_config("soo", 3, 200);
    cfg.fill_idle = false;
    fractal_optimizer plain(3, cfg, 1, stopping{200}, "soo");
    std::map<std::vector<std::uint64_t>, int> seen;
    fracnas::test::drive(plain, [&](const point& x) {
        ++seen[levels_at(x, n)];
        return x[0] + x[1] + x[2];
    });
    REQUIRE(plain.asked() > seen.size());
}

TEST_CASE("with the structure, cells without a feasible point are closed unsampled", "[core][structure]") {
    auto s = grid({9, 9});
    // feasible only where coordinate 0 can reach its top three levels
    s->feasible = [](const box& b) { return level_span(b.lo[0], b.hi[0], 9).second >= 6; };
    fractal_config cfg = preset_config("soo", 2, 500);
    cfg.max_depth = 1000;
    cfg.fill_idle = false;
    fractal_optimizer opt(2, cfg, 3, stopping{500}, "soo", s);
    std::set<std::vector<std::uint64_t>> seen;
    fracnas::test::drive(opt, [&](const point& x) {
        seen.insert(levels_at(x, {9, 9}));
        return -x[1];
    });
    REQUIRE(opt.stats().pruned > 0);
    std::size_t below = 0;
    for (const auto& t : seen) below += t[0] < 6 ? 1 : 0;
    // the root's centre (level 4) was sampled before any split could prune
    REQUIRE(below == 1);
    REQUIRE(seen.size() == 1 + 27);  // every feasible point, once
}
