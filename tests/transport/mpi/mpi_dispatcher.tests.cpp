// The MPI dispatcher under mpiexec -n 3: rank 0 is the master and asserts, ranks 1 and 2 run
// serve() with an analytic latency model (a few ms per job) and injected faults: dispatch and
// slots, queueing, a hung worker, a lost device, calibration, failed and duplicate joins.
// Speed is not asserted here (benchmarks/ measures it).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "fracnas/nas/architecture.hpp"
#include "test_env.hpp"

using namespace fracnas;
using fracnas::mpi::testing::test_env;
using transport::worker_event;

namespace {

constexpr double tolerance_s = 2e-3;  // clock mapping slack between master and worker

nas::architecture arch(std::uint32_t layers, std::uint32_t d_model, std::uint32_t inner, std::uint32_t heads) {
    nas::architecture a;
    a.n_layer = layers;
    a.d_model = d_model;
    a.d_inner.assign(layers, inner);
    a.n_head.assign(layers, heads);
    return a;
}

const std::vector<std::string>& specs() {
    static const std::vector<std::string> s = {nas::canonical(arch(2, 512, 1024, 8)), nas::canonical(arch(4, 256, 1024, 4)),
                                               nas::canonical(arch(6, 768, 3072, 12)), nas::canonical(arch(1, 128, 256, 2))};
    return s;
}

double expected_ms(const std::string& spec) {
    return eval::latency_model_evaluator(eval::latency_model_config{}).model_ms(nas::parse_architecture(spec));
}

double reference_ms() {
    return eval::latency_model_evaluator(eval::latency_model_config{}).model_ms(nas::gpt2_small());
}

std::vector<transport::job> make_jobs(std::size_t n) {
    std::vector<transport::job> jobs(n);
    for (std::size_t i = 0; i < n; ++i) {
        jobs[i].id = 1000 + i;
        jobs[i].x = {static_cast<double>(i) / static_cast<double>(n), 0.5};
        jobs[i].spec = specs()[i % specs().size()];
    }
    return jobs;
}

eval::latency_model_config model(double cost_ms, eval::fault_plan faults = {}) {
    eval::latency_model_config c;
    c.cost_ms = cost_ms;
    c.faults = faults;
    return c;
}

using factory = std::function<std::unique_ptr<eval::job_evaluator>(int rank)>;

// One scenario on every rank: the workers serve() with factory(rank)'s evaluator until the
// master stops them; the master runs `master`.
void scenario(const factory& make, std::uint64_t calibrate_every, const std::function<void()>& master) {
    const auto& env = test_env();
    REQUIRE(env.size() == 3);
    if (env.rank() == 0) {
        master();
        return;
    }
    REQUIRE_NOTHROW(mpi::serve(
        env, [&] { return make(env.rank()); }, calibrate_every));
}

factory models(std::function<eval::latency_model_config(int rank)> per_rank) {
    return [per_rank](int rank) -> std::unique_ptr<eval::job_evaluator> {
        return std::make_unique<eval::latency_model_evaluator>(per_rank(rank));
    };
}

struct observed {
    transport::job_result r;
    double returned = 0.0;  // master clock when wait() handed it over
};

struct run_log {
    std::vector<observed> results;
    std::size_t max_in_flight = 0;
};

// The driver's loop: submits while slots are free, waits, until every job came back.
run_log drive(mpi::mpi_dispatcher& d, const std::vector<transport::job>& jobs, double give_up_s = 20.0) {
    run_log log;
    std::size_t next = 0;
    const double end = d.now() + give_up_s;
    while ((next < jobs.size() || d.in_flight() > 0) && d.now() < end) {
        while (next < jobs.size() && d.free_slots() > 0) d.submit(jobs[next++]);
        log.max_in_flight = std::max(log.max_in_flight, d.in_flight());
        for (auto& r : d.wait(0.5)) log.results.push_back({std::move(r), d.now()});
    }
    return log;
}

// Every job exactly once, with a sane time line.
void require_each_once(const run_log& log, const std::vector<transport::job>& jobs) {
    REQUIRE(log.results.size() == jobs.size());
    std::map<std::uint64_t, int> seen;
    for (const auto& o : log.results) ++seen[o.r.id];
    for (const auto& j : jobs) REQUIRE(seen[j.id] == 1);
    for (const auto& o : log.results) {
        REQUIRE(o.r.dispatched <= o.returned);
        if (o.r.out.status == eval::outcome_status::ok || o.r.out.status == eval::outcome_status::device_lost) {
            REQUIRE(o.r.started >= o.r.dispatched - tolerance_s);
            REQUIRE(o.r.ended >= o.r.started);
            REQUIRE(o.r.ended <= o.returned + tolerance_s);
        }
    }
}

void require_right_values(const run_log& log, const std::vector<transport::job>& jobs) {
    std::map<std::uint64_t, std::string> spec_of;
    for (const auto& j : jobs) spec_of[j.id] = j.spec;
    for (const auto& o : log.results) {
        if (o.r.out.status != eval::outcome_status::ok) continue;
        REQUIRE(o.r.out.value == Approx(expected_ms(spec_of[o.r.id])).epsilon(1e-12));
        REQUIRE(o.r.out.decode_ms == o.r.out.value);
        REQUIRE(o.r.out.reference_ms == Approx(reference_ms()));
    }
}

// The most jobs one worker held at once, from submit to the moment wait() returned them (the
// master frees a slot no earlier than that, and the driver submits only between waits).
std::size_t max_held(const run_log& log, int worker) {
    std::vector<std::pair<double, int>> steps;
    for (const auto& o : log.results)
        if (o.r.worker == worker) {
            steps.emplace_back(o.r.dispatched, +1);
            steps.emplace_back(o.returned, -1);
        }
    std::sort(steps.begin(), steps.end());  // at a tie the release (-1) comes first
    int held = 0, most = 0;
    for (const auto& s : steps) most = std::max(most, held += s.second);
    return static_cast<std::size_t>(most);
}

std::size_t count(const std::vector<worker_event>& events, worker_event::kind k, int worker) {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [&](const worker_event& e) { return e.what == k && (worker == 0 || e.worker == worker); }));
}

