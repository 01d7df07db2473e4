// Names of outcome statuses (archive, messages, progress) and their parser.
#include "fracnas/eval/outcome.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::eval {

const char* to_string(outcome_status s) {
    switch (s) {
        case outcome_status::ok:
            return "ok";
        case outcome_status::invalid:
            return "invalid";
        case outcome_status::out_of_memory:
            return "out_of_memory";
        case outcome_status::error:
            return "error";
        case outcome_status::timeout:
            return "timeout";
        case outcome_status::device_lost:
            return "device_lost";
        case outcome_status::diverged:
            return "diverged";
        case outcome_status::stopped:
            return "stopped";
    }
    return "unknown";
}

const char* to_string(task_kind k) {
    switch (k) {
        case task_kind::time:
            return "time";
        case task_kind::train:
            return "train";
    }
    return "unknown";
}

outcome job_evaluator::train(const core::point&, const std::string&, const train_task&) noexcept {
    outcome o;
    o.status = outcome_status::invalid;
    o.message = "this evaluator times candidates; it does not train them.";
    return o;
}

outcome_status parse_outcome_status(const std::string& name) {
    for (auto s : {outcome_status::ok, outcome_status::invalid, outcome_status::out_of_memory, outcome_status::error,
                   outcome_status::timeout, outcome_status::device_lost, outcome_status::diverged, outcome_status::stopped})
        if (name == to_string(s)) return s;
    throw config_error("status", "unknown evaluation status '" + name + "'.");
}

outcome median_outcome(const std::vector<outcome>& all) {
    if (all.empty()) throw std::invalid_argument("median_outcome: no outcomes");
    outcome o = all.front();
    const auto median_of = [&](double outcome::*field) {
        std::vector<double> v;
        for (const auto& x : all)
            if (!std::isnan(x.*field)) v.push_back(x.*field);  // not measured in that one
        if (v.empty()) return outcome::none;
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    };
    for (double outcome::*f :
         {&outcome::value, &outcome::decode_ms, &outcome::decode_iqr_ms, &outcome::prefill_ms, &outcome::prefill_iqr_ms})
        o.*f = median_of(f);
    o.repeats = 0;
    o.wall_seconds = 0.0;
    for (const auto& x : all) {
        o.repeats += x.repeats;
        o.wall_seconds += x.wall_seconds;
        o.peak_memory_bytes = std::max(o.peak_memory_bytes, x.peak_memory_bytes);
    }
    return o;
}

outcome reference_timing(const std::function<outcome()>& measure, std::uint32_t builds, bool warm_up) {
    if (warm_up) (void)measure();
    std::vector<outcome> kept;
    for (std::uint32_t b = 0; b < std::max<std::uint32_t>(1, builds); ++b) {
        outcome o = measure();
        if (o.status != outcome_status::ok) return o;
        kept.push_back(std::move(o));
    }
    outcome o = median_outcome(kept);
    o.reference_ms = o.value;
    return o;
}

}  // namespace fracnas::eval
