// A worker rank's whole life: build the evaluator, time the reference, say hello, then answer
// each task from rank 0 in order until stop, and say bye. It never talks to another worker,
// never decides anything about the pool (the master does), and never exits the process.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "fracnas/error.hpp"
#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "mpi_check.hpp"

namespace fracnas::mpi {

namespace wire = transport::wire;

void serve(const environment& env, const std::function<std::unique_ptr<eval::job_evaluator>()>& make_evaluator,
           std::uint64_t calibrate_every) {
    // The worker's clock: seconds since serve() began. The master maps it onto its own clock
    // (docs/protocol.md, "Clocks").
    const auto t0 = std::chrono::steady_clock::now();
    const auto worker_clock = [t0] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

    wire::hello_msg hello;
    hello.host = detail::processor_name();
    std::unique_ptr<eval::job_evaluator> evaluator;
    std::optional<transport::worker_session> session;
    try {
        if (!make_evaluator) throw error("no evaluator factory was given.");
        evaluator = make_evaluator();
        if (!evaluator) throw error("the evaluator factory returned nothing.");
        hello.device = evaluator->binding();
        session.emplace(*evaluator, calibrate_every);
        hello.calibration = session->start();
    } catch (const std::exception& e) {
        hello.calibration = eval::outcome{};
        hello.calibration.status = eval::outcome_status::error;
        hello.calibration.message = std::string("its evaluator could not be built: ") + e.what();
        session.reset();
    }
    // Once false, tasks are answered device_lost without running (the master should send none).
    bool usable = session.has_value() && hello.calibration.status == eval::outcome_status::ok;
    std::string unusable = usable ? std::string() : hello.calibration.message;
    detail::send_blocking(0, wire::encode_hello(hello), wire::kind::hello);

    std::vector<char> buf;
    detail::incoming in;
    // An idle worker polls (about 200 us) for the next task, then sleeps in growing naps of at
    // most 1 ms, so that waiting workers leave the CPU to the ones that measure.
    detail::backoff idle(200e-6, 20e-6, 100e-6);  // a task waits at most ~0.1 ms to be seen
    const auto forever = std::chrono::steady_clock::time_point::max();
    for (;;) {
        if (!detail::try_receive(0, buf, in)) {
            idle.pause(forever);
            continue;
        }
        idle.reset();
        switch (in.head.what) {
            case wire::kind::task: {
                const transport::job j = wire::decode_task(buf.data(), wire::header_bytes + in.head.payload);
                wire::result_msg r;
                r.started = worker_clock();
                if (usable) {
                    r.out = session->run(j, r.recalibrated);
                    if (r.out.status == eval::outcome_status::device_lost) {
                        usable = false;
                        unusable = r.out.message;
                    }
                } else {
                    r.out.status = eval::outcome_status::device_lost;
                    r.out.message = "rank " + std::to_string(env.rank()) + " takes no more work: " + unusable;
                }
                r.ended = worker_clock();
                detail::send_blocking(0, wire::encode_result(j.id, r), wire::kind::result);
                break;
            }
            case wire::kind::stop:
                detail::send_blocking(0, wire::encode_control(wire::kind::bye), wire::kind::bye);
                return;
            case wire::kind::hello:
            case wire::kind::result:
            case wire::kind::bye:
                throw mpi_error(0, "worker rank " + std::to_string(env.rank()) + " received a message of kind " +
                                       std::to_string(static_cast<int>(in.head.what)) +
                                       " from the master, which sends only task and stop.");
        }
    }
}

}  // namespace fracnas::mpi