// A latency model that claims to be a GPU (for the same-GPU rule).
class fake_gpu final : public eval::job_evaluator {
public:
    explicit fake_gpu(std::string uuid) : uuid_(std::move(uuid)), inner_(model(1.0)) {}
    eval::outcome evaluate(const core::point& x, const std::string& spec) noexcept override { return inner_.evaluate(x, spec); }
    eval::outcome time_reference() noexcept override { return inner_.time_reference(); }
    eval::device_binding binding() const override { return {"cuda", 0, "NVIDIA Test GPU", uuid_}; }

private:
    std::string uuid_;
    eval::latency_model_evaluator inner_;
};

}  // namespace

TEST_CASE("mpi: the environment knows the ranks, hosts and rank 0's verdict", "[mpi][env]") {
    const auto& env = test_env();
    REQUIRE(mpi::launched_by_mpi());
    REQUIRE(env.size() == 3);
    REQUIRE(env.rank() >= 0);
    REQUIRE(env.rank() < 3);
    const auto hosts = env.hosts();
    REQUIRE(hosts.size() == 3);
    for (const auto& h : hosts) REQUIRE(!h.empty());
    REQUIRE(env.broadcast_verdict(env.rank() == 0 ? 7 : -1) == 7);
}

TEST_CASE("mpi: every job comes back once, right, from a worker with a free slot", "[mpi][dispatch]") {
    const auto jobs = make_jobs(40);
    scenario(models([](int) { return model(2.0); }), 50, [&] {
        transport::dispatch_policy policy;  // one task per worker
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        REQUIRE(d.workers().size() == 2);
        for (int r = 1; r <= 2; ++r) {
            const auto& w = d.workers()[static_cast<std::size_t>(r - 1)];
            REQUIRE(w.rank == r);
            REQUIRE(w.in_pool);
            REQUIRE(!w.host.empty());
            REQUIRE(w.device.kind == "model");
            REQUIRE(w.reference_ms == Approx(reference_ms()));
        }
        const auto joined = d.take_events();
        REQUIRE(count(joined, worker_event::kind::joined, 0) == 2);
        REQUIRE(d.pool_size() == 2);
        REQUIRE(d.free_slots() == 2);
        REQUIRE(d.wait(0.0).empty());  // nothing in flight: returns at once

        // the protocol errors of submit
        d.submit(jobs[0]);
        REQUIRE_THROWS_AS(d.submit(jobs[0]), protocol_error);  // already in flight
        d.submit(jobs[1]);
        REQUIRE(d.free_slots() == 0);
        REQUIRE(d.in_flight() == 2);
        REQUIRE_THROWS_WITH(d.submit(jobs[2]), Catch::Contains("no worker has a free slot"));
        // the rest through the driver's loop, which also collects the first two
        const run_log log = drive(d, std::vector<transport::job>(jobs.begin() + 2, jobs.end()));
        require_each_once(log, jobs);
        require_right_values(log, jobs);

        std::set<int> ranks;
        for (const auto& o : log.results) {
            REQUIRE((o.r.worker == 1 || o.r.worker == 2));
            REQUIRE(o.r.out.status == eval::outcome_status::ok);
            ranks.insert(o.r.worker);
        }
        REQUIRE(ranks.size() == 2);  // both workers got work
        REQUIRE(log.max_in_flight <= 2);
        REQUIRE(max_held(log, 1) == 1);
        REQUIRE(max_held(log, 2) == 1);
        REQUIRE(d.take_events().empty());
        REQUIRE(d.stop_workers(5.0));
        REQUIRE(d.stop_workers(5.0));  // idempotent
        REQUIRE(d.free_slots() == 0);
        REQUIRE_THROWS_AS(d.submit(jobs[0]), protocol_error);
    });
}

