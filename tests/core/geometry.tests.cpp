// Split rules and samplers on boxes and hyperspheres, checked against hand-computed answers.
#include <catch2/catch.hpp>

#include <cmath>

#include "fracnas/core/geometry.hpp"
#include "fracnas/error.hpp"

using namespace fracnas::core;

TEST_CASE("k-section slices the longest side into a partition", "[core][geometry]") {
    const box b{{0.0, 0.2}, {0.5, 1.0}};  // sides 0.5 and 0.8: dim 1 is the longest
    const auto children = k_section(b, 3);
    REQUIRE(children.size() == 3);
    for (std::size_t j = 0; j < 3; ++j) {
        REQUIRE(children[j].lo[0] == 0.0);
        REQUIRE(children[j].hi[0] == 0.5);
        REQUIRE(children[j].lo[1] == Approx(0.2 + 0.8 * static_cast<double>(j) / 3));
        REQUIRE(children[j].hi[1] == Approx(0.2 + 0.8 * static_cast<double>(j + 1) / 3));
    }
    // the middle child of a trisection shares the parent's centre
    REQUIRE(centre(children[1])[1] == Approx(centre(b)[1]));
    // ties go to the lowest index
    REQUIRE(k_section(box{{0, 0}, {1, 1}}, 2)[0].hi == point{0.5, 1.0});
    REQUIRE_THROWS_WITH(k_section(b, 1), Catch::Contains("k >= 2"));
}

TEST_CASE("children of every box split partition their parent", "[core][geometry]") {
    const box unit{{0, 0, 0}, {1, 1, 1}};
    rng random(5);
    for (const auto& children : {k_section(unit, 4), bisect_all(unit), direct_trisection(unit, {2, 0, 1})}) {
        for (int trial = 0; trial < 500; ++trial) {
            const point x = uniform_in(unit, random);
            int owners = 0;
            for (const auto& c : children) owners += contains(c, x) ? 1 : 0;
            REQUIRE(owners == 1);
        }
        double volume = 0.0;
        for (const auto& c : children) volume += (c.hi[0] - c.lo[0]) * (c.hi[1] - c.lo[1]) * (c.hi[2] - c.lo[2]);
        REQUIRE(volume == Approx(1.0));
    }
    REQUIRE(contains(unit, point{1.0, 1.0, 1.0}));  // the cube's upper face belongs to it
    REQUIRE(bisect_all(unit).size() == 8);
    REQUIRE_THROWS_WITH(bisect_all(box{point(17, 0.0), point(17, 1.0)}), Catch::Contains("d <= 16"));
}

TEST_CASE("DIRECT's trisection gives the first dimension the largest children", "[core][geometry]") {
    const box unit{{0, 0}, {1, 1}};
    const auto c = direct_trisection(unit, {1, 0});
    REQUIRE(c.size() == 5);
    // dim 1 first: its thirds span the whole of dim 0
    REQUIRE(c[0].lo == point{0.0, 0.0});
    REQUIRE(c[0].hi[0] == 1.0);
    REQUIRE(c[0].hi[1] == Approx(1.0 / 3));
    REQUIRE(centre(c[1])[1] == Approx(5.0 / 6));
    // then dim 0 inside the middle band
    REQUIRE(c[2].hi[0] == Approx(1.0 / 3));
    REQUIRE(c[2].lo[1] == Approx(1.0 / 3));
    REQUIRE(centre(c[2])[0] == Approx(1.0 / 6));
    REQUIRE(centre(c[2])[1] == Approx(0.5));
    // the centre box keeps the centre
    REQUIRE(centre(c[4])[0] == Approx(0.5));
    REQUIRE(half_diagonal(c[4]) == Approx(std::sqrt(2.0) / 6));
    REQUIRE(half_diagonal(c[0]) > half_diagonal(c[2]));
    REQUIRE(longest_dims(c[0]) == std::vector<std::size_t>{0});
    REQUIRE(longest_dims(c[2]) == std::vector<std::size_t>{0, 1});
}

TEST_CASE("FDA's hypersphere split: 2d children of radius r/(1+sqrt 2)", "[core][geometry]") {
    const sphere s{{0.5, 0.5, 0.5}, 0.5};
    const auto children = split_sphere(s);
    REQUIRE(children.size() == 6);
    const double r = 0.5 / (1 + std::sqrt(2.0));
    for (std::size_t k = 0; k < 6; ++k) {
        REQUIRE(children[k].radius == Approx(r));
        const std::size_t axis = k / 2;
        const double sign = k % 2 == 0 ? -1.0 : 1.0;
        REQUIRE(children[k].centre[axis] == Approx(0.5 + sign * (0.5 - r)));
        // each child touches the parent's boundary from inside
        REQUIRE(std::fabs(children[k].centre[axis] - 0.5) + r == Approx(0.5));
    }
}

TEST_CASE("samplers stay in their cell and a Latin hypercube fills every stratum once", "[core][geometry]") {
    rng random(11);
    const box b{{0.2, 0.0}, {0.6, 0.5}};
    const auto pts = latin_hypercube(b, 8, random);
    REQUIRE(pts.size() == 8);
    for (std::size_t i = 0; i < 2; ++i) {
        std::vector<int> seen(8, 0);
        for (const auto& p : pts) {
            REQUIRE(contains(b, p));
            const auto stratum = static_cast<std::size_t>((p[i] - b.lo[i]) / (b.hi[i] - b.lo[i]) * 8);
            ++seen[std::min<std::size_t>(stratum, 7)];
        }
        for (int count : seen) REQUIRE(count == 1);
    }
    const sphere s{{0.9, 0.5}, 0.3};
    for (int i = 0; i < 200; ++i) {
        const point x = uniform_in(s, random);
        REQUIRE(x[0] <= 1.0);  // clipped to the cube
        REQUIRE(std::hypot(x[0] - 0.9, x[1] - 0.5) <= 0.3 + 1e-12);
    }
    const auto phs = phs_points(sphere{{0.5, 0.5}, 0.2});
    REQUIRE(phs.size() == 3);
    REQUIRE(phs[0] == point{0.5, 0.5});
    REQUIRE(phs[1][0] == Approx(0.5 + 0.2 / std::sqrt(2.0)));
    REQUIRE(phs[2][1] == Approx(0.5 - 0.2 / std::sqrt(2.0)));
}
