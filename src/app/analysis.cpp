// `fracnas analyze`'s computations: counts, the front over the chosen objectives and its exact
// hypervolume, their growth in answer order, the best architectures, per-worker utilisation; and
// the report, comparison table, CSV and JSON writers.
#include "fracnas/app/analysis.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "fracnas/app/json.hpp"
#include "fracnas/app/search_config.hpp"
#include "fracnas/app/search_driver.hpp"
#include "fracnas/app/search_options.hpp"
#include "fracnas/app/training_books.hpp"
#include "fracnas/core/pareto.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/scenario_mix.hpp"

namespace fracnas::app {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> known = {"ratio", "ms", "params", "memory"};

bool maximised(const std::string& objective) {
    return objective == "params";
}

std::string unit_of(const std::string& objective) {
    if (objective == "ratio") return "ratio (min)";
    if (objective == "ms") return "ms (min)";
    if (objective == "params") return "M decoder params (max)";
    return "GiB peak (min)";
}

double value_of(const std::string& objective, const storage::evaluation_record& r) {
    if (objective == "ratio") return r.ratio;
    if (objective == "ms") return r.out.value;
    if (objective == "params") return static_cast<double>(r.decoder_params) / 1e6;
    return static_cast<double>(r.out.peak_memory_bytes) / static_cast<double>(1ULL << 30);
}

bool measured_ok(const storage::evaluation_record& r) {
    return r.feasible && !r.cached && r.out.status == eval::outcome_status::ok && std::isfinite(r.out.value);
}

double median(std::vector<double> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
    if (v.empty()) return nan;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The objective values of r in their units, and in the minimised form the front uses.
struct scored {
    std::vector<double> values, minimised;
    bool finite = true;
};

scored score(const std::vector<std::string>& objectives, const storage::evaluation_record& r) {
    scored s;
    for (const auto& o : objectives) {
        const double v = value_of(o, r);
        s.finite = s.finite && std::isfinite(v);
        s.values.push_back(v);
        s.minimised.push_back(maximised(o) ? -v : v);
    }
    return s;
}

std::string hex(std::uint64_t h) {
    std::ostringstream o;
    o << std::hex << std::setw(16) << std::setfill('0') << h;
    return o.str();
}

std::string csv_text(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string num(double v, int digits = 9) {
    if (!std::isfinite(v)) return "";
    std::ostringstream o;
    o << std::setprecision(digits) << v;
    return o.str();
}

std::string json_num(double v) {
    return json_number(v, 12);
}

// The growth rows printed: about `n` evenly spaced ones, always the last.
std::vector<std::size_t> checkpoints(std::size_t size, std::size_t n) {
    std::vector<std::size_t> rows;
    if (size == 0 || n == 0) return rows;
    n = std::min(n, size);  // more rows than answers is every row (a huge N is not a huge loop)
    for (std::size_t k = 1; k <= n; ++k) {
        const std::size_t i = (size * k + n - 1) / n - 1;
        if (rows.empty() || rows.back() != i) rows.push_back(std::min(i, size - 1));
    }
    return rows;
}

}  // namespace

void write_file(const std::string& path, const std::string& text) {
    // its folders, one level at a time (POSIX mkdir: std::filesystem's operations may resolve to
    // the copies inside libtorch.so, and its remove_all crashes there)
    for (auto slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
        ::mkdir(path.substr(0, slash).c_str(), 0777);  // one that exists, or cannot be made, shows below
    std::ofstream f(path, std::ios::binary);
    if (!f) throw error("cannot write " + path + ": check that its folder exists or can be made, and is writable.");
    f << text;
    f.close();
    if (!f) throw error("cannot write " + path + ": the write failed (is the disk full?).");
}

void validate(const analysis_options& o) {
    if (o.objectives.empty() || o.objectives.size() > 3)
        throw config_error("--objectives", "give 1 to 3 objectives (exact hypervolume), got " + std::to_string(o.objectives.size()) + ".");
    std::set<std::string> seen;
    for (const auto& name : o.objectives) {
        if (std::find(known.begin(), known.end(), name) == known.end())
            throw config_error("--objectives", "unknown objective '" + name + "'; valid: ratio, ms, params, memory.");
        if (!seen.insert(name).second) throw config_error("--objectives", "objective '" + name + "' is given twice.");
    }
    if (!o.reference_point.empty() && o.reference_point.size() != o.objectives.size())
        throw config_error("--reference-point", "give one value per objective (" + std::to_string(o.objectives.size()) + "), got " +
                                                    std::to_string(o.reference_point.size()) + ".");
    for (double v : o.reference_point)
        if (!std::isfinite(v)) throw config_error("--reference-point", "the reference point's values must be finite numbers.");
}

std::vector<storage::evaluation_record> best_feasible(const storage::archive_contents& archive, std::size_t k) {
    std::map<std::uint64_t, const storage::evaluation_record*> by_hash;  // each architecture's lowest ratio
    for (const auto& r : archive.evaluations) {
        if (!measured_ok(r) || !std::isfinite(r.ratio)) continue;
        auto& b = by_hash[r.hash];
        if (b == nullptr || r.ratio < b->ratio) b = &r;
    }
    std::vector<const storage::evaluation_record*> order;
    for (const auto& [hash, r] : by_hash) order.push_back(r);
    std::sort(order.begin(), order.end(),
              [](const auto* x, const auto* y) { return x->ratio != y->ratio ? x->ratio < y->ratio : x->arch < y->arch; });
    std::vector<storage::evaluation_record> best;
    for (std::size_t i = 0; i < order.size() && i < k; ++i) best.push_back(*order[i]);
    return best;
}

namespace {

// Each worker's time between its tasks, split as worker_usage says: per (rank, session), from the
// worker's join in that session (the session's start) through its tasks in start order to the
// session's end (its start + its wall time; none for a session that was killed). False when no
// worker joined a recorded session.
bool split_idle(const storage::archive_contents& archive, std::map<std::int32_t, worker_usage>& by_rank) {
    struct task {
        double dispatched, started, ended;
    };
    std::map<std::int32_t, std::vector<task>> tasks;
    const auto add = [&](std::int32_t worker, double d, double b, double e) {
        if (worker >= 0 && std::isfinite(d) && std::isfinite(b) && std::isfinite(e) && e >= b) tasks[worker].push_back({d, b, e});
    };
    for (const auto& r : archive.evaluations)
        if (!r.cached && r.feasible) add(r.worker, r.dispatched, r.started, r.ended);
    for (const auto& t : archive.search_trainings) add(t.worker, t.dispatched, t.started, t.ended);
    std::map<std::uint32_t, double> session_wall;
    for (const auto& s : archive.sessions) session_wall[s.session] = s.wall_seconds;
    std::map<std::uint32_t, double> session_start;  // the earliest of its workers' joins (each has its own)
    for (const auto& w : archive.workers) {
        auto [it, fresh] = session_start.emplace(w.session, w.joined);
        if (!fresh) it->second = std::min(it->second, w.joined);
    }
    std::vector<double> starts;
    for (const auto& [session, start] : session_start) starts.push_back(start);
    std::sort(starts.begin(), starts.end());
    for (auto& [rank, list] : tasks)
        std::sort(list.begin(), list.end(), [](const task& x, const task& y) { return x.started < y.started; });
    bool any = false;
    for (const auto& w : archive.workers) {  // a worker that got no task: its whole session after its join
        auto& u = by_rank[w.rank];
        const auto& list = tasks[w.rank];
        const double start = session_start.at(w.session);
        const auto next = std::upper_bound(starts.begin(), starts.end(), start);
        const double until = next == starts.end() ? std::numeric_limits<double>::infinity() : *next;
        const auto wall = session_wall.find(w.session);
        double previous = w.joined;
        for (const auto& t : list) {
            if (t.started < w.joined || t.started >= until) continue;
            const double gap = std::max(0.0, t.started - previous);
            const double waiting = std::clamp(t.dispatched - previous, 0.0, gap);
            u.master_wait_seconds += waiting;
            u.transit_seconds += gap - waiting;
            previous = std::max(previous, t.ended);
        }
        if (wall != session_wall.end()) u.tail_seconds += std::max(0.0, start + wall->second - previous);
        any = any || wall != session_wall.end();
    }
    return any;
}

}  // namespace

run_analysis analyse(const storage::archive_contents& archive, const std::string& path, const analysis_options& options) {
    validate(options);
    run_analysis a;
    a.path = path;
    a.header = archive.header;
    a.objectives = options.objectives;
    a.sessions = static_cast<std::uint32_t>(archive.sessions.size());
    for (const auto& s : archive.sessions) a.wall_seconds += s.wall_seconds;
    double last_end = 0.0;
    for (const auto& r : archive.evaluations) last_end = std::max(last_end, std::isfinite(r.ended) ? r.ended : 0.0);
    for (const auto& t : archive.search_trainings) last_end = std::max(last_end, std::isfinite(t.ended) ? t.ended : 0.0);
    // a run still being written or killed has no closed session: the last answer's end then; a
    // dry run's answers carry simulated times, and its workers' busy time is simulated: its span
    // is the simulated one, whatever its real wall time was (longer or shorter)
    bool dry_run = false;
    for (const auto& [key, value] : ini_pairs(archive.header.config)) dry_run = dry_run || (key == "dispatcher" && value == "dry-run");
    a.wall_seconds = dry_run && last_end > 0.0 ? last_end : std::max(a.wall_seconds, last_end);

    // counts
    a.answered = archive.evaluations.size();
    for (const auto& r : archive.evaluations) {
        if (!r.feasible)
            ++a.infeasible;
        else if (r.cached)
            ++a.cached;
        else {
            ++a.measured;
            ++a.by_status[eval::to_string(r.out.status)];
        }
    }

    // the reference point, in the objectives' units
    a.reference_point = options.reference_point;
    if (a.reference_point.empty()) {
        for (const auto& o : options.objectives) {
            if (o == "ratio")
                a.reference_point.push_back(1.0);
            else if (o == "params")
                a.reference_point.push_back(0.0);
            else if (o == "ms") {
                std::vector<double> refs;
                for (const auto& w : archive.workers) refs.push_back(w.reference_ms);
                for (const auto& e : archive.worker_events) refs.push_back(e.reference_ms);
                a.reference_point.push_back(median(refs));
            } else {
                double worst = 0.0;
                for (const auto& r : archive.evaluations)
                    if (measured_ok(r)) worst = std::max(worst, value_of("memory", r));
                a.reference_point.push_back(worst);
            }
        }
    }
    std::vector<double> ref_min;
    bool have_reference = true;  // without a reference timing (ms) there is no hypervolume
    for (std::size_t i = 0; i < options.objectives.size(); ++i) {
        ref_min.push_back(maximised(options.objectives[i]) ? -a.reference_point[i] : a.reference_point[i]);
        have_reference = have_reference && std::isfinite(ref_min.back());
    }

    // answers in the order they ended; the front (each member scored once) grows with them
    std::vector<const storage::evaluation_record*> order;
    for (const auto& r : archive.evaluations) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* x, const auto* y) { return x->ended != y->ended ? x->ended < y->ended : x->id < y->id; });
    struct member {
        const storage::evaluation_record* record;
        scored s;
    };
    std::vector<member> front;
    double hv = 0.0, best_ratio = nan;
    for (const auto* r : order) {
        if (measured_ok(*r)) {
            auto s = score(options.objectives, *r);
            const bool covered = std::any_of(front.begin(), front.end(), [&](const member& m) {
                return m.s.minimised == s.minimised || core::dominates(m.s.minimised, s.minimised);
            });
            if (s.finite && !covered) {
                front.erase(std::remove_if(front.begin(), front.end(),
                                           [&](const member& m) { return core::dominates(s.minimised, m.s.minimised); }),
                            front.end());
                front.push_back({r, std::move(s)});
                std::vector<std::vector<double>> points;
                for (const auto& m : front) points.push_back(m.s.minimised);
                hv = have_reference ? core::hypervolume(points, ref_min) : nan;
            }
        }
        if (r->feasible && r->out.status == eval::outcome_status::ok && std::isfinite(r->ratio) && !(r->ratio >= best_ratio))
            best_ratio = r->ratio;
        a.growth.push_back({a.growth.size() + 1, r->ended, front.size(), hv, best_ratio});
    }
    a.hypervolume = hv;
    if (!front.empty() && !have_reference) {
        a.hypervolume_note = "the reference point is not finite (no worker recorded a reference timing for ms); give --reference-point";
    } else if (!front.empty() && !(hv > 0.0)) {
        // say why, naming the objective that no front member improves on the reference point
        for (std::size_t i = 0; i < options.objectives.size() && a.hypervolume_note.empty(); ++i) {
            const bool none_better =
                std::none_of(front.begin(), front.end(), [&](const member& m) { return m.s.minimised[i] < ref_min[i]; });
            if (!none_better) continue;
            const auto& o = options.objectives[i];
            a.hypervolume_note = "no front member improves on the reference point's " + o + " (" + num(a.reference_point[i], 6) + ")";
            if (o == "memory" && a.reference_point[i] == 0.0)
                a.hypervolume_note +=
                    ": no evaluation recorded a peak memory (the latency model and CPU workers record none); leave memory out of "
                    "--objectives";
        }
    }
    std::sort(front.begin(), front.end(), [](const member& x, const member& y) { return x.s.minimised < y.s.minimised; });
    for (const auto& m : front) {
        a.front.push_back(*m.record);
        a.front_values.push_back(m.s.values);
    }

    a.best = best_feasible(archive, options.top);

    // workers: busy time from the records they measured
    std::map<std::int32_t, worker_usage> by_rank;
    for (const auto& w : archive.workers) {
        auto& u = by_rank[w.rank];
        u.rank = w.rank;
        u.host = w.host;
        u.device = w.device.name + (w.device.index >= 0 ? " cuda:" + std::to_string(w.device.index) : "") +
                   (w.device.uuid.empty() ? "" : " " + w.device.uuid);
    }
    for (const auto& r : archive.evaluations) {
        if (r.cached || !r.feasible || r.worker < 0) continue;
        auto& u = by_rank[r.worker];
        u.rank = r.worker;
        ++u.measured;
        if (r.out.status != eval::outcome_status::ok) ++u.failed;
        if (std::isfinite(r.started) && std::isfinite(r.ended) && r.ended > r.started) u.busy_seconds += r.ended - r.started;
    }
    for (const auto& t : archive.search_trainings) {  // a training search's workers also train
        if (t.worker < 0) continue;
        auto& u = by_rank[t.worker];
        u.rank = t.worker;
        ++u.trained;
        if (std::isfinite(t.started) && std::isfinite(t.ended) && t.ended > t.started) u.busy_seconds += t.ended - t.started;
    }
    if (!dry_run) a.idle_known = split_idle(archive, by_rank);
    double busy = 0.0;
    for (auto& [rank, u] : by_rank) {
        u.utilisation = a.wall_seconds > 0.0 ? u.busy_seconds / a.wall_seconds : 0.0;
        busy += u.busy_seconds;
        a.workers.push_back(u);
    }
    if (!a.workers.empty() && a.wall_seconds > 0.0) a.utilisation = busy / (static_cast<double>(a.workers.size()) * a.wall_seconds);
    // a training search's ladder and answer, from its configuration as archived
    search_config searched;
    auto archived = ini_pairs(archive.header.config);
    for (const auto& [key, value] : earlier_archive_defaults())  // what an archive from before a key ran with
        if (std::none_of(archived.begin(), archived.end(), [&](const auto& kv) { return kv.first == key; }))
            archived.emplace_back(key, value);
    for (const auto& [key, value] : archived)
        if (key == "rungs" || key == "eta" || key == "train-seed" || key == "max-perplexity-ratio" || key == "reference" ||
            key == "trend-probe" || key == "trend-calibration" || key == "head-variants")
            find_search_option(key)->set(searched, value);
    std::optional<training_books> books;  // the books it ranked by, rebuilt once for the report and the estimates
    if (searched.trains()) {
        books.emplace(searched);
        replay_trainings(*books, archive);
        std::ostringstream report;
        print_training_report(archive, searched, *books, report);
        a.training_report = report.str();
    }
    {
        std::map<std::pair<std::uint32_t, std::uint64_t>, double> reference;        // (rung, seed) -> perplexity
        std::map<std::pair<std::uint64_t, std::uint32_t>, double> reference_probe;  // (probe budget, rung) -> perplexity
        for (const auto& t : archive.search_trainings)
            if (t.reference && t.status == eval::outcome_status::ok) {
                reference[{t.rung, t.seed}] = t.val_perplexity;
                if (t.probe_budget > 0 && std::isfinite(t.probe_perplexity)) reference_probe[{t.probe_budget, t.rung}] = t.probe_perplexity;
            }
        std::map<std::uint64_t, double> latency;  // candidate id -> its latency ratio
        for (const auto& r : archive.evaluations)
            if (!r.cached) latency.emplace(r.id, r.ratio);
        for (const auto& t : archive.search_trainings) {
            ladder_training l{t, nan, nan, nan, nan, nan};
            const auto ref = reference.find({t.rung, t.seed});
            if (t.status == eval::outcome_status::ok && ref != reference.end()) l.perplexity_ratio = t.val_perplexity / ref->second;
            if (const auto p = reference_probe.find({t.probe_budget, t.rung});
                t.status == eval::outcome_status::ok && t.probe_budget > 0 && p != reference_probe.end())
                l.probe_ratio = t.probe_perplexity / p->second;
            if (const auto m = latency.find(t.candidate); !t.reference && m != latency.end()) l.latency_ratio = m->second;
            if (books && !t.reference && t.status == eval::outcome_status::ok && t.seed == searched.train_seed) {
                if (const auto e = books->top_ratio_estimate(t.candidate, t.rung)) l.top_ratio_estimate = *e;
                if (const auto e = books->trend_estimate(t.candidate, t.rung)) l.trend_estimate = *e;
            }
            a.ladder.push_back(std::move(l));
        }
    }
    for (const auto& t : archive.trainings) {
        trained_architecture x{t, nan, nan};
        for (const auto& r : archive.evaluations)
            if (r.hash == t.hash && r.out.status == eval::outcome_status::ok && !(r.out.value >= x.latency_ms)) {
                x.latency_ms = r.out.value;
                x.ratio = r.ratio;
            }
        a.trained.push_back(std::move(x));
    }
    return a;
}

void print_analysis(const run_analysis& a, const analysis_options& options, std::ostream& out) {
    const auto& h = a.header;
    out << std::fixed;
    out << "archive     " << a.path << " (schema " << h.schema << ", fracnas " << h.fracnas_version << ", commit " << h.git_commit
        << ", created " << h.created << ")\n"
        << "command     " << h.command_line << '\n'
        << "ranks       " << h.ranks << " on " << (h.hosts.empty() ? "-" : h.hosts) << ", " << a.workers.size() << " worker(s) recorded\n"
        << "sessions    " << a.sessions << ", wall " << std::setprecision(1) << a.wall_seconds << " s"
        << (a.sessions == 0 ? " (no session closed: in progress or killed)" : "") << '\n'
        << "answered    " << a.answered << ": " << a.measured << " measured (";
    bool first = true;
    for (const auto& [status, n] : a.by_status) {
        out << (first ? "" : ", ") << status << ' ' << n;
        first = false;
    }
    out << (first ? "none" : "") << "), " << a.cached << " from the cache, " << a.infeasible << " infeasible; " << std::setprecision(2)
        << a.evaluations_per_second() << " answers/s\n";
    out << "workers     ";
    if (a.workers.empty()) out << "none recorded\n";
    for (std::size_t i = 0; i < a.workers.size(); ++i) {
        const auto& w = a.workers[i];
        out << (i ? "            " : "") << "rank " << w.rank << " " << (w.host.empty() ? "-" : w.host) << " "
            << (w.device.empty() ? "-" : w.device) << ": " << w.measured << " measured, " << w.failed << " failed, "
            << (w.trained > 0 ? std::to_string(w.trained) + " trained, " : "") << "busy " << std::setprecision(2) << w.busy_seconds
            << " s, " << std::setprecision(1) << 100.0 * w.utilisation << "%\n";
    }
    if (!a.workers.empty())
        out << "            all: " << std::setprecision(1) << 100.0 * a.utilisation << "% busy (busy / (workers x wall))\n";
    if (!a.workers.empty() && a.idle_known && a.wall_seconds > 0.0) {
        double wait = 0.0, transit = 0.0, tail = 0.0;
        for (const auto& w : a.workers) {
            wait += w.master_wait_seconds;
            transit += w.transit_seconds;
            tail += w.tail_seconds;
        }
        const double span = static_cast<double>(a.workers.size()) * a.wall_seconds;
        // the wall runs from the master's first clock (before the workers joined) when the last
        // answer ended later than the sessions' summed wall time: the rest is that, and the gaps
        // between sessions
        const double rest = std::max(0.0, span * (1.0 - a.utilisation) - wait - transit - tail);
        out << "            idle: " << std::setprecision(1) << 100.0 * rest / span << "% before the pool formed, " << 100.0 * wait / span
            << "% until the master sent the next task, " << 100.0 * transit / span << "% from its send to the start, "
            << 100.0 * tail / span << "% after the last task\n";
    }
    out << "best        " << a.best.size() << " feasible architecture(s) by latency ratio:\n";
    for (const auto& r : a.best)
        out << "  " << std::setprecision(4) << "x" << r.ratio << eval::scenario_ratio_text(r.out) << "  " << r.out.value << " ms  "
            << r.decoder_params << " params  worker " << r.worker << "  " << r.arch << '\n';
    out << "front       " << a.front.size() << " architecture(s) over";
    for (const auto& o : options.objectives) out << " " << unit_of(o) << (o == options.objectives.back() ? "" : ",");
    out << "; hypervolume " << std::setprecision(6) << a.hypervolume << " against (";
    for (std::size_t i = 0; i < a.reference_point.size(); ++i) out << (i ? ", " : "") << num(a.reference_point[i], 6);
    out << ")\n";
    if (!a.hypervolume_note.empty())
        out << "            note: the hypervolume is " << (std::isnan(a.hypervolume) ? "not defined" : "0") << ": " << a.hypervolume_note
            << ".\n";
    for (std::size_t i = 0; i < a.front.size(); ++i) {
        out << " ";
        for (const double v : a.front_values[i]) out << " " << std::setprecision(4) << std::setw(10) << v;
        out << "  " << a.front[i].arch << '\n';
    }
    out << "growth      answered    time s  front   hypervolume  best ratio\n";
    for (const auto i : checkpoints(a.growth.size(), options.checkpoints)) {
        const auto& g = a.growth[i];
        out << "            " << std::setw(8) << g.answered << std::setw(10) << std::setprecision(1) << g.time << std::setw(7)
            << g.front_size << std::setw(14) << std::setprecision(6) << g.hypervolume << std::setw(12) << std::setprecision(4)
            << g.best_ratio << '\n';
    }
    out << a.training_report;
    if (!a.trained.empty()) {
        out << "trained     " << a.trained.size()
            << " architecture(s) (fracnas train --from): val ppl, latency ratio, ms, tokens, status\n";
        for (const auto& x : a.trained)
            out << "  " << std::setprecision(2) << std::setw(9) << x.training.val_perplexity << "  x" << std::setprecision(4) << x.ratio
                << "  " << x.latency_ms << " ms  " << x.training.tokens << "  " << x.training.status << "  " << x.training.arch << '\n';
    }
    out << std::defaultfloat;
}

void print_comparison(const std::vector<run_analysis>& runs, std::ostream& out) {
    // speed-up: measurements per second over the first run's (a strong series' wall(1) / wall(N)
    // when every run measured as many); efficiency: that over the workers' growth
    const auto rate = [](const run_analysis& a) { return a.wall_seconds > 0.0 ? static_cast<double>(a.measured) / a.wall_seconds : 0.0; };
    const double rate0 = runs.empty() ? 0.0 : rate(runs.front());
    const double workers0 = runs.empty() ? 0.0 : static_cast<double>(runs.front().workers.size());
    // a training search's trainings (search_trainings, failures included) an hour of wall time
    const auto trainings = [](const run_analysis& a) {
        std::uint64_t n = 0;
        for (const auto& w : a.workers) n += w.trained;
        return n;
    };
    std::vector<std::uint64_t> trained_by_run;
    for (const auto& a : runs) trained_by_run.push_back(trainings(a));
    const bool trains = std::any_of(trained_by_run.begin(), trained_by_run.end(), [](std::uint64_t n) { return n > 0; });
    out << "runs side by side (speed-up: measured/s over the first run's; efficiency: the speed-up over the workers' growth):\n"
        << "  ranks workers  answered  measured    wall s  answers/s  measured/s  speed-up  efficiency  busy %"
        << (trains ? "  trainings  trainings/h" : "") << "  best ratio  front   hypervolume  archive\n"
        << std::fixed;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& a = runs[i];
        double best = nan;
        for (const auto& r : a.best) best = std::isfinite(best) ? std::min(best, r.ratio) : r.ratio;
        std::ostringstream trained;
        if (trains)
            trained << std::fixed << std::setw(11) << trained_by_run[i] << std::setw(13) << std::setprecision(1)
                    << (a.wall_seconds > 0.0 ? 3600.0 * static_cast<double>(trained_by_run[i]) / a.wall_seconds : 0.0);
        const double measured_rate = rate(a);
        const double speedup = rate0 > 0.0 ? measured_rate / rate0 : nan;
        const double efficiency = workers0 > 0.0 && !a.workers.empty() ? speedup * workers0 / static_cast<double>(a.workers.size()) : nan;
        out << "  " << std::setw(5) << a.header.ranks << std::setw(8) << a.workers.size() << std::setw(10) << a.answered << std::setw(10)
            << a.measured << std::setw(10) << std::setprecision(1) << a.wall_seconds << std::setw(11) << std::setprecision(2)
            << a.evaluations_per_second() << std::setw(12) << measured_rate << std::setw(10) << speedup << std::setw(12)
            << std::setprecision(3) << efficiency << std::setw(8) << std::setprecision(1) << 100.0 * a.utilisation << trained.str()
            << std::setw(12) << std::setprecision(4) << best << std::setw(7) << a.front.size() << std::setw(14) << std::setprecision(6)
            << a.hypervolume << "  " << a.path << '\n';
    }
    out << std::defaultfloat;
}

