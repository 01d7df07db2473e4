// The dispatcher contract, written once and run on every dispatcher: the in-process and dry-run
// ones in fracnas_tests (tests/transport/dispatcher_contract.tests.cpp), the MPI one under
// mpiexec -n 3 (tests/transport/mpi/dispatcher_contract.tests.cpp). Each check takes a dispatcher
// whose workers run the analytic latency model, so that the values are known. Header-only, Catch2
// assertions; it builds no dispatcher itself.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::testing::contract {

/// n jobs from id `first`: small architectures of the latency model, points inside the cube.
inline std::vector<transport::job> jobs(std::size_t n, std::uint64_t first = 100) {
    std::vector<transport::job> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        nas::architecture a;
        a.n_layer = 1 + static_cast<std::uint32_t>(i % 4);
        a.d_model = 128 + 64 * static_cast<std::uint32_t>(i % 6);
        a.d_inner.assign(a.n_layer, 4 * a.d_model);
        a.n_head.assign(a.n_layer, 2);
        out[i].id = first + i;
        out[i].x = {static_cast<double>(i) / static_cast<double>(n), 0.25};
        out[i].spec = nas::canonical(a);
    }
    return out;
}

inline double expected_ms(const std::string& spec) {
    return eval::latency_model_evaluator(eval::latency_model_config{}).model_ms(nas::parse_architecture(spec));
}

/// What a driver sees: the jobs it could submit (all of them unless the pool emptied) and every
/// result in the order wait() returned it.
struct run {
    std::size_t submitted = 0;
    std::vector<transport::job_result> results;
};

inline run drive(transport::dispatcher& d, const std::vector<transport::job>& all, double give_up_s = 30.0) {
    run out;
    const double end = d.now() + give_up_s;
    while ((out.submitted < all.size() || d.in_flight() > 0) && d.now() < end) {
        if (d.pool_size() == 0 && d.in_flight() == 0) break;  // nobody left to take the rest
        while (out.submitted < all.size() && d.free_slots() > 0) d.submit(all[out.submitted++]);
        for (auto& r : d.wait(0.5)) out.results.push_back(std::move(r));
    }
    return out;
}

/// Each of the first `submitted` jobs came back exactly once, no other.
inline void require_each_once(const run& got, const std::vector<transport::job>& all) {
    REQUIRE(got.results.size() == got.submitted);
    std::map<std::uint64_t, int> seen;
    for (const auto& r : got.results) ++seen[r.id];
    for (std::size_t i = 0; i < got.submitted; ++i) REQUIRE(seen[all[i].id] == 1);
}

inline bool in_pool(const transport::dispatcher& d, int rank) {
    for (const auto& w : d.workers())
        if (w.rank == rank) return w.in_pool;
    return false;
}

/// A policy that queues two jobs behind a running one is refused by every dispatcher alike, as it
/// is built and before it reaches a worker: config_error("queued_per_worker") with one sentence (the
/// one rule, in transport::worker_pool). `make` builds a dispatcher with the policy it is given.
template <class Make>
inline void check_refuses_deep_queue(Make make) {
    transport::dispatch_policy p;
    p.queued_per_worker = transport::dispatch_policy::max_queued_per_worker + 1;
    try {
        make(p);
        FAIL("a dispatcher accepted queued_per_worker " << p.queued_per_worker);
    } catch (const config_error& e) {
        REQUIRE(e.field() == "queued_per_worker");
        REQUIRE(std::string(e.what()) == "at most one job can wait behind a running one (queued_per_worker is 2).");
    }
}

