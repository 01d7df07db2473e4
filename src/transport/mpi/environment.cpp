// MPI's lifetime and the few collectives the execution context needs: init (MPI_THREAD_FUNNELED,
// errors returned, not fatal), finalize (never while an exception unwinds), rank 0's verdict, the
// host table and abort; plus the checking macro's thrower and the test for "started by a
// launcher". It sends no fracnas messages.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "mpi_check.hpp"

namespace fracnas::mpi {

namespace detail {

void throw_mpi(int code, const char* call, const char* file, int line) {
    // "MPI_Isend(buf, ...)" -> "MPI_Isend"; the path from its src/ folder on
    std::string name(call);
    const auto paren = name.find('(');
    if (paren != std::string::npos) name.resize(paren);
    std::string where(file);
    const auto src = where.rfind("src/");
    if (src != std::string::npos) where.erase(0, src);
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    std::string reason;
    if (MPI_Error_string(code, text, &length) == MPI_SUCCESS && length > 0)
        reason.assign(text, static_cast<std::size_t>(length));
    else
        reason = "unknown MPI error";
    throw mpi_error(code,
                    name + " failed at " + where + ":" + std::to_string(line) + ": " + reason + " (code " + std::to_string(code) + ").");
}

std::string processor_name() {
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int length = 0;
    FRACNAS_MPI_CHECK(MPI_Get_processor_name(name, &length));
    return std::string(name, static_cast<std::size_t>(length > 0 ? length : 0));
}

}  // namespace detail

bool launched_by_mpi() {
    const auto set = [](const char* name) {
        const char* v = std::getenv(name);
        return v != nullptr && *v != '\0';
    };
    // Open MPI (mpirun/orterun, prterun), PMI-1/2 and PMIx launchers (MPICH's hydra, srun --mpi),
    // MVAPICH, and a Slurm job step with several tasks.
    return set("OMPI_COMM_WORLD_SIZE") || set("PMI_SIZE") || set("PMI_RANK") || set("PMIX_RANK") || set("MPI_LOCALNRANKS") ||
           set("MV2_COMM_WORLD_SIZE") || (set("SLURM_STEP_ID") && set("SLURM_NTASKS"));
}

environment::environment(int& argc, char**& argv) : uncaught_(std::uncaught_exceptions()) {
    int provided = MPI_THREAD_SINGLE;
    FRACNAS_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    try {
        FRACNAS_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
        if (provided < MPI_THREAD_FUNNELED)
            throw mpi_error(0,
                            "this MPI library does not provide MPI_THREAD_FUNNELED (the main thread makes "
                            "every MPI call, other threads exist).");
        FRACNAS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
        FRACNAS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
        MPI_Comm node = MPI_COMM_NULL;  // the ranks that share this node's memory, keyed by world rank
        FRACNAS_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
        const int ranked = MPI_Comm_rank(node, &node_rank_);
        MPI_Comm_free(&node);
        FRACNAS_MPI_CHECK(ranked);
    } catch (...) {
        MPI_Finalize();  // the destructor will not run
        throw;
    }
}

environment::~environment() {
    if (finalizes_on_destruction()) finalize();
    // else unwinding: no MPI_Finalize (the class comment says why); the launcher ends the job
}

void environment::finalize() noexcept {
    int finalized = 1;
    if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
}

bool environment::finalizes_on_destruction() const noexcept {
    int finalized = 1;
    if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return false;
    return std::uncaught_exceptions() <= uncaught_;
}

int environment::broadcast_verdict(int verdict) const {
    int v = verdict;
    FRACNAS_MPI_CHECK(MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return v;
}

std::vector<std::string> environment::hosts() const {
    // fixed-size slots: every rank contributes MPI_MAX_PROCESSOR_NAME bytes, NUL-padded
    constexpr int slot = MPI_MAX_PROCESSOR_NAME;
    std::vector<char> mine(slot, '\0');
    const std::string me = detail::processor_name();
    std::memcpy(mine.data(), me.data(), std::min(me.size(), static_cast<std::size_t>(slot - 1)));
    std::vector<char> all(static_cast<std::size_t>(slot) * static_cast<std::size_t>(size_), '\0');
    FRACNAS_MPI_CHECK(MPI_Allgather(mine.data(), slot, MPI_CHAR, all.data(), slot, MPI_CHAR, MPI_COMM_WORLD));
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
        const char* p = all.data() + static_cast<std::size_t>(r) * slot;
        out.emplace_back(p, std::find(p, p + slot, '\0'));
    }
    return out;
}

struct startup_watchdog::impl {
    std::mutex mutex;
    std::condition_variable wake;
    bool disarmed = false;
    std::thread thread;
};

startup_watchdog::startup_watchdog(double seconds, std::string what) : impl_(std::make_unique<impl>()) {
    if (!(seconds < 1e9)) return;  // infinite (or NaN): nothing to arm
    std::ostringstream text;
    text << "fracnas: " << what << " did not finish within " << seconds
         << " s (--join-timeout): a rank did not start or stalled in MPI_Init; ending this rank, and with it the job.\n";
    impl_->thread = std::thread([state = impl_.get(), seconds, message = text.str()] {
        std::unique_lock<std::mutex> lock(state->mutex);
        if (state->wake.wait_for(lock, std::chrono::duration<double>(seconds), [state] { return state->disarmed; })) return;
        // no MPI call here: the main thread may be inside one; write(2) and _exit are safe
        const ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
        (void)ignored;
        ::_exit(1);
    });
}

void startup_watchdog::disarm() noexcept {
    if (!impl_->thread.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->disarmed = true;
    }
    impl_->wake.notify_all();
    impl_->thread.join();
}

startup_watchdog::~startup_watchdog() {
    disarm();
}

void environment::abort(int code) const noexcept {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest if it ever does
}

}  // namespace fracnas::mpi
