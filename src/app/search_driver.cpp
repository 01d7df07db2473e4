// The search driver: ask, decode, answer what is free, dispatch the rest, tell, archive; replay
// of an archive's log for resume; the closing report. One thread; the dispatcher does the waiting.
#include "fracnas/app/search_driver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "fracnas/app/json.hpp"
#include "fracnas/app/training_books.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/scenario_mix.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_structure.hpp"

namespace fracnas::app {

namespace {

using clock_type = std::chrono::steady_clock;

// The archived form of a pool event's kind (storage::worker_event_record::kind).
constexpr std::uint8_t event_kind(transport::worker_event::kind k) {
    return static_cast<std::uint8_t>(k);
}

// An asked point, decoded, waiting for its answer.
struct asked {
    std::uint64_t eval = 0;
    std::uint32_t phase = 0;
    std::uint64_t task = 0;
    core::point x;
    nas::architecture arch;
    std::uint64_t hash = 0, decoder = 0, total = 0, floor = 0;
    bool feasible = false;
};

// A job in the dispatcher and every asked point waiting for its measurement (the first is the one sent).
struct flight {
    std::vector<asked> waiting;
};

// Training jobs take their ids from here up: an evaluation id (a timing's job id) never gets there.
constexpr std::uint64_t first_training_job = std::uint64_t{1} << 62;

bool cacheable(eval::outcome_status s) {
    // a timeout or a lost device says nothing about the architecture; everything else does
    return s != eval::outcome_status::timeout && s != eval::outcome_status::device_lost;
}

}  // namespace

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

struct search_driver::state {
    search_config cfg;
    std::string command_line;  // this session's, for its sessions row
    nas::gpt_space space;
    std::vector<std::unique_ptr<core::optimizer>> opts;
    storage::archive_contents mirror;
    std::uint64_t next_eval = 0;
    std::unordered_map<std::uint64_t, std::size_t> cache;              // hash -> index of its measurement in mirror.evaluations
    std::unordered_map<std::uint64_t, flight> flights;                 // job id -> flight
    std::unordered_map<std::uint64_t, std::uint64_t> by_hash;          // hash -> job id in flight
    std::map<std::pair<std::uint32_t, std::uint64_t>, asked> pending;  // replayed asks without their tell
    // archived evaluations whose ask and tell never reached the log (a kill between the two
    // tables' flushes): the re-asked task is answered from them, never measured again
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> orphans;
    std::size_t phase = 0;  // the optimizer asked now; earlier ones have spent their budget
    bool replayed = false;
    std::size_t unsynced = 0;  // mirror.events from here on were made by replay and are not in the archive yet
    double time_offset = 0.0;  // this session's clock starts where the archive's ended
    storage::archive_sink* sink = nullptr;
    transport::dispatcher* dispatch = nullptr;
    std::uint64_t answered = 0;
    std::uint64_t sent = 0;  // candidates sent to workers (cfg.measurements), the archive's included
    // a training search's (cfg.trains()): its books, the trainings in flight by job id, and the
    // asks whose tell waits for their candidate's verdict, by the candidate's hash
    std::unique_ptr<training_books> books;
    std::unordered_map<std::uint64_t, training_order> trainings;
    std::uint64_t next_training_job = first_training_job;
    std::unordered_map<std::uint64_t, std::vector<std::pair<std::uint32_t, std::uint64_t>>> awaiting;

    explicit state(const search_config& c) : cfg(c), space(c.space_config()) {
        if (cfg.trains()) books = std::make_unique<training_books>(cfg);
        for (std::size_t k = 0; k < cfg.floors().size(); ++k) {
            std::shared_ptr<const core::cube_structure> structure;
            if (cfg.tree == tree_kind::space_aware) structure = std::make_shared<nas::gpt_structure>(space, cfg.phase_floor(k));
            opts.push_back(
                core::make_optimizer(cfg.algorithm, space.dim(), cfg.seed + k, core::stopping{cfg.phase_budget(k)}, std::move(structure)));
        }
    }

    double now() const { return time_offset + (dispatch ? dispatch->now() : 0.0); }

    asked decode(std::uint32_t ph, const core::task& t) {
        asked a;
        a.eval = next_eval++;
        a.phase = ph;
        a.task = t.id;
        a.x = t.x;
        a.arch = space.decode(t.x);
        a.hash = nas::hash(a.arch);
        const auto counts = nas::count_parameters(a.arch);
        a.decoder = counts.decoder;
        a.total = counts.total;
        a.floor = cfg.phase_floor(ph);
        a.feasible = a.decoder >= a.floor;
        return a;
    }

    void log(const storage::event_record& e) {
        mirror.events.push_back(e);
        if (sink) sink->append(e);
    }

    std::vector<core::task> ask(std::uint32_t ph, std::size_t n) {
        auto tasks = opts[ph]->ask(n);
        storage::event_record e;
        e.what = storage::event_record::kind::ask;
        e.phase = ph;
        e.requested = n;
        e.first = tasks.empty() ? opts[ph]->asked() : tasks.front().id;
        e.count = tasks.size();
        e.time = now();
        log(e);
        return tasks;
    }

