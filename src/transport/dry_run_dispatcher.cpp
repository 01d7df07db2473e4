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
    if (!(train_seconds_per_mtoken > 0.0) || !std::isfinite(train_seconds_per_mtoken))
        throw config_error("train_seconds_per_mtoken", "a training's cost per million tokens must be a finite number of seconds > 0.");
    if (!(failure_rate >= 0.0 && failure_rate <= 1.0)) throw config_error("failure_rate", "the failure rate must be in [0, 1].");
    if (!(hang_rate >= 0.0 && hang_rate < 1.0)) throw config_error("hang_rate", "the hang rate must be in [0, 1).");
    if (!(dispatch_seconds >= 0.0) || !std::isfinite(dispatch_seconds))
        throw config_error("dispatch_seconds", "the dispatch latency must be a finite number of seconds >= 0.");
}

dry_run_dispatcher::dry_run_dispatcher(eval::job_evaluator& evaluator, dry_run_config cfg, dispatch_policy policy)
    : evaluator_(evaluator), cfg_(cfg), pool_(policy), rng_(cfg.seed ^ 0x2545f4914f6cdd1dULL) {
    cfg_.validate();
    if (cfg_.hang_rate > 0.0 && !std::isfinite(policy.task_deadline_seconds))
        throw config_error("hang_rate", "simulated hangs need a finite task deadline, or the run never ends.");
    const eval::outcome ref = evaluator_.time_reference();
    state_.resize(cfg_.workers);
    busy_.assign(cfg_.workers, 0.0);
    for (std::size_t w = 0; w < cfg_.workers; ++w) {
        worker_info info;
        info.rank = static_cast<int>(w + 1);
        info.host = "dry-run";
        info.device = evaluator_.binding();
        info.reference_ms = ref.reference_ms;
        pool_.add(std::move(info), 0.0);
    }
}

void dry_run_dispatcher::do_submit(job j) {
    start(pool_.submit(std::move(j), now_));  // a free slot and a new id: dispatcher::submit checked them
}

void dry_run_dispatcher::start(const std::vector<worker_pool::assignment>& given) {
    for (const auto& a : given)
        if (a.starts) start_front(a.worker);
}

void dry_run_dispatcher::start_front(std::size_t w) {
    worker_state& s = state_[w];
    const job& j = pool_.find(pool_.assigned(w).front()).j;
    double cost = j.kind == eval::task_kind::train ? cfg_.train_seconds_per_mtoken * static_cast<double>(j.train.tokens) * 1e-6
                                                   : cfg_.cost_mean_seconds;
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
    const double deadline = pool_.deadline(w);  // the pool set it as the job started
    if (std::isfinite(deadline)) deadlines_.push({s.started + deadline, w, s.generation});
}

std::vector<job_result> dry_run_dispatcher::do_wait(double max_seconds) {
    std::vector<job_result> out;
    const double until = now_ + (max_seconds >= 0.0 ? max_seconds : 0.0);
    auto stale = [&](const timed& t) { return t.generation != state_[t.worker].generation || !pool_.in_pool(t.worker); };
    while (pool_.in_flight() > 0) {
        while (!ends_.empty() && stale(ends_.top())) ends_.pop();
        while (!deadlines_.empty() && stale(deadlines_.top())) deadlines_.pop();
        if (pool_.pool_size() == 0) {  // nobody can run what is left
            for (auto& r : pool_.orphans(now_)) out.push_back(std::move(r));
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
            pool_.leave(w, true, "its task ran past the deadline of " + std::to_string(pool_.deadline(w)) + " s.",
                        eval::outcome_status::timeout, now_);
            ++state_[w].generation;
        } else {
            const std::size_t w = ends_.top().worker;
            ends_.pop();
            worker_state& s = state_[w];
            const auto done = pool_.finish(w, pool_.assigned(w).front(), now_);
            const job& j = done.done.j;
            job_result r;
            r.id = j.id;
            r.worker = pool_.workers()[w].rank;
            r.dispatched = done.done.dispatched;
            r.started = s.started;
            r.ended = now_;
            busy_[w] += s.cost;
            r.out = run_job(evaluator_, j);
            r.out.reference_ms = pool_.workers()[w].reference_ms;
            r.out.wall_seconds = s.cost;
            if (s.failed && r.out.status == eval::outcome_status::ok) {
                r.out.status = eval::outcome_status::error;
                r.out.value = eval::outcome::none;
                r.out.message = "simulated failure.";
            }
            ++s.generation;
            const bool lost = r.out.status == eval::outcome_status::device_lost;
            out.push_back(std::move(r));
            if (lost)
                pool_.leave(w, false, "its device is unusable.", eval::outcome_status::device_lost, now_);
            else if (done.starts)
                start_front(w);
        }
        start(pool_.flush(now_));  // jobs of retired workers go first to whoever is free
    }
    return out;
}

void dry_run_dispatcher::do_shutdown() noexcept {
    for (auto& s : state_) ++s.generation;
    pool_.clear();
}

}  // namespace fracnas::transport
