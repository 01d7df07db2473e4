// Exploitation: intensive local search (ILS) sessions at the deepest cells.

#include <algorithm>
#include <cmath>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

void fractal_optimizer::state::start_ils(std::uint32_t i) {
    const cell& c = cells[i];
    ils_session s;
    s.cell = i;
    s.step = cfg.ils_step * size_of(c);
    s.x = centre_of(c);
    for (const std::uint32_t id : c.samples)
        if (samples[id].told && samples[id].value < s.fx) {
            s.fx = samples[id].value;
            s.x = samples[id].x;
        }
    s.round_x = s.x;
    sessions.push_back(std::move(s));
    ++stats.ils_sessions;
    ils_poll(static_cast<std::uint32_t>(sessions.size() - 1));
}

void fractal_optimizer::state::ils_push(std::uint32_t sid, point y) {
    ils_session& s = sessions[sid];
    ++s.used;
    ++s.outstanding;
    ++stats.ils_points;
    queue.push_back(queued_point{std::move(y), sid, sample_kind::ils});
}

// ILS polls centre -/+ step e_k for every k in one round (2d points at once, where the
// sequential ILS tries one coordinate after the other). The next round's centre is the
// composite of every improving coordinate move, evaluated together with its own polls
// (speculatively), so a session keeps 2d + 1 workers busy with no one-point phase. The
// session keeps the best point it has seen; the step halves after a round that did not
// improve on it.
void fractal_optimizer::state::ils_poll(std::uint32_t sid) {
    ils_session& s = sessions[sid];
    s.best = inf;
    s.outstanding = 0;
    s.best_poll.assign(dim, inf);
    std::vector<point> pts;
    if (!std::isfinite(s.fx) || s.round_x != s.x) pts.push_back(s.round_x);  // not yet evaluated
    for (std::size_t k = 0; k < dim; ++k)
        for (const double sign : {-1.0, 1.0}) {
            point y = s.round_x;
            y[k] = std::fmin(1.0, std::fmax(0.0, y[k] + sign * s.step));
            if (y[k] != s.round_x[k]) pts.push_back(std::move(y));
        }
    for (auto& y : pts) {
        if (s.used >= ils_cap()) break;
        ils_push(sid, std::move(y));
    }
    if (s.outstanding == 0) end_ils(sid);
}

void fractal_optimizer::state::ils_told(std::uint32_t sid, const sample& smp) {
    ils_session& s = sessions[sid];
    if (smp.value < s.best) {
        s.best = smp.value;
        s.best_x = smp.x;
    }
    std::size_t moved_dim = dim, moves = 0;
    for (std::size_t k = 0; k < dim && moves < 2; ++k)
        if (smp.x[k] != s.round_x[k]) {
            moved_dim = k;
            ++moves;
        }
    if (moves == 1) s.polls.push_back({moved_dim, smp.x[moved_dim], smp.value});
    else if (moves == 0) s.centre_value = smp.value;
    if (--s.outstanding > 0) return;
    // The reference for "improving": the round centre when it was evaluated, else the best.
    const double ref = std::isfinite(s.centre_value) ? s.centre_value : s.fx;
    point next = s.round_x;
    std::size_t moving = 0;
    for (const auto& p : s.polls)
        if (p.value < ref && p.value < s.best_poll[p.dim]) {
            if (!std::isfinite(s.best_poll[p.dim])) ++moving;
            s.best_poll[p.dim] = p.value;
            next[p.dim] = p.coord;
        }
    s.polls.clear();
    s.centre_value = inf;
    const bool improved = s.best < s.fx;
    if (improved) {
        s.fx = s.best;
        s.x = s.best_x;
    }
    // Halve after a round that failed; grow after one that moved (Zellij's ILS only halves,
    // which leaves a session started far from a minimum crawling at its first step).
    if (!improved) s.step *= 0.5;
    else s.step = std::fmin(cfg.ils_expansion * s.step, max_ils_step);
    s.round_x = moving >= 2 ? next : s.x;
    if (s.step < cfg.ils_precision || s.used >= ils_cap()) end_ils(sid);
    else ils_poll(sid);
}

}  // namespace fracnas::core
