// The synthetic-function loop over any dispatcher, a function-backed job evaluator, and the
// simulated workers the optimizer studies use.
#include "fracnas/app/optimizer_loop.hpp"

#include <chrono>
#include <cmath>
#include <exception>

#include "fracnas/error.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

namespace fracnas::app {

namespace {

class lambda_evaluator final : public eval::job_evaluator {
public:
    explicit lambda_evaluator(std::function<double(const core::point&)> f) : f_(std::move(f)) {}
    eval::outcome evaluate(const core::point& x, const std::string&) noexcept override {
        eval::outcome o;
        try {
            o.value = f_(x);
        } catch (const std::exception& e) {
            o.status = eval::outcome_status::error;
            o.message = e.what();
        } catch (...) {
            o.status = eval::outcome_status::error;
        }
        if (o.status == eval::outcome_status::ok && !std::isfinite(o.value)) o.status = eval::outcome_status::error;
        return o;
    }
    eval::outcome time_reference() noexcept override { return {}; }
    eval::device_binding binding() const override { return {"model", -1, "function", ""}; }

private:
    std::function<double(const core::point&)> f_;
};

}  // namespace

drive_result drive(core::optimizer& opt, transport::dispatcher& d, const std::function<void(const transport::job_result&)>& on_told,
                   double wall_seconds) {
    const auto start = std::chrono::steady_clock::now();
    const bool timed = std::isfinite(wall_seconds);
    auto out_of_time = [&] {
        return timed && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= wall_seconds;
    };
    drive_result out;
    while (!opt.done()) {
        const bool asking = !opt.stopped() && !out_of_time();
        if (!asking && d.in_flight() == 0) break;
        if (asking && d.free_slots() > 0) {
            const auto tasks = opt.ask(d.free_slots());
            if (tasks.empty()) ++out.starved;
            for (const auto& t : tasks) d.submit(transport::timing(t.id, t.x));
        }
        if (d.in_flight() == 0) {
            out.stalled = !opt.done();
            break;
        }
        for (const auto& r : d.wait(1e9)) {
            const bool ok = r.out.status == eval::outcome_status::ok && std::isfinite(r.out.value);
            opt.tell({core::result{r.id, ok ? r.out.value : 0.0, ok ? core::eval_status::ok : core::eval_status::failed}});
            if (on_told) on_told(r);
        }
    }
    return out;
}

std::unique_ptr<eval::job_evaluator> function_of(std::function<double(const core::point&)> f) {
    return std::make_unique<lambda_evaluator>(std::move(f));
}

std::unique_ptr<transport::dispatcher> simulated_workers(eval::job_evaluator& evaluator, std::size_t outstanding,
                                                         std::uint64_t order_seed) {
    transport::dry_run_config cfg;
    cfg.workers = outstanding;
    cfg.cost = outstanding > 1 ? transport::cost_kind::exponential : transport::cost_kind::fixed;
    cfg.seed = order_seed;
    return std::make_unique<transport::dry_run_dispatcher>(evaluator, cfg, transport::dispatch_policy{});
}

}  // namespace fracnas::app
