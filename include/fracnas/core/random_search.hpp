// Uniform random search over [0,1]^d: the baseline every fractal preset must beat.
#pragma once

#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rng.hpp"

namespace fracnas::core {

class random_search final : public optimizer {
public:
    random_search(std::size_t dim, std::uint64_t seed, stopping stop);
    std::string name() const override { return "random"; }

protected:
    void propose(std::size_t n, std::vector<point>& out) override;
    void observe(std::uint64_t, const point&, double, eval_status) override {}

private:
    rng random_;
};

}  // namespace fracnas::core
