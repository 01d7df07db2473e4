// The dispatcher contract (dispatcher_contract.hpp) on the in-process and the dry-run dispatchers,
// and the checks of transport::dispatcher's base on a scripted dispatcher that breaks the contract
// on purpose. The MPI dispatcher runs the same contract under mpiexec (tests/transport/mpi/).
#include <catch2/catch.hpp>

#include <memory>

#include "dispatcher_contract.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "fracnas/transport/local_dispatcher.hpp"

using namespace fracnas;
namespace contract = fracnas::testing::contract;

namespace {

transport::dispatch_policy queued(std::size_t q) {
    transport::dispatch_policy p;
    p.queued_per_worker = q;
    return p;
}

eval::latency_model_config losing_device_on(std::uint64_t call) {
    eval::latency_model_config m;
    m.faults.device_lost_on_call = call;
    return m;
}

transport::dry_run_config three_workers() {
    transport::dry_run_config c;
    c.workers = 3;
    c.cost = transport::cost_kind::uniform;
    c.cost_spread = 0.5;
    return c;
}

// A dispatcher whose wait() returns what the test scripts: the base must catch its mistakes.
class scripted_dispatcher final : public transport::dispatcher {
public:
    scripted_dispatcher() { workers_.push_back(transport::worker_info{}); }
    const std::vector<transport::worker_info>& workers() const override { return workers_; }
    std::size_t free_slots() const override { return slots; }
    std::vector<transport::worker_event> take_events() override { return {}; }
    double now() const override { return 0.0; }
    std::size_t slots = 4;
    std::vector<transport::job> taken;
    std::vector<transport::job_result> next;
    int shutdowns = 0;

private:
    void do_submit(transport::job j) override { taken.push_back(std::move(j)); }
    std::vector<transport::job_result> do_wait(double) override { return next; }
    void do_shutdown() noexcept override { ++shutdowns; }
    std::vector<transport::worker_info> workers_;
};

transport::job_result answer(std::uint64_t id, double started = 1.0, double ended = 2.0) {
    transport::job_result r;
    r.id = id;
    r.started = started;
    r.ended = ended;
    return r;
}

}  // namespace

TEST_CASE("contract, in-process dispatcher: slots, refusals, each job once, a lost device", "[transport][contract]") {
    SECTION("slots and refusals") {
        eval::latency_model_evaluator model({});
        transport::local_dispatcher d(model, queued(1), "h");
        contract::check_slots_and_refusals(d, 1);
    }
    SECTION("each job once") {
        eval::latency_model_evaluator model({});
        transport::local_dispatcher d(model, queued(1), "h");
        contract::check_each_job_once(d, 12);
    }
    SECTION("a lost device") {
        eval::latency_model_evaluator model(losing_device_on(3));
        transport::local_dispatcher d(model, queued(1), "h");
        contract::check_device_lost(d, 12);
    }
}

TEST_CASE("contract, dry-run dispatcher: slots, refusals, each job once, a lost device", "[transport][contract]") {
    SECTION("slots and refusals") {
        eval::latency_model_evaluator model({});
        transport::dry_run_dispatcher d(model, three_workers(), queued(1));
        contract::check_slots_and_refusals(d, 1);
    }
    SECTION("each job once") {
        eval::latency_model_evaluator model({});
        transport::dry_run_dispatcher d(model, three_workers(), queued(1));
        contract::check_each_job_once(d, 40);
    }
    SECTION("a lost device") {
        eval::latency_model_evaluator model(losing_device_on(5));
        transport::dry_run_dispatcher d(model, three_workers(), queued(1));
        contract::check_device_lost(d, 40);
    }
}

TEST_CASE("contract, in-process and dry-run dispatchers: training tasks beside timings, a divergence as data", "[transport][contract]") {
    SECTION("in-process: the second call diverges (a training: jobs run in order)") {
        eval::latency_model_config m;
        m.faults.diverge_on_call = 2;
        eval::latency_model_evaluator model(m);
        transport::local_dispatcher d(model, queued(1), "h");
        contract::check_training_tasks(d, 12, 1);
    }
    SECTION("dry run") {
        eval::latency_model_evaluator model({});
        auto c = three_workers();
        c.train_seconds_per_mtoken = 0.1;  // within drive()'s 30 s of simulated time
        transport::dry_run_dispatcher d(model, c, queued(1));
        contract::check_training_tasks(d, 40);
    }
}

