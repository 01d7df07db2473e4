// The serving mix (scenario_mix.hpp): every scenario's evaluator in turn, the ratios weighted.
#include "fracnas/eval/scenario_mix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::eval {

namespace {

class scenario_mix final : public job_evaluator {
public:
    explicit scenario_mix(std::vector<mix_part> parts) : parts_(std::move(parts)) {
        if (parts_.empty()) throw config_error("scenarios", "a serving mix needs at least one scenario.");
        for (const auto& p : parts_) {
            if (!p.evaluator) throw config_error("scenarios", "a scenario of the mix has no evaluator.");
            if (!(p.weight > 0.0) || !std::isfinite(p.weight))
                throw config_error("scenarios", "a scenario's weight must be positive and finite.");
            total_weight_ += p.weight;
        }
    }

    outcome evaluate(const core::point& x, const std::string& spec) noexcept override {
        return combined([&](job_evaluator& e) { return e.evaluate(x, spec); }, false);
    }

    outcome train(const core::point& x, const std::string& spec, const train_task& task) noexcept override {
        return parts_.front().evaluator->train(x, spec, task);
    }

    outcome time_reference() noexcept override {
        return combined([](job_evaluator& e) { return e.time_reference(); }, true);
    }

    device_binding binding() const override { return parts_.front().evaluator->binding(); }

private:
    // Every scenario's outcome of `run`, combined; for the reference, its latencies become r.
    template <class Run>
    outcome combined(Run run, bool reference) noexcept {
        std::vector<outcome> each;
        for (std::size_t s = 0; s < parts_.size(); ++s) {
            outcome o = run(*parts_[s].evaluator);
            const double ms = reference ? o.reference_ms : o.value;
            if (o.status == outcome_status::ok && !(ms > 0.0 && std::isfinite(ms))) {
                o.status = outcome_status::error;
                o.message = "it measured no latency.";
            }
            if (o.status != outcome_status::ok) {
                o.message = "scenario " + std::to_string(s + 1) + " of " + std::to_string(parts_.size()) + ": " + o.message;
                return o;
            }
            each.push_back(std::move(o));
        }
        outcome out = each.front();
        out.scenario_ms.clear();
        out.wall_seconds = 0.0;
        for (const auto& o : each) {
            out.scenario_ms.push_back(reference ? o.reference_ms : o.value);
            out.wall_seconds += o.wall_seconds;
            out.peak_memory_bytes = std::max(out.peak_memory_bytes, o.peak_memory_bytes);
        }
        if (reference) reference_ms_ = out.scenario_ms;  // every scenario timed: the new calibration
        if (reference_ms_.empty()) {
            out.status = outcome_status::error;
            out.message = "the reference has not been timed in the mix's scenarios.";
            return out;
        }
        double reference_mean = 0.0, ratio_mean = 0.0;
        for (std::size_t s = 0; s < parts_.size(); ++s) {
            reference_mean += parts_[s].weight * reference_ms_[s];
            ratio_mean += parts_[s].weight * out.scenario_ms[s] / reference_ms_[s];
        }
        reference_mean /= total_weight_;
        ratio_mean /= total_weight_;
        out.scenario_reference_ms = reference_ms_;
        out.reference_ms = reference_mean;
        out.value = ratio_mean * reference_mean;
        return out;
    }

    std::vector<mix_part> parts_;
    double total_weight_ = 0.0;
    std::vector<double> reference_ms_;  // r: the last complete timing of the reference
};

}  // namespace

std::unique_ptr<job_evaluator> make_scenario_mix(std::vector<mix_part> parts) {
    return std::make_unique<scenario_mix>(std::move(parts));
}

std::vector<double> scenario_ratios(const outcome& o) {
    std::vector<double> ratios;
    for (std::size_t s = 0; s < o.scenario_ms.size(); ++s) {
        const double t = o.scenario_ms[s], r = s < o.scenario_reference_ms.size() ? o.scenario_reference_ms[s] : outcome::none;
        ratios.push_back(t > 0.0 && r > 0.0 && std::isfinite(t) && std::isfinite(r) ? t / r : outcome::none);
    }
    return ratios;
}

std::string scenario_ratio_text(const outcome& o) {
    const auto ratios = scenario_ratios(o);
    if (ratios.empty()) return "";
    std::string text = " (scenarios";
    for (const double x : ratios) {
        char b[32];
        std::snprintf(b, sizeof b, " x%.3f", x);
        text += std::isfinite(x) ? b : " -";
    }
    return text + ")";
}

}  // namespace fracnas::eval
