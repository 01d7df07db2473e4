// app::run_search: one search on an execution context, from the archive's opening to the
// workers' stop. The loop itself is search_driver's; the file formats are the adapters' (through
// search_io's callbacks); which ranks exist is the context's.
#include "fracnas/app/search.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <vector>

#include "fracnas/error.hpp"

namespace fracnas::app {

void print_workers(const transport::dispatcher& d, std::ostream& out) {
    out << "workers     " << d.pool_size() << " in the pool of " << d.workers().size() << ":\n";
    for (const auto& w : d.workers()) {
        out << "  rank " << w.rank << " on " << w.host << ": " << w.device.name;
        if (w.device.index >= 0) out << " (cuda:" << w.device.index << ")";
        if (!w.device.uuid.empty()) out << " " << w.device.uuid;
        if (std::isfinite(w.reference_ms)) out << std::fixed << std::setprecision(4) << ", reference " << w.reference_ms << " ms";
        if (!w.in_pool) out << ", NOT in the pool: " << w.left_reason;
        out << '\n';
    }
    out << std::flush;
}

namespace {

void print_plan(const search_config& cfg, const search_driver& driver, const search_io& io, std::ostream& out) {
    const std::size_t replayed = driver.contents().evaluations.size();
    const std::string& path = !cfg.resume.empty() ? cfg.resume : cfg.archive;
    out << "search      " << cfg.algorithm << " over the " << to_string(cfg.space) << " space (" << driver.space().dim()
        << " coordinates), budget " << cfg.budget << ", seed " << cfg.seed << '\n';
    const auto scenario = [](const serving_scenario& s) {
        return std::string(to_string(s.latency)) + " latency" +
               (s.latency == latency_kind::decode ? " at " + std::to_string(s.batch) + " x " + std::to_string(s.tokens) + " cached tokens"
                                                  : " of " + std::to_string(s.batch) + " x " + std::to_string(s.tokens) + " tokens");
    };
    out << "objective   minimise ";
    if (cfg.scenarios.empty()) {
        out << scenario(cfg.serving_scenarios().front());
    } else {
        out << "the weighted mean latency ratio of " << cfg.scenarios.size() << " scenarios:";
        for (const auto& s : cfg.scenarios) out << ' ' << scenario(s) << " x" << decimal(s.weight) << ';';
    }
    out << " (ratio to " << to_string(cfg.reference) << " timed by the same worker) subject to decoder parameters >=";
    for (std::size_t k = 0; k < cfg.floors().size(); ++k) out << ' ' << cfg.phase_floor(k);
    out << (cfg.floors().size() > 1 ? " in turn\n" : "\n");
    if (!path.empty())
        out << "archive     " << path << (cfg.resume.empty() ? "" : " (resumed: " + std::to_string(replayed) + " answers replayed)")
            << '\n';
    if (!io.restored.empty()) out << "restored    " << io.restored << '\n';
}

// The master's part: open the archive, replay, run, report, export.
search_result run_master(const search_config& cfg, transport::context& ctx, const search_io& io, std::ostream& out) {
    transport::dispatcher& dispatch = ctx.dispatch();
    search_driver driver(cfg);
    driver.set_command_line(io.header.command_line);
    storage::run_header header = io.header;
    header.config = cfg.to_ini();
    header.dim = static_cast<std::uint32_t>(driver.space().dim());
    header.scenarios = static_cast<std::uint32_t>(cfg.scenarios.size());
    header.ranks = ctx.ranks();
    header.hosts = ctx.hosts();
    header.created = utc_now();

    std::unique_ptr<storage::archive_sink> sink;
    if (io.open_archive) {
        storage::archive_contents resumed;
        sink = io.open_archive(header, resumed);
        if (sink && !cfg.resume.empty()) driver.replay(resumed);
    }
    if (!sink) sink = std::make_unique<storage::memory_archive>(header);

    print_plan(cfg, driver, io, out);
    print_workers(dispatch, out);
    for (const auto& w : io.warnings) out << "warning     " << w << '\n';
    out << std::flush;

    search_result r;
    r.outcome = driver.run(dispatch, *sink, out, io.signals);
    sink.reset();  // flushed and closed: the report reads what is on disk
    if (io.read_archive) {
        r.archive = io.read_archive();
    } else {
        r.archive = driver.contents();
        r.archive.header = header;  // what a file would have kept
    }

    print_report(r.archive, cfg, out);
    out << "ended by    " << r.outcome.ended_by << " after " << std::fixed << std::setprecision(1) << r.outcome.wall_seconds
        << " s: " << r.outcome.answered << " answered in this session";
    if (r.outcome.abandoned > 0) out << ", " << r.outcome.abandoned << " in flight left for a resume";
    out << '\n';
    if (!cfg.jsonl.empty()) {
        std::ofstream lines(cfg.jsonl);
        for (const auto& e : r.archive.evaluations) lines << json_line(e) << '\n';
        lines.close();
        if (!lines) throw storage_error(cfg.jsonl, "writing the JSON lines to '" + cfg.jsonl + "' failed (disk full?).");
        out << "exported    " << r.archive.evaluations.size() << " JSON lines to " << cfg.jsonl << '\n';
    }
    out << std::flush;
    return r;
}

}  // namespace

search_result run_search(const search_config& cfg, transport::context& ctx, const search_io& io, std::ostream& out) {
    if (!ctx.is_master()) return {};
    search_result r;
    try {
        r = run_master(cfg, ctx, io, out);
    } catch (...) {
        if (!ctx.close(std::min(cfg.grace, 10.0))) ctx.abort(1);
        throw;
    }
    const bool second_signal = io.signals && io.signals() >= 2;
    const double wait_for = second_signal ? std::min(cfg.grace, 2.0) : cfg.grace;  // a second signal: at once
    std::vector<int> left;  // the ranks that left the pool, which close() waits for less; read before it closes
    for (const auto& w : ctx.dispatch().workers())
        if (!w.in_pool) left.push_back(w.rank);
    if (!ctx.close(wait_for)) {
        out << "warning     some worker did not stop (a busy one was given " << wait_for << " s";
        if (!left.empty()) {
            out << ", one that hung " << std::min(wait_for, transport::hung_stop_seconds) << " s; left the pool: rank"
                << (left.size() > 1 ? "s" : "");
            for (std::size_t i = 0; i < left.size(); ++i) out << (i == 0 ? " " : ", ") << left[i];
        }
        out << "); the archive is complete, ending the job with MPI_Abort\n" << std::flush;
        ctx.abort(0);
    }
    return r;
}

}  // namespace fracnas::app
