// What a worker sends back for one evaluation, flat and fixed so that it crosses MPI and lands in
// the archive unchanged, and the interface of whatever computes it (a synthetic function, an
// analytic latency model, or the LibTorch GPT evaluator behind its adapter).
// It does not schedule, cache or store anything: transport/ and app/ do.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "fracnas/core/optimizer.hpp"

namespace fracnas::eval {

/// How an evaluation or a training ended: the one vocabulary from the evaluators (gpt_evaluation,
/// train_result) over the wire and into the archive to `analyze`. Everything but ok is a failure
/// the search records and goes past. The values are the archive's and the wire's: new ones only
/// at the end.
enum class outcome_status : std::uint8_t {
    ok = 0,             ///< value holds the objective
    invalid = 1,        ///< the candidate cannot be built (bad shape, unknown text)
    out_of_memory = 2,  ///< it does not fit on the device
    error = 3,          ///< anything else the evaluator threw
    timeout = 4,        ///< the master's deadline passed; the task went to another worker
    device_lost = 5,    ///< the device is unusable (a sticky CUDA error): the worker leaves the pool
    diverged = 6,       ///< a training's loss became NaN or ran away (the training's divergence rule)
    stopped = 7,        ///< a training ended before its budget when asked to, its state saved to continue
};
const char* to_string(outcome_status s);
/// Parses to_string()'s names; throws config_error("status") for anything else.
outcome_status parse_outcome_status(const std::string& name);

/// What a worker is asked to do with a candidate: time it (the latency a search minimises), or
/// train it (the accuracy it keeps). The values are the wire's: new ones only at the end.
enum class task_kind : std::uint8_t {
    time = 0,   ///< build and time the candidate (job_evaluator::evaluate)
    train = 1,  ///< train the candidate to a budget (job_evaluator::train)
};
const char* to_string(task_kind k);

/// A training task: the candidate trained with `seed` to `tokens` training tokens, one rung of a
/// ladder of budgets (rung 0 the smallest). A promoted candidate is trained again at the next
/// rung with the same seed; an evaluator that keeps states continues its own checkpoint.
struct train_task {
    std::uint64_t tokens = 0;  ///< the budget, training tokens (> 0)
    std::uint64_t seed = 1;    ///< initialisation and window order
    std::uint32_t rung = 0;    ///< the ladder's rung the budget is
    /// A smaller budget also measured on the way (0: none): the validation perplexity a training
    /// to probe_tokens would reach, from the same training (with wsd, a decay branch off its
    /// stable phase), for the trend of a ratio between two budgets. Below tokens.
    std::uint64_t probe_tokens = 0;
};

/// One evaluation's result. Latencies are milliseconds; NaN marks "not measured".
struct outcome {
    static constexpr double none = std::numeric_limits<double>::quiet_NaN();
    outcome_status status = outcome_status::ok;
    std::string message;                              ///< empty when ok; one sentence otherwise
    double value = none;                              ///< the minimised quantity: the chosen latency's median (NAS) or f(x)
    double reference_ms = none;                       ///< the worker's latest timing of the reference model (same latency)
    double decode_ms = none, decode_iqr_ms = none;    ///< one decode step: median and IQR
    double prefill_ms = none, prefill_iqr_ms = none;  ///< the prefill: median and IQR
    std::uint32_t repeats = 0;                        ///< timed runs behind each median
    std::uint64_t peak_memory_bytes = 0;              ///< the bytes its tensors asked for at most at once (0 on a CPU)
    double wall_seconds = 0.0;                        ///< the whole evaluation on the worker: build, warm-up, timing
    // a training task's (NaN and 0 for a timing): value is then the validation perplexity
    double val_loss = none;            ///< validation loss (nats a token) at the end of the training
    double val_perplexity = none;      ///< exp(val_loss)
    std::uint64_t tokens_trained = 0;  ///< training tokens run (the budget, or fewer when it stopped)
    double tokens_per_second = none;   ///< training throughput over the whole run
    double probe_perplexity = none;    ///< validation perplexity at train_task::probe_tokens (NaN: not measured)
    /// A serving mix's timing (scenario_mix.hpp): each scenario's median latency, and the
    /// reference's that the value was formed with; empty for one scenario.
    std::vector<double> scenario_ms, scenario_reference_ms;
};

/// Several successful measurements of one model as one (a reference timed over several builds):
/// every latency, IQR and the value are the medians over `all` of the measured ones (the mean of
/// the middle two for an even count; none when none measured it), `repeats` and `wall_seconds`
/// the sums, the peak the largest; the rest is the first one's. Throws std::invalid_argument
/// when `all` is empty.
outcome median_outcome(const std::vector<outcome>& all);

/// A worker's timing of the reference: `builds` (at least 1) calls of `measure` (each a build and
/// its timed runs) as one median_outcome, `reference_ms` its value; the first that fails comes back
/// as it is. With `warm_up` (a process's first reference timing), one call before them warms the
/// device and is not kept, whatever it gave: the first timing in a process runs on a device that
/// has just started (on a GPU clocks, kernel selection, first captures; on a CPU worker the caches,
/// the allocator and the thread pool: 86 ms against 56 ms afterwards, under load), and would skew
/// the first ratios.
outcome reference_timing(const std::function<outcome()>& measure, std::uint32_t builds, bool warm_up);

/// Where a worker measures: printed at start and stored in the archive's workers table.
struct device_binding {
    std::string kind = "cpu";  ///< cpu, cuda or model (an analytic latency model, no device)
    int index = -1;            ///< the CUDA device index inside this process (-1: none)
    std::string name = "cpu";  ///< e.g. "NVIDIA H200"
    std::string uuid;          ///< the GPU's UUID ("GPU-..."), empty on a CPU
};

/// Evaluates jobs on one worker. Implementations never throw from evaluate(): a failure is an
/// outcome. Not thread-safe; one per worker process.
class job_evaluator {
public:
    virtual ~job_evaluator() = default;
    /// The job's point x and its description spec (a canonical architecture for NAS jobs,
    /// empty for synthetic functions).
    virtual outcome evaluate(const core::point& x, const std::string& spec) noexcept = 0;
    /// Trains the job's candidate as `task` says: status ok with val_loss, val_perplexity (also
    /// the value), tokens_trained and tokens_per_second, or how it failed (diverged, out of
    /// memory, ...). The default: status invalid, this evaluator does not train.
    virtual outcome train(const core::point& x, const std::string& spec, const train_task& task) noexcept;
    /// Times the reference model with the same settings; NaN when there is none (synthetic
    /// functions). A failure is reported through the outcome's status.
    virtual outcome time_reference() noexcept = 0;
    virtual device_binding binding() const = 0;
};

}  // namespace fracnas::eval