void write_csv(const run_analysis& a, const storage::archive_contents& archive, const std::string& prefix) {
    {
        std::ostringstream f;
        f << std::setprecision(12);
        f << "id,phase,worker,feasible,cached,status,value,ratio,reference_ms,decode_ms,prefill_ms,decoder_params,"
             "total_params,min_params,peak_memory_bytes,dispatched,started,ended,wall_seconds,hash,architecture,message\n";
        for (const auto& r : archive.evaluations)
            f << r.id << ',' << r.phase << ',' << r.worker << ',' << r.feasible << ',' << r.cached << ','
              << (r.feasible ? eval::to_string(r.out.status) : "infeasible") << ',' << num(r.out.value, 12) << ',' << num(r.ratio, 12)
              << ',' << num(r.out.reference_ms, 12) << ',' << num(r.out.decode_ms, 12) << ',' << num(r.out.prefill_ms, 12) << ','
              << r.decoder_params << ',' << r.total_params << ',' << r.min_params << ',' << r.out.peak_memory_bytes << ','
              << num(r.dispatched, 12) << ',' << num(r.started, 12) << ',' << num(r.ended, 12) << ',' << num(r.out.wall_seconds, 12) << ','
              << hex(r.hash) << ',' << csv_text(r.arch) << ',' << csv_text(r.out.message) << '\n';
        write_file(prefix + "evaluations.csv", f.str());
    }
    {
        std::ostringstream f;
        f << std::setprecision(12);
        for (const auto& o : a.objectives) f << o << ',';
        f << "decoder_params,worker,hash,architecture\n";
        for (std::size_t i = 0; i < a.front.size(); ++i) {
            for (const double v : a.front_values[i]) f << num(v, 12) << ',';
            f << a.front[i].decoder_params << ',' << a.front[i].worker << ',' << hex(a.front[i].hash) << ',' << csv_text(a.front[i].arch)
              << '\n';
        }
        write_file(prefix + "front.csv", f.str());
    }
    {
        std::ostringstream f;
        f << std::setprecision(12);
        f << "answered,time,front_size,hypervolume,best_ratio\n";
        for (const auto& g : a.growth)
            f << g.answered << ',' << num(g.time, 12) << ',' << g.front_size << ',' << num(g.hypervolume, 12) << ','
              << num(g.best_ratio, 12) << '\n';
        write_file(prefix + "growth.csv", f.str());
    }
    {
        std::ostringstream f;
        f << std::setprecision(12);
        f << "rank,host,device,measured,failed,busy_seconds,utilisation,master_wait_seconds,transit_seconds,tail_seconds\n";
        const auto idle = [&](double v) { return a.idle_known ? num(v, 12) : std::string(); };
        for (const auto& w : a.workers)
            f << w.rank << ',' << csv_text(w.host) << ',' << csv_text(w.device) << ',' << w.measured << ',' << w.failed << ','
              << num(w.busy_seconds, 12) << ',' << num(w.utilisation, 12) << ',' << idle(w.master_wait_seconds) << ','
              << idle(w.transit_seconds) << ',' << idle(w.tail_seconds) << '\n';
        write_file(prefix + "workers.csv", f.str());
    }
    if (!a.ladder.empty()) {
        std::ostringstream f;
        f << "candidate,reference,rung,budget,seed,status,val_perplexity,perplexity_ratio,latency_ratio,probe_budget,probe_perplexity,"
             "probe_ratio,top_ratio_estimate,trend_estimate,tokens_trained,tokens_per_second,worker,started,ended,session,hash,"
             "architecture\n";
        for (const auto& l : a.ladder) {
            const auto& t = l.row;
            f << t.candidate << ',' << (t.reference ? 1 : 0) << ',' << t.rung << ',' << t.budget << ',' << t.seed << ','
              << eval::to_string(t.status) << ',' << num(t.val_perplexity, 12) << ',' << num(l.perplexity_ratio, 12) << ','
              << num(l.latency_ratio, 12) << ',' << t.probe_budget << ',' << num(t.probe_perplexity, 12) << ',' << num(l.probe_ratio, 12)
              << ',' << num(l.top_ratio_estimate, 12) << ',' << num(l.trend_estimate, 12) << ',' << t.tokens_trained << ','
              << num(t.tokens_per_second, 12) << ',' << t.worker << ',' << num(t.started, 12) << ',' << num(t.ended, 12) << ',' << t.session
              << ',' << hex(t.hash) << ',' << csv_text(t.arch) << '\n';
        }
        write_file(prefix + "search_trainings.csv", f.str());
    }
}

