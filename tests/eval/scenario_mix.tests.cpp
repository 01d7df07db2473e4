// A serving mix (eval/scenario_mix.hpp) over the latency model's scenarios: the objective is the
// weighted mean of each scenario's ratio to the reference, each calibrated by its own timing.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/eval/scenario_mix.hpp"
#include "fracnas/nas/architecture.hpp"

using namespace fracnas;

namespace {

// The analytic latency model at one scenario: a decode step of `batch` sequences at `context`
// cached tokens, or a prefill of batch x context tokens.
std::unique_ptr<eval::job_evaluator> scenario(bool prefill, std::uint32_t batch, std::uint32_t context, std::uint64_t fail_on = 0) {
    eval::latency_model_config m;
    m.prefill = prefill;
    m.batch = batch;
    m.context = context;
    m.reference.context = 4096;
    m.faults.device_lost_on_call = fail_on;
    return std::make_unique<eval::latency_model_evaluator>(m);
}

// Another model of each scenario, to read its latencies directly.
double model_ms(bool prefill, std::uint32_t batch, std::uint32_t context, const nas::architecture& a) {
    eval::latency_model_config m;
    m.prefill = prefill;
    m.batch = batch;
    m.context = context;
    return eval::latency_model_evaluator(m).model_ms(a);
}

}  // namespace

TEST_CASE("a serving mix: the weighted mean of the scenarios' ratios, each to the reference in that scenario", "[eval]") {
    std::vector<eval::mix_part> parts;
    parts.push_back({scenario(false, 1, 1023), 1.0});
    parts.push_back({scenario(false, 32, 4095), 0.5});
    parts.push_back({scenario(true, 1, 2048), 2.0});
    auto mix = eval::make_scenario_mix(std::move(parts));
    nas::architecture cand = nas::parse_architecture("n_layer=4 d_model=1024 d_inner=4096,4096,4096,4096 n_head=16,16,16,16");
    cand.context = 4096;
    auto ref = nas::gpt2_small();
    ref.context = 4096;

    // before the reference is timed there is nothing to compare with
    const eval::outcome early = mix->evaluate({}, nas::canonical(cand));
    REQUIRE(early.status == eval::outcome_status::error);
    REQUIRE(early.message == "the reference has not been timed in the mix's scenarios.");

    const eval::outcome r = mix->time_reference();
    REQUIRE(r.status == eval::outcome_status::ok);
    const std::vector<double> rs = {model_ms(false, 1, 1023, ref), model_ms(false, 32, 4095, ref), model_ms(true, 1, 2048, ref)};
    REQUIRE(r.scenario_ms.size() == 3);
    for (std::size_t s = 0; s < 3; ++s) REQUIRE(r.scenario_ms[s] == Approx(rs[s]).epsilon(1e-12));
    const double reference_mean = (1.0 * rs[0] + 0.5 * rs[1] + 2.0 * rs[2]) / 3.5;
    REQUIRE(r.reference_ms == Approx(reference_mean).epsilon(1e-12));
    REQUIRE(r.value == Approx(reference_mean).epsilon(1e-12));  // the reference's ratio is 1

    const eval::outcome c = mix->evaluate({}, nas::canonical(cand));
    INFO(c.message);
    REQUIRE(c.status == eval::outcome_status::ok);
    const std::vector<double> ts = {model_ms(false, 1, 1023, cand), model_ms(false, 32, 4095, cand), model_ms(true, 1, 2048, cand)};
    REQUIRE(c.scenario_ms.size() == 3);
    REQUIRE(c.scenario_reference_ms.size() == 3);
    for (std::size_t s = 0; s < 3; ++s) {
        REQUIRE(c.scenario_ms[s] == Approx(ts[s]).epsilon(1e-12));
        REQUIRE(c.scenario_reference_ms[s] == Approx(rs[s]).epsilon(1e-12));
    }
    const double mean_ratio = (1.0 * ts[0] / rs[0] + 0.5 * ts[1] / rs[1] + 2.0 * ts[2] / rs[2]) / 3.5;
    REQUIRE(c.value / c.reference_ms == Approx(mean_ratio).epsilon(1e-12));
    // not the ratio of the weighted means: the prefill's milliseconds do not drown the decode steps'
    REQUIRE(std::abs(c.value / c.reference_ms - (ts[0] + 0.5 * ts[1] + 2.0 * ts[2]) / (rs[0] + 0.5 * rs[1] + 2.0 * rs[2])) > 1e-3);
    REQUIRE(c.decode_ms == Approx(ts[0]).epsilon(1e-12));  // the first scenario's fields
    const auto each = eval::scenario_ratios(c);
    REQUIRE(each.size() == 3);
    for (std::size_t s = 0; s < 3; ++s) REQUIRE(each[s] == Approx(ts[s] / rs[s]).epsilon(1e-12));
    char expected[96];
    std::snprintf(expected, sizeof expected, " (scenarios x%.3f x%.3f x%.3f)", each[0], each[1], each[2]);
    REQUIRE(eval::scenario_ratio_text(c) == expected);
    REQUIRE(eval::scenario_ratio_text(eval::outcome{}).empty());  // one scenario: nothing
    REQUIRE(mix->binding().kind == "model");
}

