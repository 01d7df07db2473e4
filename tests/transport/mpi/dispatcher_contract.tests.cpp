// The dispatcher contract (tests/transport/dispatcher_contract.hpp) on the MPI dispatcher under
// mpiexec -n 3: rank 0 checks, ranks 1 and 2 serve the analytic latency model; the same checks as
// the in-process and dry-run dispatchers, so that the dry run is a faithful model of this master.
#include <catch2/catch.hpp>

#include <functional>

#include "../dispatcher_contract.hpp"
#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "test_env.hpp"

using namespace fracnas;
using fracnas::mpi::testing::test_env;
namespace contract = fracnas::testing::contract;

namespace {

// The workers serve model(rank) until the master's check is done and its dispatcher stops them;
// `first` runs on the master before its dispatcher is built.
void on_every_rank(const std::function<eval::latency_model_config(int rank)>& model, const std::function<void(mpi::mpi_dispatcher&)>& check,
                   double task_deadline_seconds = 1e30, const std::function<void()>& first = {}) {
    const auto& env = test_env();
    REQUIRE(env.size() == 3);
    if (env.rank() != 0) {
        mpi::serve(
            env, [&] { return std::make_unique<eval::latency_model_evaluator>(model(env.rank())); }, 0);
        return;
    }
    if (first) first();
    transport::dispatch_policy p;
    p.queued_per_worker = 1;
    p.calibrate_every = 0;
    p.task_deadline_seconds = task_deadline_seconds;
    mpi::mpi_dispatcher d(env, p, 30.0);
    check(d);
    REQUIRE(d.stop_workers(10.0));
}

eval::latency_model_config plain(int) {
    return {};
}

}  // namespace

TEST_CASE("contract, MPI dispatcher: slots and refusals", "[mpi][contract_slots]") {
    on_every_rank(plain, [](mpi::mpi_dispatcher& d) { contract::check_slots_and_refusals(d, 1); });
}

TEST_CASE("contract, MPI dispatcher: a queue deeper than one job is refused the same way", "[mpi][contract_queue]") {
    // refused before the master says anything to a worker: the dispatcher built next joins them all
    const auto refused = [] {
        contract::check_refuses_deep_queue([](const transport::dispatch_policy& p) { mpi::mpi_dispatcher d(test_env(), p, 30.0); });
    };
    on_every_rank(
        plain, [](mpi::mpi_dispatcher& d) { REQUIRE(d.pool_size() == 2); }, 1e30, refused);
}

TEST_CASE("contract, MPI dispatcher: each job once", "[mpi][contract_once]") {
    on_every_rank(plain, [](mpi::mpi_dispatcher& d) { contract::check_each_job_once(d, 40); });
}

TEST_CASE("contract, MPI dispatcher: a lost device", "[mpi][contract_device]") {
    // on its first call: the first jobs fill every worker's slot, so rank 1 gets one whatever the
    // ranks' speeds (on a later call a faster rank 2 could take every job before rank 1's turn)
    const auto rank1_loses_its_device = [](int rank) {
        eval::latency_model_config m;
        if (rank == 1) m.faults.device_lost_on_call = 1;
        return m;
    };
    on_every_rank(rank1_loses_its_device, [](mpi::mpi_dispatcher& d) { contract::check_device_lost(d, 40); });
}

TEST_CASE("contract, MPI dispatcher: a hung worker leaves, its task is answered elsewhere", "[mpi][contract_hung]") {
    const auto rank1_hangs = [](int rank) {
        eval::latency_model_config m;
        m.cost_ms = 5.0;
        if (rank == 1) {
            m.faults.hang_on_call = 2;
            m.faults.hang_seconds = 1.0;  // past the 0.3 s deadline, then it answers late and says bye
        }
        return m;
    };
    on_every_rank(
        rank1_hangs, [](mpi::mpi_dispatcher& d) { contract::check_hung_worker(d, 30); }, 0.3);
}

TEST_CASE("contract, MPI dispatcher: training tasks beside timings", "[mpi][contract_train]") {
    on_every_rank(plain, [](mpi::mpi_dispatcher& d) { contract::check_training_tasks(d, 30); });
}
