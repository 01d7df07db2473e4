// Tests of app::run_search, the one entry point of a search, on in-process contexts (local and dry
// run) and on stand-in contexts: the header it writes, the plan and the report it prints, the
// context closed at the end and when the search throws, nothing done on a worker. The MPI context
// is tested under mpiexec (tests/transport/mpi/context.tests.cpp).
#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fracnas/app/search.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/transport/context.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "small_search.hpp"

using namespace fracnas;
using Catch::Matchers::Contains;

namespace {

// small_search.hpp's search with a grace of 30 s (what close() is given at the end).
app::search_config small_config(std::uint64_t budget) {
    auto c = testing::small_config(budget);
    c.grace = 30.0;
    return c;
}

std::unique_ptr<eval::job_evaluator> model() {
    return std::make_unique<eval::latency_model_evaluator>(eval::latency_model_config{});
}

// A context that forwards to an in-process one and records how it is closed; close() answers
// `verdict`, and is_master() `master` (a worker's context has no dispatcher).
class spy_context final : public transport::context {
public:
    spy_context(std::unique_ptr<transport::context> inner, bool master) : inner_(std::move(inner)), master_(master) {}
    bool is_master() const noexcept override { return master_; }
    transport::dispatcher& dispatch() override {
        if (!master_) throw error("a worker has no dispatcher");
        return inner_->dispatch();
    }
    std::uint32_t ranks() const noexcept override { return 7; }
    const std::string& hosts() const noexcept override { return hosts_; }
    bool close(double grace_seconds) noexcept override {
        closes.push_back(grace_seconds);
        return inner_->close(grace_seconds);
    }
    [[noreturn]] void abort(int) noexcept override { std::terminate(); }  // no test reaches it
    std::vector<double> closes;

private:
    std::unique_ptr<transport::context> inner_;
    bool master_;
    std::string hosts_ = "node-a,node-b";
};

}  // namespace

TEST_CASE("run_search on a local context: the budget answered, the header filled in, plan and report printed", "[app][search]") {
    const auto c = small_config(30);
    auto ctx = transport::make_local_context(model(), c.policy(true), "test-host");
    app::search_io io;
    io.header.command_line = "fracnas search --budget 30";
    io.warnings.push_back("a warning of the caller");
    storage::run_header opened;
    io.open_archive = [&](const storage::run_header& h, storage::archive_contents&) {
        opened = h;
        return std::unique_ptr<storage::archive_sink>();  // none: kept in memory
    };
    std::ostringstream out;
    const app::search_result r = app::run_search(c, *ctx, io, out);
    REQUIRE(r.outcome.ended_by == "budget");
    REQUIRE(r.archive.evaluations.size() == 30);
    REQUIRE(r.archive.sessions.size() == 1);
    REQUIRE(r.archive.sessions.front().command_line == "fracnas search --budget 30");
    REQUIRE(opened.config == c.to_ini());
    REQUIRE(opened.ranks == 1);
    REQUIRE(opened.hosts == "test-host");
    REQUIRE(opened.command_line == "fracnas search --budget 30");
    REQUIRE(opened.dim > 0);
    REQUIRE_THAT(out.str(), Contains("workers     1 in the pool of 1:\n  rank 0 on test-host: latency model, reference"));
    REQUIRE_THAT(out.str(), Contains("warning     a warning of the caller\n"));
    REQUIRE_THAT(out.str(), Contains("ended by    budget after"));
    REQUIRE(ctx->dispatch().in_flight() == 0);
}

TEST_CASE("run_search on a dry-run context: the simulated workers measure, the report says so", "[app][search]") {
    auto c = small_config(40);
    c.dispatcher = app::dispatcher_kind::dry_run;
    c.dry_run.workers = 4;
    c.validate();
    auto ctx = transport::make_dry_run_context(model(), c.dry_run, c.policy(), "laptop");
    std::ostringstream out;
    const app::search_result r = app::run_search(c, *ctx, {}, out);
    REQUIRE(r.outcome.ended_by == "budget");
    REQUIRE(r.archive.evaluations.size() == 40);
    std::set<int> ranks;
    for (const auto& e : r.archive.evaluations)
        if (e.feasible && !e.cached) ranks.insert(e.worker);
    REQUIRE(ranks.size() > 1);  // several simulated workers took work
    REQUIRE(*ranks.begin() >= 1);
    REQUIRE(*ranks.rbegin() <= 4);
    REQUIRE(r.archive.header.hosts == "laptop");
    REQUIRE_THAT(out.str(), Contains("workers     4 in the pool of 4:"));
}

