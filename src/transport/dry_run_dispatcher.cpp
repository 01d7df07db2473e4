// The dry-run dispatcher: simulated workers, a simulated clock, costs from a distribution, values
// from a device-free evaluator. Each wait() jumps the clock to the next completion or deadline.
#include "fracnas/transport/dry_run_dispatcher.hpp"

#include <cmath>
#include <limits>

#include "fracnas/error.hpp"

namespace fracnas::transport {

namespace {
constexpr double infinity = std::numeric_limits<double>::infinity();
}

const char* to_string(cost_kind k) {
    switch (k) {
        case cost_kind::fixed:
            return "fixed";
        case cost_kind::uniform:
            return "uniform";
        case cost_kind::exponential:
            return "exponential";
        case cost_kind::lognormal:
            return "lognormal";
    }
    return "unknown";
}

cost_kind parse_cost_kind(const std::string& name) {
    for (auto k : {cost_kind::fixed, cost_kind::uniform, cost_kind::exponential, cost_kind::lognormal})
        if (name == to_string(k)) return k;
    throw config_error("cost", "unknown task-cost distribution '" + name + "'; valid: fixed, uniform, exponential, lognormal.");
}

void dry_run_config::validate() const {
    if (workers < 1 || workers > 1000000) throw config_error("workers", "the dry run needs 1..1,000,000 workers.");
    if (!(cost_mean_seconds > 0.0) || !std::isfinite(cost_mean_seconds))
        throw config_error("cost_mean_seconds", "the mean task cost must be a finite number of seconds > 0.");
    if (!(cost_spread >= 0.0) || !std::isfinite(cost_spread) || (cost == cost_kind::uniform && cost_spread >= 1.0))
        throw config_error("cost_spread", "the cost spread must be >= 0 (and < 1 for a uniform cost).");
    if (!(failure_rate >= 0.0 && failure_rate <= 1.0)) throw config_error("failure_rate", "the failure rate must be in [0, 1].");
    if (!(hang_rate >= 0.0 && hang_rate < 1.0)) throw config_error("hang_rate", "the hang rate must be in [0, 1).");
    if (!(dispatch_seconds >= 0.0) || !std::isfinite(dispatch_seconds))
        throw config_error("dispatch_seconds", "the dispatch latency must be a finite number of seconds >= 0.");
}

dry_run_dispatcher::dry_run_dispatcher(eval::job_evaluator& evaluator, dry_run_config cfg, dispatch_policy policy)
    : evaluator_(evaluator), cfg_(cfg), policy_(policy), rng_(cfg.seed ^ 0x2545f4914f6cdd1dULL) {
    cfg_.validate();
    if (cfg_.hang_rate > 0.0 && !std::isfinite(policy_.task_deadline_seconds))
        throw config_error("hang_rate", "simulated hangs need a finite task deadline, or the run never ends.");
    if (policy_.queued_per_worker > 1) throw config_error("queued_per_worker", "at most one job can wait behind a running one.");
    const eval::outcome ref = evaluator_.time_reference();
    workers_.resize(cfg_.workers);
    state_.resize(cfg_.workers);
    busy_.assign(cfg_.workers, 0.0);
    idle_.reserve(cfg_.workers);
    for (std::size_t w = cfg_.workers; w-- > 0;) {
        workers_[w].rank = static_cast<int>(w + 1);
        workers_[w].host = "dry-run";
        workers_[w].device = evaluator_.binding();
        workers_[w].reference_ms = ref.reference_ms;
        idle_.push_back(w);
    }
    for (std::size_t w = 0; w < cfg_.workers; ++w)
        events_.push_back({worker_event::kind::joined, workers_[w].rank, 0.0, ref.reference_ms, ""});
    pool_ = cfg_.workers;
}

std::size_t dry_run_dispatcher::free_slots() const {
    const std::size_t total = pool_ * capacity();
    const std::size_t used = in_flight_;  // requeued jobs are in flight too
    return used >= total ? 0 : total - used;
}

void dry_run_dispatcher::do_submit(job j) {
    ++in_flight_;  // a free slot and a new id: dispatcher::submit checked them
    place(std::move(j), now_);
}

void dry_run_dispatcher::place(job j, double dispatched) {
    auto pop_with = [&](std::vector<std::size_t>& stack, std::size_t load) -> std::size_t {
        while (!stack.empty()) {
            const std::size_t w = stack.back();
            stack.pop_back();
            if (workers_[w].in_pool && state_[w].jobs.size() == load) return w;
        }
        return cfg_.workers;
    };
    std::size_t w = pop_with(idle_, 0);
    if (w == cfg_.workers && capacity() > 1) w = pop_with(half_, 1);
    if (w == cfg_.workers) {  // every pool worker is full: it waits for one (only requeued jobs get here)
        requeue_.emplace_back(std::move(j), dispatched);
        return;
    }
    state_[w].jobs.emplace_back(std::move(j), dispatched);
    if (state_[w].jobs.size() == 1)
        start_front(w);
    else if (state_[w].jobs.size() < capacity())
        half_.push_back(w);
}

void dry_run_dispatcher::start_front(std::size_t w) {
    worker_state& s = state_[w];
    double cost = cfg_.cost_mean_seconds;
    switch (cfg_.cost) {
        case cost_kind::fixed:
            break;
        case cost_kind::uniform:
            cost *= 1.0 + cfg_.cost_spread * (2.0 * rng_.uniform() - 1.0);
            break;
        case cost_kind::exponential:
            cost *= -std::log1p(-rng_.uniform());
            break;
        case cost_kind::lognormal:
            cost *= std::exp(cfg_.cost_spread * rng_.normal());
            break;
    }
    const bool hangs = cfg_.hang_rate > 0.0 && rng_.uniform() < cfg_.hang_rate;
    s.failed = cfg_.failure_rate > 0.0 && rng_.uniform() < cfg_.failure_rate;
    s.started = now_ + cfg_.dispatch_seconds;
    s.cost = hangs ? infinity : cost;
    ++s.generation;
    if (!hangs) ends_.push({s.started + cost, w, s.generation});
    s.deadline = deadline_.seconds();
    if (std::isfinite(s.deadline)) deadlines_.push({s.started + s.deadline, w, s.generation});
    if (s.jobs.size() < capacity()) half_.push_back(w);
}

void dry_run_dispatcher::leave(std::size_t w, worker_event::kind why, const std::string& message) {
    workers_[w].in_pool = false;
    workers_[w].left_reason = message;
    --pool_;
    events_.push_back({why, workers_[w].rank, now_, eval::outcome::none, message});
    for (auto& j : state_[w].jobs) requeue_.push_back(std::move(j));
    state_[w].jobs.clear();
    ++state_[w].generation;
}

std::vector<job_result> dry_run_dispatcher::do_wait(double max_seconds) {
    std::vector<job_result> out;
    const double until = now_ + (max_seconds >= 0.0 ? max_seconds : 0.0);
    auto stale = [&](const timed& t) { return t.generation != state_[t.worker].generation || !workers_[t.worker].in_pool; };
    while (in_flight_ > 0) {
        while (!ends_.empty() && stale(ends_.top())) ends_.pop();
        while (!deadlines_.empty() && stale(deadlines_.top())) deadlines_.pop();
        if (pool_ == 0) {  // nobody can run what is left
            for (auto& [j, at] : requeue_) out.push_back(unanswered(std::move(j), at, eval::outcome_status::timeout));
            requeue_.clear();
            in_flight_ = 0;
            break;
        }
        const double next_end = ends_.empty() ? infinity : ends_.top().at;
        const double next_deadline = deadlines_.empty() ? infinity : deadlines_.top().at;
        const double next = std::min(next_end, next_deadline);
        if (!out.empty() && next > now_) break;  // everything that ends at this instant is returned together
        if (!std::isfinite(next) || next > until) {
            if (std::isfinite(until)) now_ = std::max(now_, until);
            break;
        }
        now_ = std::max(now_, next);
        if (next_deadline < next_end) {  // its job has run past the deadline: re-queue it, retire the worker
            const std::size_t w = deadlines_.top().worker;
            deadlines_.pop();
            busy_[w] += now_ - state_[w].started;
            leave(w, worker_event::kind::left_hung, "its task ran past the deadline of " + std::to_string(state_[w].deadline) + " s.");
        } else {
            const std::size_t w = ends_.top().worker;
            ends_.pop();
            worker_state& s = state_[w];
            auto [j, dispatched] = std::move(s.jobs.front());
            s.jobs.erase(s.jobs.begin());
            deadline_.finished(now_ - s.started);
            job_result r;
            r.id = j.id;
            r.worker = workers_[w].rank;
            r.dispatched = dispatched;
            r.started = s.started;
            r.ended = now_;
            busy_[w] += s.cost;
            r.out = evaluator_.evaluate(j.x, j.spec);
            r.out.reference_ms = workers_[w].reference_ms;
            r.out.wall_seconds = s.cost;
            if (s.failed && r.out.status == eval::outcome_status::ok) {
                r.out.status = eval::outcome_status::error;
                r.out.value = eval::outcome::none;
                r.out.message = "simulated failure.";
            }
            --in_flight_;
            ++s.generation;
            const bool lost = r.out.status == eval::outcome_status::device_lost;
            out.push_back(std::move(r));
            if (lost)
                leave(w, worker_event::kind::left_device, "its device is unusable.");
            else if (!s.jobs.empty())
                start_front(w);
            else
                idle_.push_back(w);
        }
        // jobs of retired workers go first to whoever is free
        std::vector<std::pair<job, double>> waiting;
        waiting.swap(requeue_);
        for (auto& [j, at] : waiting) {
            if (pool_ == 0)
                requeue_.emplace_back(std::move(j), at);
            else
                place(std::move(j), at);
        }
    }
    return out;
}

job_result dry_run_dispatcher::unanswered(job j, double dispatched, eval::outcome_status why) {
    job_result r;
    r.id = j.id;
    r.worker = 0;
    r.dispatched = dispatched;
    r.started = r.ended = now_;
    r.out.status = why;
    r.out.message = "no worker is left in the pool to run this job.";
    return r;
}

std::vector<worker_event> dry_run_dispatcher::take_events() {
    std::vector<worker_event> e;
    e.swap(events_);
    return e;
}

void dry_run_dispatcher::do_shutdown() noexcept {
    for (auto& s : state_) {
        s.jobs.clear();
        ++s.generation;
    }
    requeue_.clear();
    in_flight_ = 0;
}

}  // namespace fracnas::transport
