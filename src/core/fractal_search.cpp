// The tree searches: which open cell to expand next (breadth-, depth-, best-first, cyclic,
// beam, epsilon-greedy, move-up, SOO, DIRECT and DIRECT-L), and DIRECT's potentially optimal cells.

#include <algorithm>
#include <cmath>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

std::uint32_t fractal_optimizer::state::select() {
    const std::size_t levels = open_by_level.size();
    auto nonempty = [&](std::size_t h) { return h < levels && !open_by_level[h].empty(); };
    auto best_first = [&]() {
        const open_key* bestk = nullptr;
        for (std::size_t h = 0; h < levels; ++h)
            if (nonempty(h) && (bestk == nullptr || *open_by_level[h].begin() < *bestk)) bestk = &*open_by_level[h].begin();
        return bestk == nullptr ? no_cell : bestk->cell;
    };
    if (open_list.empty()) return no_cell;
    switch (cfg.search) {
        case search_kind::breadth_first:
            for (std::size_t h = 0; h < levels; ++h)
                if (nonempty(h)) return front(h);
            return no_cell;
        case search_kind::depth_first:
        case search_kind::move_up: {
            // The deepest level with an informed cell; a blind one only when none is.
            std::uint32_t blind = no_cell;
            for (std::size_t h = levels; h-- > 0;) {
                if (!nonempty(h)) continue;
                if (!open_by_level[h].begin()->blind) return front(h);
                if (blind == no_cell) blind = front(h);
            }
            return blind;
        }
        case search_kind::best_first:
            return best_first();
        case search_kind::epsilon_greedy:
            if (random.uniform() < cfg.epsilon) return open_list[random.below(open_list.size())];
            return best_first();
        case search_kind::cyclic_best_first:
            for (std::size_t t = 0; t < levels; ++t) {
                const std::size_t h = (cyclic_level + t) % levels;
                if (nonempty(h)) {
                    cyclic_level = h + 1;
                    return front(h);
                }
            }
            return no_cell;
        case search_kind::beam:
            // a pass expands the beam_width best cells of each level, top down; when it has
            // used every level's beam, the next pass starts again from the top
            for (int pass = 0; pass < 2; ++pass) {
                if (beam_used.size() < levels) beam_used.resize(levels, 0);
                for (std::size_t h = 0; h < levels; ++h)
                    if (nonempty(h) && beam_used[h] < cfg.beam_width) {
                        ++beam_used[h];
                        return front(h);
                    }
                if (std::all_of(beam_used.begin(), beam_used.end(), [](std::uint32_t u) { return u == 0; })) break;
                std::fill(beam_used.begin(), beam_used.end(), 0u);
            }
            return no_cell;
        case search_kind::soo:
            return select_soo();
        case search_kind::direct:
        case search_kind::direct_local:
            return select_direct();
    }
    return no_cell;
}

// SOO (Munos 2011): a sweep visits depths 0, 1, ...; at depth h it expands the best open
// cell only when it is at least as good as every cell expanded at a shallower depth in this
// sweep (v_min). Sweeps follow each other without waiting: pending cells carry the score
// they impute from their parent. With depth_quota a depth whose quota of expansions waits for
// results is passed over (docs/core.md, "The asynchronous form of each part").
std::uint32_t fractal_optimizer::state::select_soo() {
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool fresh = soo_level == 0;
        for (std::size_t h = soo_level; h < open_by_level.size(); ++h) {
            if (open_by_level[h].empty()) continue;
            if (cfg.depth_quota > 0 && !over_quota && h < waiting_by_level.size() && waiting_by_level[h] >= cfg.depth_quota) continue;
            const open_key* pick = nullptr;
            for (const open_key& key : open_by_level[h]) {
                const cell& c = cells[key.cell];
                if (c.parent != no_cell && c.parent == soo_last) {
                    bool waiting = false;
                    for (std::uint32_t k = 0; k < cells[c.parent].children && !waiting; ++k)
                        waiting = cells[cells[c.parent].first_child + k].pending > 0;
                    if (waiting) continue;
                }
                pick = &key;
                break;
            }
            if (pick == nullptr) continue;
            const open_key& key = *pick;
            if (key.score <= soo_vmin) {
                soo_vmin = key.score;
                soo_level = h + 1;
                soo_last = key.cell;
                return key.cell;
            }
        }
        soo_level = 0;
        soo_vmin = inf;
        soo_last = no_cell;
        if (fresh) break;
    }
    return no_cell;
}