    void tell(std::uint32_t ph, std::uint64_t task, double value, bool failed) {
        opts[ph]->tell({core::result{task, failed ? 0.0 : value, failed ? core::eval_status::failed : core::eval_status::ok}});
        storage::event_record e;
        e.what = storage::event_record::kind::tell;
        e.phase = ph;
        e.first = task;
        e.value = value;
        e.failed = failed ? 1 : 0;
        e.time = now();
        log(e);
        ++answered;
    }

    // Tells the optimizer the verdict on a trained candidate's ask, now or when it is known.
    void tell_when_judged(std::uint32_t ph, std::uint64_t task, std::uint64_t hash) {
        if (const auto v = books->verdict(hash))
            tell(ph, task, v->value, v->failed);
        else
            awaiting[hash].push_back({ph, task});
    }

    // Whether the ask (ph, task), answered by the measurement `m` with latency ratio `ratio`, waits
    // for a training's verdict (training search: m is trained, books::admit) instead of its tell now.
    bool judged_by_training(std::uint32_t ph, std::uint64_t task, const storage::evaluation_record& m, double ratio) {
        if (!books || !m.feasible || m.out.status != eval::outcome_status::ok || !std::isfinite(ratio)) return false;
        if (!books->admit(m.id, m.hash, m.arch, m.x, ratio)) return false;
        tell_when_judged(ph, task, m.hash);
        return true;
    }

    // The verdicts a training result made known, told to the asks waiting for them.
    void release(const std::vector<std::uint64_t>& hashes) {
        for (const std::uint64_t h : hashes) {
            const auto it = awaiting.find(h);
            if (it == awaiting.end()) continue;
            const auto v = *books->verdict(h);
            for (const auto& [ph, task] : it->second) tell(ph, task, v.value, v.failed);
            awaiting.erase(it);
        }
    }

    // Records the answer to `a` and tells its optimizer (a training search: perhaps later, see
    // judged_by_training). `source` indexes the measurement in mirror.evaluations of a cached
    // answer; npos: r is the measurement.
    void answer(const asked& a, storage::evaluation_record r, std::size_t source = std::string::npos) {
        r.id = a.eval;
        r.phase = a.phase;
        r.task = a.task;
        r.x = a.x;
        r.arch = nas::canonical(a.arch);
        r.hash = a.hash;
        r.decoder_params = a.decoder;
        r.total_params = a.total;
        r.min_params = a.floor;
        r.feasible = a.feasible;
        bool failed = false;
        if (!a.feasible) {
            // worse than any latency ratio, and less bad the closer it is to the floor
            r.told = 1e3 * (2.0 - static_cast<double>(a.decoder) / static_cast<double>(std::max<std::uint64_t>(1, a.floor)));
        } else if (r.out.status == eval::outcome_status::ok && std::isfinite(r.out.value)) {
            r.ratio =
                std::isfinite(r.out.reference_ms) && r.out.reference_ms > 0.0 ? r.out.value / r.out.reference_ms : eval::outcome::none;
            r.told = std::isfinite(r.ratio) ? r.ratio : r.out.value;
        } else {
            failed = true;
            r.told = 0.0;
        }
        mirror.evaluations.push_back(r);
        if (sink) sink->append(r);
        if (!r.cached && a.feasible && cacheable(r.out.status)) cache.emplace(a.hash, mirror.evaluations.size() - 1);
        const std::size_t m = source == std::string::npos ? mirror.evaluations.size() - 1 : source;
        if (!failed && judged_by_training(a.phase, a.task, mirror.evaluations[m], r.ratio)) return;
        tell(a.phase, a.task, r.told, failed);
    }

    void answer_infeasible(const asked& a) {
        storage::evaluation_record r;
        r.out.status = eval::outcome_status::ok;
        r.worker = -1;
        r.dispatched = r.started = r.ended = now();
        answer(a, r);
    }

    // From the measurement at index i of mirror.evaluations.
    void answer_cached(const asked& a, std::size_t i) {
        storage::evaluation_record r;
        r.out = mirror.evaluations[i].out;
        r.cached = true;
        r.worker = -1;
        r.dispatched = r.started = r.ended = now();
        answer(a, r, i);
    }

    // Tells the optimizer what an archived evaluation said, without recording it again (a training
    // search: perhaps later, when the verdict on its trained candidate is known). True when told now.
    bool tell_recorded(const storage::evaluation_record& r) {
        const bool failed = r.feasible && !(r.out.status == eval::outcome_status::ok && std::isfinite(r.out.value));
        if (!failed && books) {
            const auto c = r.cached ? cache.find(r.hash) : cache.end();
            const storage::evaluation_record& m = c != cache.end() ? mirror.evaluations[c->second] : r;
            if (judged_by_training(r.phase, r.task, m, r.ratio)) return !awaiting.count(r.hash);
        }
        tell(r.phase, r.task, r.told, failed);
        return true;
    }

    // A freshly asked point: answered from an orphaned record of the archive, or routed.
    void take(std::uint32_t ph, const core::task& t) {
        asked a = decode(ph, t);
        const auto o = orphans.find({ph, t.id});
        if (o == orphans.end()) return route(std::move(a));
        const auto& r = mirror.evaluations[o->second];
        if (r.x != t.x || r.arch != nas::canonical(a.arch))
            throw error("the archive does not replay: its evaluation " + std::to_string(r.id) +
                        " is another point than the one asked again.");
        orphans.erase(o);
        tell_recorded(r);
    }

