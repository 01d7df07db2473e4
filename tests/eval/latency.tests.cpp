// Latency summaries against numpy's default (linear) quantiles computed by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "fracnas/eval/latency.hpp"

using fracnas::eval::summarise;

TEST_CASE("median and quartiles interpolate linearly, whatever the order", "[eval]") {
    const auto s = summarise({5.0, 1.0, 4.0, 2.0, 3.0, 10.0});
    // sorted 1 2 3 4 5 10: median between 3 and 4; q1 at position 1.25, q3 at 3.75
    REQUIRE(s.median_ms == 3.5);
    REQUIRE(s.q1_ms == 2.25);
    REQUIRE(s.q3_ms == 4.75);
    REQUIRE(s.iqr_ms() == 2.5);
    REQUIRE(s.min_ms == 1.0);
    REQUIRE(s.max_ms == 10.0);
    REQUIRE(s.repeats == 6);
    const auto one = summarise({0.7});
    REQUIRE((one.median_ms == 0.7 && one.iqr_ms() == 0.0));
    REQUIRE_THROWS_WITH(summarise({}), Catch::Contains("no timings"));
    REQUIRE_THROWS_WITH(summarise({1.0, std::nan("")}), Catch::Contains("not a finite number"));
}
