// Tests of the dry-run dispatcher: the simulated clock, slots, utilisation, failures, deadlines
// (a hung task re-queued on another worker, its worker retired), and the end when nobody is left.
// Uses the analytic latency model; nothing sleeps.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

using namespace fracnas;
using transport::dry_run_config;
using transport::dry_run_dispatcher;

namespace {

transport::job job_of(std::uint64_t id) {
    nas::architecture a;
    a.n_layer = 2;
    a.d_model = 128 + 64 * static_cast<std::uint32_t>(id % 10);
    a.d_inner = {4 * a.d_model, 4 * a.d_model};
    a.n_head = {2, 2};
    return transport::timing(id, {0.5}, nas::canonical(a));
}

// Submits `total` jobs as slots free up; returns every result in arrival order.
std::vector<transport::job_result> run_all(transport::dispatcher& d, std::uint64_t total) {
    std::vector<transport::job_result> out;
    std::uint64_t next = 0;
    while (out.size() < total) {
        while (next < total && d.free_slots() > 0) d.submit(job_of(next++));
        const auto got = d.wait(1e9);
        if (got.empty() && d.in_flight() == 0) break;
        out.insert(out.end(), got.begin(), got.end());
    }
    return out;
}

}  // namespace

TEST_CASE("dry run: fixed 1 s tasks on 4 workers take 25 simulated seconds for 100 jobs, each returned once", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 4;
    dry_run_dispatcher d(model, cfg, {});
    REQUIRE(d.free_slots() == 4);
    const auto results = run_all(d, 100);
    REQUIRE(results.size() == 100);
    std::set<std::uint64_t> ids;
    for (const auto& r : results) {
        ids.insert(r.id);
        REQUIRE(r.out.status == eval::outcome_status::ok);
        REQUIRE(r.ended - r.started == Approx(1.0));
        REQUIRE(r.out.reference_ms == Approx(model.time_reference().reference_ms));
        REQUIRE((r.worker >= 1 && r.worker <= 4));
    }
    REQUIRE(ids.size() == 100);
    REQUIRE(d.now() == Approx(25.0));
    for (double busy : d.busy_seconds()) REQUIRE(busy == Approx(25.0));  // fully used
}

TEST_CASE("dry run: one queued job per worker doubles the slots", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 3;
    transport::dispatch_policy p;
    p.queued_per_worker = 1;
    dry_run_dispatcher d(model, cfg, p);
    REQUIRE(d.free_slots() == 6);
    for (std::uint64_t i = 0; i < 6; ++i) d.submit(job_of(i));
    REQUIRE(d.free_slots() == 0);
    REQUIRE_THROWS_AS(d.submit(job_of(7)), protocol_error);
    const auto first = d.wait(1e9);
    REQUIRE(first.size() == 3);  // the three running ones end together at t = 1
    REQUIRE(d.now() == Approx(1.0));
    REQUIRE(d.free_slots() == 3);
}

TEST_CASE("dry run: a hung task is re-queued on another worker and its worker leaves the pool", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 4;
    cfg.hang_rate = 0.2;
    cfg.seed = 3;
    transport::dispatch_policy p;
    p.task_deadline_seconds = 5.0;
    dry_run_dispatcher d(model, cfg, p);
    const auto results = run_all(d, 40);
    std::map<std::uint64_t, int> seen;
    for (const auto& r : results) ++seen[r.id];
    REQUIRE(seen.size() == results.size());  // never twice
    const auto events = d.take_events();
    std::size_t hung = 0;
    for (const auto& e : events)
        if (e.what == transport::worker_event::kind::left_hung) ++hung;
    REQUIRE(hung >= 1);
    REQUIRE(d.pool_size() == 4 - hung);
    if (d.pool_size() > 0) {
        REQUIRE(results.size() == 40);  // every job answered by the workers that remained
        for (const auto& r : results) REQUIRE(r.out.status == eval::outcome_status::ok);
    } else {
        for (const auto& r : results)  // once nobody is left, what was in flight ends as timeouts
            REQUIRE((r.out.status == eval::outcome_status::ok || r.out.status == eval::outcome_status::timeout));
    }
}

TEST_CASE("the adaptive task deadline: the fixed one until a task finished, then 10 x the longest, within 60 s and the cap",
          "[transport]") {
    transport::dispatch_policy p;
    p.task_deadline_seconds = 900.0;
    p.adaptive_deadline = true;
    transport::task_deadline d(p);
    REQUIRE(d.seconds() == 900.0);  // nothing finished yet
    d.finished(2.0);
    REQUIRE(d.seconds() == 60.0);  // the floor
    d.finished(1.0);
    REQUIRE(d.seconds() == 60.0);  // the longest counts
    d.finished(30.0);
    REQUIRE(d.seconds() == 300.0);
    d.finished(200.0);
    REQUIRE(d.seconds() == 900.0);  // the cap
    p.adaptive_deadline = false;
    transport::task_deadline fixed(p);
    fixed.finished(1.0);
    REQUIRE(fixed.seconds() == 900.0);
}

TEST_CASE("dry run: with the adaptive deadline a hung task of 1-second tasks is given up after 60 s, not 900", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 4;
    cfg.hang_rate = 0.05;
    cfg.seed = 5;
    transport::dispatch_policy p;
    p.task_deadline_seconds = 900.0;
    p.adaptive_deadline = true;
    dry_run_dispatcher d(model, cfg, p);
    const auto results = run_all(d, 200);
    std::size_t at_floor = 0, at_cap = 0;
    for (const auto& e : d.take_events()) {
        if (e.what != transport::worker_event::kind::left_hung) continue;
        CAPTURE(e.message);
        const bool floor = e.message.find("deadline of 60.000000 s") != std::string::npos;
        REQUIRE((floor || e.message.find("deadline of 900.000000 s") != std::string::npos));
        (floor ? at_floor : at_cap) += 1;
    }
    REQUIRE(at_floor >= 1);
    REQUIRE(at_cap <= 1);  // only a task that started before any had finished waits for the cap
    std::map<std::uint64_t, int> seen;
    for (const auto& r : results) ++seen[r.id];
    REQUIRE(seen.size() == results.size());  // never twice
}

TEST_CASE("dry run: failures come back as results with a status", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 8;
    cfg.failure_rate = 0.3;
    cfg.cost = transport::cost_kind::exponential;
    dry_run_dispatcher d(model, cfg, {});
    const auto results = run_all(d, 400);
    REQUIRE(results.size() == 400);
    std::size_t failed = 0;
    for (const auto& r : results) failed += r.out.status == eval::outcome_status::error;
    REQUIRE(failed > 80);
    REQUIRE(failed < 160);
}

TEST_CASE("dry run: bad settings are refused with the field named", "[transport]") {
    eval::latency_model_evaluator model({});
    dry_run_config cfg;
    cfg.workers = 0;
    REQUIRE_THROWS_WITH(dry_run_dispatcher(model, cfg, {}), Catch::Contains("1..1,000,000 workers"));
    cfg.workers = 2;
    cfg.hang_rate = 0.1;
    REQUIRE_THROWS_WITH(dry_run_dispatcher(model, cfg, {}), Catch::Contains("finite task deadline"));
    REQUIRE_THROWS_AS(transport::parse_cost_kind("gamma"), config_error);
}
