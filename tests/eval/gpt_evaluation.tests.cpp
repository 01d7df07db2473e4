// Latency ratios against a reference result: only where both sides were measured.
#include <catch2/catch.hpp>

#include "fracnas/eval/gpt_evaluator.hpp"

using namespace fracnas::eval;

namespace {

latency_stats at(double median) {
    latency_stats s;
    s.median_ms = median;
    s.repeats = 1;
    return s;
}

}  // namespace

TEST_CASE("latency ratios divide medians where both results have the latency", "[eval]") {
    gpt_evaluation candidate, reference;
    candidate.decode = at(0.25);
    candidate.prefill = at(3.0);
    reference.decode = at(0.5);
    reference.scenario = at(80.0);
    const auto r = ratios(candidate, reference);
    REQUIRE(r.decode);
    REQUIRE(*r.decode == Approx(0.5));
    REQUIRE_FALSE(r.prefill);   // the reference has no prefill timing
    REQUIRE_FALSE(r.scenario);  // the candidate has no scenario timing
    reference.prefill = at(2.0);
    REQUIRE(*ratios(candidate, reference).prefill == Approx(1.5));
    reference.decode = at(0.0);  // a zero reference gives no ratio rather than infinity
    REQUIRE_FALSE(ratios(candidate, reference).decode);
}