TEST_CASE("mpi: one queued task per worker keeps at most two on each", "[mpi][queue]") {
    const auto jobs = make_jobs(40);
    scenario(models([](int) { return model(3.0); }), 50, [&] {
        transport::dispatch_policy policy;
        policy.queued_per_worker = 1;
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        REQUIRE(d.free_slots() == 4);
        const run_log log = drive(d, jobs);
        require_each_once(log, jobs);
        require_right_values(log, jobs);
        REQUIRE(log.max_in_flight == 4);
        for (int r = 1; r <= 2; ++r) {
            REQUIRE(max_held(log, r) <= 2);
            REQUIRE(max_held(log, r) == 2);  // the queue was used
        }
        REQUIRE(d.stop_workers(5.0));
    });
}

TEST_CASE("mpi: a hung worker's task is re-queued and the worker leaves the pool", "[mpi][hang]") {
    const auto jobs = make_jobs(20);
    eval::fault_plan hang;
    hang.hang_on_call = 2;
    hang.hang_seconds = 3.0;
    scenario(models([&](int rank) { return rank == 1 ? model(5.0, hang) : model(5.0); }), 50, [&] {
        transport::dispatch_policy policy;
        policy.task_deadline_seconds = 0.5;
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        d.take_events();
        const run_log log = drive(d, jobs);
        require_each_once(log, jobs);
        require_right_values(log, jobs);
        for (const auto& o : log.results) REQUIRE(o.r.out.status == eval::outcome_status::ok);
        // rank 1 answered its first job only; its second went to rank 2 after the deadline
        std::size_t on_one = 0;
        for (const auto& o : log.results)
            if (o.r.worker == 1) ++on_one;
        REQUIRE(on_one == 1);
        const bool requeued = std::any_of(log.results.begin(), log.results.end(), [](const observed& o) {
            return o.r.worker == 2 && o.r.started - o.r.dispatched >= 0.5 - tolerance_s;
        });
        REQUIRE(requeued);
        const auto& w1 = d.workers()[0];
        REQUIRE(!w1.in_pool);
        REQUIRE_THAT(w1.left_reason, Catch::Contains("deadline"));
        REQUIRE(d.pool_size() == 1);
        REQUIRE(d.free_slots() == 1);
        auto events = d.take_events();
        REQUIRE(count(events, worker_event::kind::left_hung, 1) == 1);
        REQUIRE(count(events, worker_event::kind::left_hung, 2) == 0);
        // the late result arrives when rank 1 wakes up (3 s after its second task started): ignored
        const double until = d.now() + 6.0;
        while (count(events, worker_event::kind::late_result, 1) == 0 && d.now() < until) {
            REQUIRE(d.wait(0.0).empty());
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            for (auto& e : d.take_events()) events.push_back(std::move(e));
        }
        REQUIRE(count(events, worker_event::kind::late_result, 1) == 1);
        REQUIRE(d.in_flight() == 0);
        REQUIRE(d.stop_workers(10.0));  // rank 1 is awake again and says bye
    });
}

