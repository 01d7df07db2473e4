// The in-process execution context: a dispatcher, the evaluator it measures with, and the host's
// name. The MPI context is src/transport/mpi/context.cpp's.
#include "fracnas/transport/context.hpp"

#include <cstdlib>
#include <utility>

#include "fracnas/error.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "fracnas/transport/local_dispatcher.hpp"

namespace fracnas::transport {

process_context::process_context(std::unique_ptr<dispatcher> dispatch, std::string host, std::unique_ptr<eval::job_evaluator> evaluator)
    : evaluator_(std::move(evaluator)), dispatch_(std::move(dispatch)), host_(std::move(host)) {
    if (!dispatch_) throw error("process_context: no dispatcher was given.");
}

process_context::~process_context() = default;

dispatcher& process_context::dispatch() {
    return *dispatch_;
}

bool process_context::close(double) noexcept {
    if (!closed_) dispatch_->shutdown();  // in process nothing can hang past the caller: always true
    closed_ = true;
    return true;
}

void process_context::abort(int) noexcept {
    std::abort();  // unreachable through close(), which never fails in process
}

std::unique_ptr<process_context> make_local_context(std::unique_ptr<eval::job_evaluator> evaluator, const dispatch_policy& policy,
                                                    const std::string& host) {
    if (!evaluator) throw error("make_local_context: no evaluator was given.");
    auto d = std::make_unique<local_dispatcher>(*evaluator, policy, host);
    return std::make_unique<process_context>(std::move(d), host, std::move(evaluator));
}

std::unique_ptr<process_context> make_dry_run_context(std::unique_ptr<eval::job_evaluator> evaluator, const dry_run_config& cfg,
                                                      const dispatch_policy& policy, const std::string& host) {
    if (!evaluator) throw error("make_dry_run_context: no evaluator was given.");
    auto d = std::make_unique<dry_run_dispatcher>(*evaluator, cfg, policy);
    return std::make_unique<process_context>(std::move(d), host, std::move(evaluator));
}

}  // namespace fracnas::transport
