// Dominance, non-dominated sorting and the exact hypervolume, against hand-computed cases and
// against inclusion-exclusion over the points' boxes (exact for a handful of points).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fracnas/core/pareto.hpp"
#include "fracnas/core/rng.hpp"

using namespace fracnas;

namespace {

using points = std::vector<std::vector<double>>;

// The measure of the union of the boxes [p, reference] by inclusion-exclusion: each subset's
// intersection is the box from the componentwise maximum to the reference.
double union_of_boxes(const points& ps, const std::vector<double>& ref) {
    const std::size_t n = ps.size(), m = ref.size();
    double total = 0.0;
    for (std::size_t mask = 1; mask < (std::size_t{1} << n); ++mask) {
        std::vector<double> corner(m, -std::numeric_limits<double>::infinity());
        int members = 0;
        for (std::size_t i = 0; i < n; ++i)
            if (mask & (std::size_t{1} << i)) {
                ++members;
                for (std::size_t k = 0; k < m; ++k) corner[k] = std::max(corner[k], ps[i][k]);
            }
        double volume = 1.0;
        for (std::size_t k = 0; k < m; ++k) volume *= std::max(0.0, ref[k] - corner[k]);
        total += (members % 2 == 1 ? 1.0 : -1.0) * volume;
    }
    return total;
}

}  // namespace

TEST_CASE("dominance is strict in one objective and weak in the others", "[core][pareto]") {
    REQUIRE(core::dominates({1, 2}, {1, 3}));
    REQUIRE(core::dominates({0, 0, 0}, {1, 1, 1}));
    REQUIRE_FALSE(core::dominates({1, 2}, {1, 2}));  // equal: neither
    REQUIRE_FALSE(core::dominates({1, 3}, {2, 2}));  // a trade-off: neither
    REQUIRE_FALSE(core::dominates({2, 2}, {1, 3}));
}

TEST_CASE("non-dominated sorting peels fronts in order", "[core][pareto]") {
    const points ps = {{1, 5}, {2, 2}, {5, 1}, {3, 3}, {4, 4}, {2, 2}, {6, 6}};
    const auto rank = core::pareto_ranks(ps);
    REQUIRE(rank == std::vector<std::size_t>{0, 0, 0, 1, 2, 0, 3});  // the duplicate shares front 0
    REQUIRE(core::pareto_front(ps) == std::vector<std::size_t>{0, 1, 2, 5});
    REQUIRE(core::pareto_ranks({}).empty());
    REQUIRE_THROWS_AS(core::pareto_ranks({{1, 2}, {1}}), std::invalid_argument);
}

TEST_CASE("hypervolume of hand-computed 1-, 2- and 3-objective sets", "[core][pareto]") {
    REQUIRE(core::hypervolume({{3}, {1}, {5}}, {4}) == Approx(3.0));
    // a staircase: 3 + 2 + 1
    REQUIRE(core::hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}) == Approx(6.0));
    // a dominated point, a point on the reference's boundary and one outside add nothing
    REQUIRE(core::hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {4, 0}, {9, -1}}, {4, 4}) == Approx(6.0));
    REQUIRE(core::hypervolume({}, {4, 4}) == 0.0);
    REQUIRE(core::hypervolume({{1, 1, 1}}, {2, 2, 2}) == Approx(1.0));
    // two boxes of 4 and 2 sharing a unit cube
    REQUIRE(core::hypervolume({{0, 0, 1}, {1, 1, 0}}, {2, 2, 2}) == Approx(5.0));
    REQUIRE_THROWS_AS(core::hypervolume({{1, 1, 1, 1}}, {2, 2, 2, 2}), std::invalid_argument);
    REQUIRE_THROWS_AS(core::hypervolume({{1, 1}}, {2, 2, 2}), std::invalid_argument);
}

TEST_CASE("hypervolume equals inclusion-exclusion on random sets", "[core][pareto]") {
    core::rng r(17);
    for (const std::size_t m : {2, 3}) {
        for (int trial = 0; trial < 200; ++trial) {
            const std::size_t n = 1 + static_cast<std::size_t>(r.uniform() * 7.0);  // 1..7 points
            points ps(n, std::vector<double>(m));
            for (auto& p : ps)
                for (auto& v : p) v = std::floor(r.uniform() * 6.0) / 2.0;  // ties are common
            const std::vector<double> ref(m, 2.5);
            INFO("m " << m << " trial " << trial);
            REQUIRE(core::hypervolume(ps, ref) == Approx(union_of_boxes(ps, ref)).margin(1e-12));
        }
    }
}
