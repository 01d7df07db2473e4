// MPI dispatch: what the master costs per evaluation and how busy it keeps its workers. Run under
// mpirun with N ranks: rank 0 drives an optimizer (random search by default, so that the transport
// and not the algorithm is measured) through the dispatcher of mpi::make_context; ranks 1..N-1
// serve jobs whose cost is a sleep of C ms (0: nothing at all). For each C, after a warm-up run, `repeats` timed
// runs: evaluations per second, master CPU microseconds per evaluation (the whole process,
// CLOCK_PROCESS_CPUTIME_ID), dispatch latency (worker start - master submit, on the master's
// clock) p50/p99, and worker utilisation (busy time / (workers x wall)). Median and range over the
// repeats, one JSON line per run. It measures no GPU and no search quality.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/app/optimizer_loop.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/mpi/context.hpp"

using namespace fracnas;

namespace {

const char* const usage_text =
    "usage: mpirun -n N mpi_dispatch [--cost-ms LIST] [--evaluations LIST] [--repeats R] [--queued Q] [--algorithm NAME] [--out FILE]\n"
    "  --cost-ms LIST       task costs in ms, one run series each (default 0,1,10,100)\n"
    "  --evaluations LIST   evaluations per run, one per cost (default 200000,20000,6000,600 scaled by the workers/15)\n"
    "  --repeats R          timed runs per cost after one warm-up (default 5)\n"
    "  --queued Q           jobs queued behind each running one, 0 or 1 (default 0)\n"
    "  --algorithm NAME     the optimizer asked: random (default) or a fractal preset\n"
    "  --out FILE           also append the JSON lines to FILE\n";

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// A worker's job: sleep for the cost carried by the spec.
class sleeping_evaluator final : public eval::job_evaluator {
public:
    explicit sleeping_evaluator(double ms) : ms_(ms) {}
    eval::outcome evaluate(const core::point& x, const std::string&) noexcept override {
        if (ms_ > 0.0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms_));
        eval::outcome o;
        o.value = x.empty() ? 0.0 : x[0];
        return o;
    }
    eval::outcome time_reference() noexcept override { return {}; }
    eval::device_binding binding() const override { return {"model", -1, "sleep", ""}; }

private:
    double ms_;
};

struct run_stats {
    double wall = 0, cpu = 0, utilisation = 0, p50 = 0, p99 = 0;
    std::uint64_t evaluations = 0;
};

// One run's context on every rank (mpi::make_context on the benchmark's MPI): the master's
// dispatcher, or, on a worker, a context returned once it served the run with cost_ms jobs.
std::unique_ptr<transport::context> run_context(const mpi::environment& env, std::size_t queued, std::uint64_t cost_ms) {
    mpi::context_config m;
    m.policy.queued_per_worker = queued;
    m.policy.calibrate_every = 0;
    m.join_seconds = 60.0;
    m.make_evaluator = [cost_ms](const std::string&, int, int) {
        return std::make_unique<sleeping_evaluator>(static_cast<double>(cost_ms));
    };
    return mpi::make_context(env, m);
}

