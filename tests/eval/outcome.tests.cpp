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

TEST_CASE("a reference timing: the first in a process warms the device and is not kept, then the median over the builds", "[eval]") {
    // a CPU worker under load: the first timing 86 ms, the next ones near 56 (docs/eval.md)
    std::vector<double> decodes = {86.0, 57.0, 55.0, 56.0, 58.0, 54.0, 59.0};
    std::size_t calls = 0;
    const auto measure = [&] {
        const double d = decodes.at(calls++);
        return timed(d, 2 * d, 10, 1, 0.1);
    };
    const auto first = eval::reference_timing(measure, 3, true);
    REQUIRE(calls == 4);  // the warm-up, then three builds
    REQUIRE(first.status == eval::outcome_status::ok);
    REQUIRE(first.value == 56.0);  // median of 57, 55, 56: the 86 ms warm-up is not in it
    REQUIRE(first.reference_ms == 56.0);
    REQUIRE(first.repeats == 30);  // the kept builds' timed runs only
    const auto later = eval::reference_timing(measure, 3, false);
    REQUIRE(calls == 7);  // no warm-up after the first
    REQUIRE(later.value == 58.0);
    // at least one build
    calls = 0;
    REQUIRE(eval::reference_timing(measure, 0, false).value == 86.0);
    REQUIRE(calls == 1);
    // a failed build comes back as it is; a failed warm-up is not kept either
    std::size_t n = 0;
    const auto fails_second = [&] {
        auto o = timed(50.0, 100.0, 10, 1, 0.1);
        if (++n == 2) {
            o.status = eval::outcome_status::out_of_memory;
            o.message = "second";
        }
        return o;
    };
    const auto failed = eval::reference_timing(fails_second, 3, false);
    REQUIRE(failed.status == eval::outcome_status::out_of_memory);
    REQUIRE(failed.message == "second");
    REQUIRE(n == 2);  // no build after the failure
    n = 1;            // the next call, the warm-up, fails
    const auto warmed = eval::reference_timing(fails_second, 2, true);
    REQUIRE(warmed.status == eval::outcome_status::ok);
    REQUIRE(warmed.value == 50.0);
}
