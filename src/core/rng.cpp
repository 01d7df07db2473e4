// Portable normal deviates for core::rng.
#include "fracnas/core/rng.hpp"

#include <cmath>

namespace fracnas::core {

double rng::normal() {
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

}  // namespace fracnas::core
