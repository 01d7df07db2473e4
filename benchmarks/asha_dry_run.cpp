// The training search's scheduling, simulated (issue 24, "the engine under long tasks"): W
// simulated workers on the dry-run dispatcher run a mix of timings (about a second) and trainings
// of a ladder of budgets (tens of seconds to minutes), promoted by core::rung_ladder (ASHA) as
// soon as a candidate ranks in its rung's top 1/eta, with the analytic latency model's simulated
// trainings as the values. A free slot takes, in this order: a promotion, a timed candidate's
// first training, a new candidate's timing. Reports the workers' utilisation (simulated busy
// time / (W x simulated wall)) over the whole run and up to the last new candidate (the drain
// after it leaves workers idle by construction), simulated GPU-hours per fidelity, the trainings
// and promotions per rung, and the master's real time per answer. Nothing is measured on a device.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/core/rung_ladder.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

using namespace fracnas;

namespace {

const char* const usage_text =
    "usage: asha_dry_run [--workers LIST] [--candidates-per-worker N] [--rungs LIST] [--eta N] [--train-s-per-mtoken C]\n"
    "                    [--timing-s T] [--spread S] [--seed N]\n"
    "  --workers LIST              simulated workers (default 1000)\n"
    "  --candidates-per-worker N   new candidates started, per worker (default 4)\n"
    "  --rungs LIST                the ladder's budgets, training tokens (default 2500000,5000000,10000000,20000000)\n"
    "  --eta N                     the top 1/eta of a rung goes up (default 3)\n"
    "  --train-s-per-mtoken C      a training's simulated seconds per million tokens (default 15: 37.5 s to 300 s)\n"
    "  --timing-s T                a timing's simulated seconds (default 1)\n"
    "  --spread S                  lognormal sigma of every task's cost; 0: fixed (default 0.3)\n"
    "  --seed N                    the architectures drawn and the costs (default 1)\n";

// A random GPT architecture of 2-12 layers and widths 256-1,024 (multiples of 64)
nas::architecture draw_architecture(core::rng& r) {
    nas::architecture a;
    a.n_layer = 2 + static_cast<std::uint32_t>(r.below(11));
    a.d_model = 256 + 64 * static_cast<std::uint32_t>(r.below(13));
    a.d_inner.assign(a.n_layer, 4 * a.d_model);
    a.n_head.assign(a.n_layer, a.d_model / 64);
    return a;
}

struct fidelity {
    std::uint64_t tasks = 0;
    double busy_s = 0.0;
};

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::uint64_t> workers = {1000}, rungs = {2500000, 5000000, 10000000, 20000000};
    std::uint64_t per_worker = 4, eta = 3, seed = 1;
    double per_mtoken = 15.0, timing = 1.0, spread = 0.3;
    try {
        bench::for_each_flag(argc, argv, [&](const std::string& a, const std::string& v) {
            if (a == "--workers")
                workers = bench::integers(v, a);
            else if (a == "--candidates-per-worker")
                per_worker = bench::to_u64(v, a, 1);
            else if (a == "--rungs")
                rungs = bench::integers(v, a);
            else if (a == "--eta")
                eta = bench::to_u64(v, a, 2);
            else if (a == "--train-s-per-mtoken")
                per_mtoken = bench::to_double(v, a, 1e-6, 1e6);
            else if (a == "--timing-s")
                timing = bench::to_double(v, a, 1e-6, 1e6);
            else if (a == "--spread")
                spread = bench::to_double(v, a, 0.0, 10.0);
            else if (a == "--seed")
                seed = bench::to_u64(v, a);
            else
                bench::usage("unknown option " + a);
        });
    } catch (const std::exception& e) {
        return bench::usage_exit_code(argv[0], e, usage_text);
    }
    bench::print_header(argc, argv);
    std::printf("%8s %10s | %11s %11s | %12s | %-40s | %-40s | %9s\n", "workers", "candidates", "utilisation", "until last", "simulated h",
                "trainings per rung", "GPU-hours: timing, then per rung", "master us");
    for (const std::uint64_t w : workers) {
        core::rung_ladder ladder(std::vector<double>(rungs.begin(), rungs.end()), static_cast<std::size_t>(eta));
        eval::latency_model_evaluator model({});
        transport::dry_run_config c;
        c.workers = static_cast<std::size_t>(w);
        c.cost_mean_seconds = timing;
        c.train_seconds_per_mtoken = per_mtoken;
        c.cost = spread > 0.0 ? transport::cost_kind::lognormal : transport::cost_kind::fixed;
        c.cost_spread = spread;
        c.seed = seed;
        transport::dispatch_policy p;  // the search's defaults: an adaptive deadline, 60-900 s
        p.adaptive_deadline = true;
        p.task_deadline_seconds = 900.0;
        transport::dry_run_dispatcher d(model, c, p);
        core::rng draw(seed);
        std::map<std::uint64_t, std::string> spec;      // candidate -> architecture
        std::map<std::uint64_t, std::uint64_t> job_of;  // job id -> candidate
        std::map<std::uint64_t, transport::job> sent;   // job id -> the job (its kind and rung)
        std::deque<std::uint64_t> timed;                // candidates timed, waiting for their first training
        std::vector<fidelity> per_rung(rungs.size());
        fidelity timings;
        const std::uint64_t total = w * per_worker;
        std::uint64_t started = 0, next_job = 1, answers = 0, timeouts = 0;
        double last_start = 0.0;
        std::vector<std::pair<double, double>> ran;  // every task's (started, ended)
        const auto submit = [&](std::uint64_t cand, bool train, std::size_t rung) {
            transport::job j;
            j.id = next_job++;
            j.x = {0.5};
            j.spec = spec.at(cand);
            if (train) {
                j.kind = eval::task_kind::train;
                j.train.tokens = rungs[rung];
                j.train.seed = 1;
                j.train.rung = static_cast<std::uint32_t>(rung);
                j.deadline_seconds = 3.0 * per_mtoken * static_cast<double>(rungs[rung]) * 1e-6;  // three times its mean cost
            }
            job_of[j.id] = cand;
            sent[j.id] = j;
            d.submit(std::move(j));
        };
        const auto t0 = std::chrono::steady_clock::now();
        while (true) {
            while (d.free_slots() > 0) {
                if (const auto up = ladder.next_promotion()) {
                    ladder.mark_promoted(up->id, up->from);
                    submit(up->id, true, up->to);
                } else if (!timed.empty()) {
                    ladder.start(timed.front());
                    submit(timed.front(), true, 0);
                    timed.pop_front();
                } else if (started < total) {
                    const std::uint64_t cand = ++started;
                    spec[cand] = nas::canonical(draw_architecture(draw));
                    submit(cand, false, 0);
                    last_start = d.now();
                } else {
                    break;
                }
            }
            if (d.in_flight() == 0) break;
            for (const auto& r : d.wait(1e30)) {
                ++answers;
                const transport::job& j = sent.at(r.id);
                const std::uint64_t cand = job_of.at(r.id);
                const double cost = r.ended - r.started;
                ran.emplace_back(r.started, r.ended);
                if (r.out.status == eval::outcome_status::timeout) ++timeouts;
                if (j.kind == eval::task_kind::time) {
                    ++timings.tasks;
                    timings.busy_s += cost;
                    if (r.out.status == eval::outcome_status::ok) timed.push_back(cand);
                } else {
                    ++per_rung[j.train.rung].tasks;
                    per_rung[j.train.rung].busy_s += cost;
                    ladder.record(cand, j.train.rung, r.out.value, r.out.status == eval::outcome_status::ok);
                }
                sent.erase(r.id);
            }
        }
        const double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double busy = 0.0;
        for (double b : d.busy_seconds()) busy += b;
        std::string counts, hours = std::to_string(timings.busy_s / 3600.0).substr(0, 6);
        for (const auto& f : per_rung) {
            counts += (counts.empty() ? "" : ",") + std::to_string(f.tasks);
            hours += "," + std::to_string(f.busy_s / 3600.0).substr(0, 7);
        }
        // up to the last new candidate's start: every task's share of [0, last_start]
        double busy_until_last = 0.0;
        for (const auto& [a, b] : ran) busy_until_last += std::max(0.0, std::min(b, last_start) - a);
        const double until_last = last_start > 0.0 ? busy_until_last / (static_cast<double>(w) * last_start) : bench::nan_value;
        std::printf("%8llu %10llu | %11.4f %11.4f | %12.3f | %-40s | %-40s | %9.2f\n", static_cast<unsigned long long>(w),
                    static_cast<unsigned long long>(total), busy / (static_cast<double>(w) * d.now()), until_last, d.now() / 3600.0,
                    counts.c_str(), hours.c_str(), 1e6 * real / static_cast<double>(answers));
        const auto best = ladder.top_reached();
        std::printf("  %llu timed out; best at the top rung reached (%s): %s\n", static_cast<unsigned long long>(timeouts),
                    best ? std::to_string(*best).c_str() : "none", best ? spec.at(ladder.best(*best)->id).c_str() : "-");
        std::fflush(stdout);
    }
    return 0;
}
