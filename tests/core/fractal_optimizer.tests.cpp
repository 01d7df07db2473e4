// The fractal tree: every tree search and sampler on cases whose answer is known, DIRECT's
// selection, ILS, failures as data, and determinism.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "drive.hpp"
#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/error.hpp"

using namespace fracnas;
using namespace fracnas::core;

namespace {

fractal_config base(search_kind search, std::size_t max_depth = 8) {
    fractal_config cfg;
    cfg.geometry = geometry_kind::k_section;
    cfg.sections = 3;
    cfg.search = search;
    cfg.sampler = sampler_kind::centre;
    cfg.max_depth = max_depth;
    cfg.record_expansions = true;
    return cfg;
}

double increasing(const point& x) {
    return x[0];
}

std::vector<std::uint32_t> depths(const fractal_optimizer& opt) {
    std::vector<std::uint32_t> d;
    for (const auto& e : opt.expansions()) d.push_back(e.depth);
    return d;
}

}  // namespace

TEST_CASE("a trisection's middle child reuses its parent's centre", "[core][fractal]") {
    fractal_optimizer opt(1, base(search_kind::soo), 1, stopping{3});
    test::drive(opt, increasing);
    // root centre, then only the two outer children: 1/6 and 5/6
    REQUIRE(opt.told() == 3);
    const auto cells = opt.cells();
    REQUIRE(cells.size() == 4);
    REQUIRE(cells[2].told == 1);  // the middle child holds the root's centre
    REQUIRE(cells[2].score == Approx(0.5));
}

TEST_CASE("best-first follows the best cell: on f(x) = x it dives to 0", "[core][fractal]") {
    fractal_optimizer opt(1, base(search_kind::best_first, 30), 1, stopping{41});
    test::drive(opt, increasing);
    const auto& e = opt.expansions();
    REQUIRE(e.size() >= 10);
    for (std::size_t i = 0; i < 10; ++i) {
        REQUIRE(e[i].depth == i);
        REQUIRE(e[i].centre[0] == Approx(0.5 * std::pow(3.0, -static_cast<double>(i))));
    }
    REQUIRE(opt.best()->value < 1e-8);
}

TEST_CASE("breadth-first finishes a level before the next", "[core][fractal]") {
    fractal_optimizer opt(2, base(search_kind::breadth_first), 1, stopping{200});
    test::drive(opt, [](const point& x) { return x[0] + x[1]; });
    const auto d = depths(opt);
    REQUIRE(std::is_sorted(d.begin(), d.end()));
    // level h holds 3^h cells: all 1 + 3 + 9 are expanded before any of depth 3
    REQUIRE(std::count(d.begin(), d.end(), 2U) == 9);
}

TEST_CASE("depth-first always expands the deepest open level", "[core][fractal]") {
    fractal_optimizer opt(2, base(search_kind::depth_first, 6), 1, stopping{200});
    test::drive(opt, [](const point& x) { return std::fabs(x[0] - 0.7) + std::fabs(x[1] - 0.2); });
    const auto d = depths(opt);
    for (std::uint32_t h = 0; h < 6; ++h) REQUIRE(d[h] == h);  // straight down first
    // then the siblings at depth 5, before anything shallower
    REQUIRE(d[6] == 5);
}

TEST_CASE("SOO's sweeps obey Munos' rule", "[core][fractal]") {
    fractal_optimizer opt(2, base(search_kind::soo, 30), 3, stopping{2000});
    test::drive(opt, [](const point& x) {
        return 20 + std::pow(10 * x[0] - 3, 2) - 10 * std::cos(2 * M_PI * (10 * x[0] - 3)) + std::pow(10 * x[1] - 7, 2) -
               10 * std::cos(2 * M_PI * (10 * x[1] - 7));
    });
    const auto& e = opt.expansions();
    REQUIRE(e.size() > 100);
    // a sweep is a run of strictly increasing depths; within it each expanded cell is at least as
    // good as every shallower one (v_min), so the scores never increase
    std::size_t sweeps = 1;
    for (std::size_t i = 1; i < e.size(); ++i) {
        if (e[i].depth > e[i - 1].depth)
            REQUIRE(e[i].score <= e[i - 1].score);
        else
            ++sweeps;
    }
    REQUIRE(sweeps > 10);
    REQUIRE(opt.best()->value < 1e-6);  // the shifted Rastrigin optimum is 0
}

TEST_CASE("cyclic best-first visits the levels in turn", "[core][fractal]") {
    fractal_optimizer opt(2, base(search_kind::cyclic_best_first, 4), 1, stopping{300});
    test::drive(opt, [](const point& x) { return x[0] * x[0] + x[1]; });
    const auto d = depths(opt);
    // each expansion goes one level deeper than the last, or wraps back to a shallower level
    std::size_t wraps = 0;
    for (std::size_t i = 1; i < d.size(); ++i) {
        if (d[i] <= d[i - 1])
            ++wraps;
        else
            REQUIRE(d[i] == d[i - 1] + 1);
    }
    REQUIRE(wraps > 5);
}

