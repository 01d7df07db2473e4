// The configuration of one `fracnas search` run: what to search, how each candidate is measured,
// where it runs (in-process, a dry run, MPI), when it stops, and what it writes. A plain struct,
// filled option by option through the schema of search_options.hpp (from the command line and an
// INI config file, src/cli/), validated once by validate() before any rank works or any file is
// opened. Standard library only; runs nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fracnas/app/option.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/gpt_space.hpp"
#include "fracnas/transport/dispatcher.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

namespace fracnas::app {

// The enum-like settings of a search. Each is parsed once, where its option is read (the schema
// in search_options.hpp): the rest of the code compares enums, never strings.
enum class tree_kind : std::uint8_t { space_aware, plain };
enum class objective_kind : std::uint8_t { constrained, pareto };
enum class space_kind : std::uint8_t { heterogeneous, homogeneous };
enum class reference_kind : std::uint8_t { gpt2_small, gpt2_medium, gpt2_large, gpt2_xl, smollm2_135m, smollm2_360m, llama_3_2_1b };
enum class evaluator_kind : std::uint8_t { torch, model };
enum class latency_model_kind : std::uint8_t { analytic, h200 };
enum class device_choice : std::uint8_t { automatic, cpu, cuda };
enum class dtype_choice : std::uint8_t { automatic, fp32, bf16 };
enum class latency_kind : std::uint8_t { decode, prefill };
enum class dispatcher_kind : std::uint8_t { automatic, local, mpi, dry_run };
enum class on_off : std::uint8_t { on, off };
enum class head_variants_kind : std::uint8_t { shared, trained };
enum class train_model_kind : std::uint8_t { chinchilla, dlarge };

// The option values of each enum (option.hpp's choice_names), in the order of its enumerators.
#define FRACNAS_CHOICE_NAMES(E, ...)                     \
    template <>                                          \
    struct choice_names<E> {                             \
        static constexpr std::array values{__VA_ARGS__}; \
    }
FRACNAS_CHOICE_NAMES(tree_kind, "space-aware", "plain");
FRACNAS_CHOICE_NAMES(objective_kind, "constrained", "pareto");
FRACNAS_CHOICE_NAMES(space_kind, "heterogeneous", "homogeneous");
FRACNAS_CHOICE_NAMES(reference_kind, "gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl", "smollm2-135m", "smollm2-360m", "llama-3.2-1b");
FRACNAS_CHOICE_NAMES(evaluator_kind, "torch", "model");
FRACNAS_CHOICE_NAMES(latency_model_kind, "analytic", "h200");
FRACNAS_CHOICE_NAMES(device_choice, "auto", "cpu", "cuda");
FRACNAS_CHOICE_NAMES(dtype_choice, "auto", "fp32", "bf16");
FRACNAS_CHOICE_NAMES(latency_kind, "decode", "prefill");
FRACNAS_CHOICE_NAMES(dispatcher_kind, "auto", "local", "mpi", "dry-run");
FRACNAS_CHOICE_NAMES(on_off, "on", "off");
FRACNAS_CHOICE_NAMES(head_variants_kind, "shared", "trained");
FRACNAS_CHOICE_NAMES(train_model_kind, "chinchilla", "dlarge");
#undef FRACNAS_CHOICE_NAMES

/// One serving scenario of a mix (--scenarios "decode:16x2047:0.5,prefill:1x512"): a decode step
/// of `batch` sequences with `tokens` cached tokens each, or a prefill of `batch` x `tokens`
/// tokens (the time to the first token), and its weight in the objective.
struct serving_scenario {
    latency_kind latency = latency_kind::decode;
    std::uint32_t batch = 1;
    std::uint32_t tokens = 1023;
    double weight = 1.0;
    bool operator==(const serving_scenario& o) const {
        return latency == o.latency && batch == o.batch && tokens == o.tokens && weight == o.weight;
    }
};
/// "decode:16x2047:0.5" (the weight left out when it is 1), as --scenarios reads it back.
std::string to_string(const serving_scenario& s);
/// Reads one --scenarios item; throws config_error("--scenarios") with one sentence.
serving_scenario parse_scenario(const std::string& text);

/// The architecture of a reference model (nas::gpt2_small ... nas::llama_3_2_1b).
nas::architecture reference_architecture(reference_kind r);
/// The device a device_choice names: cpu or cuda as given; auto, cuda when one is visible.
eval::device_kind resolve_device(device_choice d, bool cuda_visible);
/// The dtype a dtype_choice names on a resolved device: fp32 or bf16 as given; auto, bf16 on cuda
/// and fp32 on the cpu.
eval::dtype_kind resolve_dtype(dtype_choice d, eval::device_kind device);

struct search_config {
    // ---- the problem (all of these must match an archive that is resumed)
    std::string algorithm = "soo";                           ///< one of core::preset_names() (a name: the presets are core's)
    tree_kind tree = tree_kind::space_aware;                 ///< fractal presets: space-aware (nas::gpt_structure) | plain
    objective_kind objective = objective_kind::constrained;  ///< constrained | pareto (one constrained search per floor)
    std::vector<double> levels;                              ///< pareto floors as multiples of min_params (default 0.5,0.75,1,1.5,2)
    std::uint64_t budget = 300;                              ///< candidates asked, 1..10,000,000 (cached and infeasible ones count)
    /// Candidates sent to workers (measured, or failed there), at most; cached and infeasible
    /// answers do not count. 0: no such limit (--budget caps the answers either way).
    std::uint64_t measurements = 0;
    std::uint64_t seed = 1;                        ///< optimizer seed; pareto floor k uses seed + k
    space_kind space = space_kind::heterogeneous;  ///< heterogeneous | homogeneous
    std::uint32_t min_layers = 2;                  ///< 1..max_layers
    std::uint32_t max_layers = 24;                 ///< 2..48
    std::uint32_t max_width = 2048;                ///< 128..4096, a multiple of 64
    double max_ffn_ratio = 4.0;                    ///< d_inner <= ratio x d_model, 2..16
    /// Embedding widths the space may choose (d_embed; 0: the tied table at d_model, GPT-2's);
    /// empty: none, every candidate has e = d_model.
    std::vector<std::uint32_t> embed_widths;
    /// The block options of the space, by key (nas::block_option_keys: norm, mlp, positions,
    /// block, output, bias), each one or two words (one fixes it, two make a coordinate); a key
    /// not given takes the reference's word (block_words()).
    std::vector<std::pair<std::string, std::vector<std::string>>> block_options;
    /// KV head choices (nas::gpt_space_config::kv_heads: c gives the largest divisor of the
    /// layer's heads <= c, 0 one per query head); empty: the reference's (its layer 0's count,
    /// or one per query head).
    std::vector<std::uint32_t> kv_heads;
    reference_kind reference = reference_kind::gpt2_small;  ///< gpt2-small ... llama-3.2-1b
    std::uint64_t min_params = 0;                           ///< decoder-parameter floor; 0: the reference's
    /// The vocabulary every candidate and the reference are built and timed with; 0: the
    /// reference's (GPT-2's 50,257), or with train_data the corpus's (set by the CLI's
    /// take_corpus_vocab, src/cli/search_command.cpp).
    std::uint32_t vocab = 0;
    evaluator_kind evaluator = evaluator_kind::torch;  ///< torch (LibTorch, measured) | model (analytic latency, no device)
    /// evaluator=model: analytic | h200 (the test bed fitted to H200 decode measurements)
    latency_model_kind latency_model = latency_model_kind::analytic;
    /// evaluator=model with rungs: the simulated trainings, chinchilla (eval::simulated_val_loss) |
    /// dlarge (eval::dlarge_val_loss, fitted to D-large's trainings on the H200)
    train_model_kind train_model = train_model_kind::chinchilla;
    device_choice device = device_choice::automatic;  ///< auto (cuda when visible, else cpu) | cpu | cuda
    dtype_choice dtype = dtype_choice::automatic;     ///< auto (bf16 on cuda, fp32 on cpu) | fp32 | bf16
    latency_kind latency = latency_kind::decode;      ///< decode | prefill: the latency minimised
    std::uint32_t context = 1023;                     ///< cached tokens of the decode step, 0..131071
    std::uint32_t tokens = 1024;                      ///< prefill tokens, 1..131072
    /// Sequences served together: the batch of the decode step (each with `context` cached
    /// tokens) or of the prefill (each of `tokens` tokens), 1..1024.
    std::uint32_t batch = 1;
    /// A serving mix instead of the one scenario above (scenario_mix.hpp): each scenario timed
    /// for every candidate and the reference, the objective the weighted mean of the ratios.
    std::vector<serving_scenario> scenarios;
    std::uint32_t warmup = 3;    ///< untimed runs per candidate, 0..1000
    std::uint32_t repeats = 10;  ///< timed runs per candidate, 1..100000
    // the training search (issue 24; docs/training.md, "Training inside the search"): with rungs, a
    // candidate faster than the best feasible one is trained to rungs[0] tokens, and promoted up
    // the ladder (core::rung_ladder, the top 1/eta of a rung); the reference is trained the same
    // way at every rung reached, and feasibility is the perplexity ratio to it at the top rung
    std::vector<std::uint64_t> rungs;    ///< training budgets in tokens, ascending; empty: no training (the floor decides)
    std::uint32_t eta = 3;               ///< the top 1/eta of a rung goes up a rung, 2..100
    std::uint64_t train_seed = 1;        ///< every training's seed; the top rung's second seed is train_seed + 1
    double max_perplexity_ratio = 1.03;  ///< feasible: perplexity <= this x the reference's (same budget and seed), 1..10
    /// Below the top rung, each training also measures its validation perplexity at this share of
    /// its budget (a probe, on the way), and a candidate's ratio at the top rung is extrapolated
    /// from its ratios at the probe and at the budget (training_books.hpp); 0: a rung's own ratio.
    double trend_probe = 0.5;
    /// on: below the top rung, a candidate's estimate of its ratio at the top rung is scaled by the
    /// geometric mean of measured / estimated over the candidates already measured at the top
    /// (training_books.hpp); off: the estimate as the trend (or the rung) gives it.
    on_off trend_calibration = on_off::on;
    /// shared: a candidate whose architecture differs from a trained candidate's only in its head
    /// counts is not trained; it is told that candidate's verdict with its own latency ratio
    /// (training_books.hpp); trained: each trains.
    head_variants_kind head_variants = head_variants_kind::shared;