TEST_CASE("mpi: when every worker hangs, the jobs in flight come back as timeouts", "[mpi][allhung]") {
    const auto jobs = make_jobs(2);
    eval::fault_plan hang;
    hang.hang_on_call = 1;
    hang.hang_seconds = 1.5;
    scenario(models([&](int) { return model(1.0, hang); }), 50, [&] {
        transport::dispatch_policy policy;
        policy.task_deadline_seconds = 0.3;
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        const run_log log = drive(d, jobs, 5.0);
        require_each_once(log, jobs);
        for (const auto& o : log.results) {
            REQUIRE(o.r.out.status == eval::outcome_status::timeout);
            REQUIRE_THAT(o.r.out.message, Catch::Contains("no worker is left"));
            REQUIRE((o.r.worker == 1 || o.r.worker == 2));
        }
        REQUIRE(d.pool_size() == 0);
        REQUIRE(d.free_slots() == 0);
        REQUIRE(d.in_flight() == 0);
        REQUIRE(count(d.take_events(), worker_event::kind::left_hung, 0) == 2);
        REQUIRE(d.stop_workers(10.0));  // both wake up, answer late and say bye
    });
}

TEST_CASE("mpi: a lost device returns its job as device_lost and its worker leaves", "[mpi][device]") {
    const auto jobs = make_jobs(30);
    eval::fault_plan lost;
    lost.device_lost_on_call = 3;
    scenario(models([&](int rank) { return rank == 2 ? model(2.0, lost) : model(2.0); }), 50, [&] {
        transport::dispatch_policy policy;
        policy.queued_per_worker = 1;  // rank 2 may hold a queued task when its device goes: re-queued
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        d.take_events();
        const run_log log = drive(d, jobs);
        require_each_once(log, jobs);
        require_right_values(log, jobs);
        std::size_t lost_n = 0, ok_on_two = 0;
        double lost_at = 0.0;
        for (const auto& o : log.results) {
            if (o.r.out.status == eval::outcome_status::device_lost) {
                ++lost_n;
                REQUIRE(o.r.worker == 2);
                REQUIRE_THAT(o.r.out.message, Catch::Contains("injected fault"));
                lost_at = o.returned;
            } else {
                REQUIRE(o.r.out.status == eval::outcome_status::ok);
                if (o.r.worker == 2) ++ok_on_two;
            }
        }
        REQUIRE(lost_n == 1);
        REQUIRE(ok_on_two == 2);
        for (const auto& o : log.results)
            if (o.r.dispatched > lost_at) REQUIRE(o.r.worker == 1);  // the rest went to rank 1
        REQUIRE(!d.workers()[1].in_pool);
        REQUIRE_THAT(d.workers()[1].left_reason, Catch::Contains("unusable"));
        REQUIRE(d.workers()[0].in_pool);
        REQUIRE(d.pool_size() == 1);
        const auto events = d.take_events();
        REQUIRE(count(events, worker_event::kind::left_device, 2) == 1);
        REQUIRE(count(events, worker_event::kind::late_result, 0) == 0);
        REQUIRE(d.stop_workers(5.0));
    });
}