    // Decides what to do with a freshly asked (or replayed, unanswered) point.
    void route(asked a) {
        if (!a.feasible) return answer_infeasible(a);
        if (const auto c = cache.find(a.hash); c != cache.end()) return answer_cached(a, c->second);
        if (const auto f = by_hash.find(a.hash); f != by_hash.end()) {
            flights[f->second].waiting.push_back(std::move(a));  // one measurement answers both
            return;
        }
        transport::job j = transport::timing(a.eval, a.x, nas::canonical(a.arch));
        by_hash.emplace(a.hash, a.eval);
        flights[a.eval].waiting.push_back(std::move(a));
        dispatch->submit(std::move(j));
        ++sent;
    }

    // A training a free worker runs (training_books::next), as a job.
    void submit_training(const training_order& o) {
        transport::job j;
        j.id = next_training_job++;
        j.x = o.x;
        j.spec = o.arch;
        j.kind = eval::task_kind::train;
        j.train = o.task;
        j.deadline_seconds = cfg.train_deadline(o.task.tokens);
        trainings.emplace(j.id, o);
        dispatch->submit(std::move(j));
    }

    void receive_training(const transport::job_result& res, const training_order& o) {
        storage::search_training_record r = training_row(o, res.out);
        r.worker = res.worker;
        r.dispatched = time_offset + res.dispatched;
        r.started = time_offset + res.started;
        r.ended = time_offset + res.ended;
        r.session = sink ? sink->session() : 0;
        mirror.search_trainings.push_back(r);
        if (sink) sink->append(r);
        release(books->record(r));
    }

    void receive(const transport::job_result& res) {
        if (const auto t = trainings.find(res.id); t != trainings.end()) {
            const training_order o = std::move(t->second);
            trainings.erase(t);
            return receive_training(res, o);
        }
        const auto it = flights.find(res.id);
        if (it == flights.end()) throw protocol_error("a result came back for job " + std::to_string(res.id) + ", which is not in flight.");
        flight fl = std::move(it->second);
        flights.erase(it);
        by_hash.erase(fl.waiting.front().hash);
        storage::evaluation_record first;
        first.out = res.out;
        first.worker = res.worker;
        first.dispatched = time_offset + res.dispatched;
        first.started = time_offset + res.started;
        first.ended = time_offset + res.ended;
        answer(fl.waiting.front(), first);
        const std::size_t measured = mirror.evaluations.size() - 1;
        for (std::size_t k = 1; k < fl.waiting.size(); ++k) {
            storage::evaluation_record r;
            r.out = res.out;
            r.cached = true;
            r.worker = -1;
            r.dispatched = r.started = r.ended = now();
            answer(fl.waiting[k], r, measured);
        }
    }

    void record_worker_events() {
        for (const auto& e : dispatch->take_events()) {
            storage::worker_event_record r;
            r.kind = event_kind(e.what);
            r.worker = e.worker;
            r.time = time_offset + e.time;
            r.reference_ms = e.reference_ms;
            r.message = e.message;
            r.session = sink ? sink->session() : 0;
            mirror.worker_events.push_back(r);
            if (sink) sink->append(r);
        }
    }