    // ---- how it runs (may change on resume)
    /// auto (mpi under mpirun/srun with 2+ ranks, else local) | local | mpi | dry-run
    dispatcher_kind dispatcher = dispatcher_kind::automatic;
    std::uint64_t reference_every = 50;  ///< each worker re-times the reference after N candidates (0: at start only)
    std::uint32_t reference_builds = 2;  ///< evaluator=torch: builds per re-timing of the reference (their median), 1..16
    /// 0 or 1 job waiting behind each running one; none (--queued auto, the default): policy() says
    std::optional<std::uint32_t> queued_per_worker;
    double task_deadline = 900.0;  ///< seconds a task may run before it is re-queued elsewhere, > 0
    /// --task-deadline auto (the default): task_deadline until a task has finished, then
    /// max(60 s, 10 x the longest task so far), at most task_deadline (transport::task_deadline)
    bool adaptive_deadline = true;
    double join_timeout = 900.0;  ///< seconds the master waits for every worker's first report
    double model_cost_ms = 0.0;   ///< evaluator=model: wall time each evaluation takes (tests, benchmarks)
    /// evaluator=torch with rungs: the corpus folder (train.tokens, val.tokens: cmake/dev.sh corpus)
    std::string train_data;
    /// evaluator=torch with rungs: where each training keeps its state (ARCHIVE.states when empty)
    std::string train_states;
    /// evaluator=torch with rungs: the finished trainings' states each worker keeps in
    /// train_states, at most this many GB (the least recently finished go first; a promotion whose
    /// state went trains from the start); 0: no limit
    double train_states_limit = 0.0;
    double train_ms_per_mtoken = 0.0;  ///< evaluator=model: wall time of a simulated training per million tokens
    /// A training's deadline grows with its budget: the policy's task deadline plus this many
    /// seconds per million tokens (a task that runs past it is re-queued, as a hung timing is)
    double train_deadline_per_mtoken = 120.0;
    std::string inject;  ///< evaluator=model faults, tests only: hang:RANK:CALL:SECONDS, device-lost:RANK:CALL, kill:RANK:CALL, fail:RATE
    transport::dry_run_config dry_run;                            ///< dispatcher=dry-run: simulated workers and task costs
    double time_limit = std::numeric_limits<double>::infinity();  ///< stop asking after these seconds, > 0
    double grace = 120.0;  ///< seconds to wait for results in flight after a stop signal or the time limit
    double flush_seconds =
        1.0;  ///< flush the archive every this long (group commit: a crash loses at most this + 0.25 s of answers); 0: after every result
    std::uint64_t progress_every = 0;  ///< a progress line every N answers (0: budget / 10)
    std::uint64_t top = 5;             ///< best feasible architectures in the report, 1..1000

