// The run archive's content as plain records, the interface the search writes it through, and an
// in-memory archive for tests and dry runs. The HDF5 file (one per run, docs/archive.md) is the
// adapter that implements archive_sink on disk and reads an archive back for resume and analysis.
// No HDF5 here: this header is standard C++ only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fracnas/eval/outcome.hpp"

namespace fracnas::storage {

/// The archive format's version: bump it with any change to docs/archive.md's schema.
/// Version 2 added the search_trainings table (a training search's trainings); a version-1
/// archive, which has none, is read and resumed as before.
/// Version 3 added search_trainings' trend probe columns, probe_budget and probe_perplexity; a
/// version-2 archive, which has none, is read (as 0 and NaN) and resumed as version 2.
/// Version 4 made worker_events' kind an HDF5 enum over u8 with worker_event_kinds' names (the
/// values unchanged); a version-3 archive, whose kind is a bare u8, is read and resumed as version 3.
/// Version 5 added the evaluations' scenario_ms and scenario_reference_ms (a serving mix's
/// latencies, one per scenario, with the header's `scenarios` count); an archive without a mix has
/// no such columns, and a version-4 archive resumes as version 4.
inline constexpr std::uint32_t schema_version = 5;
/// The oldest schema this fracnas reads.
inline constexpr std::uint32_t oldest_schema_version = 1;

/// Written once, when the archive is created.
struct run_header {
    std::uint32_t schema = schema_version;
    std::string fracnas_version;  ///< e.g. "0.2.0"
    std::string git_commit;       ///< the source's commit, or "unknown"
    std::string command_line;     ///< argv joined by spaces, as typed
    std::string config;           ///< the effective configuration, INI text (the resume check compares it)
    std::uint32_t dim = 0;        ///< coordinates of a point
    std::uint32_t scenarios = 0;  ///< a serving mix's scenarios (their latencies in each evaluation); 0: one scenario
    std::uint32_t ranks = 1;      ///< MPI processes (1: in-process)
    std::string hosts;            ///< comma-separated, in rank order of first appearance
    std::string created;          ///< UTC, ISO 8601
};

/// One answered candidate: measured by a worker, answered from the cache, or infeasible.
struct evaluation_record {
    std::uint64_t id = 0;                                 ///< the driver's evaluation id (ask order over the whole run)
    std::uint32_t phase = 0;                              ///< the optimizer it belongs to (Pareto floors: one per floor)
    std::uint64_t task = 0;                               ///< that optimizer's task id
    std::vector<double> x;                                ///< the point, dim coordinates
    std::string arch;                                     ///< canonical architecture text
    std::uint64_t hash = 0;                               ///< nas::hash of it
    std::uint64_t decoder_params = 0, total_params = 0;   ///< the free proxy and the full count
    std::uint64_t min_params = 0;                         ///< the floor this phase required
    bool feasible = false;                                ///< decoder_params >= min_params
    bool cached = false;                                  ///< answered from an earlier measurement of the same hash
    eval::outcome out;                                    ///< the measurement (copied for a cache hit; none when infeasible)
    double ratio = eval::outcome::none;                   ///< out.value / out.reference_ms
    double told = 0.0;                                    ///< the value the optimizer was told
    std::int32_t worker = -1;                             ///< the rank that measured it (-1: the master answered)
    double dispatched = 0.0, started = 0.0, ended = 0.0;  ///< seconds since the run started
};

/// One call on an optimizer, in the order it happened (the replay log of resume).
struct event_record {
    enum class kind : std::uint8_t { ask = 0, tell = 1 };
    kind what = kind::ask;
    std::uint32_t phase = 0;
    std::uint64_t requested = 0;  ///< ask: n of ask(n)
    std::uint64_t first = 0;      ///< ask: the first task id returned; tell: the task id
    std::uint64_t count = 0;      ///< ask: how many tasks it returned (ids first..first+count-1)
    double value = 0.0;           ///< tell: the value told
    std::uint8_t failed = 0;      ///< tell: 1 when told as a failure
    double time = 0.0;            ///< seconds since the run started
};

/// A worker and its device, as it joined.
struct worker_record {
    std::int32_t rank = 0;
    std::string host;
    eval::device_binding device;
    double reference_ms = eval::outcome::none;  ///< its first reference timing
    double joined = 0.0;                        ///< seconds since the run started
    std::uint32_t session = 0;                  ///< 0 for the first run, k for the k-th resume
};

/// The names of worker_event_record::kind's values 0, 1, ...: transport::worker_event::kind's, by
/// transport::to_string (a test checks that they agree; the archive's enum holds these and never grows).
inline constexpr const char* worker_event_kinds[] = {"joined", "calibrated", "left_hung", "left_device", "late_result"};

/// Pool changes and calibrations (transport::worker_event), for every session.
struct worker_event_record {
    std::uint8_t kind = 0;  ///< transport::worker_event::kind, named by worker_event_kinds
    std::int32_t worker = 0;
    double time = 0.0;
    double reference_ms = eval::outcome::none;
    std::string message;
    std::uint32_t session = 0;
};

/// How each session (the first run, then each resume) ended: written when it closes.
struct session_record {
    std::uint32_t session = 0;
    std::string started;  ///< UTC, ISO 8601
    double wall_seconds = 0.0;
    std::string ended_by;  ///< budget, time limit, signal, error
    std::string command_line;
};

/// One architecture trained by `fracnas train --from ARCHIVE` (the third fidelity, issue 12):
/// written after its search, in an optional table the search never writes.
struct training_record {
    std::string arch;                     ///< canonical architecture text, as the search measured it
    std::uint64_t hash = 0;               ///< nas::hash of arch (the evaluations' key)
    std::string status;                   ///< ok, invalid, out_of_memory, diverged, error
    std::string message;                  ///< empty when ok
    std::uint64_t tokens = 0, steps = 0;  ///< trained (fewer than asked when it failed)
    double val_loss = eval::outcome::none, val_perplexity = eval::outcome::none;  ///< at the end
    double tokens_per_second = 0.0, wall_seconds = 0.0;
    std::string recipe;  ///< the recipe and corpus, as `fracnas train` prints them
    std::string device;
    std::string started;  ///< UTC, ISO 8601
};

/// One training a training search ran (search_config::rungs): a candidate, or the reference, trained
/// with a seed to one rung's budget. Written when its result arrives, whatever its status; a
/// promoted candidate has one row per rung it reached. Perplexity ratios are not stored: a reader
/// divides by the reference's row of the same rung and seed.
struct search_training_record {
    std::uint64_t candidate = 0;                             ///< the evaluation id of the candidate's timing (0 for the reference)
    bool reference = false;                                  ///< the reference model's training (candidate is then 0)
    std::string arch;                                        ///< canonical architecture text
    std::uint64_t hash = 0;                                  ///< nas::hash of arch
    std::uint32_t rung = 0;                                  ///< the ladder's rung (0: the smallest budget)
    std::uint64_t budget = 0;                                ///< training tokens the rung asks for
    std::uint64_t seed = 0;                                  ///< initialisation and window order
    eval::outcome_status status = eval::outcome_status::ok;  ///< ok, or why it failed (diverged, out_of_memory, ...)
    std::string message;                                     ///< empty when ok
    double val_loss = eval::outcome::none, val_perplexity = eval::outcome::none;  ///< at the end of the training
    std::uint64_t tokens_trained = 0;                                             ///< budget, or fewer when it failed
    double tokens_per_second = eval::outcome::none;
    double wall_seconds = 0.0;                            ///< on the worker
    std::uint64_t probe_budget = 0;                       ///< the smaller budget measured on the way (0: none; schema 3 on)
    double probe_perplexity = eval::outcome::none;        ///< validation perplexity at probe_budget (NaN: none)
    std::int32_t worker = -1;                             ///< the rank that trained it
    double dispatched = 0.0, started = 0.0, ended = 0.0;  ///< seconds since the run started
    std::uint32_t session = 0;                            ///< the session it ended in
};

/// Everything an archive holds, in order.
struct archive_contents {
    run_header header;
    std::vector<evaluation_record> evaluations;
    std::vector<event_record> events;
    std::vector<worker_record> workers;
    std::vector<worker_event_record> worker_events;
    std::vector<session_record> sessions;
    std::vector<training_record> trainings;                ///< empty when nothing was trained from the archive
    std::vector<search_training_record> search_trainings;  ///< a training search's, in the order they ended
};

/// Where the search writes. Appends are buffered by the implementation and made durable by
/// flush(); a failed write or flush throws storage_error and leaves what was flushed intact.
class archive_sink {
public:
    virtual ~archive_sink() = default;
    virtual void append(const evaluation_record& r) = 0;
    virtual void append(const event_record& r) = 0;
    virtual void append(const worker_record& r) = 0;
    virtual void append(const worker_event_record& r) = 0;
    virtual void append(const session_record& r) = 0;
    virtual void append(const search_training_record& r) = 0;
    /// Makes every append so far durable and visible to readers.
    virtual void flush() = 0;
    /// The session number of this run (0 when the archive was just created).
    virtual std::uint32_t session() const = 0;
};

/// An archive in memory: tests, dry runs, and the driver when no --archive is given.
class memory_archive final : public archive_sink {
public:
    explicit memory_archive(run_header h, std::uint32_t session = 0);
    void append(const evaluation_record& r) override;
    void append(const event_record& r) override;
    void append(const worker_record& r) override;
    void append(const worker_event_record& r) override;
    void append(const session_record& r) override;
    void append(const search_training_record& r) override;
    void flush() override;
    std::uint32_t session() const override;
    const archive_contents& contents() const noexcept { return contents_; }
    std::uint64_t flushes() const noexcept { return flushes_; }

private:
    archive_contents contents_;
    std::uint32_t session_;
    std::uint64_t flushes_ = 0;
};

}  // namespace fracnas::storage
