// Tests of the in-process dispatcher and the worker's calibration cadence (worker_session).
#include <catch2/catch.hpp>

#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/transport/binding.hpp"
#include "fracnas/transport/local_dispatcher.hpp"

#include <map>
#include <set>

using namespace fracnas;

TEST_CASE("in-process: one slot, the job runs inside wait, calibration every N jobs", "[transport]") {
    eval::latency_model_evaluator model({});
    transport::dispatch_policy p;
    p.calibrate_every = 2;
    transport::local_dispatcher d(model, p, "here");
    REQUIRE(d.pool_size() == 1);
    REQUIRE(d.workers()[0].reference_ms == Approx(model.model_ms(nas::gpt2_small())));
    const std::string spec = nas::canonical(nas::gpt2_small());
    int calibrations = 0;
    for (std::uint64_t i = 0; i < 5; ++i) {
        REQUIRE(d.free_slots() == 1);
        d.submit(transport::timing(i, {0.5}, spec));
        REQUIRE(d.free_slots() == 0);
        const auto r = d.wait(0.0);
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].id == i);
        REQUIRE(r[0].out.value == Approx(r[0].out.reference_ms));  // the reference itself: ratio 1
        for (const auto& e : d.take_events()) calibrations += e.what == transport::worker_event::kind::calibrated;
    }
    REQUIRE(calibrations == 2);  // before jobs 3 and 5
}

TEST_CASE("in-process: a lost device takes the worker out of the pool", "[transport]") {
    eval::latency_model_config m;
    m.faults.device_lost_on_call = 2;
    eval::latency_model_evaluator model(m);
    transport::local_dispatcher d(model, {}, "here");
    const std::string spec = nas::canonical(nas::gpt2_small());
    d.submit(transport::timing(0, {}, spec));
    REQUIRE(d.wait(0)[0].out.status == eval::outcome_status::ok);
    d.submit(transport::timing(1, {}, spec));
    REQUIRE(d.wait(0)[0].out.status == eval::outcome_status::device_lost);
    REQUIRE(d.pool_size() == 0);
    REQUIRE(d.free_slots() == 0);
}

TEST_CASE("GPU binding: the node-local rank modulo the visible devices", "[transport]") {
    auto env = [](std::map<std::string, std::string> vars) {
        return [vars](const std::string& name) -> std::optional<std::string> {
            const auto it = vars.find(name);
            if (it == vars.end()) return std::nullopt;
            return it->second;
        };
    };
    REQUIRE(transport::local_rank(env({{"SLURM_LOCALID", "3"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}})) == 3);
    REQUIRE(transport::local_rank(env({{"OMPI_COMM_WORLD_LOCAL_RANK", "2"}})) == 2);
    REQUIRE_FALSE(transport::local_rank(env({{"OMPI_COMM_WORLD_LOCAL_RANK", "x"}})).has_value());
    REQUIRE(transport::choose_gpu(0, 5) == -1);
    REQUIRE(transport::choose_gpu(1, 5) == 0);  // srun --gpus-per-task left one visible
    REQUIRE(transport::choose_gpu(4, 5) == 1);
    REQUIRE(transport::choose_gpu(4, std::nullopt) == 0);
    // a master (local rank 0) and 8 workers on one 8-GPU node: every worker its own GPU
    std::set<int> used;
    for (int local = 1; local <= 8; ++local) used.insert(transport::choose_gpu(8, local));
    REQUIRE(used.size() == 8);
}