TEST_CASE("dry-run dispatcher: a training costs its budget's share, and its own deadline keeps a long one from timing out",
          "[transport][contract]") {
    eval::latency_model_evaluator model({});
    transport::dry_run_config c;
    c.workers = 1;
    c.cost_mean_seconds = 1.0;
    c.train_seconds_per_mtoken = 10.0;
    transport::dispatch_policy p = queued(1);
    p.task_deadline_seconds = 5.0;  // a timing past 5 s would count as hung
    transport::dry_run_dispatcher d(model, c, p);
    auto all = contract::jobs(2);
    all[1].kind = eval::task_kind::train;
    all[1].train.tokens = 3000000;  // 30 s of simulated time
    all[1].deadline_seconds = 60.0;
    const auto got = contract::drive(d, all, 1000.0);
    contract::require_each_once(got, all);
    REQUIRE(got.results[0].out.status == eval::outcome_status::ok);
    REQUIRE(got.results[1].out.status == eval::outcome_status::ok);
    REQUIRE(got.results[1].ended - got.results[1].started == Approx(30.0));
    REQUIRE(got.results[0].ended - got.results[0].started == Approx(1.0));
    // without its own deadline the same training runs past the 5 s and its worker leaves
    transport::dry_run_dispatcher d2(model, c, p);
    all[1].deadline_seconds = 0.0;
    const auto lost = contract::drive(d2, all, 1000.0);
    REQUIRE(lost.results.size() == 2);
    bool timed_out = false;
    for (const auto& r : lost.results) timed_out = timed_out || r.out.status == eval::outcome_status::timeout;
    REQUIRE(timed_out);
}

TEST_CASE("contract, in-process and dry-run dispatchers: a queue deeper than one job is refused the same way", "[transport][contract]") {
    eval::latency_model_evaluator model({});
    contract::check_refuses_deep_queue([&](const transport::dispatch_policy& p) { transport::local_dispatcher d(model, p, "h"); });
    contract::check_refuses_deep_queue(
        [&](const transport::dispatch_policy& p) { transport::dry_run_dispatcher d(model, three_workers(), p); });
}

TEST_CASE("contract, dry-run dispatcher: a hung worker leaves, its task is answered elsewhere", "[transport][contract]") {
    eval::latency_model_evaluator model({});
    transport::dry_run_config c;
    c.workers = 4;
    c.hang_rate = 0.05;
    c.seed = 3;  // with this seed one of the four workers hangs
    transport::dispatch_policy p = queued(1);
    p.task_deadline_seconds = 5.0;
    transport::dry_run_dispatcher d(model, c, p);
    contract::check_hung_worker(d, 40);
}

TEST_CASE("dispatcher base: a refused submit reaches no dispatcher and changes nothing", "[transport][contract]") {
    scripted_dispatcher d;
    transport::job j;
    j.id = 3;
    j.x = {0.0, 1.0};
    d.submit(j);
    REQUIRE(d.in_flight() == 1);
    REQUIRE_THROWS_WITH(d.submit(j), "submit: job 3 is already in flight.");
    j.id = 4;
    j.x = {-0.01};
    REQUIRE_THROWS_WITH(d.submit(j), "submit: job 4 has a coordinate outside the unit cube.");
    d.slots = 0;
    j.x = {0.5};
    REQUIRE_THROWS_WITH(d.submit(j), "submit: no worker has a free slot (call wait() until free_slots() > 0).");
    REQUIRE(d.taken.size() == 1);
    REQUIRE(d.in_flight() == 1);
}

TEST_CASE("dispatcher base: a result the dispatcher should not return throws, and the batch is not consumed", "[transport][contract]") {
    scripted_dispatcher d;
    transport::job j;
    for (std::uint64_t id : {1, 2}) {
        j.id = id;
        d.submit(j);
    }
    d.next = {answer(1), answer(9)};
    REQUIRE_THROWS_WITH(d.wait(0.0), "internal: the dispatcher returned job 9, which was not in flight.");
    d.next = {answer(1), answer(1)};
    REQUIRE_THROWS_WITH(d.wait(0.0), "internal: the dispatcher returned job 1 twice in one batch.");
    d.next = {answer(2, 3.0, 2.0)};
    REQUIRE_THROWS_WITH(d.wait(0.0), "internal: the dispatcher returned job 2 with times that are not finite or end before they start.");
    d.next = {answer(2, 1.0, std::numeric_limits<double>::infinity())};
    REQUIRE_THROWS_AS(d.wait(0.0), protocol_error);
    REQUIRE(d.in_flight() == 2);  // none of those batches was consumed
    d.next = {answer(2)};
    REQUIRE(d.wait(0.0).size() == 1);
    REQUIRE(d.in_flight() == 1);
    REQUIRE_THROWS_WITH(d.wait(0.0), "internal: the dispatcher returned job 2, which was not in flight.");  // never twice
    d.next.clear();
    d.shutdown();
    REQUIRE(d.shutdowns == 1);
    REQUIRE(d.in_flight() == 0);
}
