// LiteTransformerSearch's evolutionary search (Javaheripi et al. 2022; Archai's
// archai/nlp/nas/evolution.py), a baseline for the fractal presets under the same driver and
// budget (issue 11): generations of `population` points; the first drawn at random, each next one
// made of `parents` points chosen among the best so far (kept, not measured again), `mutations`
// children that redraw each coordinate of a parent with probability mutation_prob, and
// `crossovers` children that take each coordinate from one of two parents (probability
// crossover_prob for the first). A child is drawn again (up to max_tries times) when it cannot be
// feasible or decodes like a point already proposed, as LTS rejects genes that break the
// parameter bounds or were seen; both checks need the space's cube_structure, and without one
// only exact repeats are rejected.
//
// LTS chooses its parents on the Pareto front of (decoder parameters, latency, memory), weighted
// by how rarely each was chosen before; an optimizer here sees one value per point (the driver
// turns the constraint into that value), so the parents are the `parents` best distinct points
// told so far, with the same rarity weights. Generational: once a generation is proposed, ask
// returns nothing until all of it is told.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/core/cube_structure.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rng.hpp"

namespace fracnas::core {

/// LTS's defaults (Archai's Evolution): 100 = 20 parents + 40 mutations + 40 crossovers.
struct evolution_config {
    std::size_t population = 100;  ///< points in a generation (the first one: all random)
    std::size_t parents = 20;      ///< the best points carried into each next generation
    std::size_t mutations = 40;    ///< mutated children per generation
    std::size_t crossovers = 40;   ///< crossed children per generation
    double mutation_prob = 0.3;    ///< chance that a mutation redraws a coordinate
    double crossover_prob = 0.5;   ///< chance that a crossover takes a coordinate from its first parent
    std::size_t max_tries = 100;   ///< draws of one child before a rejected one is kept (LTS: no limit)
};

/// Throws config_error naming the field when population != parents + mutations + crossovers, a
/// size is 0 where it must not be, or a probability is outside [0, 1].
void validate(const evolution_config& cfg);

class evolution final : public optimizer {
public:
    evolution(std::size_t dim, const evolution_config& cfg, std::uint64_t seed, stopping stop,
              std::shared_ptr<const cube_structure> structure = nullptr);
    ~evolution() override;
    std::string name() const override { return "evolution"; }
    /// Generations proposed so far (the random one included).
    std::uint64_t generations() const noexcept;
    /// Children kept although the last of their max_tries draws was rejected.
    std::uint64_t forced() const noexcept;

protected:
    void propose(std::size_t n, std::vector<point>& out) override;
    void observe(std::uint64_t id, const point& x, double value, eval_status status) override;

private:
    struct state;
    std::unique_ptr<state> s_;
};

}  // namespace fracnas::core
