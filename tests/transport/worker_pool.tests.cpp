// The shared scheduling policy on its own: which worker takes a job, queues, deadlines, a leaving
// worker's jobs re-queued first, and the orphans when no worker is left. No dispatcher, no clock.
#include <catch2/catch.hpp>

#include "fracnas/error.hpp"
#include "fracnas/transport/worker_pool.hpp"

using namespace fracnas;
using transport::worker_pool;

namespace {

worker_pool pool_of(std::size_t workers, std::size_t queued, double deadline = 1e30) {
    transport::dispatch_policy p;
    p.queued_per_worker = queued;
    p.task_deadline_seconds = deadline;
    worker_pool pool(p);
    for (std::size_t w = 0; w < workers; ++w) {
        transport::worker_info info;
        info.rank = static_cast<int>(w + 1);
        pool.add(info, 0.0);
    }
    return pool;
}

transport::job job_of(std::uint64_t id) {
    transport::job j;
    j.id = id;
    return j;
}

}  // namespace

TEST_CASE("worker pool: idle workers first in round robin, then the queues, a finished job starts the queued one", "[transport][pool]") {
    auto pool = pool_of(3, 1);
    REQUIRE(pool.free_slots() == 6);
    std::vector<std::pair<std::size_t, bool>> given;
    for (std::uint64_t id = 100; id < 106; ++id)
        for (const auto& a : pool.submit(job_of(id), 0.0)) given.emplace_back(a.worker, a.starts);
    const std::vector<std::pair<std::size_t, bool>> expected = {{0, true}, {1, true}, {2, true}, {0, false}, {1, false}, {2, false}};
    REQUIRE(given == expected);
    REQUIRE(pool.free_slots() == 0);
    REQUIRE_THROWS_AS(pool.finish(0, 101, 1.0), protocol_error);  // job 101 went to worker 1
    const auto done = pool.finish(0, 100, 1.0);
    REQUIRE(done.done.j.id == 100);
    REQUIRE(done.starts == std::optional<std::uint64_t>(103));
    REQUIRE(pool.running_since(0) == 1.0);
    REQUIRE(pool.free_slots() == 1);
    REQUIRE(pool.in_flight() == 5);
}

TEST_CASE("worker pool: a worker past its deadline leaves, its jobs go first, in its order, to the next free slots", "[transport][pool]") {
    auto pool = pool_of(2, 1, 5.0);
    for (std::uint64_t id = 1; id <= 4; ++id) pool.submit(job_of(id), 0.0);  // worker 0: 1, 3; worker 1: 2, 4
    REQUIRE(pool.past_deadline(5.0).empty());
    REQUIRE(pool.finish(1, 2, 4.0).starts == std::optional<std::uint64_t>(4));
    REQUIRE(pool.past_deadline(6.0) == std::vector<std::size_t>{0});
    pool.take_events();
    pool.leave(0, true, "it hung.", eval::outcome_status::timeout, 6.0);
    const auto events = pool.take_events();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].what == transport::worker_event::kind::left_hung);
    REQUIRE(events[0].worker == 1);
    REQUIRE_FALSE(pool.in_pool(0));
    REQUIRE(pool.pool_size() == 1);
    REQUIRE(pool.free_slots() == 0);  // worker 1 has one free slot, and two re-queued jobs wait
    REQUIRE(pool.finish(1, 4, 7.0).starts == std::nullopt);
    const auto given = pool.flush(7.0);
    REQUIRE(given.size() == 2);
    REQUIRE(given[0].id == 1);  // the hung worker's running job first
    REQUIRE(given[0].starts);
    REQUIRE(given[1].id == 3);
    REQUIRE(pool.find(1).dispatched == 0.0);  // kept when re-queued
}

TEST_CASE("worker pool: with no worker left every job comes back once, with the cause of its last worker's leaving", "[transport][pool]") {
    auto pool = pool_of(1, 1);
    pool.submit(job_of(8), 0.0);
    pool.submit(job_of(7), 0.0);
    pool.leave(0, false, "its device is unusable.", eval::outcome_status::device_lost, 2.0);
    REQUIRE(pool.pool_size() == 0);
    REQUIRE(pool.free_slots() == 0);
    const auto out = pool.orphans(3.0);
    REQUIRE(out.size() == 2);
    REQUIRE(out[0].id == 7);  // in id order
    REQUIRE(out[1].id == 8);
    for (const auto& r : out) {
        REQUIRE(r.out.status == eval::outcome_status::device_lost);
        REQUIRE(r.out.message == "no worker is left in the pool to run it; its last worker left because its device is unusable.");
        REQUIRE(r.worker == 1);
        REQUIRE(r.started == 3.0);
    }
    REQUIRE(pool.in_flight() == 0);
    REQUIRE(pool.orphans(4.0).empty());
}

TEST_CASE("worker pool: a worker that did not join takes nothing, clear() frees every slot", "[transport][pool]") {
    transport::dispatch_policy p;
    worker_pool pool(p);
    transport::worker_info out;
    out.rank = 1;
    out.in_pool = false;
    out.left_reason = "it could not start.";
    pool.add(out, 0.0);
    transport::worker_info in;
    in.rank = 2;
    pool.add(in, 0.0);
    const auto events = pool.take_events();
    REQUIRE(events.size() == 2);
    REQUIRE(events[0].what == transport::worker_event::kind::left_device);
    REQUIRE(events[0].message == "it could not start.");
    REQUIRE(events[1].what == transport::worker_event::kind::joined);
    REQUIRE(pool.free_slots() == 1);
    REQUIRE(pool.submit(job_of(1), 0.0).front().worker == 1);
    REQUIRE(pool.free_slots() == 0);
    pool.clear();
    REQUIRE(pool.free_slots() == 1);
    REQUIRE(pool.in_flight() == 0);
    REQUIRE(pool.submit(job_of(1), 0.0).front().worker == 1);
}