    bool all_asked() const {
        for (const auto& o : opts)
            if (!o->stopped()) return false;
        return true;
    }
};

search_driver::search_driver(const search_config& cfg) : s_(std::make_unique<state>(cfg)) {}
search_driver::~search_driver() = default;

const storage::archive_contents& search_driver::contents() const noexcept {
    return s_->mirror;
}
const nas::gpt_space& search_driver::space() const noexcept {
    return s_->space;
}

void search_driver::set_command_line(std::string line) {
    s_->command_line = std::move(line);
}

void search_driver::replay(const storage::archive_contents& archive) {
    state& s = *s_;
    if (s.replayed || !s.mirror.events.empty()) throw protocol_error("replay: call it once, before run().");
    s.replayed = true;
    s.mirror = archive;
    s.unsynced = archive.events.size();
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> recorded;  // (phase, task) -> its evaluation
    for (std::size_t i = 0; i < archive.evaluations.size(); ++i) recorded[{archive.evaluations[i].phase, archive.evaluations[i].task}] = i;
    std::set<std::pair<std::uint32_t, std::uint64_t>> told;
    for (const auto& e : archive.events) {
        if (e.what == storage::event_record::kind::tell) told.insert({e.phase, e.first});
        if (e.phase >= s.opts.size())
            throw error("the archive's log names optimizer " + std::to_string(e.phase) + ", which this configuration does not have.");
        auto& opt = *s.opts[e.phase];
        if (e.what == storage::event_record::kind::ask) {
            const auto tasks = opt.ask(static_cast<std::size_t>(e.requested));
            if (tasks.size() != e.count || (!tasks.empty() && tasks.front().id != e.first))
                throw error("the archive's log does not replay: an ask of optimizer " + std::to_string(e.phase) +
                            " returned other points than it recorded.");
            for (const auto& t : tasks) {
                asked a = s.decode(e.phase, t);
                // the same point and architecture as recorded, or this is another search
                if (const auto r = recorded.find({e.phase, t.id}); r != recorded.end()) {
                    const auto& rec = archive.evaluations[r->second];
                    if (rec.x != t.x || rec.arch != nas::canonical(a.arch))
                        throw error("the archive's log does not replay: task " + std::to_string(t.id) + " of optimizer " +
                                    std::to_string(e.phase) + " is another point than the one recorded (another configuration?).");
                }
                s.pending.emplace(std::make_pair(e.phase, t.id), std::move(a));
            }
        } else {
            const auto p = s.pending.find({e.phase, e.first});
            if (p == s.pending.end()) throw error("the archive's log tells task " + std::to_string(e.first) + " before asking it.");
            opt.tell({core::result{e.first, e.failed ? 0.0 : e.value, e.failed ? core::eval_status::failed : core::eval_status::ok}});
            s.pending.erase(p);
        }
        s.time_offset = std::max(s.time_offset, e.time);
    }
    // which optimizer asks next
    while (s.phase + 1 < s.opts.size() && s.opts[s.phase]->stopped()) ++s.phase;
    // the cache, and the answers recorded whose tell did not reach the log before the run ended
    for (std::size_t i = 0; i < archive.evaluations.size(); ++i) {
        const auto& r = archive.evaluations[i];
        s.time_offset = std::max(s.time_offset, r.ended);
        if (!r.cached && r.feasible && cacheable(r.out.status)) s.cache.emplace(r.hash, i);
        if (!r.cached && r.feasible) ++s.sent;  // measured (or failed) on a worker
    }
    for (const auto& w : archive.worker_events) s.time_offset = std::max(s.time_offset, w.time);
    if (!archive.search_trainings.empty() && !s.books)
        throw error("the archive holds trainings of a training search, and this configuration trains nothing (no --rungs).");
    if (s.books) {
        // the trainings in the order they ended: the ladder, the reference and the verdicts as they were
        replay_trainings(*s.books, archive);
        for (const auto& t : archive.search_trainings) s.time_offset = std::max(s.time_offset, t.ended);
    }
    for (auto it = s.pending.begin(); it != s.pending.end();) {
        const auto rec = recorded.find(it->first);
        if (rec == recorded.end()) {
            ++it;
            continue;
        }
        if (s.tell_recorded(archive.evaluations[rec->second])) --s.answered;  // not this session's work
        it = s.pending.erase(it);
    }
    for (const auto& [key, i] : recorded)
        if (!told.count(key) && !s.pending.count(key)) s.orphans.emplace(key, i);
}

namespace {

// One session of search_driver::run, in the steps its loop takes: the workers recorded and the
// replay's tells written; what the archive's run left unanswered dispatched again; then, until the
// budget, a limit or a signal ends it: progress, the stop conditions, asks while slots are free,
// a wait for results (or, with nothing in flight, one more ask or the end), the flushes; the
// session's row last, also when an error ends it.
class session_loop {
public:
    session_loop(search_driver::state& s, transport::dispatcher& dispatch, storage::archive_sink& sink, std::ostream& progress,
                 const std::function<int()>& signals)
        : s_(s),
          dispatch_(dispatch),
          sink_(sink),
          progress_(progress),
          signals_(signals),
          wall0_(clock_type::now()),
          session_(sink.session()),
          started_(utc_now()),
          every_(s.cfg.progress_every > 0 ? s.cfg.progress_every : std::max<std::uint64_t>(1, s.cfg.budget / 10)),
          flushes_(s.cfg.flush_seconds, 0.0) {}

    // The pool's workers as rows of this session, and the tells the replay completed, on disk.
    void open() {
        for (const auto& w : dispatch_.workers()) {
            storage::worker_record r;
            r.rank = w.rank;
            r.host = w.host;
            r.device = w.device;
            r.reference_ms = w.reference_ms;
            r.joined = s_.now();
            r.session = session_;
            s_.mirror.workers.push_back(r);
            sink_.append(r);
        }
        s_.record_worker_events();
        for (std::size_t i = s_.unsynced; i < s_.mirror.events.size(); ++i) sink_.append(s_.mirror.events[i]);
        s_.unsynced = s_.mirror.events.size();
        sink_.flush();
        if (dispatch_.pool_size() == 0) throw error("no worker could start: " + dispatch_.workers().front().left_reason);
    }

    // What was asked but never answered before the archive's run ended, dispatched again.
    void redispatch_unanswered() {
        auto left = std::move(s_.pending);
        s_.pending.clear();
        for (auto& [key, a] : left) {
            while (dispatch_.free_slots() == 0 && a.feasible && !s_.cache.count(a.hash) && !s_.by_hash.count(a.hash))
                for (const auto& r : dispatch_.wait(1.0)) s_.receive(r);
            s_.route(std::move(a));
        }
    }

    // The loop, until the session ends (ended_by_ says why). Progress is next printed at the next
    // multiple of its interval, the first flush due an interval from now.
    void run() {
        next_progress_ = (told() / every_ + 1) * every_;
        flushes_.flushed(elapsed());
        while (true) {
            progress_if_due();
            if (second_signal()) return;
            check_stops();
            ask_while_slots_free();
            if (dispatch_.in_flight() == 0) {
                if (stop_asking_ || s_.all_asked()) return;
                ask_when_idle();
                continue;
            }
            if (stop_asking_ && run_clock() >= drain_until_) return;
            wait_and_receive();
            progress_if_due();
        }
    }