TEST_CASE("mpi: workers re-time the reference every few jobs", "[mpi][calibration]") {
    const auto jobs = make_jobs(12);
    scenario(models([](int) { return model(2.0); }), 2, [&] {
        transport::dispatch_policy policy;
        policy.calibrate_every = 2;
        mpi::mpi_dispatcher d(test_env(), policy, 30.0);
        const auto joined = d.take_events();
        REQUIRE(count(joined, worker_event::kind::joined, 0) == 2);
        for (const auto& e : joined) REQUIRE(e.reference_ms == Approx(reference_ms()));
        const run_log log = drive(d, jobs);
        require_each_once(log, jobs);
        const auto events = d.take_events();
        // every third job on a worker follows a re-timing: 12 jobs give at least 4 in all
        REQUIRE(count(events, worker_event::kind::calibrated, 0) >= 4);
        for (const auto& e : events) {
            REQUIRE(e.what == worker_event::kind::calibrated);
            REQUIRE((e.worker == 1 || e.worker == 2));
            REQUIRE(e.reference_ms == Approx(reference_ms()));
        }
        REQUIRE(d.stop_workers(5.0));
    });
}

TEST_CASE("mpi: a worker that cannot start stays out of the pool", "[mpi][join]") {
    const auto jobs = make_jobs(10);
    const factory make = [](int rank) -> std::unique_ptr<eval::job_evaluator> {
        if (rank == 2) throw config_error("device", "no CUDA device is visible to rank 2.");
        return std::make_unique<eval::latency_model_evaluator>(model(1.0));
    };
    scenario(make, 50, [&] {
        mpi::mpi_dispatcher d(test_env(), transport::dispatch_policy{}, 30.0);
        REQUIRE(d.pool_size() == 1);
        const auto& w2 = d.workers()[1];
        REQUIRE(!w2.in_pool);
        REQUIRE_THAT(w2.left_reason, Catch::Contains("no CUDA device is visible to rank 2"));
        const auto events = d.take_events();
        REQUIRE(count(events, worker_event::kind::joined, 1) == 1);
        REQUIRE(count(events, worker_event::kind::left_device, 2) == 1);
        const run_log log = drive(d, jobs);
        require_each_once(log, jobs);
        for (const auto& o : log.results) REQUIRE(o.r.worker == 1);
        REQUIRE(d.stop_workers(5.0));
    });
}

TEST_CASE("mpi: two workers on one GPU: only the lower rank measures", "[mpi][duplicate]") {
    const auto jobs = make_jobs(6);
    scenario([](int) { return std::make_unique<fake_gpu>("GPU-00000000-same"); }, 50,
             [&] {
                 mpi::mpi_dispatcher d(test_env(), transport::dispatch_policy{}, 30.0);
                 REQUIRE(d.pool_size() == 1);
                 REQUIRE(d.workers()[0].in_pool);
                 REQUIRE(!d.workers()[1].in_pool);
                 REQUIRE_THAT(d.workers()[1].left_reason, Catch::Contains("GPU-00000000-same") && Catch::Contains("rank 1"));
                 REQUIRE(count(d.take_events(), worker_event::kind::left_device, 2) == 1);
                 const run_log log = drive(d, jobs);
                 require_each_once(log, jobs);
                 for (const auto& o : log.results) REQUIRE(o.r.worker == 1);
                 REQUIRE(d.stop_workers(5.0));
             });
}

TEST_CASE("mpi: no worker in the pool is an error, and the workers still end", "[mpi][nopool]") {
    const factory make = [](int rank) -> std::unique_ptr<eval::job_evaluator> {
        throw config_error("device", "rank " + std::to_string(rank) + " has no device.");
    };
    scenario(make, 50, [&] {
        try {
            mpi::mpi_dispatcher d(test_env(), transport::dispatch_policy{}, 30.0);
            FAIL("the dispatcher started without a worker");
        } catch (const mpi_error&) {
            FAIL("a join failure is no MPI error");
        } catch (const error& e) {
            REQUIRE_THAT(e.what(), Catch::Contains("no worker can take work") && Catch::Contains("rank 1 has no device") &&
                                       Catch::Contains("rank 2 has no device"));
        }
    });
    // the workers returned from serve(): every rank reaches this line, or the test times out
    REQUIRE(test_env().broadcast_verdict(0) == 0);
}
