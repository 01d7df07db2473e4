// The books of a training search (search_config::rungs): which measured candidates are trained,
// which training a free worker runs next, what the optimizer is told for a trained candidate, and
// the best feasible answer so far. The search driver feeds it the timings and the trainings'
// results and submits what it orders; it runs, sends and stores nothing itself.
//
// The rule (docs/training.md, "Training inside the search"):
// - A candidate is trained when its latency ratio is lower than the best feasible one's (none
//   yet: every candidate measured within the floor): only those could improve the answer.
// - Every trained candidate trains to the first rung's budget with train_seed; it goes up a rung
//   as ASHA promotes (core::rung_ladder: the top 1/eta of its rung, no waiting for the rung to
//   fill), continuing its own training. A candidate that can no longer improve the answer (its
//   latency ratio no better than the best feasible one's) is not trained further.
// - The reference trains the same way, with the same seed, at every rung a candidate reached.
//   A candidate's perplexity ratio at a rung is its validation perplexity over the reference's
//   of the same rung and seed.
// - A candidate ranks in its rung by v = latency ratio + 10 x max(0, perplexity ratio - bound)
//   (bound: max_perplexity_ratio): within the bound, the faster first; past it, by how far past.
//   Below the top rung the perplexity ratio is the one extrapolated to the top budget from the
//   trend between two budgets (extrapolated_ratio; trend_probe > 0): the ratio at the rung's
//   probe, measured by the same training on the way (the candidate's and the reference's, of the
//   same budget), else the ratio at the rung beneath; with neither (or trend_probe 0), the rung's
//   own ratio. Measured on D-large, ratios at small budgets rank the shallow-wide models first and
//   their trend says how far they fall behind at the top (docs/training.md).
// - With trend_calibration on, that estimate at rung k is scaled by the calibration of rung k: the
//   geometric mean of measured / estimated over the candidates already measured at the top rung
//   (train_seed), each estimated from its own result at rung k (1 while there are none). The trend
//   fell short by 6% on D-large; the calibration learns by how much from the search's own top
//   results. Each new top result recomputes it and re-ranks the rungs below (rung_ladder::revalue);
//   promotions made stay made.
// - The optimizer is told v at the first rung, the cheapest fidelity that measured accuracy (a
//   failed training: a failure); a candidate not trained is told its latency ratio at once.
// - With head_variants shared, a candidate admitted whose architecture differs from a trained
//   candidate's only in its head counts (its sibling, the first such one enrolled) is not trained:
//   it is told its sibling's verdict with its own latency ratio in place of the sibling's (the
//   same failure, or v - the sibling's latency ratio + its own), when that verdict is known. On
//   D-large six head variants of one 6 x 768 shape took five of the eight top-rung trainings of a
//   search, their ratios within the noise of one another (docs/results/train_search.md).
// - At the top rung a candidate within the bound is feasible; the fastest feasible one, and the
//   reference, then also train with train_seed + 1 at the top budget, and the answer is feasible
//   when the mean of its two ratios is within the bound.
// Deterministic: the same calls in the same order give the same orders, so that a resumed search
// that replays its archive's trainings continues where it was.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "fracnas/app/search_config.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rung_ladder.hpp"
#include "fracnas/storage/archive.hpp"

