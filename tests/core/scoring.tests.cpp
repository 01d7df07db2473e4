// Cell scores on hand-computed cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "fracnas/core/scoring.hpp"

using namespace fracnas::core;

TEST_CASE("best, mean and median scores", "[core][scoring]") {
    const std::vector<double> v{4.0, 1.0, 3.0, 10.0};
    const point p{0.0};
    const std::vector<const point*> xs(4, &p);
    REQUIRE(score_cell(scoring_kind::best, v, xs, {}) == 1.0);
    REQUIRE(score_cell(scoring_kind::mean, v, xs, {}) == 4.5);
    REQUIRE(score_cell(scoring_kind::median, v, xs, {}) == 3.5);
    const std::vector<double> odd{5.0, 1.0, 2.0};
    REQUIRE(score_cell(scoring_kind::median, odd, {&p, &p, &p}, {}) == 2.0);
    // a failed evaluation (+inf) is the worst value
    const double inf = std::numeric_limits<double>::infinity();
    REQUIRE(score_cell(scoring_kind::best, {inf, 2.0}, {&p, &p}, {}) == 2.0);
    REQUIRE(score_cell(scoring_kind::mean, {inf, 2.0}, {&p, &p}, {}) == inf);
}

TEST_CASE("distance to the best prefers good points near the best one", "[core][scoring]") {
    const point best{0.0, 0.0}, near{0.3, 0.4}, far{3.0, 4.0};
    score_context ctx;
    ctx.best_value = 1.0;
    ctx.best_x = &best;
    REQUIRE(score_cell(scoring_kind::distance_to_best, {2.0}, {&near}, ctx) == Approx(2.0));  // 1 / 0.5
    REQUIRE(score_cell(scoring_kind::distance_to_best, {2.0}, {&far}, ctx) == Approx(0.2));   // 1 / 5
    REQUIRE(score_cell(scoring_kind::distance_to_best, {1.0, 2.0}, {&best, &far}, ctx) == 0.0);
    REQUIRE(depends_on_best(scoring_kind::distance_to_best));
    REQUIRE_FALSE(depends_on_best(scoring_kind::median));
}

TEST_CASE("belief mixes the parent's score with the ratio to the best", "[core][scoring]") {
    const point p{0.0};
    score_context ctx;
    ctx.best_value = 2.0;
    ctx.parent_score = -0.5;
    ctx.belief_gamma = 0.5;
    // ratio 1 -> 1 * e^0 = 1: 0.5 * -0.5 - 0.5 * 1
    REQUIRE(score_cell(scoring_kind::belief, {2.0}, {&p}, ctx) == Approx(-0.75));
    // ratio 2 -> 2 e^-1
    REQUIRE(score_cell(scoring_kind::belief, {4.0}, {&p}, ctx) == Approx(-0.25 - 0.5 * 2 * std::exp(-1.0)));
}
