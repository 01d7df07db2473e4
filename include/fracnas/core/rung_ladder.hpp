// The promotion rule of asynchronous successive halving (ASHA: Li et al., "A System for Massively
// Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2) over a ladder of budgets: candidates
// start at the smallest budget (rung 0), and one goes up a rung as soon as it ranks in the top
// 1/eta of the results of its rung, without waiting for the rung to fill, so that no worker waits.
// Values are minimised (a perplexity ratio, say); a failed result (diverged, out of memory) ranks
// after every successful one and is never promoted. The ladder only keeps the books and answers;
// the caller decides when to ask (when a worker is free), submits the trainings and records what
// comes back. The same calls in the same order give the same answers, so that a resumed search
// rebuilds the ladder by replaying its archive (start, record, mark_promoted in their order).
// Knows nothing of architectures, trainings or archives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace fracnas::core {

class rung_ladder {
public:
    /// One candidate's result at a rung.
    struct result {
        std::uint64_t id = 0;
        double value = 0.0;  ///< minimised; NaN for a failure
        bool ok = true;
    };
    /// A candidate to train again at the next budget.
    struct promotion {
        std::uint64_t id = 0;
        std::size_t from = 0, to = 0;  ///< rungs: to = from + 1
    };

    /// budgets: the rungs' budgets, at least one, each > 0 and larger than the one before (tokens,
    /// say); eta >= 2: the top 1/eta of a rung goes up. Throws config_error("budgets") or
    /// config_error("eta") with one sentence otherwise.
    rung_ladder(std::vector<double> budgets, std::size_t eta);

    std::size_t rungs() const noexcept { return budgets_.size(); }
    const std::vector<double>& budgets() const noexcept { return budgets_; }
    std::size_t eta() const noexcept { return eta_; }

    /// A new candidate enters rung 0, waiting for its result there. Throws config_error("id")
    /// for an id the ladder already holds.
    void start(std::uint64_t id);
    /// The result of id at `rung`, where it waits for one (started there, or promoted into it);
    /// value must be finite when ok (a failure's is ignored). Throws config_error("id") for an
    /// unknown id, config_error("rung") for another rung than the one it waits at or a second
    /// result, config_error("value") for a non-finite successful value.
    void record(std::uint64_t id, std::size_t rung, double value, bool ok);

    /// ASHA's promotion, when a worker asks for work: from the top rung but one down to rung 0,
    /// the first rung whose top floor(n / eta) results (n: the results at that rung, best first,
    /// ties by id) hold a successful candidate not yet promoted from it; the best such one.
    /// Nothing when no rung has one: the caller starts a new candidate instead.
    std::optional<promotion> next_promotion() const;
    /// Commits a promotion: id, with a successful result at `from` below the top rung and not
    /// promoted from it before, now waits at from + 1. (A caller replaying its archive commits
    /// what it committed then; the ladder does not re-rank.) Throws config_error("id") or
    /// config_error("rung") with one sentence otherwise.
    void mark_promoted(std::uint64_t id, std::size_t from);

    /// Changes id's successful result at `rung` to value (finite): its rank among the rung's
    /// results moves, its promotion stays as it was (a caller whose values depend on what it
    /// learnt since, such as a calibration, re-ranks what waits). Throws config_error("id") for
    /// an unknown id, config_error("rung") where it has no successful result at `rung`,
    /// config_error("value") for a value that is not finite.
    void revalue(std::uint64_t id, std::size_t rung, double value);
    /// The results at `rung`, best first (successes by value, then failures; ties by id).
    std::vector<result> results(std::size_t rung) const;
    /// Whether id was promoted from `rung`.
    bool promoted(std::uint64_t id, std::size_t rung) const;
    /// The best successful result at `rung`, if any.
    std::optional<result> best(std::size_t rung) const;
    /// The highest rung with a successful result, if any.
    std::optional<std::size_t> top_reached() const;
    /// Candidates waiting for a result, with the rung each waits at, by id.
    std::vector<std::pair<std::uint64_t, std::size_t>> pending() const;
    /// The rung id is at (where it waits or its last result is). Throws config_error("id") for an
    /// unknown id.
    std::size_t rung_of(std::uint64_t id) const;
    bool holds(std::uint64_t id) const { return candidates_.count(id) != 0; }

private:
    struct candidate {
        std::size_t rung = 0;     // where it is
        bool waiting = true;      // for its result at `rung`
        std::vector<bool> up;     // promoted from rung k
        std::vector<double> got;  // its value at each rung reached (NaN: failed)
    };
    // a rung's order: successes first, by value, then id; failures after, by id
    using key = std::tuple<int, double, std::uint64_t>;
    static key order(const result& r);
    void check_rung(std::size_t rung, const char* what) const;

    // One rung's books. A query needs the best success not yet promoted (u) and its rank among
    // all the rung's results: every success better than u was promoted, and failures rank last,
    // so that rank is the number of promoted results better than u (a binary search), and a
    // query costs O(log n) a rung instead of a walk down the rung's top.
    struct rung_books {
        std::set<key> ranked;       // every result
        std::set<key> waiting;      // successes not promoted from this rung
        std::vector<key> promoted;  // successes promoted from it, sorted
    };

    std::vector<double> budgets_;
    std::size_t eta_;
    std::map<std::uint64_t, candidate> candidates_;
    std::vector<rung_books> rungs_;
};

}  // namespace fracnas::core
