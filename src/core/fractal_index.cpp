// The open-cell index every tree search reads, and cell scores (own, or imputed from the parent).

#include <algorithm>
#include <cmath>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

void fractal_optimizer::state::open_insert(std::uint32_t i) {
    cell& c = cells[i];
    c.st = cell_state::open;
    if (terminal(c) && cfg.exploitation == exploitation_kind::none) {
        c.st = cell_state::closed;  // final leaf: nothing to do with it
        return;
    }
    if (leaf(c)) {
        c.st = cell_state::closed;  // one decoded point: sampled once, never split
        ++stats.leaves;
        return;
    }
    if (open_by_level.size() <= c.level) open_by_level.resize(c.level + 1);
    c.keyed_blind = c.told == 0;
    open_by_level[c.level].insert(open_key{c.keyed_blind, c.score, i});
    if (open_pos.size() < cells.size()) open_pos.resize(cells.size(), no_cell);
    open_pos[i] = static_cast<std::uint32_t>(open_list.size());
    open_list.push_back(i);
}

void fractal_optimizer::state::open_erase(std::uint32_t i, cell_state next) {
    cell& c = cells[i];
    if (c.st == cell_state::open) {
        open_by_level[c.level].erase(open_key{c.keyed_blind, c.score, i});
        const std::uint32_t pos = open_pos[i], last = open_list.back();
        open_list[pos] = last;
        open_pos[last] = pos;
        open_list.pop_back();
        open_pos[i] = no_cell;
    }
    c.st = next;
}

void fractal_optimizer::state::set_score(std::uint32_t i, double score) {
    if (std::isnan(score)) score = inf;  // the index must stay totally ordered
    cell& c = cells[i];
    const bool blind = c.told == 0;
    if (c.st == cell_state::open && (!(score == c.score) || blind != c.keyed_blind)) {
        open_by_level[c.level].erase(open_key{c.keyed_blind, c.score, i});
        open_by_level[c.level].insert(open_key{blind, score, i});
        c.keyed_blind = blind;
    }
    c.score = score;
}

double fractal_optimizer::state::own_score(std::uint32_t i) const {
    const cell& c = cells[i];
    std::vector<double> values;
    std::vector<const point*> xs;
    for (const std::uint32_t id : c.samples)
        if (samples[id].told) {
            values.push_back(samples[id].value);
            xs.push_back(&samples[id].x);
        }
    if (values.empty()) return inf;  // an expanded box gave its samples to its children
    score_context ctx;
    ctx.best_value = best_value;
    ctx.best_x = best_x.empty() ? nullptr : &best_x;
    ctx.parent_score = c.parent == no_cell ? 0.0 : cells[c.parent].score;
    ctx.belief_gamma = cfg.belief_gamma;
    return score_cell(cfg.scoring, values, xs, ctx);
}

// A cell's score from its told samples, or imputed from its parent while it has none; then
// the children still without samples of their own follow (a parent told after a
// speculative split changes what they impute).
void fractal_optimizer::state::refresh(std::uint32_t i) {
    const cell& c = cells[i];
    const double imputed = c.parent == no_cell ? inf : cells[c.parent].score;
    set_score(i, c.told > 0 ? own_score(i) : imputed);
    for (std::uint32_t k = 0; k < cells[i].children; ++k) {
        const std::uint32_t child = cells[i].first_child + k;
        if (cells[child].told == 0) refresh(child);
    }
}

}  // namespace fracnas::core