namespace fracnas::app {

/// The perplexity ratio at top_budget that the trend between two smaller budgets points to:
/// ratio x (ratio / earlier_ratio)^(ln(top_budget / budget) / ln(budget / earlier_budget)), the
/// ratio's change per factor of budget carried on to the top (a power law in the budget). Returns
/// ratio itself where the trend is not defined (earlier_budget not below budget, top_budget below
/// budget, a ratio not positive).
double extrapolated_ratio(double ratio, double budget, double earlier_ratio, double earlier_budget, double top_budget);

/// The hash of an architecture's text with every layer's head count set to 1, and its keys' and
/// values' width per layer (n_kv_head x head dimension: d_model without grouping): equal for two
/// architectures that differ only in how their widths are cut into heads (head variants, with the
/// same parameters); two that group their KV heads differently, whose parameters and caches
/// differ, are not variants. Nothing for a text that does not parse.
std::optional<std::uint64_t> shape_hash(const std::string& arch);

/// A training a free worker should run.
struct training_order {
    bool reference = false;
    std::uint64_t candidate = 0;  ///< the candidate's id (its timing's evaluation id); 0 for the reference
    std::string arch;             ///< canonical architecture text
    std::uint64_t hash = 0;
    core::point x;  ///< the candidate's point (the reference: empty)
    eval::train_task task;
};

/// What the optimizer is told for a trained candidate.
struct training_verdict {
    double value = 0.0;
    bool failed = false;
};

class training_books {
public:
    /// cfg.trains() must hold; the ladder is cfg.rungs with cfg.eta.
    explicit training_books(const search_config& cfg);

    /// A candidate's first timing, ok and within the floor: whether it is trained (its latency
    /// ratio below the best feasible one's, or it is trained already). A new one waits for its
    /// first training; the optimizer waits for its verdict.
    bool admit(std::uint64_t candidate, std::uint64_t hash, const std::string& arch, const core::point& x, double latency_ratio);
    /// Whether the candidate of this hash is trained.
    bool trained(std::uint64_t hash) const { return by_hash_.count(hash) != 0; }
    /// The verdict on the candidate of this hash, once its first rung's training is in (a head
    /// variant's: once its sibling's is).
    std::optional<training_verdict> verdict(std::uint64_t hash) const;
    /// The trained candidate whose verdict the head variant of this hash takes, if it is one.
    std::optional<std::uint64_t> sibling(std::uint64_t hash) const;

    /// The training a free worker runs next (reference trainings first, then second seeds, then
    /// ASHA's promotions, then new candidates' first rung), counted as ordered; nothing when no
    /// training is due. Throws error when the reference failed to train.
    std::optional<training_order> next();
    /// A training's result (as archived): returns the hashes of the candidates whose verdict it
    /// made known. Replaying an archive calls it for each archived row, in order, without next().
    std::vector<std::uint64_t> record(const storage::search_training_record& r);
    /// Replay: the candidate of an archived training row, from its timing's evaluation (admit()
    /// without the rule: it was trained then). Idempotent.
    void enrol(std::uint64_t candidate, std::uint64_t hash, const std::string& arch, const core::point& x, double latency_ratio);

    /// Trainings ordered and not recorded.
    std::size_t in_flight() const noexcept { return ordered_.size(); }

    /// The best feasible candidate: the lowest latency ratio among those within the bound at the
    /// top rung (and, with its second seed in, with the mean of both ratios within it).
    struct answer {
        std::uint64_t candidate = 0;
        std::string arch;
        double latency_ratio = 0.0;
        std::vector<double> perplexity_ratios;  ///< train_seed's, then train_seed + 1's when in
    };
    std::optional<answer> best() const;
    /// A trained candidate's perplexity ratio at the top rung as its result at `rung` (train_seed)
    /// points to: what ranks it there (the measured ratio at the top rung; extrapolated below it
    /// with trend_probe > 0). Nothing before that result and the reference's are in.
    std::optional<double> top_ratio_estimate(std::uint64_t candidate, std::uint32_t rung) const;
    /// The same before the calibration (trend_calibration): what the trend alone points to.
    std::optional<double> trend_estimate(std::uint64_t candidate, std::uint32_t rung) const;
    /// The calibration of a rung below the top (trend_calibration on): the factor its estimates
    /// are scaled by, and how many candidates measured at the top it comes from (0: factor 1).
    struct calibration {
        double factor = 1.0;
        std::size_t from = 0;
    };
    calibration calibration_at(std::uint32_t rung) const;
    /// Results recorded at each rung (the reference's excluded), for the progress line.
    std::vector<std::size_t> results_per_rung() const;
    const core::rung_ladder& ladder() const noexcept { return ladder_; }

private:
    struct trainee {
        std::uint64_t hash = 0;
        std::string arch;
        core::point x;
        double latency_ratio = 0.0;
        std::map<std::pair<std::uint32_t, std::uint64_t>, double> perplexity;  // (rung, seed) -> ok result's
        std::map<std::uint32_t, std::pair<std::uint64_t, double>> probe;       // rung -> (probe budget, perplexity), train_seed's
        std::optional<training_verdict> verdict;
        bool started = false;                 // its first training ordered or recorded
        bool failed = false;                  // a training failed: never trained again
        bool second_failed = false;           // its second seed's training failed: not feasible
        std::vector<std::uint64_t> variants;  // hashes of the head variants that take its verdict
    };
    struct variant {
        std::uint64_t sibling = 0;  // candidate id
        double latency_ratio = 0.0;
    };
    using rung_seed = std::pair<std::uint32_t, std::uint64_t>;

