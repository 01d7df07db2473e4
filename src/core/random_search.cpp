// Uniform random search: independent points, so it never waits and never starves.
#include "fracnas/core/random_search.hpp"

namespace fracnas::core {

random_search::random_search(std::size_t dim, std::uint64_t seed, stopping stop) : optimizer(dim, stop), random_(seed) {}

void random_search::propose(std::size_t n, std::vector<point>& out) {
    for (std::size_t k = 0; k < n; ++k) {
        point x(dim());
        for (double& v : x) v = random_.uniform();
        out.push_back(std::move(x));
    }
}

}  // namespace fracnas::core
