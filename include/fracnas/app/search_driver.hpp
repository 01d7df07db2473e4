// The search loop as a library: it owns the optimizers (one per Pareto floor), decodes points
// into architectures, answers infeasible points (the proxy is free) and cache hits at once,
// never sends an architecture already in flight, hands the rest to a dispatcher, tells the
// optimizer each result as a ratio to the measuring worker's reference, and writes every
// evaluation and every ask/tell to the archive, whose log replays into a fresh driver (resume).
// It neither parses options nor knows MPI, LibTorch or HDF5; cli/ wires those in.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/app/search_config.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/nas/gpt_space.hpp"
#include "fracnas/storage/archive.hpp"
#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::app {

class training_books;

/// How a run ended.
struct search_outcome {
    std::string ended_by;         ///< budget, time limit, signal, second signal
    std::uint64_t answered = 0;   ///< candidates answered in this session (replayed ones excluded)
    std::uint64_t abandoned = 0;  ///< asked but unanswered when it ended (a resume re-dispatches them)
    double wall_seconds = 0.0;
};

/// When the driver flushes its archive (search_config::flush_seconds, the group commit): with an
/// interval of 0, after every batch of results; otherwise whenever the interval has passed since
/// the last flush, results or not. The driver asks at least every 0.25 s, so an answer is durable
/// at most interval + 0.25 s after it arrived: what a crash (SIGKILL, a node lost) can lose, and
/// what a resumed search then asks again. Times in seconds on any one clock.
class flush_schedule {
public:
    flush_schedule(double interval, double now) noexcept : interval_(interval), last_(now) {}
    /// Whether to flush now, `results` telling whether this pass received any.
    bool due(bool results, double now) const noexcept { return interval_ <= 0.0 ? results : now - last_ >= interval_; }
    void flushed(double now) noexcept { last_ = now; }

private:
    double interval_;
    double last_;
};

class search_driver {
public:
    /// cfg must be valid (validate()). Builds the space and one optimizer per floor.
    explicit search_driver(const search_config& cfg);
    ~search_driver();

    /// Replays an archive's ask/tell log into the fresh optimizers and rebuilds the cache and the
    /// counters from its evaluations. Throws error when the log does not replay (another
    /// configuration, or a damaged log). Call before run(), at most once.
    void replay(const storage::archive_contents& archive);

    /// Runs until the budget is spent and every answer is in, the time limit passes, or a stop
    /// signal arrives (signals() returns how many so far: the first stops asking and waits up to
    /// cfg.grace for results in flight, the second ends at once). Writes the workers, every
    /// evaluation, every ask/tell and the session record to sink, flushing per cfg.flush_seconds;
    /// progress lines go to progress. Throws storage_error when the archive fails (what was
    /// flushed stays), error when the optimizer stalls or no worker is left.
    search_outcome run(transport::dispatcher& dispatch, storage::archive_sink& sink, std::ostream& progress,
                       const std::function<int()>& signals);

    /// The command that started this session, written in its row of the sessions table (a resumed
    /// run's own command, not the first run's, which the header keeps). Empty unless set.
    void set_command_line(std::string line);

    /// Everything written so far (replayed content included): the report's input.
    const storage::archive_contents& contents() const noexcept;
    const nas::gpt_space& space() const noexcept;

    struct state;

private:
    std::unique_ptr<state> s_;
};

/// The closing report from an archive's content: counts by status, the best feasible
/// architectures per floor against the reference, the front (decoder parameters up, latency
/// down), the workers and their reference timings.
void print_report(const storage::archive_contents& archive, const search_config& cfg, std::ostream& out);

/// A training search's part of the report (cfg.trains()): each rung's trainings (per seed),
/// failures, the reference's perplexity and the worker-hours they took, and the answer with its
/// latency ratio and perplexity ratios, from the archive's search_trainings rows (the books
/// rebuilt by replay_trainings). Throws error when the rows do not replay.
void print_training_report(const storage::archive_contents& archive, const search_config& cfg, std::ostream& out);
/// The same with books already rebuilt from the archive's rows (replay_trainings).
void print_training_report(const storage::archive_contents& archive, const search_config& cfg, const training_books& books,
                           std::ostream& out);

/// The measured candidates with status ok no other one dominates (more or equal decoder
/// parameters and lower or equal latency ratio, one strictly; the latency where no reference
/// was timed), sorted by decoder parameters, largest first: analyze's default front. Only first
/// measurements (not cache hits) and only those with decoder params >= floor.
std::vector<storage::evaluation_record> pareto_front(const std::vector<storage::evaluation_record>& records, std::uint64_t floor);

/// The current time, UTC, ISO 8601 ("2026-11-28T22:50:28Z"): archive headers and sessions.
std::string utc_now();

/// One evaluation as a JSON object on one line (the JSON-lines export).
std::string json_line(const storage::evaluation_record& r);

}  // namespace fracnas::app
