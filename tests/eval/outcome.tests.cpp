// Outcomes: status names and their parser, and several measurements of one model taken as one.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include "fracnas/error.hpp"
#include "fracnas/eval/outcome.hpp"

using namespace fracnas;

namespace {

eval::outcome timed(double decode, double prefill, std::uint32_t repeats, std::uint64_t peak, double wall) {
    eval::outcome o;
    o.value = decode;
    o.decode_ms = decode;
    o.decode_iqr_ms = decode / 100.0;
    o.prefill_ms = prefill;
    o.prefill_iqr_ms = prefill / 100.0;
    o.repeats = repeats;
    o.peak_memory_bytes = peak;
    o.wall_seconds = wall;
    o.message = "first";
    return o;
}

}  // namespace

TEST_CASE("status names round-trip, and an unknown one is refused by name", "[eval]") {
    // the one vocabulary of evaluations and trainings: every value 0..7 has its own name, and the
    // values the archive and the wire hold stay where they were
    std::set<std::string> names;
    for (auto s : {eval::outcome_status::ok, eval::outcome_status::invalid, eval::outcome_status::out_of_memory,
                   eval::outcome_status::error, eval::outcome_status::timeout, eval::outcome_status::device_lost,
                   eval::outcome_status::diverged, eval::outcome_status::stopped}) {
        REQUIRE(eval::parse_outcome_status(eval::to_string(s)) == s);
        names.insert(eval::to_string(s));
    }
    REQUIRE(names.size() == 8);
    REQUIRE(static_cast<int>(eval::outcome_status::device_lost) == 5);
    REQUIRE(std::string(eval::to_string(eval::outcome_status::diverged)) == "diverged");
    REQUIRE(static_cast<int>(eval::outcome_status::stopped) == 7);
    REQUIRE_THROWS_AS(eval::parse_outcome_status("fine"), config_error);
}

TEST_CASE("several builds' timings as one: medians per field, runs and walls summed, the largest peak", "[eval]") {
    SECTION("an odd count takes the middle value of each field on its own") {
        // the decode and the prefill medians come from different builds
        const auto m =
            eval::median_outcome({timed(0.45, 0.90, 10, 100, 0.05), timed(0.47, 0.80, 10, 300, 0.06), timed(0.46, 0.85, 10, 200, 0.07)});
        REQUIRE(m.value == 0.46);
        REQUIRE(m.decode_ms == 0.46);
        REQUIRE(m.decode_iqr_ms == Approx(0.0046));
        REQUIRE(m.prefill_ms == 0.85);
        REQUIRE(m.prefill_iqr_ms == Approx(0.0085));
        REQUIRE(m.repeats == 30);
        REQUIRE(m.peak_memory_bytes == 300);
        REQUIRE(m.wall_seconds == Approx(0.18));
        REQUIRE(m.message == "first");
    }
    SECTION("an even count takes the mean of the middle two") {
        const auto m = eval::median_outcome({timed(0.40, 0.80, 5, 1, 1.0), timed(0.50, 1.00, 5, 1, 1.0)});
        REQUIRE(m.value == Approx(0.45));
        REQUIRE(m.prefill_ms == Approx(0.90));
        REQUIRE(m.repeats == 10);
    }
    SECTION("one outcome is itself, and a field not measured stays absent") {
        auto only = timed(0.5, 0.9, 7, 9, 2.0);
        only.prefill_ms = only.prefill_iqr_ms = eval::outcome::none;
        const auto m = eval::median_outcome({only});
        REQUIRE(m.decode_ms == 0.5);
        REQUIRE(m.repeats == 7);
        REQUIRE(std::isnan(m.prefill_ms));
    }
    REQUIRE_THROWS_AS(eval::median_outcome({}), std::invalid_argument);
}