    // After an error: the session's row says why it ended; what was answered stays in the archive.
    void close_after(const std::exception& e) {
        try {
            s_.record_worker_events();
            close_session(std::string("error: ") + e.what());
        } catch (...) {  // the archive itself failed: the first error is the one to report
        }
    }

    search_outcome finish() {
        progress_if_due();
        search_outcome out;
        out.ended_by = ended_by_;
        out.answered = s_.answered;
        out.abandoned = dispatch_.in_flight();
        for (const auto& [id, fl] : s_.flights) out.abandoned += fl.waiting.size() - 1;
        out.wall_seconds = elapsed();
        s_.record_worker_events();
        close_session(ended_by_);
        return out;
    }

private:
    double elapsed() const { return std::chrono::duration<double>(clock_type::now() - wall0_).count(); }
    // The clock of the time limit and the drain: a dry run's simulated time (its dispatcher's
    // clock, from 0 at the session's start), else the wall time of the session
    double run_clock() const { return s_.cfg.dispatcher == dispatcher_kind::dry_run ? dispatch_.now() : elapsed(); }

    std::uint64_t told() const {
        std::uint64_t n = 0;
        for (const auto& o : s_.opts) n += o->told();
        return n;
    }

    void progress_if_due() {
        const auto n = told();
        if (n < next_progress_) return;
        print_progress();
        next_progress_ = (n / every_ + 1) * every_;
    }

    void print_progress() {
        std::uint64_t measured = 0, cached = 0, infeasible = 0, failed = 0;
        const auto n = told();
        double best = std::numeric_limits<double>::infinity();
        double best_ms = 0.0;
        for (const auto& r : s_.mirror.evaluations) {
            if (!r.feasible) {
                ++infeasible;
                continue;
            }
            if (r.cached)
                ++cached;
            else
                ++measured;
            if (r.out.status != eval::outcome_status::ok) {
                if (!r.cached) ++failed;
                continue;
            }
            if (r.min_params >= s_.cfg.decoder_floor() && r.told < best) {
                best = r.told;
                best_ms = r.out.value;
            }
        }
        const double t = elapsed();
        const double rate = t > 0.0 ? static_cast<double>(s_.answered) / t : 0.0;
        const std::uint64_t left = s_.cfg.budget > n ? s_.cfg.budget - n : 0;
        const std::size_t busy = std::min(dispatch_.in_flight(), dispatch_.pool_size());
        const auto front = pareto_front(s_.mirror.evaluations, s_.cfg.objective == objective_kind::pareto ? 0 : s_.cfg.decoder_floor());
        std::ostringstream o;
        o << std::fixed << std::setprecision(1) << "progress    " << n << "/" << s_.cfg.budget << " answered (" << measured << " measured, "
          << cached << " cached, " << infeasible << " infeasible, " << failed << " failed), " << rate << "/s, " << busy << "/"
          << dispatch_.pool_size() << " workers busy, "
          << (s_.books ? "fastest within the floor " : "best feasible ");  // a training search's answer is its own, below
        if (std::isfinite(best))
            o << std::setprecision(4) << "x" << best << " (" << best_ms << " ms)";
        else
            o << "none";
        o << ", front " << front.size();
        if (s_.books) {
            o << ", trained";
            const auto per_rung = s_.books->results_per_rung();
            for (std::size_t k = 0; k < per_rung.size(); ++k) o << (k == 0 ? " " : "/") << per_rung[k];
            o << " (" << s_.books->in_flight() << " training), answer ";
            if (const auto b = s_.books->best())
                o << std::setprecision(4) << "x" << b->latency_ratio << " at perplexity x" << b->perplexity_ratios.front();
            else
                o << "none yet";
        }
        o << ", ETA ";
        if (rate > 0.0)
            o << std::setprecision(0) << static_cast<double>(left) / rate << " s";
        else
            o << "unknown";
        progress_ << o.str() << '\n' << std::flush;
    }

    // Reads the signals: true on the second (the session ends at once); the first stops the
    // asking and gives what is in flight --grace seconds.
    bool second_signal() {
        const int sig = signals_ ? signals_() : 0;
        if (sig >= 2) {
            ended_by_ = "second signal";
            return true;
        }
        if (sig == 1 && !stop_asking_) {
            stop("signal", run_clock() + s_.cfg.grace);
            // every answer so far made durable at once: a launcher may kill the job soon after its
            // signal (Open MPI's mpirun odls_base_sigkill_timeout after its SIGTERM, 1 s by default;
            // Slurm after KillWait)
            sink_.flush();
            flushes_.flushed(elapsed());
            std::ostringstream o;  // its own stream: the caller's may be left in fixed notation
            o << "signal      stop asking; waiting up to " << s_.cfg.grace << " s for " << dispatch_.in_flight() << " results in flight\n";
            progress_ << o.str() << std::flush;
        }
        return false;
    }

    // The time limit (in flight then given --grace seconds) and the measurements' budget (every
    // measurement in flight waited for).
    void check_stops() {
        if (!stop_asking_ && run_clock() >= s_.cfg.time_limit) stop("time limit", run_clock() + s_.cfg.grace);
        if (!stop_asking_ && s_.cfg.measurements > 0 && s_.sent >= s_.cfg.measurements)
            stop("measurements", std::numeric_limits<double>::infinity());
    }

