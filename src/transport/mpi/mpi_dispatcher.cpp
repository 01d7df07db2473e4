// The master's side of the MPI adapter: the join (hellos, duplicate GPUs), the shared scheduling
// policy (transport::worker_pool: slots, deadlines, re-queueing, workers leaving) carried over
// non-blocking task sends, a probe loop over every worker with a spin-then-sleep backoff, the
// worker clocks, and stop/bye. It never blocks on one worker and never evaluates anything itself;
// what a result means is the driver's business (app/).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "fracnas/error.hpp"
#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "fracnas/transport/context.hpp"
#include "fracnas/transport/worker_pool.hpp"
#include "mpi_check.hpp"

namespace fracnas::mpi {

namespace wire = transport::wire;
using transport::worker_event;

namespace {

using clock = std::chrono::steady_clock;

std::string seconds_text(double s) {
    std::ostringstream o;
    o << s;
    return o.str();
}

// Master polling: spin 50 us (a zero-cost result comes back within microseconds), then naps
// doubling from 10 us to at most 1 ms.
detail::backoff master_backoff() {
    return detail::backoff(50e-6, 10e-6, 100e-6);  // a result waits at most ~0.1 ms to be seen
}

}  // namespace

struct mpi_dispatcher::impl {
    // What the transport keeps of a worker beyond the pool's policy (worker_pool: slots, queues,
    // deadlines, re-queueing): its clock, why it left, and what it said.
    enum class gone : std::uint8_t { no, never_joined, hung, device };
    struct worker_state {
        double offset = std::numeric_limits<double>::infinity();  // master clock - worker clock, upper bound
        gone left = gone::never_joined;
        bool said_hello = false, said_bye = false;
    };

    const environment& env;
    transport::dispatch_policy policy;
    clock::time_point t0 = clock::now();
    transport::worker_pool pool;       // worker index rank - 1
    std::vector<worker_state> states;  // index rank - 1
    // Tasks on their way out: each buffer lives until its MPI_Isend completes.
    std::vector<MPI_Request> send_requests;
    std::vector<std::vector<char>> send_buffers;
    std::vector<int> done_indices;
    std::vector<char> rbuf;
    bool stopped = false, stop_verdict = false;

    // the pool refuses a policy that queues more than one job behind a running one, before any message
    impl(const environment& e, transport::dispatch_policy p) : env(e), policy(p), pool(policy) {}

    ~impl() {
        if (!stopped) stop_workers(5.0);
        release_sends();
    }

    double now() const { return std::chrono::duration<double>(clock::now() - t0).count(); }
    worker_state& state(int rank) { return states[static_cast<std::size_t>(rank - 1)]; }
    static std::size_t index(int rank) { return static_cast<std::size_t>(rank - 1); }
    int workers_n() const { return static_cast<int>(states.size()); }

    // ---- join

    void join(double join_seconds) {
        const int n = env.size() - 1;
        states.resize(static_cast<std::size_t>(std::max(n, 0)));
        if (n < 1)
            throw error(
                "there is no worker rank to dispatch to: run with at least 2 MPI ranks (rank 0 is the "
                "master).");

        std::vector<std::optional<wire::hello_msg>> hellos(static_cast<std::size_t>(n));
        int heard = 0;
        const double limit_s = std::isfinite(join_seconds) ? std::max(join_seconds, 0.0) : 1e9;
        const auto limit = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(limit_s));
        auto pace = master_backoff();
        detail::incoming in;
        while (heard < n) {
            if (detail::try_receive(MPI_ANY_SOURCE, rbuf, in)) {
                pace.reset();
                check_source(in.source);
                if (in.head.what != wire::kind::hello) continue;  // a stale message from an earlier dispatcher
                auto& slot = hellos[static_cast<std::size_t>(in.source - 1)];
                if (slot) throw mpi_error(0, "rank " + std::to_string(in.source) + " said hello twice.");
                slot = wire::decode_hello(rbuf.data(), wire::header_bytes + in.head.payload);
                state(in.source).said_hello = true;
                ++heard;
                continue;
            }
            if (clock::now() >= limit) break;
            pace.pause(limit);
        }

