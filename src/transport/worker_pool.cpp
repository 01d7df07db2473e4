// The shared scheduling policy (worker_pool.hpp): slots by load level, round robin, deadlines,
// re-queueing and orphans. No clock, no transport.
#include "fracnas/transport/worker_pool.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::transport {

namespace {

// The policy's queue depth, refused past the limit before any slot is counted: a deeper queue would
// hold tasks back from workers that free up, and the deadlines assume one task waits at most.
std::size_t slots_per_worker(const dispatch_policy& policy) {
    if (policy.queued_per_worker > dispatch_policy::max_queued_per_worker)
        throw config_error("queued_per_worker", "at most one job can wait behind a running one (queued_per_worker is " +
                                                    std::to_string(policy.queued_per_worker) + ").");
    return 1 + policy.queued_per_worker;
}

}  // namespace

worker_pool::worker_pool(const dispatch_policy& policy) : cap_(slots_per_worker(policy)), deadlines_(policy), room_(cap_) {}

std::size_t worker_pool::add(worker_info info, double now) {
    const std::size_t w = infos_.size();
    const bool joins = info.in_pool;
    infos_.push_back(std::move(info));
    states_.emplace_back();
    if (joins) {
        ++pool_;
        free_ += cap_;
        room_[0].insert(w);
        event(worker_event::kind::joined, w, now, infos_[w].reference_ms, "");
    } else {
        event(worker_event::kind::left_device, w, now, infos_[w].reference_ms, infos_[w].left_reason);
    }
    return w;
}

double worker_pool::deadline_of(const job& j) const {
    return std::max(deadlines_.seconds(), j.deadline_seconds);
}

std::optional<std::size_t> worker_pool::pick() {
    for (auto& level : room_) {
        if (level.empty()) continue;
        auto it = level.lower_bound(cursor_);
        if (it == level.end()) it = level.begin();
        cursor_ = (*it + 1) % infos_.size();
        return *it;
    }
    return std::nullopt;
}

void worker_pool::load_changed(std::size_t w, std::size_t before) {
    if (before < cap_) room_[before].erase(w);
    const std::size_t now_holds = states_[w].assigned.size();
    if (infos_[w].in_pool && now_holds < cap_) room_[now_holds].insert(w);
}

void worker_pool::give(std::size_t w, std::uint64_t id, double now, std::vector<assignment>& out) {
    state& s = states_[w];
    const bool starts = s.assigned.empty();
    if (starts) {  // idle: it starts on arrival
        s.running_since = now;
        s.deadline = deadline_of(flights_.at(id).j);
    }
    s.assigned.push_back(id);
    load_changed(w, s.assigned.size() - 1);
    --free_;
    flights_.at(id).worker = w;
    out.push_back({w, id, starts});
}

std::vector<worker_pool::assignment> worker_pool::flush(double now) {
    std::vector<assignment> out;
    while (!requeue_.empty() && free_ > 0) {
        const auto w = pick();
        if (!w) break;
        give(*w, requeue_.front(), now, out);
        requeue_.pop_front();
    }
    return out;
}

std::vector<worker_pool::assignment> worker_pool::submit(transport::job j, double now) {
    std::vector<assignment> out = flush(now);
    const auto w = pick();
    if (!w) throw protocol_error("internal: submit found no worker with a free slot.");
    const std::uint64_t id = j.id;
    flight f;
    f.j = std::move(j);
    f.dispatched = now;
    flights_.emplace(id, std::move(f));
    give(*w, id, now, out);
    return out;
}

const worker_pool::flight& worker_pool::find(std::uint64_t id) const {
    return flights_.at(id);
}

worker_pool::finished worker_pool::finish(std::size_t w, std::uint64_t id, double now) {
    state& s = states_[w];
    const auto pos = std::find(s.assigned.begin(), s.assigned.end(), id);
    if (pos == s.assigned.end())
        throw protocol_error("rank " + std::to_string(infos_[w].rank) + " sent a result for job " + std::to_string(id) +
                             ", which it was not given.");
    const std::size_t before = s.assigned.size();
    const bool was_running = pos == s.assigned.begin();
    s.assigned.erase(pos);
    load_changed(w, before);
    ++free_;
    auto f = flights_.find(id);
    // the adaptive deadline learns from timings: a training's length says nothing of theirs
    if (f->second.j.kind == eval::task_kind::time) deadlines_.finished(now - s.running_since);
    finished out;
    if (was_running && !s.assigned.empty()) {  // its queued task starts now
        s.running_since = now;
        s.deadline = deadline_of(flights_.at(s.assigned.front()).j);
        out.starts = s.assigned.front();
    }
    out.done = std::move(f->second);
    flights_.erase(f);
    return out;
}

std::vector<std::size_t> worker_pool::past_deadline(double now) const {
    std::vector<std::size_t> out;
    for (std::size_t w = 0; w < states_.size(); ++w) {
        const state& s = states_[w];
        if (infos_[w].in_pool && !s.assigned.empty() && now - s.running_since > s.deadline) out.push_back(w);
    }
    return out;
}

void worker_pool::leave(std::size_t w, bool hung, const std::string& reason, eval::outcome_status orphaned, double now) {
    worker_info& info = infos_[w];
    if (!info.in_pool) return;
    state& s = states_[w];
    if (s.assigned.size() < cap_) room_[s.assigned.size()].erase(w);
    info.in_pool = false;
    info.left_reason = reason;
    --pool_;
    free_ -= cap_ - s.assigned.size();
    for (auto it = s.assigned.rbegin(); it != s.assigned.rend(); ++it) {
        auto f = flights_.find(*it);
        if (f == flights_.end()) continue;
        f->second.orphaned = orphaned;
        f->second.why = reason;
        requeue_.push_front(*it);
    }
    s.assigned.clear();
    event(hung ? worker_event::kind::left_hung : worker_event::kind::left_device, w, now, eval::outcome::none, reason);
}

std::vector<job_result> worker_pool::orphans(double now) {
    std::vector<std::uint64_t> ids;
    ids.reserve(flights_.size());
    for (const auto& kv : flights_) ids.push_back(kv.first);
    std::sort(ids.begin(), ids.end());
    std::vector<job_result> out;
    out.reserve(ids.size());
    for (std::uint64_t id : ids) {
        const flight& f = flights_.at(id);
        job_result r;
        r.id = id;
        r.out.status = f.orphaned;
        r.out.message =
            "no worker is left in the pool to run it" + (f.why.empty() ? std::string(".") : "; its last worker left because " + f.why);
        r.worker = infos_.empty() ? 0 : infos_[f.worker].rank;
        r.dispatched = f.dispatched;
        r.started = r.ended = now;
        out.push_back(std::move(r));
    }
    clear();
    return out;
}

void worker_pool::clear() {
    for (std::size_t w = 0; w < states_.size(); ++w) {
        const std::size_t before = states_[w].assigned.size();
        if (before == 0) continue;
        states_[w].assigned.clear();
        if (infos_[w].in_pool) free_ += before;
        load_changed(w, before);
    }
    flights_.clear();
    requeue_.clear();
}

void worker_pool::event(worker_event::kind k, std::size_t w, double now, double reference_ms, std::string message) {
    events_.push_back({k, infos_[w].rank, now, reference_ms, std::move(message)});
}

std::vector<worker_event> worker_pool::take_events() {
    std::vector<worker_event> out;
    out.swap(events_);
    return out;
}

}  // namespace fracnas::transport
