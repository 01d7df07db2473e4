// The ask/tell contract every fracnas optimizer follows, and the bookkeeping they share:
// evaluation ids, outstanding points, the best result, and the stopping rules.
// It does not know where or how points are evaluated (see transport/ and eval/).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace fracnas::core {

/// A point of the unit cube [0,1]^d.
using point = std::vector<double>;

/// One point to evaluate; id is unique within an optimizer, counting from 0.
struct task {
    std::uint64_t id = 0;
    point x;
};

enum class eval_status : std::uint8_t {
    ok,      ///< value is the objective (lower is better)
    failed,  ///< the evaluation failed; value is ignored and the point counts as the worst
};

/// The outcome of one task. Results may be told in any order, failures included.
struct result {
    std::uint64_t id = 0;
    double value = 0.0;
    eval_status status = eval_status::ok;
};

/// When a run ends; the first rule met wins. Wall time is the driver's to watch, not the
/// optimizer's: what it proposes depends only on its seed and the asks and tells (resume replays them).
struct stopping {
    std::uint64_t budget = 1000;                               ///< evaluations asked at most (typical: 1e3..1e6)
    double target = -std::numeric_limits<double>::infinity();  ///< stop once best <= target
};

struct best_result {
    std::uint64_t id = 0;
    point x;
    double value = std::numeric_limits<double>::infinity();
};

/// Base of all optimizers. Not thread-safe; the master owns one and calls it from one thread.
/// Deterministic: the same seed and the same sequence of ask(n)/tell calls give the same points.
class optimizer {
public:
    optimizer(std::size_t dim, stopping stop);
    virtual ~optimizer() = default;
    optimizer(const optimizer&) = delete;
    optimizer& operator=(const optimizer&) = delete;

    /// Up to n new points that are legal to evaluate now (fewer when the budget is nearly spent,
    /// the run is over, or the algorithm has nothing to offer until results arrive).
    std::vector<task> ask(std::size_t n);

    /// Consume results of earlier asks, in any order. Throws protocol_error for an unknown id, a
    /// result told twice, or a non-finite value with status ok (nothing is consumed then).
    void tell(const std::vector<result>& results);

    /// True when a stopping rule is met and nothing is outstanding, or when the budget is spent.
    bool done() const;
    /// True when a stopping rule is met (no new points will be offered).
    bool stopped() const;

    std::size_t dim() const noexcept { return dim_; }
    std::uint64_t asked() const noexcept { return asked_; }
    std::uint64_t told() const noexcept { return told_; }
    std::uint64_t failures() const noexcept { return failures_; }
    std::uint64_t outstanding() const noexcept { return asked_ - told_; }
    const stopping& stop_rules() const noexcept { return stop_; }
    /// The best ok result so far, if any.
    const std::optional<best_result>& best() const noexcept { return best_; }
    /// A short human-readable name, e.g. "soo" or "fractal(k-section/soo/centre/best)".
    virtual std::string name() const = 0;

protected:
    /// Append up to n new points to out (the base assigns ids and checks the budget).
    virtual void propose(std::size_t n, std::vector<point>& out) = 0;
    /// A result for the point that was asked under id; value is +inf when status is failed.
    virtual void observe(std::uint64_t id, const point& x, double value, eval_status status) = 0;

private:
    std::size_t dim_;
    stopping stop_;
    std::uint64_t asked_ = 0, told_ = 0, failures_ = 0;
    std::vector<point> points_;        // by id; cleared once told
    std::vector<std::uint8_t> state_;  // by id: 1 outstanding, 2 told
    std::optional<best_result> best_;
};

}  // namespace fracnas::core
