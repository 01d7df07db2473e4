// The LibTorch adapter's public face: measure one GPT candidate (evaluate_gpt), a job evaluator
// for search workers built on it, and what LibTorch and CUDA this process sees. Standard types
// only (no LibTorch include): callers link fracnas_torch, the one target that defines these.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/eval/outcome.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/trainer.hpp"

namespace fracnas::eval {

/// Never throws: every failure is in the returned status and message.
gpt_evaluation evaluate_gpt(const nas::architecture& arch, const gpt_measure_config& cfg) noexcept;

/// The checks evaluate_gpt makes before building anything ("" when they pass, else the sentence
/// of its `invalid` result): for a caller that measures several models with one configuration
/// and must refuse it before the first (fracnas eval --reference).
std::string measurement_problem(const nas::architecture& arch, const gpt_measure_config& cfg);

/// A model built once on its device and kept there with its inputs and captured graphs, to be
/// timed again: its re-timings replay the same graphs over the same buffers, so they leave out
/// what varies between two builds of one architecture (where its weights, cache and buffers land
/// in memory). Holds the model's memory for its life. A search does not time its reference this
/// way: re-timed right after a candidate, such a model runs slower in about half of its timings
/// on the H200, where a rebuilt one is measured in the same state as the candidates
/// (docs/results/gpu_worker.md, benchmarks/worker_throughput.cpp).
class resident_gpt {
public:
    resident_gpt(nas::architecture arch, gpt_measure_config cfg);
    ~resident_gpt();
    resident_gpt(const resident_gpt&) = delete;
    resident_gpt& operator=(const resident_gpt&) = delete;

    /// The first call (or the first after a failure) builds, times and keeps the model, as
    /// evaluate_gpt would measure it; later calls time the kept model again (untimed warm-up runs,
    /// then the timed ones), and report the first call's peak. Never throws: a failure is in the
    /// status, and lets the model go, so that the next call builds it again.
    gpt_evaluation time() noexcept;
    /// Whether a model is kept (the last call succeeded).
    bool built() const noexcept;

private:
    struct impl;
    nas::architecture arch_;
    gpt_measure_config cfg_;
    std::unique_ptr<impl> impl_;
};

/// What a search worker trains with (training tasks; eval::train_task): the corpus's splits,
/// read once by the caller and shared, its vocabulary, and the recipe whose budget and seed each
/// task sets (its device and CUDA index are the worker's). With state_root, each (architecture,
/// seed) keeps its state in state_root/<16-hex-digit hash>-s<seed>, so that a task of a larger
/// budget continues the same training (a promotion; the schedule must then be wsd, which
/// continues to any larger budget unchanged) and a killed one resumes from its last state.
struct gpt_training {
    std::shared_ptr<const std::vector<std::uint32_t>> train, val;
    std::uint32_t vocab = 0;
    train_recipe recipe;
    std::string state_root;  ///< empty: every task trains from its initialisation
    /// The largest budget any task will ask (the ladder's top): a training that reaches it keeps
    /// no state, as nothing continues it; 0: unknown, every finished training keeps stable.pt.
    /// (A finished training's latest.pt always goes; a failed one keeps nothing; a stopped one
    /// keeps everything, to be resumed.)
    std::uint64_t final_tokens = 0;
    /// At most this many bytes of finished trainings' folders (stable.pt and no latest.pt: they
    /// wait for a promotion) under state_root, after each training: the least recently finished
    /// go first. A training in progress or stopped (latest.pt) is never removed; 0: no limit.
    std::uint64_t state_limit_bytes = 0;
};

/// A search worker's evaluator: a job's spec is a canonical architecture, measured with cfg; its
/// outcome's value is the decode latency's median (or the prefill's when cfg.decode is off), and
/// time_reference() measures `reference` the same way, rebuilt for each timing as a candidate is,
/// `reference_builds` times (at least 1): its latencies are the medians over those builds, its
/// `repeats` the timed runs behind them all (on a GPU, the process's first timing is made once
/// untimed first). Throws config_error("--device") when cfg asks for a CUDA device this process
/// does not see. With `training`, a training task trains the job's architecture (train_gpt on
/// cfg's device) and its outcome carries the final validation loss and perplexity (also the
/// value), the tokens trained and the tokens per second, or the training's status and message;
/// without it, train() answers invalid.
std::unique_ptr<job_evaluator> make_gpt_job_evaluator(const gpt_measure_config& cfg, const nas::architecture& reference,
                                                      std::uint32_t reference_builds = 1,
                                                      std::shared_ptr<const gpt_training> training = nullptr);

/// The LibTorch version the adapter was compiled with, e.g. "2.11.0".
std::string torch_version();
/// Whether LibTorch sees a usable CUDA device from this process.
bool torch_cuda_available();
/// CUDA devices visible to this process (0 without CUDA).
int cuda_device_count();
/// Multiplies two small CPU matrices through LibTorch and returns the sum of the product;
/// proves the library loads and computes (for `fracnas --version` and the tests).
double torch_smoke_product();

}  // namespace fracnas::eval
