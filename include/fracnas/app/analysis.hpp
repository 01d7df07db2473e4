// Offline analysis of a search archive (`fracnas analyze`): what ran, what it found, how the
// front and its hypervolume grew over evaluations and time, and how busy each worker was. Works
// on storage::archive_contents, so that it knows nothing of HDF5; the CLI reads the file.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "fracnas/storage/archive.hpp"

namespace fracnas::app {

/// What the front is made of. Each objective reads one number per measured evaluation:
///   ratio   the latency over the worker's reference timing (minimised)
///   ms      the latency in milliseconds (minimised)
///   params  the decoder parameters, in millions (maximised)
///   memory  the allocator's peak, in GiB (minimised)
struct analysis_options {
    std::vector<std::string> objectives = {"ratio", "params"};
    /// The hypervolume's reference point, one value per objective in the units above; empty: the
    /// default of each objective (ratio 1, ms the median reference timing, params 0, memory the
    /// largest peak measured).
    std::vector<double> reference_point;
    std::size_t top = 10;          ///< best feasible architectures listed
    std::size_t checkpoints = 10;  ///< rows of the printed growth table (the CSV has every step)
};

/// Throws config_error naming the option for an unknown objective, a repeated one, more than 3,
/// or a reference point of the wrong length.
void validate(const analysis_options& o);

struct worker_usage {
    std::int32_t rank = 0;
    std::string host, device;
    std::uint64_t measured = 0, failed = 0;
    std::uint64_t trained = 0;  ///< a training search's trainings it ran (search_trainings), failures included
    double busy_seconds = 0.0;  ///< the sum of its evaluations' and trainings' end - start
    double utilisation = 0.0;   ///< busy / the run's wall time
    /// Where the rest of its sessions' time went (run_analysis::idle_known), on the master's clock:
    /// from the session's start or its previous task's end until the master sent the next task
    /// (the result's way back, the master's tell and ask, and the queue when it had nothing to
    /// send), then from that send (or the previous end, for a task queued behind it) to the task's
    /// start, and from its last task's end to the session's end.
    double master_wait_seconds = 0.0, transit_seconds = 0.0, tail_seconds = 0.0;
};

/// The front and its hypervolume after the first `answered` evaluations (by end time).
struct growth_point {
    std::uint64_t answered = 0;
    double time = 0.0;  ///< seconds since the run started (the answer's end time)
    std::uint64_t front_size = 0;
    double hypervolume = 0.0;
    double best_ratio = 0.0;  ///< the best feasible latency ratio so far (NaN before the first)
};

/// An architecture trained from the archive (`fracnas train --from`), with what the search
/// measured of it.
struct trained_architecture {
    storage::training_record training;
    double latency_ms = 0.0;  ///< the best value the search measured for its hash (NaN if none)
    double ratio = 0.0;       ///< that latency over the reference's (NaN if none)
};

/// One training of a training search (the archive's search_trainings row) with the ratios a reader
/// wants: its validation perplexity over the reference's of the same rung and seed, the same at
/// its probe, the ratio at the top rung it ranks by (training_books::top_ratio_estimate: with the
/// calibration of all the archive's top results) and the trend's own before the calibration
/// (trend_estimate), and its candidate's latency ratio (NaN where there is none: the reference's
/// own rows, a failure, no probe).
struct ladder_training {
    storage::search_training_record row;
    double perplexity_ratio = eval::outcome::none;
    double latency_ratio = eval::outcome::none;
    double probe_ratio = eval::outcome::none;
    double top_ratio_estimate = eval::outcome::none;
    double trend_estimate = eval::outcome::none;
};

struct run_analysis {
    std::string path;
    storage::run_header header;
    std::uint64_t answered = 0, measured = 0, cached = 0, infeasible = 0;
    std::map<std::string, std::uint64_t> by_status;  ///< measured evaluations by outcome status
    double wall_seconds = 0.0;                       ///< the sessions' wall time summed, or the last answer's end when later
    std::uint32_t sessions = 0;
    std::vector<std::string> objectives;
    std::vector<double> reference_point;            ///< in the objectives' units
    std::vector<storage::evaluation_record> front;  ///< distinct measured architectures no other dominates
    std::vector<std::vector<double>> front_values;  ///< their objective values, in the objectives' units
    double hypervolume = 0.0;
    /// Why the hypervolume is 0 or missing when it is (an objective no candidate improves on the
    /// reference point, such as a memory that no evaluator recorded; no reference timing); else empty.
    std::string hypervolume_note;
    std::vector<growth_point> growth;              ///< one point per answered evaluation
    std::vector<storage::evaluation_record> best;  ///< best_feasible(archive, top)
    std::vector<worker_usage> workers;
    double utilisation = 0.0;  ///< all workers' busy time / (workers x wall)
    /// the workers' master_wait, transit and tail seconds were found: closed sessions (a killed one
    /// gives no tail), not a dry run, whose clock is simulated
    bool idle_known = false;
    std::vector<trained_architecture> trained;  ///< the archive's trainings, in order
    /// A training search's (--rungs) part of the report, as the search prints it at its end
    /// (print_training_report): each rung's trainings and worker-hours, the reference, the answer.
    /// Empty for a search that did not train.
    std::string training_report;
    std::vector<ladder_training> ladder;  ///< a training search's trainings, in the order they ended
    double evaluations_per_second() const { return wall_seconds > 0.0 ? static_cast<double>(answered) / wall_seconds : 0.0; }
};

/// The k best feasible architectures the run measured (ok, finite ratio), one record per
/// architecture (its lowest ratio), lowest latency ratio first, ties by the architecture's text.
/// The ratio is what a search minimises (latency over the reference timed by the same worker), so
/// `analyze`'s "best" and `train --from`'s choice agree on archives from several GPUs.
std::vector<storage::evaluation_record> best_feasible(const storage::archive_contents& archive, std::size_t k);

/// Analyses one archive's contents (path is only reported). Throws config_error for bad options.
run_analysis analyse(const storage::archive_contents& archive, const std::string& path, const analysis_options& options);

/// The report of one run: summary, best architectures, the front, growth checkpoints, workers,
/// and the trained architectures when the archive has any.
void print_analysis(const run_analysis& a, const analysis_options& options, std::ostream& out);

/// One row per run, side by side: ranks, workers, answered, wall, evaluations/s, utilisation,
/// best ratio, front size, hypervolume (a scaling study, or optimizers compared).
void print_comparison(const std::vector<run_analysis>& runs, std::ostream& out);

/// Writes `text` to `path` whole, creating its folder if missing. A write that fails (a folder that
/// cannot be made or written, a full disk) throws error naming the file: never a short file and success.
void write_file(const std::string& path, const std::string& text);

/// Writes <prefix>evaluations.csv (every record of the archive), front.csv, growth.csv (one row
/// per answer) and workers.csv, and for a training search search_trainings.csv (one row per
/// training, with its perplexity and latency ratios) (write_file: their folder made if missing).
void write_csv(const run_analysis& a, const storage::archive_contents& archive, const std::string& prefix);

/// The analysis as one JSON object (summary, reference point, front, growth checkpoints, workers,
/// trained: an empty array when nothing was trained).
std::string to_json(const run_analysis& a, const analysis_options& options);

}  // namespace fracnas::app