    void stop(const char* why, double drain_until) {
        stop_asking_ = true;
        ended_by_ = why;
        drain_until_ = drain_until;
    }

    // Asks while a worker slot is free, the next optimizer once one has spent its budget; answers
    // that need no worker (cached, infeasible) take no slot.
    void ask_while_slots_free() {
        while (!stop_asking_ && dispatch_.free_slots() > 0 && dispatch_.pool_size() > 0) {
            if (s_.books) {  // a training search: the trainings due first, then new candidates
                if (const auto o = s_.books->next()) {
                    s_.submit_training(*o);
                    continue;
                }
            }
            if (s_.opts[s_.phase]->stopped()) {
                if (s_.phase + 1 < s_.opts.size()) {
                    ++s_.phase;
                    continue;
                }
                break;
            }
            const auto ph = static_cast<std::uint32_t>(s_.phase);
            std::size_t n = dispatch_.free_slots();
            if (s_.cfg.measurements > 0) {  // never more sent than the measurements left
                if (s_.sent >= s_.cfg.measurements) break;
                n = static_cast<std::size_t>(std::min<std::uint64_t>(n, s_.cfg.measurements - s_.sent));
            }
            const auto tasks = s_.ask(ph, n);
            if (tasks.empty()) break;  // it waits for results
            for (const auto& t : tasks) s_.take(ph, t);
        }
    }

    // Nothing in flight and nothing offered: ask once more; a second empty ask is a stall.
    void ask_when_idle() {
        if (dispatch_.pool_size() == 0) throw error("every worker left the pool; the search cannot go on (resume it from its archive).");
        const auto ph = static_cast<std::uint32_t>(s_.phase);
        const auto tasks = s_.ask(ph, 1);
        if (tasks.empty()) throw error("the optimizer " + s_.opts[ph]->name() + " offered no candidate while none was in flight.");
        for (const auto& t : tasks) s_.take(ph, t);
    }

    // Up to a quarter of a second (less when draining), then the results told and the pool's
    // events recorded; a flush when one is due (one with nothing new writes nothing).
    void wait_and_receive() {
        const double wait_for = stop_asking_ ? std::min(0.25, std::max(0.0, drain_until_ - run_clock())) : 0.25;
        const auto results = dispatch_.wait(wait_for);
        for (const auto& r : results) s_.receive(r);
        s_.record_worker_events();
        if (flushes_.due(!results.empty(), elapsed())) {
            sink_.flush();
            flushes_.flushed(elapsed());
        }
    }

    void close_session(const std::string& why) {
        storage::session_record rec;
        rec.session = session_;
        rec.started = started_;
        rec.wall_seconds = elapsed();
        rec.ended_by = why;
        rec.command_line = s_.command_line;
        s_.mirror.sessions.push_back(rec);
        sink_.append(rec);
        sink_.flush();
    }

    search_driver::state& s_;
    transport::dispatcher& dispatch_;
    storage::archive_sink& sink_;
    std::ostream& progress_;
    const std::function<int()>& signals_;
    const clock_type::time_point wall0_;
    const std::uint32_t session_;
    const std::string started_;
    const std::uint64_t every_;
    std::uint64_t next_progress_ = 0;
    flush_schedule flushes_;
    std::string ended_by_ = "budget";
    bool stop_asking_ = false;
    double drain_until_ = std::numeric_limits<double>::infinity();  // wall seconds since wall0_
};

}  // namespace

search_outcome search_driver::run(transport::dispatcher& dispatch, storage::archive_sink& sink, std::ostream& progress,
                                  const std::function<int()>& signals) {
    state& s = *s_;
    s.sink = &sink;
    s.dispatch = &dispatch;
    session_loop loop(s, dispatch, sink, progress, signals);
    loop.open();
    loop.redispatch_unanswered();
    try {
        loop.run();
    } catch (const std::exception& e) {
        loop.close_after(e);
        throw;
    }
    return loop.finish();
}

std::vector<storage::evaluation_record> pareto_front(const std::vector<storage::evaluation_record>& records, std::uint64_t floor) {
    std::vector<storage::evaluation_record> ok;
    for (const auto& r : records)
        if (!r.cached && r.feasible && r.out.status == eval::outcome_status::ok && std::isfinite(r.out.value) && r.decoder_params >= floor)
            ok.push_back(r);
    // ranked by the latency ratio, as analyze and the user guide rank (the latency itself where no
    // reference was timed: the objective functions)
    const auto latency = [](const storage::evaluation_record& r) { return std::isfinite(r.ratio) ? r.ratio : r.out.value; };
    std::sort(ok.begin(), ok.end(), [&](const auto& a, const auto& b) {
        return a.decoder_params != b.decoder_params ? a.decoder_params > b.decoder_params : latency(a) < latency(b);
    });
    std::vector<storage::evaluation_record> front;
    for (const auto& r : ok)
        if (front.empty() || latency(r) < latency(front.back())) front.push_back(r);
    return front;
}

std::string json_line(const storage::evaluation_record& r) {
    const auto num = [](double v) { return json_number(v); };
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.hash));
    std::ostringstream o;
    o << "{\"id\": " << r.id << ", \"phase\": " << r.phase << ", \"task\": " << r.task << ", \"architecture\": " << json_string(r.arch)
      << ", \"hash\": \"" << hash << "\", \"decoder_params\": " << r.decoder_params << ", \"total_params\": " << r.total_params
      << ", \"min_params\": " << r.min_params << ", \"feasible\": " << (r.feasible ? "true" : "false")
      << ", \"cached\": " << (r.cached ? "true" : "false") << ", \"status\": \"" << eval::to_string(r.out.status) << "\""
      << ", \"message\": " << json_string(r.out.message) << ", \"latency_ms\": " << num(r.out.value)
      << ", \"reference_ms\": " << num(r.out.reference_ms) << ", \"ratio\": " << num(r.ratio) << ", \"told\": " << num(r.told)
      << ", \"decode_ms\": " << num(r.out.decode_ms) << ", \"prefill_ms\": " << num(r.out.prefill_ms)
      << ", \"peak_memory_bytes\": " << r.out.peak_memory_bytes << ", \"worker\": " << r.worker << ", \"dispatched\": " << num(r.dispatched)
      << ", \"started\": " << num(r.started) << ", \"ended\": " << num(r.ended);
    // a serving mix's latencies, scenario by scenario, and the reference's they were compared with
    for (const auto& [name, list] :
         {std::pair{"scenario_ms", &r.out.scenario_ms}, std::pair{"scenario_reference_ms", &r.out.scenario_reference_ms}}) {
        if (list->empty()) continue;
        o << ", \"" << name << "\": [";
        for (std::size_t i = 0; i < list->size(); ++i) o << (i ? ", " : "") << num((*list)[i]);
        o << "]";
    }
    o << "}";
    return o.str();
}

