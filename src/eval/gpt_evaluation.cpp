// Plain computations on evaluator requests and results (standard C++ only; the measuring is in src/eval/torch/).
#include "fracnas/eval/gpt_evaluator.hpp"

#include "fracnas/error.hpp"

namespace fracnas::eval {

namespace {

std::optional<double> ratio(const std::optional<latency_stats>& x, const std::optional<latency_stats>& ref) {
    if (!x || !ref || !(ref->median_ms > 0.0)) return std::nullopt;
    return x->median_ms / ref->median_ms;
}

}  // namespace

latency_ratios ratios(const gpt_evaluation& r, const gpt_evaluation& reference) {
    return {ratio(r.prefill, reference.prefill), ratio(r.decode, reference.decode), ratio(r.scenario, reference.scenario)};
}

const std::vector<std::string>& attention_names() {
    static const std::vector<std::string> names = {"auto", "flash", "efficient", "cudnn", "math"};
    return names;
}

void check_attention(const std::string& name, const std::string& option) {
    std::string valid;
    for (const auto& n : attention_names()) {
        if (name == n) return;
        valid += (valid.empty() ? "" : ", ") + n;
    }
    throw config_error(option, "unknown attention kernel '" + name + "'; valid: " + valid + ".");
}

}  // namespace fracnas::eval
