// The counting stop-signal handler: async-signal-safe (it only increments a sig_atomic_t).
#include "signals.hpp"

#include <csignal>
#include <initializer_list>

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
}

int stop_signals() {
    return static_cast<int>(received);
}

}  // namespace fracnas::cli