void print_training_report(const storage::archive_contents& a, const search_config& cfg, std::ostream& out) {
    training_books books(cfg);
    replay_trainings(books, a);
    print_training_report(a, cfg, books, out);
}

void print_training_report(const storage::archive_contents& a, const search_config& cfg, const training_books& books, std::ostream& out) {
    struct rung_sums {
        std::size_t candidates = 0, failed = 0;
        double seconds = 0.0;
    };
    std::map<std::pair<std::uint32_t, std::uint64_t>, rung_sums> sums;  // (rung, seed)
    std::map<std::pair<std::uint32_t, std::uint64_t>, double> reference;
    for (const auto& t : a.search_trainings) {
        auto& r = sums[{t.rung, t.seed}];
        r.seconds += t.ended - t.started;
        if (t.reference) {
            if (t.status == eval::outcome_status::ok) reference[{t.rung, t.seed}] = t.val_perplexity;
            continue;
        }
        ++r.candidates;
        if (t.status != eval::outcome_status::ok) ++r.failed;
    }
    std::ostringstream o;
    o << std::fixed;
    o << "trainings   " << a.search_trainings.size() << " (rungs " << joined(cfg.rungs) << " tokens, eta " << cfg.eta << ", seed "
      << cfg.train_seed << "; feasible: perplexity <= x" << std::setprecision(3) << cfg.max_perplexity_ratio
      << " the reference's at the top rung; below it ranked by "
      << (cfg.trend_probe > 0.0 ? "the ratio extrapolated to the top, probes at x" + decimal(cfg.trend_probe) + " the budget"
                                : std::string("the rung's ratio"))
      << (cfg.trend_calibration == on_off::on ? ", calibrated by the top rung's results" : "") << "):\n";
    for (const auto& [at, r] : sums) {
        o << "  rung " << at.first << " (" << cfg.rungs[at.first] << " tokens, seed " << at.second << "): " << r.candidates
          << (r.candidates == 1 ? " candidate, " : " candidates, ") << r.failed << " failed; reference perplexity ";
        if (const auto it = reference.find(at); it != reference.end())
            o << std::setprecision(3) << it->second;
        else
            o << "not measured";
        o << "; " << std::setprecision(4) << r.seconds / 3600.0 << " worker-hours";
        if (const auto c = books.calibration_at(at.first);
            cfg.trend_calibration == on_off::on && at.first + 1 < cfg.rungs.size() && at.second == cfg.train_seed)
            o << "; estimates x" << std::setprecision(4) << c.factor << " (calibrated by " << c.from
              << (c.from == 1 ? " candidate" : " candidates") << " at the top)";
        o << '\n';
    }
    o << "answer      ";
    if (const auto b = books.best()) {
        o << std::setprecision(4) << "latency x" << b->latency_ratio << ", perplexity";
        for (std::size_t i = 0; i < b->perplexity_ratios.size(); ++i)
            o << (i == 0 ? " x" : ", x") << b->perplexity_ratios[i] << " (seed " << cfg.train_seed + i << ")";
        o << (b->perplexity_ratios.size() < 2 ? ", second seed not trained yet" : "") << ": " << b->arch << '\n';
    } else {
        o << "none feasible at the top rung yet\n";
    }
    if (cfg.head_variants == head_variants_kind::shared) {
        // the asks of architectures never trained whose shape (heads aside) a trained candidate
        // has: head variants, told its verdict where they were admitted (faster than the answer then)
        std::set<std::uint64_t> trained, shapes, variants;
        for (const auto& t : a.search_trainings)
            if (!t.reference) {
                trained.insert(t.hash);
                if (const auto s = shape_hash(t.arch)) shapes.insert(*s);
            }
        std::size_t asks = 0;
        for (const auto& r : a.evaluations) {
            if (!r.feasible || trained.count(r.hash) || !std::isfinite(r.ratio)) continue;
            if (const auto s = shape_hash(r.arch); s && shapes.count(*s)) {
                ++asks;
                variants.insert(r.hash);
            }
        }
        o << "variants    " << asks << (asks == 1 ? " ask" : " asks") << " of " << variants.size()
          << (variants.size() == 1 ? " architecture" : " architectures")
          << " that differ from a trained candidate only in their heads, never trained (--head-variants shared)\n";
    }
    out << o.str();
}

