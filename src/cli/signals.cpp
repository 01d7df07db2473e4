// The counting stop-signal handler: async-signal-safe (it only increments a sig_atomic_t).
#include "signals.hpp"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <initializer_list>
#include <sstream>

namespace fracnas::cli {

namespace {
volatile std::sig_atomic_t received = 0;
extern "C" void count_signal(int) {
    received = received + 1;
}
}  // namespace

void install_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s : {SIGTERM, SIGUSR1, SIGINT}) sigaction(s, &sa, nullptr);
    // a write past the file-size limit (ulimit -f, RLIMIT_FSIZE) then fails with EFBIG, which the
    // archive reports like a full disk, instead of SIGXFSZ killing the process without a word
    std::signal(SIGXFSZ, SIG_IGN);
}

int stop_signals() {
    return static_cast<int>(received);
}

std::string mpirun_kill_warning(double grace_seconds) {
    if (std::getenv("OMPI_MCA_orte_hnp_uri") == nullptr) return "";  // not ORTE: srun, Open MPI 5's prterun, no launcher
    long timeout = 1;                                                // Open MPI 4.1's default
    if (const char* v = std::getenv("OMPI_MCA_odls_base_sigkill_timeout")) {
        char* end = nullptr;
        timeout = std::strtol(v, &end, 10);
        if (end == v || *end != '\0') return "";  // not a number: mpirun would have refused it
    }
    if (static_cast<double>(timeout) >= grace_seconds + 5.0) return "";
    std::ostringstream o;
    o << "under mpirun a SIGTERM or Ctrl-C reaches the ranks after " << timeout << " s and SIGKILL after " << 2 * timeout
      << " s (odls_base_sigkill_timeout), too soon to drain --grace " << grace_seconds
      << " s: export OMPI_MCA_odls_base_sigkill_timeout=" << static_cast<long>(std::floor(grace_seconds)) + 6 << " before mpirun";
    // with plm = isolated (containers without ssh) mpirun forwards SIGUSR1 to no rank
    const char* plm = std::getenv("OMPI_MCA_plm");
    if (plm == nullptr || std::string(plm) != "isolated") o << ", or signal mpirun with SIGUSR1";
    return o.str();
}

}  // namespace fracnas::cli