/// Slots: pool x (1 + queued) free at first; submit refuses a full dispatcher, an id in flight and
/// a point outside the cube, and takes nothing then; shutdown drops what is in flight.
inline void check_slots_and_refusals(transport::dispatcher& d, std::size_t queued_per_worker) {
    REQUIRE(d.pool_size() >= 1);
    const std::size_t slots = d.pool_size() * (1 + queued_per_worker);
    REQUIRE(d.free_slots() == slots);
    REQUIRE(d.in_flight() == 0);
    const auto all = jobs(slots + 1);
    d.submit(all[0]);
    if (slots > 1) {
        REQUIRE_THROWS_WITH(d.submit(all[0]), "submit: job 100 is already in flight.");
        REQUIRE(d.in_flight() == 1);
    }
    transport::job outside = all[1];
    outside.x = {0.5, 1.5};
    REQUIRE_THROWS_WITH(d.submit(outside), "submit: job 101 has a coordinate outside the unit cube.");
    outside.x = {std::numeric_limits<double>::quiet_NaN()};
    REQUIRE_THROWS_AS(d.submit(outside), protocol_error);
    transport::job training = all[1];
    training.kind = eval::task_kind::train;  // no budget
    REQUIRE_THROWS_WITH(d.submit(training), "submit: job 101 is a training without a budget (0 tokens).");
    training.train.tokens = 1000;
    training.deadline_seconds = -1.0;
    REQUIRE_THROWS_WITH(d.submit(training), "submit: job 101 has a negative deadline.");
    REQUIRE(d.in_flight() == 1);
    for (std::size_t i = 1; i < slots; ++i) d.submit(all[i]);
    REQUIRE(d.in_flight() == slots);
    REQUIRE(d.free_slots() == 0);
    REQUIRE_THROWS_WITH(d.submit(all[slots]), "submit: no worker has a free slot (call wait() until free_slots() > 0).");
    REQUIRE(d.in_flight() == slots);
    d.shutdown();
    REQUIRE(d.in_flight() == 0);
    REQUIRE(d.wait(0.0).empty());
}

/// Training tasks travel as timings do: n jobs, every third a timing and the others trainings of
/// two budgets and two seeds, each come back once; a training's outcome has the budget's tokens,
/// the latency model's simulated loss for its architecture, budget and seed (whichever worker ran
/// it), its perplexity as the value; a timing's has the modelled latency and no training fields.
/// `diverged` of the trainings (the evaluator's injected fault) come back diverged, as data.
inline void check_training_tasks(transport::dispatcher& d, std::size_t n, std::size_t diverged = 0) {
    auto all = jobs(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i % 3 == 0) continue;
        all[i].kind = eval::task_kind::train;
        all[i].train.tokens = i % 2 == 0 ? 2500000 : 5000000;
        all[i].train.seed = 1 + i % 2;
        all[i].train.rung = i % 2 == 0 ? 0 : 1;
        all[i].deadline_seconds = 3600.0;
    }
    const run got = drive(d, all);
    require_each_once(got, all);
    std::map<std::uint64_t, const transport::job*> by_id;
    for (const auto& j : all) by_id[j.id] = &j;
    std::size_t trained = 0, failed = 0;
    for (const auto& r : got.results) {
        const transport::job& j = *by_id.at(r.id);
        INFO("job " << r.id << ": " << r.out.message);
        if (j.kind == eval::task_kind::time) {
            REQUIRE(r.out.status == eval::outcome_status::ok);
            REQUIRE(r.out.value == Approx(expected_ms(j.spec)));
            REQUIRE(std::isnan(r.out.val_loss));
            REQUIRE(r.out.tokens_trained == 0);
            continue;
        }
        if (r.out.status == eval::outcome_status::diverged) {
            REQUIRE(std::isnan(r.out.val_perplexity));
            REQUIRE(r.out.tokens_trained < j.train.tokens);
            ++failed;
            continue;
        }
        REQUIRE(r.out.status == eval::outcome_status::ok);
        REQUIRE(r.out.tokens_trained == j.train.tokens);
        REQUIRE(r.out.val_loss == eval::simulated_val_loss(nas::parse_architecture(j.spec), j.train.tokens, j.train.seed));
        REQUIRE(r.out.val_perplexity == Approx(std::exp(r.out.val_loss)));
        REQUIRE(r.out.value == r.out.val_perplexity);
        REQUIRE(r.out.tokens_per_second > 0.0);
        REQUIRE(std::isnan(r.out.decode_ms));
        ++trained;
    }
    REQUIRE(failed == diverged);
    REQUIRE(trained + failed == n - (n + 2) / 3);
    REQUIRE(d.in_flight() == 0);
}