void print_report(const storage::archive_contents& a, const search_config& cfg, std::ostream& out) {
    std::uint64_t measured = 0, cached = 0, infeasible = 0;
    std::map<std::string, std::uint64_t> by_status;
    for (const auto& r : a.evaluations) {
        if (!r.feasible) {
            ++infeasible;
            continue;
        }
        if (r.cached) {
            ++cached;
            continue;
        }
        ++measured;
        ++by_status[eval::to_string(r.out.status)];
    }
    out << "answered    " << a.evaluations.size() << " candidates: " << measured << " measured, " << cached << " from the cache, "
        << infeasible << " infeasible (decoder parameters below the floor, never measured)\n";
    out << "statuses   ";
    for (const auto& [k, v] : by_status) out << ' ' << k << ' ' << v;
    out << '\n';
    auto row = [&](const storage::evaluation_record& r) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(4) << r.out.value << " ms  x" << std::setprecision(3) << r.ratio
          << eval::scenario_ratio_text(r.out) << "  " << r.decoder_params << " params  worker " << r.worker << "  " << r.arch;
        return o.str();
    };
    const auto floors = cfg.floors();
    for (std::size_t k = 0; k < floors.size(); ++k) {
        const std::uint64_t floor = cfg.phase_floor(k);
        std::vector<storage::evaluation_record> ok;
        for (const auto& r : a.evaluations)
            if (!r.cached && r.feasible && r.decoder_params >= floor && r.out.status == eval::outcome_status::ok &&
                std::isfinite(r.out.value))
                ok.push_back(r);
        std::sort(ok.begin(), ok.end(), [](const auto& x, const auto& y) {
            const double rx = std::isfinite(x.ratio) ? x.ratio : x.out.value, ry = std::isfinite(y.ratio) ? y.ratio : y.out.value;
            return rx < ry;
        });
        const std::size_t shown = std::min<std::size_t>(floors.size() > 1 ? 1 : cfg.top, ok.size());
        out << "best        " << shown << " of " << ok.size() << " distinct architectures measured with decoder parameters >= " << floor
            << " ("
            << (cfg.scenarios.empty() ? std::string(to_string(cfg.latency)) + " ms"
                                      : std::string("the mix's ms: its ratio x the reference's weighted mean"))
            << ", ratio to " << to_string(cfg.reference) << " on the same worker"
            << (cfg.trains() ? "; by the floor alone, the trainings' answer is below" : "") << "):\n";
        for (std::size_t i = 0; i < shown; ++i) out << "  " << row(ok[i]) << '\n';
    }
    const auto front = pareto_front(a.evaluations, cfg.objective == objective_kind::pareto ? 0 : cfg.decoder_floor());
    out << "front       " << front.size() << " architectures (decoder parameters up, latency ratio down, as analyze ranks them):\n";
    for (const auto& r : front) out << "  " << row(r) << '\n';
    if (cfg.trains()) print_training_report(a, cfg, out);
    out << "workers     " << a.workers.size() << " joined:\n";
    // each worker's re-timings, grouped once: a loop over every event per worker was quadratic
    // (12 s of report for a dry run of 65,536 workers, hours at its limit of a million)
    std::map<std::pair<std::int32_t, std::uint32_t>, std::vector<double>> retimed;
    for (const auto& e : a.worker_events)
        if (e.kind == event_kind(transport::worker_event::kind::calibrated) && std::isfinite(e.reference_ms))
            retimed[{e.worker, e.session}].push_back(e.reference_ms);
    for (const auto& w : a.workers) {
        std::vector<double> refs;
        if (std::isfinite(w.reference_ms)) refs.push_back(w.reference_ms);
        if (const auto it = retimed.find({w.rank, w.session}); it != retimed.end())
            refs.insert(refs.end(), it->second.begin(), it->second.end());
        out << "  rank " << w.rank << " on " << w.host << ", " << w.device.name << (w.device.uuid.empty() ? "" : " " + w.device.uuid)
            << " (session " << w.session << ")";
        if (!refs.empty()) {
            const auto [lo, hi] = std::minmax_element(refs.begin(), refs.end());
            out << std::fixed << std::setprecision(4) << ": reference " << refs.size() << " timing" << (refs.size() == 1 ? "" : "s") << ", "
                << *lo << "-" << *hi << " ms";
        }
        out << '\n';
    }
    for (const auto& e : a.worker_events)
        if (e.kind == event_kind(transport::worker_event::kind::left_hung) ||
            e.kind == event_kind(transport::worker_event::kind::left_device))
            out << "  rank " << e.worker << " left the pool: " << e.message << '\n';
}

}  // namespace fracnas::app