// DIRECT: the potentially optimal cells of the open set, computed once and expanded in
// turn; the next batch is computed when this one is used up (no waiting for its results).
std::uint32_t fractal_optimizer::state::select_direct() {
    while (!direct_batch.empty()) {
        const std::uint32_t i = direct_batch.back();
        direct_batch.pop_back();
        if (cells[i].st == cell_state::open) return i;
    }
    const bool local = cfg.search == search_kind::direct_local;
    struct group {
        double size, value;
        std::vector<std::uint32_t> cells;
    };
    std::vector<group> groups;
    for (std::size_t h = 0; h < open_by_level.size(); ++h) {
        if (open_by_level[h].empty()) continue;
        const double value = open_by_level[h].begin()->score;
        const cell& c = cells[open_by_level[h].begin()->cell];
        const double size = local ? half_longest_side(c.b) : half_diagonal(c.b);
        group* g = nullptr;
        for (auto& other : groups)
            if (std::fabs(other.size - size) <= 1e-12 * size) g = &other;
        if (g == nullptr) {
            groups.push_back(group{size, inf, {}});
            g = &groups.back();
        }
        if (value < g->value) {
            g->value = value;
            g->cells.clear();
        }
        if (value > g->value || (local && !g->cells.empty())) continue;  // DIRECT-L: one per size
        for (const open_key& key : open_by_level[h]) {
            if (key.score > value) break;
            g->cells.push_back(key.cell);
            if (local) break;  // DIRECT-L: one cell per size
        }
    }
    std::vector<std::pair<double, double>> points;
    for (const auto& g : groups) points.emplace_back(g.size, g.value);
    const auto chosen = potentially_optimal(points, cfg.direct_epsilon);
    for (const std::size_t gi : chosen)
        for (const std::uint32_t i : groups[gi].cells) direct_batch.push_back(i);
    std::reverse(direct_batch.begin(), direct_batch.end());
    if (direct_batch.empty()) return no_cell;
    const std::uint32_t i = direct_batch.back();
    direct_batch.pop_back();
    return i;
}

std::vector<std::size_t> potentially_optimal(const std::vector<std::pair<double, double>>& size_value, double epsilon) {
    // Cell j is potentially optimal when some K > 0 has f_j - K d_j <= f_i - K d_i for all i and
    // f_j - K d_j <= f_min - epsilon |f_min| (Jones, Perttunen and Stuckman 1993).
    const std::size_t n = size_value.size();
    double fmin = inf;
    for (const auto& p : size_value) fmin = std::fmin(fmin, p.second);
    std::vector<std::size_t> chosen;
    for (std::size_t j = 0; j < n; ++j) {
        const auto [dj, fj] = size_value[j];
        if (!std::isfinite(fj) && std::isfinite(fmin)) continue;
        double k_low = 0.0, k_high = inf;
        bool ok = true;
        for (std::size_t i = 0; i < n && ok; ++i) {
            if (i == j) continue;
            const auto [di, fi] = size_value[i];
            if (di < dj)
                k_low = std::fmax(k_low, (fj - fi) / (dj - di));
            else if (di > dj)
                k_high = std::fmin(k_high, (fi - fj) / (di - dj));
            else if (fi < fj)
                ok = false;
        }
        if (!ok || k_low > k_high || k_high <= 0.0) continue;
        if (std::isfinite(k_high) && std::isfinite(fmin) && fj - k_high * dj > fmin - epsilon * std::fabs(fmin)) continue;
        chosen.push_back(j);
    }
    return chosen;
}

}  // namespace fracnas::core
