// The search at scale, simulated: app::run_search on a dry-run context with W workers
// and task costs of C seconds (fixed, or lognormal with a spread), the analytic latency model as
// the objective. Reports the workers' utilisation (simulated busy time / (W x simulated wall)),
// the simulated wall time, how many candidates were measured, cached and infeasible, and the real
// master time per answered candidate. One line per (algorithm, workers). It measures the
// scheduling and the optimizer's ability to offer W points at once, not any real evaluation.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/app/search.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/transport/context.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

using namespace fracnas;

namespace {

const char* const usage_text =
    "usage: dry_run_scale [--workers LIST] [--algorithms LIST] [--budget-per-worker N] [--cost-s C] [--spread S] [--space NAME]\n"
    "  --workers LIST           simulated workers (default 1000,10000)\n"
    "  --algorithms LIST        presets (default random,soo,fda)\n"
    "  --budget-per-worker N    candidates asked per worker (default 20)\n"
    "  --cost-s C               task cost in simulated seconds (default 1)\n"
    "  --spread S               lognormal sigma of the cost; 0: fixed (default 0)\n"
    "  --space NAME             heterogeneous or homogeneous (default heterogeneous)\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::uint64_t> workers = {1000, 10000};
    std::vector<std::string> algorithms = {"random", "soo", "fda"};
    std::uint64_t per_worker = 20;
    double cost = 1.0, spread = 0.0;
    app::space_kind space = app::space_kind::heterogeneous;
    try {
        bench::for_each_flag(argc, argv, [&](const std::string& a, const std::string& v) {
            if (a == "--workers")
                workers = bench::integers(v, a);
            else if (a == "--algorithms")
                algorithms = bench::split(v);
            else if (a == "--budget-per-worker")
                per_worker = bench::to_u64(v, a, 1);
            else if (a == "--cost-s")
                cost = bench::to_double(v, a, 1e-6, 1e6);
            else if (a == "--spread")
                spread = bench::to_double(v, a, 0.0, 10.0);
            else if (a == "--space")
                space = app::parse_choice<app::space_kind>("--space", v);
            else
                bench::usage("unknown option " + a);
        });
    } catch (const std::exception& e) {
        return bench::usage_exit_code(argv[0], e, usage_text);
    }
    bench::print_header(argc, argv);
    std::printf("%-8s %8s %9s | %11s | %9s %9s %9s | %14s | %16s\n", "algo", "workers", "budget", "utilisation", "measured", "cached",
                "infeas.", "simulated s", "master us/answer");
    for (const auto& algorithm : algorithms) {
        for (std::uint64_t w : workers) {
            app::search_config c;
            c.algorithm = algorithm;
            c.evaluator = app::evaluator_kind::model;
            c.dispatcher = app::dispatcher_kind::dry_run;
            c.space = space;
            c.budget = w * per_worker;
            c.dry_run.workers = static_cast<std::size_t>(w);
            c.dry_run.cost_mean_seconds = cost;
            c.dry_run.cost = spread > 0.0 ? transport::cost_kind::lognormal : transport::cost_kind::fixed;
            c.dry_run.cost_spread = spread;
            c.progress_every = c.budget;
            c.validate();
            auto evaluator = std::make_unique<eval::latency_model_evaluator>(eval::latency_model_config{});
            auto dispatcher = std::make_unique<transport::dry_run_dispatcher>(*evaluator, c.dry_run, c.policy());
            const transport::dry_run_dispatcher& d = *dispatcher;
            transport::process_context context(std::move(dispatcher), "dry-run", std::move(evaluator));
            std::ostringstream printed;
            const app::search_result r = app::run_search(c, context, {}, printed);
            const double real = r.outcome.wall_seconds;  // the driver's loop alone, not the report
            double busy = 0.0;
            for (double b : d.busy_seconds()) busy += b;
            std::uint64_t measured = 0, cached = 0, infeasible = 0;
            for (const auto& e : r.archive.evaluations) {
                if (!e.feasible)
                    ++infeasible;
                else if (e.cached)
                    ++cached;
                else
                    ++measured;
            }
            const double util = busy / (static_cast<double>(w) * d.now());
            std::printf("%-8s %8llu %9llu | %11.4f | %9llu %9llu %9llu | %14.1f | %16.2f\n", algorithm.c_str(),
                        static_cast<unsigned long long>(w), static_cast<unsigned long long>(c.budget), util,
                        static_cast<unsigned long long>(measured), static_cast<unsigned long long>(cached),
                        static_cast<unsigned long long>(infeasible), d.now(), 1e6 * real / static_cast<double>(c.budget));
            std::fflush(stdout);
        }
    }
    return 0;
}
