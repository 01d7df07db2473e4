// The MPI execution context (arbor's mpi_context): MPI start-up under a watchdog, the split into
// master and workers, the master's verdict on its inputs, the configuration text sent to every
// worker, and the end of MPI: in agreement after every worker said bye, or not at all while an
// exception unwinds. What the text means and what a search does with the dispatcher are app/'s.
#include "fracnas/mpi/context.hpp"

#include <string>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"

namespace fracnas::mpi {

namespace {

// "a,b" from the rank-ordered host table: each host once, in order of first appearance.
std::string distinct_hosts(const std::vector<std::string>& hosts) {
    std::vector<std::string> seen;
    std::string list;
    for (const auto& h : hosts) {
        bool known = false;
        for (const auto& s : seen) known = known || s == h;
        if (known) continue;
        seen.push_back(h);
        list += (list.empty() ? "" : ",") + h;
    }
    return list;
}

class mpi_context final : public transport::context {
public:
    mpi_context(std::unique_ptr<environment> owned, const environment& env, std::string hosts, std::unique_ptr<mpi_dispatcher> dispatch)
        : owned_(std::move(owned)), env_(env), hosts_(std::move(hosts)), dispatch_(std::move(dispatch)) {}
    bool is_master() const noexcept override { return env_.rank() == 0; }
    transport::dispatcher& dispatch() override {
        if (!is_master()) throw error("a worker rank has no dispatcher.");
        if (closed_) throw error("this MPI context was closed.");
        return *dispatch_;
    }
    std::uint32_t ranks() const noexcept override { return static_cast<std::uint32_t>(env_.size()); }
    const std::string& hosts() const noexcept override { return hosts_; }
    bool close(double grace_seconds) noexcept override {
        if (closed_) return agreed_;
        closed_ = true;
        agreed_ = dispatch_ ? dispatch_->stop_workers(grace_seconds) : true;
        if (agreed_) {          // every worker said bye and finalizes too
            dispatch_.reset();  // its last MPI calls come before MPI ends
            if (owned_) owned_->finalize();
        }  // else the caller aborts the job (abort()) with the dispatcher as it is
        return agreed_;
    }
    [[noreturn]] void abort(int code) noexcept override { env_.abort(code); }

private:
    std::unique_ptr<environment> owned_;  // null when the caller's; declared first: ends last
    const environment& env_;
    std::string hosts_;
    std::unique_ptr<mpi_dispatcher> dispatch_;  // the master's, until close() ends MPI in agreement
    bool closed_ = false, agreed_ = false;
};

// Everything after MPI_Init; owned is null when the caller owns env, and is finalized on the
// endings every rank agrees on (too few ranks, a refusal), so that none of them unwinds through it.
std::unique_ptr<transport::context> start(std::unique_ptr<environment> owned, const environment& env, const context_config& cfg,
                                          startup_watchdog* watchdog) {
    const auto end_agreed = [&] {
        if (watchdog) watchdog->disarm();
        if (owned) owned->finalize();
    };
    if (env.size() < 2) {
        end_agreed();
        throw config_error("--dispatcher", "--dispatcher mpi needs at least 2 ranks (a master and a worker); use local.");
    }
    const std::string hosts = distinct_hosts(env.hosts());
    if (watchdog) watchdog->disarm();

    if (env.rank() != 0) {
        if (env.broadcast_verdict(0) != 0) {  // the master refused its inputs and says why
            end_agreed();
            return std::make_unique<mpi_context>(std::move(owned), env, hosts, nullptr);
        }
        const std::string text = env.broadcast_text("");
        const std::uint64_t calibrate_every = std::stoull(env.broadcast_text(""));
        const int rank = env.rank(), node_rank = env.node_rank();
        serve(
            env,
            [&]() -> std::unique_ptr<eval::job_evaluator> {
                if (!cfg.make_evaluator) throw error("no evaluator factory was given.");
                return cfg.make_evaluator(text, rank, node_rank);
            },
            calibrate_every);
        return std::make_unique<mpi_context>(std::move(owned), env, hosts, nullptr);
    }
    try {
        if (cfg.check) cfg.check();
    } catch (...) {
        env.broadcast_verdict(2);
        end_agreed();
        throw;
    }
    env.broadcast_verdict(0);
    env.broadcast_text(cfg.shared_text);
    env.broadcast_text(std::to_string(cfg.policy.calibrate_every));
    auto dispatch = std::make_unique<mpi_dispatcher>(env, cfg.policy, cfg.join_seconds);
    return std::make_unique<mpi_context>(std::move(owned), env, hosts, std::move(dispatch));
}

}  // namespace

std::unique_ptr<transport::context> make_context(const context_config& cfg) {
    static char arg0[] = "fracnas";
    static char* argv0[] = {arg0, nullptr};
    int argc = 1;
    char** argv = argv0;
    // MPI_Init and the host table wait for every rank: bounded by join_seconds
    startup_watchdog watchdog(cfg.join_seconds, "MPI start-up (MPI_Init and the host table)");
    auto env = std::make_unique<environment>(argc, argv);
    if (cfg.after_init) cfg.after_init();
    const environment& e = *env;
    return start(std::move(env), e, cfg, &watchdog);
}

std::unique_ptr<transport::context> make_context(const environment& env, const context_config& cfg) {
    return start(nullptr, env, cfg, nullptr);
}

}  // namespace fracnas::mpi
