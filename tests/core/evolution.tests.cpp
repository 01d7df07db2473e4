// LiteTransformerSearch's evolution as an optimizer: its generations (LTS's sizes), its rejection
// of infeasible and repeated children through a cube_structure, failures as data, the checks of
// its configuration, and that it searches (it beats random search at equal budget).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "drive.hpp"
#include "fracnas/core/evolution.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/objectives.hpp"

using namespace fracnas;

namespace {

std::vector<core::result> all_told(const std::vector<core::task>& tasks, double (*f)(const core::point&)) {
    std::vector<core::result> r;
    for (const auto& t : tasks) r.push_back(core::result{t.id, f(t.x), core::eval_status::ok});
    return r;
}

double sum_of_squares(const core::point& x) {
    double s = 0.0;
    for (const double v : x) s += (v - 0.3) * (v - 0.3);
    return s;
}

// Two coordinates of 4 levels each; a point is feasible when coordinate 0 is on level 2 or 3, and
// coordinate 1 matters only then (a "layer" beyond the depth when coordinate 0 is low).
struct tiny_space final : core::cube_structure {
    std::uint64_t levels(std::size_t, const core::box&) const override { return 4; }
    bool active(std::size_t i, const core::box& b) const override { return i == 0 || b.hi[0] > 0.5; }
    bool may_be_feasible(const core::box& b) const override { return b.hi[0] > 0.5; }
};

}  // namespace

TEST_CASE("evolution proposes LTS's generations: 100 random, then 40 mutations and 40 crossovers of 20 parents", "[core][evolution]") {
    core::evolution opt(6, core::evolution_config{}, 3, core::stopping{1000});
    REQUIRE(opt.name() == "evolution");
    const auto first = opt.ask(1000);
    REQUIRE(first.size() == 100);
    REQUIRE(opt.ask(5).empty());  // a generation is told in full before the next is made
    auto told = all_told(first, sum_of_squares);
    opt.tell({told.begin(), told.begin() + 99});
    REQUIRE(opt.ask(5).empty());
    opt.tell({told.back()});
    const auto second = opt.ask(1000);
    REQUIRE(second.size() == 80);  // the 20 parents are kept, not measured again
    REQUIRE(opt.generations() == 2);
    std::set<core::point> seen;
    for (const auto& t : first) seen.insert(t.x);
    for (const auto& t : second) REQUIRE(seen.insert(t.x).second);  // never a repeat
    // the parents are the best points: every child shares most coordinates with one of the 20 best
    std::vector<core::task> best(first);
    std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return sum_of_squares(a.x) < sum_of_squares(b.x); });
    best.resize(20);
    std::size_t mutated_from_best = 0;
    for (const auto& child : second) {
        for (const auto& p : best) {
            std::size_t same = 0;
            for (std::size_t i = 0; i < 6; ++i) same += child.x[i] == p.x[i];
            if (same >= 2) {
                ++mutated_from_best;
                break;
            }
        }
    }
    // (a mutation keeps each coordinate with probability 0.7, a crossover takes each from a parent:
    // children of the worst points would share none with the best)
    REQUIRE(mutated_from_best >= 9 * second.size() / 10);
    opt.tell(all_told(second, sum_of_squares));
    REQUIRE(opt.ask(1000).size() == 80);
}