        // Decide in rank order, so that of two workers on one GPU the lower rank measures.
        for (int r = 1; r <= n; ++r) {
            transport::worker_info w;
            w.rank = r;
            const auto& h = hellos[static_cast<std::size_t>(r - 1)];
            if (!h) {
                w.in_pool = false;
                w.left_reason = "it did not say hello within " + seconds_text(limit_s) + " s.";
                pool.add(std::move(w), now());
                continue;
            }
            w.host = h->host;
            w.device = h->device;
            w.reference_ms = h->calibration.reference_ms;
            if (h->calibration.status != eval::outcome_status::ok) {
                w.in_pool = false;
                w.left_reason =
                    std::string("it could not start (") + eval::to_string(h->calibration.status) + "): " + h->calibration.message;
                pool.add(std::move(w), now());
                continue;
            }
            const transport::worker_info* twin = nullptr;
            if (!w.device.uuid.empty())
                for (const auto& q : pool.workers())
                    if (!twin && q.in_pool && q.host == w.host && q.device.uuid == w.device.uuid) twin = &q;
            if (twin) {
                w.in_pool = false;
                w.left_reason = "it was bound to the GPU " + w.device.uuid + " on " + w.host + ", which rank " +
                                std::to_string(twin->rank) + " already measures on.";
                pool.add(std::move(w), now());
                continue;
            }
            w.in_pool = true;
            state(r).left = gone::no;
            pool.add(std::move(w), now());
        }
        if (pool.pool_size() == 0) {
            std::string why = "no worker can take work";
            for (const auto& w : pool.workers()) {
                why += "; rank " + std::to_string(w.rank) + ": " + w.left_reason;
                if (!why.empty() && why.back() == '.') why.pop_back();
            }
            stop_workers(5.0);  // let the workers end cleanly before the master reports it
            throw error(why + ".");
        }
    }

    void check_source(int source) const {
        if (source < 1 || source > workers_n())
            throw mpi_error(0, "a fracnas message came from rank " + std::to_string(source) + ", which is no worker.");
    }

    // ---- sending

