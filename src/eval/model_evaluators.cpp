// The device-free job evaluators: a synthetic function of the point, and the analytic GPT latency
// model with injected faults. Sleeping (cost_ms, hangs) is real wall time: MPI tests use it.
#include "fracnas/eval/model_evaluators.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <exception>
#include <iterator>
#include <thread>

#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"

namespace fracnas::eval {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

outcome timed(outcome& o, std::chrono::steady_clock::time_point t0) {
    o.wall_seconds = seconds_since(t0);
    return o;
}

void sleep_ms(double ms) {
    if (ms > 0.0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

function_evaluator::function_evaluator(std::shared_ptr<const objective> f) : f_(std::move(f)) {
    if (!f_) throw config_error("objective", "a function evaluator needs an objective.");
}

outcome function_evaluator::evaluate(const core::point& x, const std::string&) noexcept {
    outcome o;
    try {
        const auto r = eval::evaluate(*f_, core::task{0, x});
        if (r.status == core::eval_status::ok) {
            o.value = r.value;
        } else {
            o.status = outcome_status::error;
            o.message = "the function failed at this point.";
        }
    } catch (...) {  // evaluate() does not throw; a bad_alloc copying x might
        o.status = outcome_status::error;
        o.message = "the function evaluation threw.";
    }
    return o;
}

outcome function_evaluator::time_reference() noexcept {
    return outcome{};
}

device_binding function_evaluator::binding() const {
    return device_binding{"model", -1, "function " + f_->name(), ""};
}

latency_model_evaluator::latency_model_evaluator(latency_model_config cfg)
    : cfg_(std::move(cfg)), draws_(cfg_.faults.seed ^ 0x6c8e9cf570932bd5ULL) {
    if (!(cfg_.cost_ms >= 0.0) || !std::isfinite(cfg_.cost_ms))
        throw config_error("cost_ms", "the model's cost must be a finite number of ms >= 0.");
    if (!(cfg_.train_ms_per_mtoken >= 0.0) || !std::isfinite(cfg_.train_ms_per_mtoken))
        throw config_error("train_ms_per_mtoken", "the simulated training's cost must be a finite number of ms >= 0.");
    if (cfg_.batch == 0) throw config_error("batch", "the batch must be at least 1.");
    if (!(cfg_.faults.failure_rate >= 0.0 && cfg_.faults.failure_rate <= 1.0))
        throw config_error("failure_rate", "the failure rate must be in [0, 1].");
    if (!(cfg_.faults.hang_seconds >= 0.0)) throw config_error("hang_seconds", "the hang must be >= 0 seconds.");
    validate(cfg_.reference);
}

double latency_model_evaluator::model_ms(const nas::architecture& a) const {
    if (cfg_.testbed) return testbed_decode_ms(a);
    const auto p = nas::count_parameters(a);
    const double layers = static_cast<double>(a.n_layer);
    if (cfg_.prefill) {
        const auto f = nas::prefill_flops(a, cfg_.batch, std::max<std::uint32_t>(1, std::min(cfg_.context, a.context)));
        return 0.05 + 0.1 * layers + static_cast<double>(f.total) / 4e11;  // ~400 TFLOP/s sustained, in ms
    }
    // bf16 weights (a tied output projection reuses the token table) and the K and V caches
    const double kv = static_cast<double>(cfg_.batch) * static_cast<double>(std::min(cfg_.context, a.context - 1)) *
                      static_cast<double>(nas::kv_bytes_per_token(a, 2));
    const double gb = (2.0 * static_cast<double>(p.total) + kv) / 1e9;
    return 0.020 + 0.0448 * layers + 0.292 * gb;
}

bool latency_model_evaluator::injected(std::uint64_t call, const char* what, outcome& o) const {
    // what a lost node or an OOM killer does to a rank: nothing is answered, nothing is cleaned up
    if (cfg_.faults.die_on_call != 0 && call == cfg_.faults.die_on_call) std::raise(SIGKILL);
    if (cfg_.faults.hang_on_call != 0 && call == cfg_.faults.hang_on_call) sleep_ms(1000.0 * cfg_.faults.hang_seconds);
    core::rng draw(draws_ ^ (call * 0x9e3779b97f4a7c15ULL));
    if (cfg_.faults.device_lost_on_call != 0 && call >= cfg_.faults.device_lost_on_call) {
        o.status = outcome_status::device_lost;
        o.message = "injected fault: the device is unusable.";
    } else if (cfg_.faults.failure_rate > 0.0 && draw.uniform() < cfg_.faults.failure_rate) {
        o.status = outcome_status::error;
        o.message = std::string("injected fault: the ") + what + " failed.";
    } else {
        return false;
    }
    return true;
}

outcome latency_model_evaluator::evaluate(const core::point&, const std::string& spec) noexcept {
    const auto t0 = std::chrono::steady_clock::now();
    outcome o;
    const std::uint64_t call = ++calls_;
    try {
        const nas::architecture a = nas::parse_architecture(spec);
        sleep_ms(cfg_.cost_ms);
        if (!injected(call, "evaluation", o)) {
            o.value = model_ms(a);
            (cfg_.prefill ? o.prefill_ms : o.decode_ms) = o.value;
            (cfg_.prefill ? o.prefill_iqr_ms : o.decode_iqr_ms) = 0.0;
            o.repeats = 1;
        }
    } catch (const std::exception& e) {
        o.status = outcome_status::invalid;
        o.message = e.what();
    }
    o.wall_seconds = seconds_since(t0);
    return o;
}

double simulated_val_loss(const nas::architecture& a, std::uint64_t tokens, std::uint64_t seed) {
    const double n = static_cast<double>(std::max<std::uint64_t>(1, nas::count_parameters(a).decoder));
    const double d = static_cast<double>(std::max<std::uint64_t>(1, tokens));
    core::rng noise(seed * 0x9e3779b97f4a7c15ULL ^ nas::hash(a));
    return (1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28)) * (1.0 + 0.005 * noise.normal());
}

double dlarge_val_loss(const nas::architecture& a, std::uint64_t tokens, std::uint64_t seed) {
    // GPT-2 small's mean log perplexity on D-large's validation split at each budget it was
    // trained to (benchmarks/fit_dlarge_testbed.py prints them with the coefficients)
    static constexpr double budgets[] = {1000000, 2000000, 4000000, 8000000, 16000000, 71499776};
    static constexpr double reference[] = {6.490394, 5.915926, 5.516819, 5.122855, 4.581963, 3.316959};
    static constexpr double b[] = {-0.125202, -0.041099, -0.195841, 0.048938};
    static constexpr double c[] = {-0.001857, -0.040588, 0.304312, 0.014795};
    const double t = std::log(static_cast<double>(std::max<std::uint64_t>(1, tokens)));
    std::size_t k = 1;  // the segment [k - 1, k] that holds t, or the end one past either end
    while (k + 1 < std::size(budgets) && t > std::log(budgets[k])) ++k;
    const double t0 = std::log(budgets[k - 1]), t1 = std::log(budgets[k]);
    const double ref = reference[k - 1] + (reference[k] - reference[k - 1]) * (t - t0) / (t1 - t0);
    double inner = 0.0;
    for (const auto w : a.d_inner) inner += static_cast<double>(w);
    inner /= static_cast<double>(std::max<std::size_t>(1, a.d_inner.size()));
    const double d = static_cast<double>(a.d_model);
    const double embed = static_cast<double>(a.d_embed > 0 ? a.d_embed : a.d_model);
    const double x[] = {std::log(embed / d), std::log(inner / (4.0 * d)), 1.0 / static_cast<double>(a.n_layer) - 1.0 / 12.0,
                        std::log(d / 768.0)};
    const double tau = t - std::log(16e6);
    double lead = 0.0;
    for (std::size_t f = 0; f < std::size(x); ++f) lead += (b[f] + c[f] * tau) * x[f];
    core::rng noise(seed * 0x9e3779b97f4a7c15ULL ^ nas::hash(a));
    return ref + lead + 0.01 * noise.normal();
}

outcome latency_model_evaluator::train(const core::point&, const std::string& spec, const train_task& task) noexcept {
    const auto t0 = std::chrono::steady_clock::now();
    outcome o;
    const std::uint64_t call = ++calls_;
    try {
        const nas::architecture a = nas::parse_architecture(spec);
        if (task.tokens == 0) throw config_error("tokens", "a training needs a budget of at least one token.");
        sleep_ms(cfg_.train_ms_per_mtoken * static_cast<double>(task.tokens) * 1e-6);
        if (injected(call, "training", o)) return timed(o, t0);
        if (cfg_.faults.diverge_on_call != 0 && call == cfg_.faults.diverge_on_call) {
            o.status = outcome_status::diverged;
            o.message = "injected fault: the training's loss became NaN.";
            o.tokens_trained = task.tokens / 2;
            return timed(o, t0);
        }
        const auto loss = cfg_.training == simulated_training::dlarge ? dlarge_val_loss : simulated_val_loss;
        o.val_loss = loss(a, task.tokens, task.seed);
        o.val_perplexity = o.value = std::exp(o.val_loss);
        if (task.probe_tokens > 0 && task.probe_tokens < task.tokens) o.probe_perplexity = std::exp(loss(a, task.probe_tokens, task.seed));
        o.tokens_trained = task.tokens;
        // a token's training costs about three forward passes: a third of the tokens a prefill
        // of the modelled speed would take (nothing measured; it gives the dry run a shape)
        o.tokens_per_second = 1000.0 / (3.0 * std::max(model_ms(a), 1e-3)) * static_cast<double>(a.context);
    } catch (const std::exception& e) {
        o.status = outcome_status::invalid;
        o.message = e.what();
    }
    o.wall_seconds = seconds_since(t0);
    return o;
}

outcome latency_model_evaluator::time_reference() noexcept {
    outcome o;
    o.value = o.reference_ms = model_ms(cfg_.reference);
    return o;
}

device_binding latency_model_evaluator::binding() const {
    return device_binding{"model", -1, cfg_.testbed ? "H200 test bed" : "latency model", ""};
}

}  // namespace fracnas::eval