/// Every job comes back exactly once, measured by a worker of the pool, with the model's value and
/// a sane time line; then the dispatcher is as free as at the start.
inline void check_each_job_once(transport::dispatcher& d, std::size_t n) {
    const std::size_t slots = d.free_slots();
    const auto all = jobs(n);
    const run got = drive(d, all);
    REQUIRE(got.submitted == n);
    require_each_once(got, all);
    std::map<std::uint64_t, std::string> spec;
    for (const auto& j : all) spec[j.id] = j.spec;
    for (const auto& r : got.results) {
        REQUIRE(r.out.status == eval::outcome_status::ok);
        REQUIRE(r.out.value == Approx(expected_ms(spec[r.id])).epsilon(1e-12));
        REQUIRE(in_pool(d, r.worker));
        REQUIRE(r.ended >= r.started);
        REQUIRE(r.started >= r.dispatched - 2e-3);  // MPI maps the worker's clock onto the master's within ~ms
    }
    REQUIRE(d.in_flight() == 0);
    REQUIRE(d.free_slots() == slots);
}

/// A worker whose device is lost leaves the pool (an event says so) and is given no job after
/// that; every job submitted still comes back exactly once, run elsewhere or, with nobody left,
/// failed (device_lost or timeout); with nobody left, no more is submitted.
inline void check_device_lost(transport::dispatcher& d, std::size_t n) {
    const std::size_t pool_before = d.pool_size();
    d.take_events();
    const auto all = jobs(n);
    const run got = drive(d, all);
    require_each_once(got, all);
    std::map<int, double> left_at;  // rank -> when it left
    for (const auto& e : d.take_events())
        if (e.what == transport::worker_event::kind::left_device) left_at.emplace(e.worker, e.time);
    REQUIRE_FALSE(left_at.empty());
    for (const auto& [rank, t] : left_at) {
        REQUIRE_FALSE(in_pool(d, rank));
        for (const auto& r : got.results)
            if (r.worker == rank && r.out.status == eval::outcome_status::ok) REQUIRE(r.dispatched <= t);
    }
    REQUIRE(d.pool_size() == pool_before - left_at.size());
    for (const auto& r : got.results)
        if (r.out.status != eval::outcome_status::ok) {
            const bool lost = r.out.status == eval::outcome_status::device_lost || r.out.status == eval::outcome_status::timeout;
            REQUIRE(lost);
        }
    REQUIRE(d.in_flight() == 0);
}

/// A worker whose task runs past its deadline leaves the pool (left_hung) and gets no more work;
/// its task is re-queued and answered by another worker, so every job comes back once, ok; a late
/// answer of the hung worker is never returned. (Not the in-process dispatcher: a job run inside
/// wait() cannot be interrupted.)
inline void check_hung_worker(transport::dispatcher& d, std::size_t n) {
    const std::size_t pool_before = d.pool_size();
    d.take_events();
    const auto all = jobs(n);
    const run got = drive(d, all);
    REQUIRE(got.submitted == n);
    require_each_once(got, all);
    std::map<int, double> left_at;
    for (const auto& e : d.take_events())
        if (e.what == transport::worker_event::kind::left_hung) left_at.emplace(e.worker, e.time);
    REQUIRE_FALSE(left_at.empty());
    REQUIRE(left_at.size() < pool_before);  // the others carried on
    for (const auto& r : got.results) REQUIRE(r.out.status == eval::outcome_status::ok);
    for (const auto& [rank, t] : left_at) {
        REQUIRE_FALSE(in_pool(d, rank));
        for (const auto& r : got.results)
            if (r.worker == rank) REQUIRE(r.dispatched <= t);
    }
    REQUIRE(d.pool_size() == pool_before - left_at.size());
    REQUIRE(d.in_flight() == 0);
}

}  // namespace fracnas::testing::contract
