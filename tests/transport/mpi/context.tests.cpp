// The MPI execution context under mpiexec -n 3 (on the MPI the test main started): the master's
// dispatcher with both workers joined, each worker building its evaluator from the master's text;
// a refusal by the master's check that every rank survives; a whole app::run_search over the MPI
// context; and the environment's rule of never finalizing while an exception unwinds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fracnas/app/search.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/mpi/context.hpp"
#include "test_env.hpp"

using namespace fracnas;
using fracnas::mpi::testing::test_env;

namespace {

// The workers' factory: an analytic model when the master's text is `expected`, else a refusal
// that the master sees in its worker table.
// A worker refuses too when its node rank is not its place among the ranks of its host, counted
// from the host table (`node_rank` of -1: not checked).
mpi::context_config config_expecting(const std::string& sent, const std::string& expected, std::atomic<int>* built = nullptr,
                                     int node_rank = -1) {
    mpi::context_config m;
    m.join_seconds = 30.0;
    m.shared_text = sent;
    m.make_evaluator = [expected, built, node_rank](const std::string& text, int rank, int got) -> std::unique_ptr<eval::job_evaluator> {
        if (built) ++*built;
        if (text != expected) throw error("rank " + std::to_string(rank) + " got '" + text + "'");
        if (node_rank >= 0 && got != node_rank)
            throw error("rank " + std::to_string(rank) + " has node rank " + std::to_string(got) + ", not " + std::to_string(node_rank));
        return std::make_unique<eval::latency_model_evaluator>(eval::latency_model_config{});
    };
    return m;
}

}  // namespace

TEST_CASE("make_context: the master gets a dispatcher with both workers, each built from the master's text and its node rank",
          "[mpi][context]") {
    const auto& env = test_env();
    REQUIRE(env.size() == 3);
    // the node rank, which picks a worker's GPU, is the rank's place among the ranks of its host
    const auto hosts = env.hosts();
    const auto me = static_cast<std::size_t>(env.rank());
    const int node_rank = static_cast<int>(std::count(hosts.begin(), hosts.begin() + static_cast<std::ptrdiff_t>(me), hosts[me]));
    // only the master's text counts: the workers pass another one
    const auto ctx = mpi::make_context(
        env, config_expecting(env.rank() == 0 ? "the master's text" : "ignored", "the master's text", nullptr, node_rank));
    REQUIRE(ctx->ranks() == 3);
    REQUIRE_FALSE(ctx->hosts().empty());
    REQUIRE(env.node_rank() == node_rank);  // checked after the collectives: a failure here hangs no rank
    if (env.rank() != 0) {
        REQUIRE_FALSE(ctx->is_master());  // it served and was stopped
        REQUIRE_THROWS_WITH(ctx->dispatch(), "a worker rank has no dispatcher.");
        return;
    }
    REQUIRE(ctx->is_master());
    auto& d = ctx->dispatch();
    for (const auto& w : d.workers()) {
        INFO("rank " << w.rank << ": " << w.left_reason);
        REQUIRE(w.in_pool);
    }
    REQUIRE(d.pool_size() == 2);
    REQUIRE(ctx->close(10.0));
    REQUIRE(ctx->close(10.0));  // idempotent
    REQUIRE_THROWS_WITH(ctx->dispatch(), "this MPI context was closed.");
}

TEST_CASE("make_context: workers whose evaluator cannot be built leave the pool, with none left the master says why",
          "[mpi][context_worker]") {
    const auto& env = test_env();
    const auto m = config_expecting("the master's text", "another text");
    if (env.rank() != 0) {
        const auto ctx = mpi::make_context(env, m);  // its hello said why; then it waited for stop
        REQUIRE_FALSE(ctx->is_master());
        return;
    }
    REQUIRE_THROWS_WITH(mpi::make_context(env, m),
                        Catch::Matchers::Contains("no worker can take work") &&
                            Catch::Matchers::Contains("rank 1: it could not start (error): its evaluator could not be built: rank 1 got "
                                                      "'the master's text'") &&
                            Catch::Matchers::Contains("rank 2: it could not start"));
}

TEST_CASE("make_context: the master's check refuses the run, no worker builds anything, every rank goes on", "[mpi][context_refused]") {
    const auto& env = test_env();
    std::atomic<int> built{0};
    auto m = config_expecting("text", "text", &built);
    m.check = [] { throw config_error("--jsonl", "--jsonl: 'x' exists; it is never overwritten."); };
    if (env.rank() == 0) {
        REQUIRE_THROWS_WITH(mpi::make_context(env, m), "--jsonl: 'x' exists; it is never overwritten.");
    } else {
        const auto ctx = mpi::make_context(env, m);
        REQUIRE_FALSE(ctx->is_master());
        REQUIRE(built == 0);
    }
    // MPI still works on every rank (the caller's environment was not ended)
    REQUIRE(env.broadcast_verdict(env.rank() == 0 ? 7 : 0) == 7);
}

TEST_CASE("app::run_search on the MPI context: the workers measure the whole budget, the context closes", "[mpi][context_search]") {
    const auto& env = test_env();
    app::search_config c;
    c.evaluator = app::evaluator_kind::model;
    c.space = app::space_kind::homogeneous;
    c.max_layers = 8;
    c.max_width = 1280;
    c.budget = 40;
    c.progress_every = 1000000;
    c.grace = 10.0;
    c.validate();
    mpi::context_config m;
    m.policy = c.policy();
    m.join_seconds = 30.0;
    m.shared_text = c.to_ini();
    m.make_evaluator = [](const std::string& text, int, int) -> std::unique_ptr<eval::job_evaluator> {
        if (text.find("budget") == std::string::npos) throw error("not the master's configuration: " + text);
        return std::make_unique<eval::latency_model_evaluator>(eval::latency_model_config{});
    };
    const auto ctx = mpi::make_context(env, m);
    std::ostringstream out;
    const app::search_result r = app::run_search(c, *ctx, {}, out);
    if (env.rank() != 0) {
        REQUIRE(out.str().empty());
        return;
    }
    REQUIRE(r.outcome.ended_by == "budget");
    REQUIRE(r.archive.evaluations.size() == 40);
    REQUIRE(r.archive.header.ranks == 3);
    std::set<int> ranks;
    for (const auto& e : r.archive.evaluations)
        if (e.feasible && !e.cached) ranks.insert(e.worker);
    REQUIRE(ranks == std::set<int>{1, 2});
    REQUIRE_THROWS_WITH(ctx->dispatch(), "this MPI context was closed.");  // run_search closed it
}

TEST_CASE("environment: no MPI_Finalize while an exception unwinds past it, MPI_Finalize otherwise", "[mpi][unwinding]") {
    const auto& env = test_env();
    // what the environment would do if it were destroyed here: finalize
    REQUIRE(env.finalizes_on_destruction());
    // and if it were destroyed by the unwinding of an exception: not
    struct observer {
        bool& seen;
        ~observer() { seen = test_env().finalizes_on_destruction(); }
    };
    bool during_unwinding = true;
    try {
        observer o{during_unwinding};
        throw std::runtime_error("unwinding");
    } catch (const std::runtime_error&) {
    }
    REQUIRE_FALSE(during_unwinding);
    REQUIRE(env.finalizes_on_destruction());  // after the catch, the rule is back to normal
}