run_stats master_run(const mpi::environment& env, const std::string& algorithm, std::uint64_t n, std::size_t queued,
                     std::uint64_t cost_ms) {
    const auto context = run_context(env, queued, cost_ms);
    transport::dispatcher& d = context->dispatch();
    auto opt = core::make_optimizer(algorithm, 4, 1, core::stopping{n});
    std::vector<double> latency;
    latency.reserve(n);
    double busy = 0.0;
    const double cpu0 = process_cpu_seconds();
    const auto t0 = bench::clock_type::now();
    app::drive(*opt, d, [&](const transport::job_result& r) {
        latency.push_back(r.started - r.dispatched);
        busy += r.ended - r.started;
    });
    run_stats s;
    s.wall = bench::seconds_since(t0);
    s.cpu = process_cpu_seconds() - cpu0;
    s.evaluations = opt->told();
    s.utilisation = busy / (static_cast<double>(d.pool_size()) * s.wall);
    s.p50 = bench::quantile(latency, 0.5);
    s.p99 = bench::quantile(latency, 0.99);
    context->close(30.0);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    std::vector<std::uint64_t> costs = {0, 1, 10, 100}, evaluations;
    std::uint64_t repeats = 5, queued = 0;
    std::string algorithm = "random", out_path;
    try {
        bench::for_each_flag(argc, argv, [&](const std::string& a, const std::string& v) {
            if (a == "--cost-ms")
                costs = bench::integers(v, a);
            else if (a == "--evaluations")
                evaluations = bench::integers(v, a);
            else if (a == "--repeats")
                repeats = bench::to_u64(v, a, 1);
            else if (a == "--queued")
                queued = bench::to_u64(v, a);
            else if (a == "--algorithm")
                algorithm = v;
            else if (a == "--out")
                out_path = v;
            else
                bench::usage("unknown option " + a);
        });
        if (env.size() < 2) bench::usage("run it under mpirun with at least 2 ranks");
        if (queued > 1) bench::usage("--queued is 0 or 1");
        if (!evaluations.empty() && evaluations.size() != costs.size()) bench::usage("--evaluations needs one count per cost");
    } catch (const std::exception& e) {
        return env.rank() == 0 ? bench::usage_exit_code(argv[0], e, usage_text) : 2;
    }
    const std::size_t workers = static_cast<std::size_t>(env.size() - 1);
    if (evaluations.empty())
        for (std::uint64_t c : costs) {
            const double per_second = c == 0 ? 2e5 / 15.0 : 1000.0 / static_cast<double>(c) * 4.0;  // ~4 s per worker-run
            evaluations.push_back(std::max<std::uint64_t>(100, static_cast<std::uint64_t>(per_second * static_cast<double>(workers))));
        }

    if (env.rank() != 0) {
        for (std::size_t k = 0; k < costs.size(); ++k)
            for (std::uint64_t r = 0; r <= repeats; ++r) run_context(env, static_cast<std::size_t>(queued), costs[k]);  // serves one run
        return 0;
    }
    bench::print_header(argc, argv);
    std::printf("ranks %d (master + %zu workers), algorithm %s, queued %llu, %llu timed runs after one warm-up\n", env.size(), workers,
                algorithm.c_str(), static_cast<unsigned long long>(queued), static_cast<unsigned long long>(repeats));
    std::printf("%8s %10s | %14s | %22s | %22s | %14s %14s\n", "cost ms", "evals", "evals/s", "master CPU us/eval", "master wall us/eval",
                "dispatch p50 us", "p99 us");
    std::FILE* out = out_path.empty() ? nullptr : std::fopen(out_path.c_str(), "a");
    for (std::size_t k = 0; k < costs.size(); ++k) {
        std::vector<double> rate, cpu_us, wall_us, p50, p99, util;
        for (std::uint64_t r = 0; r <= repeats; ++r) {
            const run_stats s = master_run(env, algorithm, evaluations[k], static_cast<std::size_t>(queued), costs[k]);
            if (r == 0) continue;  // warm-up
            const double n = static_cast<double>(s.evaluations);
            rate.push_back(n / s.wall);
            cpu_us.push_back(1e6 * s.cpu / n);
            wall_us.push_back(1e6 * s.wall / n);
            p50.push_back(1e6 * s.p50);
            p99.push_back(1e6 * s.p99);
            util.push_back(s.utilisation);
            if (out)
                std::fprintf(
                    out,
                    "{\"workers\": %zu, \"cost_ms\": %llu, \"queued\": %llu, \"evaluations\": %llu, \"wall_s\": %s, \"cpu_s\": %s, "
                    "\"dispatch_p50_s\": %s, \"dispatch_p99_s\": %s, \"utilisation\": %s}\n",
                    workers, static_cast<unsigned long long>(costs[k]), static_cast<unsigned long long>(queued),
                    static_cast<unsigned long long>(s.evaluations), bench::json_number(s.wall).c_str(), bench::json_number(s.cpu).c_str(),
                    bench::json_number(s.p50).c_str(), bench::json_number(s.p99).c_str(), bench::json_number(s.utilisation).c_str());
        }
        auto cell = [](const std::vector<double>& v, int digits) {
            const auto s = bench::summarise(v);
            char b[96];
            std::snprintf(b, sizeof b, "%.*f [%.*f-%.*f]", digits, s.median, digits, s.min, digits, s.max);
            return std::string(b);
        };
        std::printf("%8llu %10llu | %14s | %22s | %22s | %14s %14s | utilisation %s\n", static_cast<unsigned long long>(costs[k]),
                    static_cast<unsigned long long>(evaluations[k]), cell(rate, 0).c_str(), cell(cpu_us, 2).c_str(),
                    cell(wall_us, 2).c_str(), cell(p50, 1).c_str(), cell(p99, 1).c_str(), cell(util, 4).c_str());
        std::fflush(stdout);
    }
    if (out) std::fclose(out);
    return 0;
}