std::string to_json(const run_analysis& a, const analysis_options& options) {
    std::ostringstream o;
    o << "{\"archive\": " << json_string(a.path) << ", \"schema\": " << a.header.schema
      << ", \"fracnas_version\": " << json_string(a.header.fracnas_version) << ", \"git_commit\": " << json_string(a.header.git_commit)
      << ", \"command_line\": " << json_string(a.header.command_line) << ", \"ranks\": " << a.header.ranks
      << ", \"hosts\": " << json_string(a.header.hosts) << ", \"sessions\": " << a.sessions
      << ", \"wall_seconds\": " << json_num(a.wall_seconds) << ", \"answered\": " << a.answered << ", \"measured\": " << a.measured
      << ", \"cached\": " << a.cached << ", \"infeasible\": " << a.infeasible << ", \"by_status\": {";
    bool first = true;
    for (const auto& [status, n] : a.by_status) {
        o << (first ? "" : ", ") << json_string(status) << ": " << n;
        first = false;
    }
    o << "}, \"answers_per_second\": " << json_num(a.evaluations_per_second()) << ", \"utilisation\": " << json_num(a.utilisation)
      << ", \"objectives\": [";
    for (std::size_t i = 0; i < a.objectives.size(); ++i) o << (i ? ", " : "") << json_string(a.objectives[i]);
    o << "], \"reference_point\": [";
    for (std::size_t i = 0; i < a.reference_point.size(); ++i) o << (i ? ", " : "") << json_num(a.reference_point[i]);
    o << "], \"hypervolume\": " << json_num(a.hypervolume) << ", \"hypervolume_note\": " << json_string(a.hypervolume_note)
      << ", \"front\": [";
    for (std::size_t i = 0; i < a.front.size(); ++i) {
        o << (i ? ", " : "") << "{\"values\": [";
        for (std::size_t k = 0; k < a.front_values[i].size(); ++k) o << (k ? ", " : "") << json_num(a.front_values[i][k]);
        o << "], \"architecture\": " << json_string(a.front[i].arch) << ", \"worker\": " << a.front[i].worker << "}";
    }
    o << "], \"best\": [";
    for (std::size_t i = 0; i < a.best.size(); ++i) {
        o << (i ? ", " : "") << "{\"ratio\": " << json_num(a.best[i].ratio) << ", \"ms\": " << json_num(a.best[i].out.value)
          << ", \"decoder_params\": " << a.best[i].decoder_params << ", \"architecture\": " << json_string(a.best[i].arch);
        const auto ratios = eval::scenario_ratios(a.best[i].out);  // a serving mix's, scenario by scenario
        if (!ratios.empty()) {
            o << ", \"scenario_ratios\": [";
            for (std::size_t k = 0; k < ratios.size(); ++k) o << (k ? ", " : "") << json_num(ratios[k]);
            o << "]";
        }
        o << "}";
    }
    o << "], \"growth\": [";
    first = true;
    for (const auto i : checkpoints(a.growth.size(), options.checkpoints)) {
        const auto& g = a.growth[i];
        o << (first ? "" : ", ") << "{\"answered\": " << g.answered << ", \"time\": " << json_num(g.time)
          << ", \"front_size\": " << g.front_size << ", \"hypervolume\": " << json_num(g.hypervolume)
          << ", \"best_ratio\": " << json_num(g.best_ratio) << "}";
        first = false;
    }
    o << "], \"workers\": [";
    for (std::size_t i = 0; i < a.workers.size(); ++i) {
        const auto& w = a.workers[i];
        o << (i ? ", " : "") << "{\"rank\": " << w.rank << ", \"host\": " << json_string(w.host)
          << ", \"device\": " << json_string(w.device) << ", \"measured\": " << w.measured << ", \"failed\": " << w.failed
          << ", \"trained\": " << w.trained << ", \"busy_seconds\": " << json_num(w.busy_seconds)
          << ", \"utilisation\": " << json_num(w.utilisation);
        if (a.idle_known)
            o << ", \"master_wait_seconds\": " << json_num(w.master_wait_seconds)
              << ", \"transit_seconds\": " << json_num(w.transit_seconds) << ", \"tail_seconds\": " << json_num(w.tail_seconds);
        o << "}";
    }
    o << "], \"trained\": [";
    for (std::size_t i = 0; i < a.trained.size(); ++i) {
        const auto& x = a.trained[i];
        o << (i ? ", " : "") << "{\"architecture\": " << json_string(x.training.arch) << ", \"status\": " << json_string(x.training.status)
          << ", \"tokens\": " << x.training.tokens << ", \"val_perplexity\": " << json_num(x.training.val_perplexity)
          << ", \"latency_ms\": " << json_num(x.latency_ms) << ", \"ratio\": " << json_num(x.ratio)
          << ", \"recipe\": " << json_string(x.training.recipe) << "}";
    }
    o << "], \"search_trainings\": [";
    for (std::size_t i = 0; i < a.ladder.size(); ++i) {
        const auto& l = a.ladder[i];
        const auto& t = l.row;
        o << (i ? ", " : "") << "{\"candidate\": " << t.candidate << ", \"reference\": " << (t.reference ? "true" : "false")
          << ", \"rung\": " << t.rung << ", \"budget\": " << t.budget << ", \"seed\": " << t.seed
          << ", \"status\": " << json_string(eval::to_string(t.status)) << ", \"val_perplexity\": " << json_num(t.val_perplexity)
          << ", \"perplexity_ratio\": " << json_num(l.perplexity_ratio) << ", \"latency_ratio\": " << json_num(l.latency_ratio)
          << ", \"probe_budget\": " << t.probe_budget << ", \"probe_perplexity\": " << json_num(t.probe_perplexity)
          << ", \"probe_ratio\": " << json_num(l.probe_ratio) << ", \"top_ratio_estimate\": " << json_num(l.top_ratio_estimate)
          << ", \"trend_estimate\": " << json_num(l.trend_estimate) << ", \"tokens_trained\": " << t.tokens_trained
          << ", \"worker\": " << t.worker << ", \"started\": " << json_num(t.started) << ", \"ended\": " << json_num(t.ended)
          << ", \"architecture\": " << json_string(t.arch) << "}";
    }
    o << "]}";
    return o.str();
}

}  // namespace fracnas::app
