// How a cell is scored from the evaluations it holds (lower is better, like the objective).
// Failed evaluations arrive as +inf and count as the worst value. Knows nothing of the tree.
#pragma once

#include <vector>

#include "fracnas/core/optimizer.hpp"

namespace fracnas::core {

enum class scoring_kind {
    best,              ///< the lowest value (SOO, DIRECT)
    mean,              ///< the mean value
    median,            ///< the median value
    distance_to_best,  ///< min over samples of (f - f_best) / |x - x_best| (FDA)
    belief,            ///< gamma * parent + (1 - gamma) * mean(-r exp(1 - r)), r = f / f_best
};

/// What scores that look beyond the cell need.
struct score_context {
    double best_value = 0.0;        ///< the best value found so far
    const point* best_x = nullptr;  ///< where it was found (required by distance_to_best)
    double parent_score = 0.0;      ///< the parent cell's score (belief; 0 at the root)
    double belief_gamma = 0.5;      ///< weight of the parent's score in belief
};

/// The score of a cell holding `values` at `xs` (same length, at least one value).
double score_cell(scoring_kind kind, const std::vector<double>& values, const std::vector<const point*>& xs, const score_context& context);

/// Whether the score depends on the global best (and so must be refreshed when it moves).
bool depends_on_best(scoring_kind kind);

}  // namespace fracnas::core