TEST_CASE("evolution never proposes an infeasible or an already-proposed point when the structure can tell", "[core][evolution]") {
    // feasible decoded points of tiny_space: coordinate 0 on level 2 or 3, coordinate 1 on any
    // of 4 levels: 8 of them
    auto decoded_of = [](const core::task& t) { return std::make_pair(core::level_of(t.x[0], 4), core::level_of(t.x[1], 4)); };
    core::evolution_config cfg;
    cfg.population = 6;
    cfg.parents = 2;
    cfg.mutations = 2;
    cfg.crossovers = 2;
    core::evolution opt(2, cfg, 5, core::stopping{6}, std::make_shared<tiny_space>());
    std::set<std::pair<std::uint64_t, std::uint64_t>> decoded;
    for (const auto& t : opt.ask(10)) {
        INFO("x = (" << t.x[0] << ", " << t.x[1] << ")");
        REQUIRE(core::level_of(t.x[0], 4) >= 2);
        REQUIRE(decoded.insert(decoded_of(t)).second);
    }
    REQUIRE(decoded.size() == 6);
    REQUIRE(opt.forced() == 0);
    // ten points from a space of eight: the first eight are all of them, the last two are kept
    // after max_tries rejected draws, and counted
    cfg.population = 10;
    cfg.mutations = 4;
    cfg.crossovers = 4;
    core::evolution full(2, cfg, 5, core::stopping{10}, std::make_shared<tiny_space>());
    const auto tasks = full.ask(10);
    REQUIRE(tasks.size() == 10);
    decoded.clear();
    for (std::size_t k = 0; k < 8; ++k) {
        REQUIRE(core::level_of(tasks[k].x[0], 4) >= 2);
        REQUIRE(decoded.insert(decoded_of(tasks[k])).second);
    }
    REQUIRE(full.forced() == 2);
    // without a structure only exact repeats are rejected, so nothing is forced
    core::evolution plain(2, cfg, 5, core::stopping{10});
    REQUIRE(plain.ask(10).size() == 10);
    REQUIRE(plain.forced() == 0);
}

TEST_CASE("evolution takes failures as the worst values and goes on", "[core][evolution]") {
    core::evolution_config cfg;
    cfg.population = 10;
    cfg.parents = 2;
    cfg.mutations = 4;
    cfg.crossovers = 4;
    core::evolution opt(3, cfg, 1, core::stopping{40});
    auto tasks = opt.ask(100);
    REQUIRE(tasks.size() == 10);
    std::vector<core::result> r;
    for (const auto& t : tasks) r.push_back({t.id, 0.0, core::eval_status::failed});
    opt.tell(r);
    tasks = opt.ask(100);  // nothing has a value: a random generation again
    REQUIRE(tasks.size() == 10);
    opt.tell(all_told(tasks, sum_of_squares));
    REQUIRE(opt.ask(100).size() == 8);
    REQUIRE(opt.failures() == 10);
}

TEST_CASE("evolution beats random search at equal budget, sequential and with 16 in flight", "[core][evolution]") {
    for (const std::size_t outstanding : {1UL, 16UL})
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            const auto f = eval::make_objective("rosenbrock", 6, seed);
            auto run = [&](const std::string& name) {
                auto opt = core::make_optimizer(name, 6, seed, core::stopping{2000});
                test::drive(
                    *opt, [&](const core::point& x) { return (*f)(x); }, outstanding, seed);
                REQUIRE(opt->told() == 2000);
                return opt->best()->value;
            };
            INFO("seed " << seed << ", " << outstanding << " in flight");
            REQUIRE(run("evolution") < run("random"));
        }
}

TEST_CASE("evolution's configuration is checked", "[core][evolution]") {
    core::evolution_config cfg;
    cfg.population = 99;
    REQUIRE_THROWS_WITH(core::evolution(2, cfg, 1, core::stopping{}), Catch::Contains("must be parents + mutations + crossovers (100)"));
    cfg = {};
    cfg.mutation_prob = 1.5;
    REQUIRE_THROWS_AS(core::evolution(2, cfg, 1, core::stopping{}), config_error);
    cfg = {};
    cfg.parents = 0;
    cfg.population = 80;
    REQUIRE_THROWS_WITH(core::evolution(2, cfg, 1, core::stopping{}), Catch::Contains("at least 1 parent"));
    REQUIRE_FALSE(core::is_fractal_preset("evolution"));
    REQUIRE_THROWS_WITH(core::preset_config("evolution", 2, 100), Catch::Contains("'evolution' is not a fractal preset"));
}