namespace {

// A scenario whose candidate always takes `ms` and whose reference timings are given in turn.
class scripted final : public eval::job_evaluator {
public:
    scripted(double ms, std::vector<eval::outcome> references) : ms_(ms), references_(std::move(references)) {}
    eval::outcome evaluate(const core::point&, const std::string&) noexcept override {
        eval::outcome o;
        o.value = o.decode_ms = ms_;
        return o;
    }
    eval::outcome time_reference() noexcept override { return references_.at(next_++); }
    eval::device_binding binding() const override { return {}; }

private:
    double ms_;
    std::vector<eval::outcome> references_;
    std::size_t next_ = 0;
};

eval::outcome reference_at(double ms) {
    eval::outcome o;
    o.value = o.reference_ms = ms;
    return o;
}

}  // namespace

TEST_CASE("a serving mix: a scenario's failure is the outcome, naming it, and a failed re-timing keeps the last", "[eval]") {
    eval::outcome lost;
    lost.status = eval::outcome_status::device_lost;
    lost.message = "the device was lost.";
    std::vector<eval::mix_part> parts;
    parts.push_back({std::make_unique<scripted>(1.0, std::vector<eval::outcome>{reference_at(2.0), lost, reference_at(4.0)}), 1.0});
    // scenario 2 is not timed when scenario 1 fails first: its second timing is the third call's
    parts.push_back({std::make_unique<scripted>(3.0, std::vector<eval::outcome>{reference_at(6.0), reference_at(3.0)}), 3.0});
    auto mix = eval::make_scenario_mix(std::move(parts));
    REQUIRE(mix->time_reference().status == eval::outcome_status::ok);
    const auto ratio = [&] {
        const eval::outcome o = mix->evaluate({}, "");
        REQUIRE(o.status == eval::outcome_status::ok);
        return o.value / o.reference_ms;
    };
    REQUIRE(ratio() == Approx((1.0 * 1.0 / 2.0 + 3.0 * 3.0 / 6.0) / 4.0));
    const eval::outcome failed = mix->time_reference();  // scenario 1's timing fails
    REQUIRE(failed.status == eval::outcome_status::device_lost);
    REQUIRE(failed.message == "scenario 1 of 2: the device was lost.");
    REQUIRE(ratio() == Approx((1.0 * 1.0 / 2.0 + 3.0 * 3.0 / 6.0) / 4.0));  // the last complete calibration
    REQUIRE(mix->time_reference().status == eval::outcome_status::ok);      // both again: 4 and 3
    REQUIRE(ratio() == Approx((1.0 * 1.0 / 4.0 + 3.0 * 3.0 / 3.0) / 4.0));

    // a candidate that fails in one scenario fails, naming it
    std::vector<eval::mix_part> model;
    model.push_back({scenario(false, 1, 1023), 1.0});
    model.push_back({scenario(false, 8, 1023, 2), 1.0});  // its second evaluation loses the device
    auto m = eval::make_scenario_mix(std::move(model));
    REQUIRE(m->time_reference().status == eval::outcome_status::ok);
    const std::string spec = "n_layer=2 d_model=256 d_inner=1024,1024 n_head=4,4 context=4096";
    REQUIRE(m->evaluate({}, spec).status == eval::outcome_status::ok);
    const eval::outcome gone = m->evaluate({}, spec);
    REQUIRE(gone.status == eval::outcome_status::device_lost);
    REQUIRE(gone.message == "scenario 2 of 2: injected fault: the device is unusable.");
    const eval::outcome bad = m->evaluate({}, "n_layer=2");
    REQUIRE(bad.status == eval::outcome_status::invalid);
    REQUIRE_THAT(bad.message, Catch::Matchers::StartsWith("scenario 1 of 2: "));

    std::vector<eval::mix_part> none;
    REQUIRE_THROWS_WITH(eval::make_scenario_mix(std::move(none)), "a serving mix needs at least one scenario.");
    std::vector<eval::mix_part> zero;
    zero.push_back({scenario(false, 1, 1023), 0.0});
    REQUIRE_THROWS_WITH(eval::make_scenario_mix(std::move(zero)), "a scenario's weight must be positive and finite.");
}
