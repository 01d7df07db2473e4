// Job evaluators that need no device: a synthetic function of the point (the optimizer's test
// functions), and an analytic latency model of a GPT architecture with injectable faults (slow
// tasks, failures, a hang, a lost device), so that the search, its dispatchers and resume are
// exercised in milliseconds without a GPU. They measure nothing real.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fracnas/eval/objectives.hpp"
#include "fracnas/eval/outcome.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::eval {

/// value = f(x); a failing objective gives status error. The spec is ignored.
class function_evaluator final : public job_evaluator {
public:
    explicit function_evaluator(std::shared_ptr<const objective> f);
    outcome evaluate(const core::point& x, const std::string& spec) noexcept override;
    outcome time_reference() noexcept override;  ///< status ok, reference_ms NaN: no reference
    device_binding binding() const override;

private:
    std::shared_ptr<const objective> f_;
};

/// Faults a latency_model_evaluator injects, counted in its own evaluate() calls (from 1);
/// 0 disables each. Test and dry-run use only.
struct fault_plan {
    std::uint64_t hang_on_call = 0;         ///< this call sleeps hang_seconds before answering
    double hang_seconds = 0.0;              ///< typical: longer than the master's task deadline
    std::uint64_t device_lost_on_call = 0;  ///< this call and every later one: status device_lost
    std::uint64_t diverge_on_call = 0;      ///< this call, when it is a training: status diverged
    std::uint64_t die_on_call = 0;          ///< this call ends the process with SIGKILL (a rank that dies)
    double failure_rate = 0.0;              ///< each call fails (status error) with this probability
    std::uint64_t seed = 0;                 ///< of the failure draws
};

/// The decode (or prefill) latency of a GPT architecture from the linear fit of docs/problem.md,
/// ms = 0.020 + 0.0448 L + 0.292 GB read per step (bf16 weights, the batch's KV caches at
/// `context`), and a prefill fit of the same form (the batch's FLOPs); deterministic in the architecture. cost_ms > 0 makes each
/// evaluate() really take that long (sleeping), for MPI tests of utilisation and deadlines.
/// The latency test bed: one decode step's milliseconds on the H200 at a 1,023-token cache (bf16,
/// CUDA graphs), fitted to 1,400 architectures measured there; held-out error 2.3-2.6% rms,
/// at most 11% (src/eval/testbed.cpp, benchmarks/fit_latency_testbed.py, docs/eval.md).
double testbed_decode_ms(const nas::architecture& a);

/// What latency_model_evaluator's simulated training reports for a trained `tokens` tokens with
/// `seed`: the validation loss of Chinchilla's fitted form in the decoder parameters N and the
/// tokens D, L = 1.69 + 406.4 / N^0.34 + 410.7 / D^0.28 (Hoffmann et al. 2022), times a seed's
/// noise 1 + 0.005 z (z standard normal, drawn from the seed and the architecture's hash: the same
/// at every budget, on every worker). Nothing is trained; for tests and dry runs of the search.
double simulated_val_loss(const nas::architecture& a, std::uint64_t tokens, std::uint64_t seed);

/// The D-large test bed's simulated training: the validation loss (log perplexity) of a at
/// `tokens` tokens with `seed`, fitted to the trainings measured on D-large on the H200 (recipe A,
/// wsd, vocabulary 32,768; benchmarks/fit_dlarge_testbed.py, docs/eval.md): GPT-2 small's measured
/// log perplexity at that budget (piecewise linear in ln tokens between the measured budgets, 1 M
/// to 71.5 M, carried on past them) plus sum over f of (b_f + c_f tau) x_f, tau = ln(tokens / 16 M),
/// x = ln(d_embed / d_model), ln(mean d_inner / 4 d_model), 1 / n_layer - 1 / 12, ln(d_model / 768),
/// plus a seed's noise 0.01 z (z as simulated_val_loss draws it). Relative to GPT-2 small's shape at
/// vocabulary 32,768: shallow-wide models lead at 16 M tokens and fall behind at one epoch, as
/// measured. Fitted on 25-87 M decoder parameters; outside that range it extrapolates.
double dlarge_val_loss(const nas::architecture& a, std::uint64_t tokens, std::uint64_t seed);

/// Which simulated training latency_model_evaluator::train reports.
enum class simulated_training : std::uint8_t {
    chinchilla,  ///< simulated_val_loss
    dlarge,      ///< dlarge_val_loss
};

struct latency_model_config {
    /// The H200 test bed (testbed_decode_ms; decode at a 1,023-token cache only) instead of the
    /// analytic model.
    bool testbed = false;
    bool prefill = false;                                          ///< model the prefill instead of one decode step
    std::uint32_t context = 1023;                                  ///< cached tokens of the decode step / prefill tokens
    std::uint32_t batch = 1;                                       ///< sequences per decode step / prefill
    double cost_ms = 0.0;                                          ///< wall time each evaluate() takes, >= 0
    double train_ms_per_mtoken = 0.0;                              ///< wall time a simulated training takes per million tokens, >= 0
    simulated_training training = simulated_training::chinchilla;  ///< what a simulated training reports
    nas::architecture reference = nas::gpt2_small();
    fault_plan faults;
};

class latency_model_evaluator final : public job_evaluator {
public:
    explicit latency_model_evaluator(latency_model_config cfg);
    /// Parses spec as a canonical architecture (status invalid when it is not one).
    outcome evaluate(const core::point& x, const std::string& spec) noexcept override;
    /// A simulated training (simulated_val_loss or dlarge_val_loss; tokens per second from the modelled latency,
    /// the probe's perplexity at task.probe_tokens when asked), with the faults counted in the
    /// same calls as evaluate()'s and diverge_on_call.
    outcome train(const core::point& x, const std::string& spec, const train_task& task) noexcept override;
    outcome time_reference() noexcept override;
    device_binding binding() const override;
    /// The modelled latency of a (ms), without faults or sleeping.
    double model_ms(const nas::architecture& a) const;

private:
    // call's hang (slept), lost device or drawn failure into o; false when none applies
    bool injected(std::uint64_t call, const char* what, outcome& o) const;
    latency_model_config cfg_;
    std::uint64_t calls_ = 0;
    std::uint64_t draws_;
};

}  // namespace fracnas::eval