TEST_CASE("beam expands at most beam_width cells per level in each top-down pass, then starts another pass", "[core][fractal]") {
    auto cfg = base(search_kind::beam, 10);
    cfg.beam_width = 2;
    fractal_optimizer opt(2, cfg, 1, stopping{300});
    test::drive(opt, [](const point& x) { return x[0] + 2 * x[1]; });
    // a pass goes down the levels: a shallower expansion than the one before starts the next pass
    std::vector<std::map<std::uint32_t, int>> passes(1);
    std::uint32_t previous = 0;
    for (auto h : depths(opt)) {
        if (h < previous) passes.emplace_back();
        ++passes.back()[h];
        previous = h;
    }
    for (const auto& pass : passes)
        for (const auto& [level, count] : pass) REQUIRE(count <= 2);
    REQUIRE(passes.size() >= 2);
    REQUIRE(opt.told() == 300);
    REQUIRE(opt.stats().fill_points == 0);  // the tree, not uniform filling, spends the budget
    REQUIRE(opt.best()->value < 0.01);
}

TEST_CASE("epsilon-greedy: epsilon 0 is best-first, epsilon 1 explores", "[core][fractal]") {
    auto run = [](search_kind kind, double eps) {
        auto cfg = base(kind, 12);
        cfg.epsilon = eps;
        fractal_optimizer opt(2, cfg, 9, stopping{150});
        test::drive(opt, [](const point& x) { return std::hypot(x[0] - 0.8, x[1] - 0.3); });
        std::vector<std::uint32_t> order;
        for (const auto& e : opt.expansions()) order.push_back(e.cell);
        return order;
    };
    REQUIRE(run(search_kind::epsilon_greedy, 0.0) == run(search_kind::best_first, 0.0));
    REQUIRE(run(search_kind::epsilon_greedy, 1.0) != run(search_kind::best_first, 0.0));
}

TEST_CASE("move-up exploits the best deepest cell, closes its siblings and climbs", "[core][fractal]") {
    fractal_config cfg;
    cfg.geometry = geometry_kind::hypersphere;
    cfg.search = search_kind::move_up;
    cfg.sampler = sampler_kind::phs;
    cfg.scoring = scoring_kind::best;
    cfg.max_depth = 2;
    cfg.exploitation = exploitation_kind::ils;
    cfg.ils_budget = 10;
    cfg.record_expansions = true;
    fractal_optimizer opt(2, cfg, 1, stopping{400});
    test::drive(opt, [](const point& x) { return std::hypot(x[0] - 0.3, x[1] - 0.6); });
    const auto& e = opt.expansions();
    const auto cells = opt.cells();
    std::size_t exploited = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (!e[i].exploited) continue;
        ++exploited;
        REQUIRE(e[i].depth == 2);
        // the exploited cell was the best of its open siblings, which are now closed
        for (const auto& c : cells)
            if (c.parent == cells[e[i].cell].parent && c.index != e[i].cell) REQUIRE(c.state == "closed");
        if (i + 1 < e.size()) REQUIRE(e[i + 1].depth == 1);  // next: move up one level
    }
    REQUIRE(exploited >= 3);
    REQUIRE(opt.stats().ils_sessions == exploited);
}

TEST_CASE("DIRECT's potentially optimal cells on known hulls", "[core][fractal]") {
    // (size, value): only the largest cell with the lowest value qualifies
    REQUIRE(potentially_optimal({{1, 5}, {2, 3}, {3, 4}, {4, 1}}, 1e-4) == std::vector<std::size_t>{3});
    // all three lie on the lower-right hull
    REQUIRE(potentially_optimal({{1, 0}, {2, 1}, {3, 3}}, 1e-4) == std::vector<std::size_t>{0, 1, 2});
    // epsilon removes a cell whose best possible improvement is too small
    REQUIRE(potentially_optimal({{1, 1.0}, {2, 1.5}}, 0.4) == std::vector<std::size_t>{0, 1});
    REQUIRE(potentially_optimal({{1, 1.0}, {2, 1.5}}, 0.6) == std::vector<std::size_t>{1});
}