TEST_CASE("run_search on a dry-run context: the time limit and the grace are simulated seconds", "[app][search]") {
    auto c = small_config(100000);
    c.dispatcher = app::dispatcher_kind::dry_run;
    c.dry_run.workers = 2;
    c.dry_run.cost_mean_seconds = 5.0;  // each measurement: 5 simulated seconds
    c.time_limit = 100.0;
    c.grace = 7.0;
    c.validate();
    auto ctx = transport::make_dry_run_context(model(), c.dry_run, c.policy(), "laptop");
    std::ostringstream out;
    const app::search_result r = app::run_search(c, *ctx, {}, out);
    // it ran in far less wall time than 100 s, and stopped at 100 simulated seconds
    REQUIRE(r.outcome.ended_by == "time limit");
    REQUIRE(r.outcome.wall_seconds < 100.0);
    double last_dispatched = 0.0, last_ended = 0.0;
    std::size_t measured = 0;
    for (const auto& e : r.archive.evaluations)
        if (e.feasible && !e.cached) {
            last_dispatched = std::max(last_dispatched, e.dispatched);
            last_ended = std::max(last_ended, e.ended);
            ++measured;
        }
    REQUIRE(last_dispatched <= 100.0 + 5.0);   // nothing asked after the limit (the last wait's step aside)
    REQUIRE(last_dispatched >= 90.0);          // and the workers were kept busy until it
    REQUIRE(last_ended <= 100.0 + 5.0 + 7.0);  // the grace: 7 simulated seconds for what was in flight
    REQUIRE(measured >= 2 * 90 / 5);           // two workers busy for 90 s at 5 s a measurement
    REQUIRE(measured <= 2 * 112 / 5);
}

TEST_CASE("run_search closes the context with its grace, at most 10 s when the search throws", "[app][search]") {
    auto c = small_config(10);
    SECTION("a search that ends: the whole grace") {
        spy_context ctx(transport::make_local_context(model(), c.policy(true), "h"), true);
        std::ostringstream out;
        app::run_search(c, ctx, {}, out);
        REQUIRE(ctx.closes == std::vector<double>{30.0});
    }
    SECTION("an archive that cannot be opened: the workers are stopped, the error goes on") {
        spy_context ctx(transport::make_local_context(model(), c.policy(true), "h"), true);
        app::search_io io;
        io.open_archive = [](const storage::run_header&, storage::archive_contents&) -> std::unique_ptr<storage::archive_sink> {
            throw storage_error("run.h5", "the disk is full.");
        };
        std::ostringstream out;
        REQUIRE_THROWS_WITH(app::run_search(c, ctx, io, out), "the disk is full.");
        REQUIRE(ctx.closes == std::vector<double>{10.0});
    }
    SECTION("a second stop signal: 2 s") {
        spy_context ctx(transport::make_local_context(model(), c.policy(true), "h"), true);
        app::search_io io;
        io.signals = [] { return 2; };
        std::ostringstream out;
        const auto r = app::run_search(c, ctx, io, out);
        REQUIRE(r.outcome.ended_by == "second signal");
        REQUIRE(ctx.closes == std::vector<double>{2.0});
    }
}

TEST_CASE("run_search on a worker's context does nothing: the worker served inside the context", "[app][search]") {
    const auto c = small_config(10);
    spy_context ctx(transport::make_local_context(model(), c.policy(true), "h"), false);
    app::search_io io;
    bool opened = false;
    io.open_archive = [&](const storage::run_header&, storage::archive_contents&) {
        opened = true;
        return std::unique_ptr<storage::archive_sink>();
    };
    std::ostringstream out;
    const auto r = app::run_search(c, ctx, io, out);
    REQUIRE_FALSE(opened);
    REQUIRE(out.str().empty());
    REQUIRE(r.archive.evaluations.empty());
    REQUIRE(ctx.closes.empty());
}

TEST_CASE("process_context: refuses no dispatcher, close shuts the dispatcher once and keeps it readable", "[transport][context]") {
    REQUIRE_THROWS_WITH(transport::process_context(nullptr, "h"), "process_context: no dispatcher was given.");
    REQUIRE_THROWS_WITH(transport::make_local_context(nullptr, {}, "h"), "make_local_context: no evaluator was given.");
    auto ctx = transport::make_dry_run_context(model(), transport::dry_run_config{}, {}, "h");
    transport::job j;
    j.id = 5;
    j.x = {0.5, 0.5};
    ctx->dispatch().submit(j);
    REQUIRE(ctx->dispatch().in_flight() == 1);
    REQUIRE(ctx->close(1.0));
    REQUIRE(ctx->dispatch().in_flight() == 0);  // shut down: the job was dropped
    REQUIRE(ctx->close(1.0));
    REQUIRE(ctx->ranks() == 1);
    REQUIRE(ctx->hosts() == "h");
}
