// A small, portable random source for the optimizer: the same seed gives the same stream on
// every compiler and standard library (std::uniform_*_distribution do not promise that).
#pragma once

#include <cstdint>
#include <random>

namespace fracnas::core {

class rng {
public:
    explicit rng(std::uint64_t seed) : engine_(seed) {}

    /// Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

    /// Uniform integer in [0, n); n > 0. Lemire-free simple rejection keeps it unbiased.
    std::uint64_t below(std::uint64_t n) {
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        std::uint64_t x = engine_();
        while (x >= limit) x = engine_();
        return x % n;
    }

    /// Standard normal (Box-Muller on uniform(); portable unlike std::normal_distribution).
    double normal();

    std::uint64_t next() { return engine_(); }

private:
    std::mt19937_64 engine_;
};

}  // namespace fracnas::core
