// Multi-objective bookkeeping: Pareto dominance, non-dominated sorting and the exact hypervolume
// of a set of objective vectors. Every objective is minimised (negate one that is maximised).
// Knows nothing of architectures or archives: `fracnas analyze` builds the vectors.
#pragma once

#include <cstddef>
#include <vector>

namespace fracnas::core {

/// a dominates b: a is no worse in every objective and better in at least one (same length).
bool dominates(const std::vector<double>& a, const std::vector<double>& b);

/// Non-dominated sorting (Deb et al. 2002): each point's front, 0 for the points no other one
/// dominates, 1 for those only front 0 dominates, and so on. Equal vectors share a front.
/// Throws std::invalid_argument when the points differ in length.
std::vector<std::size_t> pareto_ranks(const std::vector<std::vector<double>>& points);

/// Indices of the points of front 0, in input order.
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points);

/// The exact hypervolume dominated by `points` and bounded by `reference`: the measure of the
/// set of y with p <= y <= reference for some p. Only points strictly below the reference in
/// every objective add to it. 1, 2 or 3 objectives (a sweep: O(n log n) for 2, O(n^2 log n) for
/// 3); throws std::invalid_argument for other dimensions or mismatched lengths.
double hypervolume(const std::vector<std::vector<double>>& points, const std::vector<double>& reference);

}  // namespace fracnas::core
