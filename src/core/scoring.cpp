// Cell scores: best, mean, median, distance to the best (FDA), belief (Zellij).
#include "fracnas/core/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fracnas::core {

double score_cell(scoring_kind kind, const std::vector<double>& values, const std::vector<const point*>& xs, const score_context& context) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    switch (kind) {
        case scoring_kind::best:
            return *std::min_element(values.begin(), values.end());
        case scoring_kind::mean: {
            double s = 0.0;
            for (double v : values) s += v;
            return s / static_cast<double>(values.size());
        }
        case scoring_kind::median: {
            std::vector<double> v = values;
            const std::size_t mid = v.size() / 2;
            std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
            if (v.size() % 2 == 1) return v[mid];
            const double upper = v[mid];
            return 0.5 * (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper);
        }
        case scoring_kind::distance_to_best: {
            // The lowest (f - f*) / |x - x*| of the cell's points: small when it holds a point
            // nearly as good as the best one, the more so the farther from it (another basin); a
            // cell holding the best scores 0, the lowest possible. Zellij's
            // DistanceToTheBestCentered scores -max of the same ratio; tried here, it lost on the
            // 10- and 30-d Rastrigin sequentially (docs/results/optimizer.md, 2026-11-29).
            double s = inf;
            for (std::size_t i = 0; i < values.size(); ++i) {
                if (!std::isfinite(values[i])) continue;
                double dist = 0.0;
                if (context.best_x)
                    for (std::size_t k = 0; k < xs[i]->size(); ++k) {
                        const double diff = (*xs[i])[k] - (*context.best_x)[k];
                        dist += diff * diff;
                    }
                s = std::fmin(s, (values[i] - context.best_value) / (std::sqrt(dist) + 1e-20));
            }
            return s;
        }
        case scoring_kind::belief: {
            // r exp(1 - r) peaks at 1 when a value equals the best; negated so lower is better.
            double s = 0.0;
            const double denom = std::fabs(context.best_value) > 1e-300 ? context.best_value : 1e-300;
            for (double v : values) {
                if (!std::isfinite(v)) continue;
                const double r = v / denom;
                s += r * std::exp(1.0 - r);
            }
            const double mean = s / static_cast<double>(values.size());
            return context.belief_gamma * context.parent_score - (1.0 - context.belief_gamma) * mean;
        }
    }
    return inf;
}

bool depends_on_best(scoring_kind kind) {
    return kind == scoring_kind::distance_to_best || kind == scoring_kind::belief;
}

}  // namespace fracnas::core