TEST_CASE("DIRECT probes the longest sides and trisects the best direction first", "[core][fractal]") {
    fractal_config cfg;
    cfg.geometry = geometry_kind::direct;
    cfg.search = search_kind::direct;
    cfg.max_depth = 1000;
    // f varies most along x1; its probe at x1 = 5/6 is the best, so dim 1 is split first
    auto f = [](const point& x) { return 0.1 * std::pow(x[0] - 0.5, 2) + std::pow(x[1] - 0.8, 2); };
    fractal_optimizer opt(2, cfg, 1, stopping{5});
    test::drive(opt, f);  // centre + 4 probes
    const auto cells = opt.cells();
    REQUIRE(cells.size() == 6);
    REQUIRE(cells[0].state == "expanded");
    // the first children are dim 1's thirds, spanning the whole of dim 0
    REQUIRE(cells[1].b.hi[0] == 1.0);
    REQUIRE(cells[1].b.hi[1] == Approx(1.0 / 3));
    REQUIRE(cells[2].b.lo[1] == Approx(2.0 / 3));
    for (std::size_t i = 1; i < 6; ++i) REQUIRE(cells[i].told == 1);  // each child holds its probe
    REQUIRE(cells[1].level == 1);
    REQUIRE(cells[5].level == 2);
}

TEST_CASE("ILS reaches its precision on a smooth bowl", "[core][fractal]") {
    fractal_config cfg;
    cfg.geometry = geometry_kind::hypersphere;
    cfg.search = search_kind::move_up;
    cfg.sampler = sampler_kind::centre;
    cfg.max_depth = 1;
    cfg.exploitation = exploitation_kind::ils;
    cfg.ils_precision = 1e-10;
    fractal_optimizer opt(3, cfg, 1, stopping{3000});
    test::drive(opt, [](const point& x) { return std::pow(x[0] - 0.41, 2) + std::pow(x[1] - 0.73, 2) + std::pow(x[2] - 0.12, 2); });
    REQUIRE(opt.stats().ils_sessions >= 1);
    REQUIRE(opt.best()->value < 1e-16);
}

TEST_CASE("failed evaluations are data: the run goes on and they count as the worst", "[core][fractal]") {
    fractal_optimizer opt(2, base(search_kind::soo, 20), 1, stopping{500});
    core::rng fail(3);
    std::size_t failures = 0;
    while (!opt.done()) {
        for (const auto& t : opt.ask(4)) {
            const bool failed = fail.uniform() < 0.2;
            failures += failed ? 1 : 0;
            opt.tell({result{t.id, failed ? 0.0 : std::hypot(t.x[0] - 0.2, t.x[1] - 0.9), failed ? eval_status::failed : eval_status::ok}});
        }
    }
    REQUIRE(opt.failures() == failures);
    REQUIRE(failures > 50);
    REQUIRE(opt.told() == 500);
    REQUIRE(opt.best()->value > 0.0);  // the failures' 0.0 was never taken as a value
    REQUIRE(opt.best()->value < 1e-2);
}

TEST_CASE("the same seed and tell order give the same points, another seed differs", "[core][fractal]") {
    auto trace = [](std::uint64_t seed, std::uint64_t order) {
        fractal_config cfg = base(search_kind::epsilon_greedy, 10);
        cfg.sampler = sampler_kind::latin_hypercube;
        cfg.samples_per_cell = 3;
        fractal_optimizer opt(3, cfg, seed, stopping{300});
        std::vector<double> xs;
        test::drive(
            opt,
            [&xs](const point& x) {
                xs.insert(xs.end(), x.begin(), x.end());
                return std::sin(7 * x[0]) + x[1] * x[2];
            },
            8, order);
        return xs;
    };
    REQUIRE(trace(1, 1) == trace(1, 1));
    REQUIRE(trace(1, 1) != trace(2, 1));
    REQUIRE(trace(1, 1) != trace(1, 2));  // the order of tells is part of the input
}

TEST_CASE("configuration errors name the field", "[core][fractal]") {
    fractal_config cfg;
    cfg.sections = 1;
    REQUIRE_THROWS_WITH(fractal_optimizer(2, cfg, 1, stopping{}), Catch::Contains("2 <= k"));
    cfg = fractal_config{};
    cfg.geometry = geometry_kind::bisection;
    REQUIRE_THROWS_WITH(fractal_optimizer(20, cfg, 1, stopping{}), Catch::Contains("d <= 16"));
    cfg = fractal_config{};
    cfg.search = search_kind::direct;
    REQUIRE_THROWS_WITH(fractal_optimizer(2, cfg, 1, stopping{}), Catch::Contains("direct geometry"));
    cfg = fractal_config{};
    cfg.max_depth = 0;
    REQUIRE_THROWS_WITH(fractal_optimizer(2, cfg, 1, stopping{}), Catch::Contains("maximum depth"));
    REQUIRE_THROWS_WITH(parse_search("sideways"), Catch::Contains("valid: breadth-first"));
    try {
        parse_sampler("nope");
        FAIL("no throw");
    } catch (const config_error& e) {
        REQUIRE(e.field() == "sampler");
    }
    for (const char* name : {"k-section", "direct", "bisection", "hypersphere"}) REQUIRE(to_string(parse_geometry(name)) == name);
}