    double value(const trainee& t, std::uint32_t rung) const;        // needs the reference at (rung, train_seed)
    double trend_ratio(const trainee& t, std::uint32_t rung) const;  // the rung's ratio, extrapolated to the top
    double top_ratio(const trainee& t, std::uint32_t rung) const;    // trend_ratio, calibrated
    void calibrate();                                                // after a top result: calibrations_, the rungs re-ranked
    std::optional<std::pair<std::uint64_t, double>> earlier(const trainee& t, std::uint32_t rung) const;  // the trend's start
    std::optional<double> ratio(const trainee& t, rung_seed at) const;
    void want_reference(rung_seed at);
    std::vector<std::uint64_t> settle(std::uint32_t rung);  // deferred rung results into the ladder
    void place(std::uint64_t candidate, std::uint32_t rung);
    void update_best();
    void decided(const trainee& t, std::vector<std::uint64_t>& hashes) const;  // t's hash and its variants'
    training_order order_for(std::uint64_t candidate, rung_seed at);
    bool can_improve(const trainee& t) const;

    search_config cfg_;
    std::string reference_arch_;
    std::uint64_t reference_hash_ = 0;
    std::uint32_t top_;
    core::rung_ladder ladder_;
    std::map<std::uint64_t, trainee> trainees_;  // by candidate id
    std::unordered_map<std::uint64_t, std::uint64_t> by_hash_;
    std::unordered_map<std::uint64_t, std::uint64_t> by_shape_;                  // the architecture's hash, heads aside -> first candidate
    std::unordered_map<std::uint64_t, variant> variants_;                        // head variants by hash
    std::deque<std::uint64_t> to_start_;                                         // admitted, first rung not ordered, in order
    std::map<rung_seed, double> reference_;                                      // its ok results
    std::map<std::uint32_t, std::pair<std::uint64_t, double>> reference_probe_;  // rung -> (probe budget, perplexity), train_seed's
    std::set<rung_seed> reference_wanted_;                                       // to order
    std::set<std::uint64_t> second_seed_wanted_;                                 // candidates to train with train_seed + 1 at the top
    std::deque<std::pair<std::uint64_t, rung_seed>> queued_;        // promotions and retries (candidate, rung and seed), in order
    std::map<std::uint32_t, std::vector<std::uint64_t>> deferred_;  // rung -> candidates whose result waits for the reference's
    std::set<std::pair<std::uint64_t, rung_seed>> ordered_;         // (candidate or reference_key, rung, seed) ordered, not recorded
    std::set<std::pair<std::uint64_t, rung_seed>> done_;            // recorded
    std::optional<std::uint64_t> best_;
    std::vector<calibration> calibrations_;  // by rung below the top
    std::string reference_failure_;
};

/// The archive's row of an ordered training and what its worker answered (times and worker left
/// for the caller).
storage::search_training_record training_row(const training_order& o, const eval::outcome& out);

/// Feeds an archive's training rows to books, in order, each candidate enrolled from its timing's
/// evaluation: the books as the archive's run left them. Throws error when a row names a
/// candidate the archive never measured, or one the books cannot take.
void replay_trainings(training_books& books, const storage::archive_contents& archive);

}  // namespace fracnas::app