    void isend(int rank, std::vector<char> msg) {
        if (msg.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
            throw mpi_error(0, "a task of " + std::to_string(msg.size()) + " bytes is too large for one MPI send.");
        MPI_Request req = MPI_REQUEST_NULL;
        // the buffer's heap block does not move when the vector object is moved into the list
        FRACNAS_MPI_CHECK(
            MPI_Isend(msg.data(), static_cast<int>(msg.size()), MPI_BYTE, rank, static_cast<int>(wire::kind::task), MPI_COMM_WORLD, &req));
        send_requests.push_back(req);
        send_buffers.push_back(std::move(msg));
    }

    // Completes the sends that are done and frees their buffers.
    void progress_sends() {
        if (send_requests.empty()) return;
        done_indices.resize(send_requests.size());
        int done = 0;
        FRACNAS_MPI_CHECK(
            MPI_Testsome(static_cast<int>(send_requests.size()), send_requests.data(), &done, done_indices.data(), MPI_STATUSES_IGNORE));
        if (done == MPI_UNDEFINED || done == 0) return;
        // completed requests are now MPI_REQUEST_NULL: compact both lists
        std::size_t keep = 0;
        for (std::size_t i = 0; i < send_requests.size(); ++i) {
            if (send_requests[i] == MPI_REQUEST_NULL) continue;
            if (keep != i) {
                send_requests[keep] = send_requests[i];
                send_buffers[keep] = std::move(send_buffers[i]);
            }
            ++keep;
        }
        send_requests.resize(keep);
        send_buffers.resize(keep);
    }

    // At destruction: a send still pending is let go, and its buffer with it (on purpose: MPI may
    // still read it; small task messages are eager, so this is practically never reached).
    void release_sends() noexcept {
        int finalized = 1;
        if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
        for (std::size_t i = 0; i < send_requests.size(); ++i) {
            int flag = 0;
            if (MPI_Test(&send_requests[i], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag) continue;
            if (MPI_Request_free(&send_requests[i]) == MPI_SUCCESS)
                new std::vector<char>(std::move(send_buffers[i]));  // NOLINT: deliberately leaked
        }
        send_requests.clear();
        send_buffers.clear();
    }

    // ---- the pool's assignments, sent

    void send(const std::vector<transport::worker_pool::assignment>& given) {
        for (const auto& a : given) isend(pool.workers()[a.worker].rank, wire::encode_task(pool.find(a.id).j));
    }

    std::size_t free_slots() const { return stopped ? 0 : pool.free_slots(); }

    // A worker leaves the pool (worker_pool::leave: its tasks wait for another worker).
    void leave(int rank, gone why, const std::string& reason, eval::outcome_status orphaned) {
        auto& s = state(rank);
        if (s.left != gone::no) return;
        s.left = why;
        pool.leave(index(rank), why == gone::hung, reason, orphaned, now());
    }

    void check_deadlines() {
        if (!(policy.task_deadline_seconds < std::numeric_limits<double>::infinity())) return;  // the cap of every deadline
        for (std::size_t w : pool.past_deadline(now())) {
            const int rank = pool.workers()[w].rank;
            leave(rank, gone::hung,
                  "it did not return job " + std::to_string(pool.assigned(w).front()) + " within its " + seconds_text(pool.deadline(w)) +
                      " s deadline.",
                  eval::outcome_status::timeout);
        }
    }

    // ---- receiving

    void on_result(int rank, std::uint64_t id, std::size_t size, std::vector<transport::job_result>& out) {
        const wire::result_msg m = wire::decode_result(rbuf.data(), size);
        auto& s = state(rank);
        if (s.left != gone::no) {
            // a worker that left: its tasks were re-queued, so whatever it answers is ignored
            if (s.left == gone::hung)
                pool.event(worker_event::kind::late_result, index(rank), now(), m.out.reference_ms,
                           "the late result of job " + std::to_string(id) + " was ignored.");
            return;
        }
        const double t = now();
        const auto done = pool.finish(index(rank), id, t);
        // the worker's clock onto ours: the tightest bound seen so far (docs/protocol.md, "Clocks")
        if (std::isfinite(m.ended)) s.offset = std::min(s.offset, t - m.ended);
        transport::job_result r;
        r.id = id;
        r.out = m.out;
        r.worker = rank;
        r.dispatched = done.done.dispatched;
        r.started = m.started + s.offset;
        r.ended = m.ended + s.offset;
        if (m.recalibrated) pool.event(worker_event::kind::calibrated, index(rank), t, m.out.reference_ms, "");
        if (m.out.status == eval::outcome_status::device_lost)
            leave(rank, gone::device, "its device became unusable: " + m.out.message, eval::outcome_status::device_lost);
        out.push_back(std::move(r));
    }

    // Takes every message that has arrived.
    void drain(std::vector<transport::job_result>& out) {
        detail::incoming in;
        while (detail::try_receive(MPI_ANY_SOURCE, rbuf, in)) {
            check_source(in.source);
            const std::size_t size = wire::header_bytes + in.head.payload;
            switch (in.head.what) {
                case wire::kind::result:
                    on_result(in.source, in.head.job, size, out);
                    break;
                case wire::kind::hello:  // after the join: that worker stays out of the pool
                    state(in.source).said_hello = true;
                    break;
                case wire::kind::bye:
                    state(in.source).said_bye = true;
                    if (state(in.source).left == gone::no)
                        leave(in.source, gone::device, "it said bye before it was told to stop.", eval::outcome_status::timeout);
                    break;
                case wire::kind::task:
                case wire::kind::stop:
                    throw mpi_error(
                        0, "rank " + std::to_string(in.source) + " sent the master a task or stop message, which only the master sends.");
            }
        }
    }

    void poll(std::vector<transport::job_result>& out) {
        progress_sends();
        drain(out);
        check_deadlines();
        send(pool.flush(now()));
        if (pool.pool_size() == 0 && pool.in_flight() > 0)
            for (auto& r : pool.orphans(now())) out.push_back(std::move(r));
    }

    std::vector<transport::job_result> wait(double max_seconds) {
        std::vector<transport::job_result> out;
        if (stopped) return out;
        const double span = max_seconds > 0.0 ? std::min(max_seconds, 1e9) : 0.0;  // NaN, < 0: poll
        const auto limit = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(span));
        auto pace = master_backoff();
        for (;;) {
            poll(out);
            if (!out.empty() || pool.in_flight() == 0 || span == 0.0) return out;
            if (clock::now() >= limit) return out;
            pace.pause(limit);
        }
    }

    // A free slot, a new id and a point in the cube: dispatcher::submit checked them.
    // A send that fails throws mpi_error, which ends the search: the pool is not rolled back.
    void submit(transport::job j) {
        progress_sends();
        send(pool.submit(std::move(j), now()));
    }

    bool stop_workers(double grace_seconds) noexcept {
        if (stopped) return stop_verdict;
        stopped = true;
        stop_verdict = false;
        int finalized = 1;
        if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return false;  // outlived its environment
        try {
            pool.clear();
            const int n = workers_n();
            std::vector<MPI_Request> reqs;
            for (int r = 1; r <= n; ++r) {
                if (state(r).said_bye) continue;
                MPI_Request req = MPI_REQUEST_NULL;
                // one buffer for every stop, never freed: MPI-3 lets concurrent sends share it
                static const std::vector<char> stop_message = wire::encode_control(wire::kind::stop);
                FRACNAS_MPI_CHECK(MPI_Isend(stop_message.data(), static_cast<int>(stop_message.size()), MPI_BYTE, r,
                                            static_cast<int>(wire::kind::stop), MPI_COMM_WORLD, &req));
                send_requests.push_back(req);
                send_buffers.emplace_back();  // the stop buffer is static: nothing to keep here
            }
            // The grace is for workers that may still be busy; a worker the search already dropped
            // as hung (past its task deadline) gets at most transport::hung_stop_seconds: without it, one
            // stopped worker made every end cost the whole grace before MPI_Abort.
            const double span = grace_seconds > 0.0 ? std::min(grace_seconds, 1e9) : 0.0;
            const auto start = clock::now();
            const auto after = [&](double seconds) {
                return start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
            };
            const auto limit = after(span), hung_limit = after(std::min(span, transport::hung_stop_seconds));
            auto pace = master_backoff();
            detail::incoming in;
            const auto all_bye = [&](bool hung_too) {
                for (int r = 1; r <= n; ++r)
                    if (!state(r).said_bye && (hung_too || state(r).left != gone::hung)) return false;
                return true;
            };
            while (!all_bye(true)) {
                progress_sends();
                if (detail::try_receive(MPI_ANY_SOURCE, rbuf, in)) {
                    pace.reset();
                    // late results and hellos are dropped: only bye matters now
                    if (in.source >= 1 && in.source <= n && in.head.what == wire::kind::bye) state(in.source).said_bye = true;
                    continue;
                }
                const auto t = clock::now();
                if (t >= limit || (t >= hung_limit && all_bye(false))) break;
                pace.pause(all_bye(false) ? hung_limit : limit);
            }
            progress_sends();
            stop_verdict = all_bye(true);
        } catch (...) {
            stop_verdict = false;
        }
        return stop_verdict;
    }
};

mpi_dispatcher::mpi_dispatcher(const environment& env, transport::dispatch_policy policy, double join_seconds)
    : impl_(std::make_unique<impl>(env, policy)) {
    impl_->join(join_seconds);
}

mpi_dispatcher::~mpi_dispatcher() = default;

const std::vector<transport::worker_info>& mpi_dispatcher::workers() const {
    return impl_->pool.workers();
}
std::size_t mpi_dispatcher::free_slots() const {
    return impl_->free_slots();
}
void mpi_dispatcher::do_submit(transport::job j) {
    impl_->submit(std::move(j));
}
std::vector<transport::job_result> mpi_dispatcher::do_wait(double max_seconds) {
    return impl_->wait(max_seconds);
}
std::vector<transport::worker_event> mpi_dispatcher::take_events() {
    return impl_->pool.take_events();
}
double mpi_dispatcher::now() const {
    return impl_->now();
}
bool mpi_dispatcher::stop_workers(double grace_seconds) noexcept {
    const bool stopped = impl_->stop_workers(grace_seconds);
    forget_in_flight();  // the workers were told to stop: what was in flight is dropped
    return stopped;
}

}  // namespace fracnas::mpi