    // ---- files
    std::string archive;   ///< the HDF5 archive to create; empty: none (the report still prints)
    bool replace = false;  ///< allow replacing an existing archive
    std::string resume;    ///< an archive to continue (the configuration comes from it)
    std::string jsonl;     ///< also export every record as JSON lines here (refuses an existing file)

    /// Throws config_error whose field is the command-line option ("--budget", ...) with one
    /// sentence; checks ranges (none can overflow or exhaust memory), names and combinations.
    void validate() const;

    /// The pareto floors, or {1.0} for the constrained objective.
    std::vector<double> floors() const;
    /// min_params, or the reference's decoder parameters when it is 0.
    std::uint64_t decoder_floor() const;
    /// The decoder parameters phase k requires: round(floors()[k] * decoder_floor()).
    std::uint64_t phase_floor(std::size_t phase) const;
    /// The budget of phase k: budget split evenly over the floors, the remainder to the first.
    std::uint64_t phase_budget(std::size_t phase) const;
    nas::architecture reference_arch() const;
    /// The positions every candidate and the reference are built with: the reference's (1,024),
    /// or more where the latency needs them (context + 1 for the decode step, tokens for the prefill).
    std::uint32_t model_context() const;
    /// vocab, or the reference preset's own (50,257) when it is 0.
    std::uint32_t model_vocab() const;
    nas::gpt_space_config space_config() const;
    /// The words of block option `key` the space takes: block_options' entry, else the reference's.
    std::vector<std::string> block_words(const std::string& key) const;
    /// The KV head choices the space takes: kv_heads, else the reference's.
    std::vector<std::uint32_t> kv_choices() const;
    /// The device `device` names: cuda or cpu as given; auto, cuda when visible_gpus > 0.
    eval::device_kind resolved_device(int visible_gpus) const;
    /// The measurement settings on a resolved device (dtype auto: bf16 on cuda, fp32 on cpu).
    eval::gpt_measure_config measure_config(eval::device_kind resolved) const;
    /// The scenarios the objective times: `scenarios`, or the one that latency, context, tokens and batch say.
    std::vector<serving_scenario> serving_scenarios() const;
    /// This configuration with one scenario `s` in place of the mix: its latency, batch and
    /// tokens (cached tokens for a decode step), no scenarios; serving_scenarios()'s inverse.
    search_config for_scenario(const serving_scenario& s) const;
    /// The dispatcher's policy. --queued auto queues one job behind each running one where workers
    /// are other processes (MPI, or the dry run's simulated ones) and the search times only: a
    /// worker then waits for the master between candidates of a few milliseconds. It queues none
    /// with --rungs (a queued job would wait out a whole training) or in_process (the master
    /// measures between its own asks: there is no wait to hide).
    transport::dispatch_policy policy(bool in_process = false) const;
    /// Whether candidates are trained (rungs given).
    bool trains() const noexcept { return !rungs.empty(); }
    /// The training of one rung: its budget, train_seed (or `seed`) and the rung.
    eval::train_task train_task(std::uint32_t rung, std::uint64_t task_seed) const;
    /// The probe of a rung's training (trend_probe of its budget), 0 when none: at the top rung,
    /// with trend_probe 0, or where the probe would fall below the rung beneath (a promoted
    /// training continues from there: the previous rung's result is then the trend's start).
    std::uint64_t probe_tokens(std::uint32_t rung) const;
    /// Seconds a training of `tokens` may run (task_deadline + train_deadline_per_mtoken per million).
    double train_deadline(std::uint64_t budget_tokens) const;
    /// The faults `inject` plans for the worker of this rank (the in-process worker is rank 0).
    eval::fault_plan faults_for(int rank) const;

    /// Every setting a config file may set as "key = value" lines (INI), the problem's first: the
    /// options of search_options() in their order, each value as that option reads it back. The
    /// archive stores it and a resume compares it.
    std::string to_ini() const;
    /// The keys that define the search (search_options() of option_scope::problem): a resume
    /// refuses to change them.
    static const std::vector<std::string>& problem_keys();
};

/// The problem keys later fracnas added, each with the value an archive written before it ran
/// with (tree plain, latency-model analytic, trend-probe 0, trend-calibration off, head-variants
/// trained, vocab 0: the reference's): what a resumed search and analyse take for a key its
/// archived configuration lacks.
const std::vector<std::pair<std::string, std::string>>& earlier_archive_defaults();

/// "key = value" lines of an INI text as pairs, in order (comments and blank lines skipped).
std::vector<std::pair<std::string, std::string>> ini_pairs(const std::string& ini);

}  // namespace fracnas::app
