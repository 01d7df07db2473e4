// Exploitation: intensive local search (ILS) sessions at the deepest cells.

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

namespace {

// The offset from the centre of the vertex of the parabola through (-h1, lo), (0, ref), (h2, hi);
// NaN where it does not curve upwards.
double vertex_offset(double h1, double h2, double lo, double ref, double hi) {
    const double s1 = (ref - lo) / h1, s2 = (hi - ref) / h2;
    const double curvature = (s2 - s1) / (0.5 * (h1 + h2));
    if (!(curvature > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    return -((s1 * h2 + s2 * h1) / (h1 + h2)) / curvature;
}

}  // namespace

void fractal_optimizer::state::start_ils(std::uint32_t i) {
    const cell& c = cells[i];
    point x = centre_of(c);
    double fx = inf;
    for (const std::uint32_t id : c.samples)
        if (samples[id].told && samples[id].value < fx) {
            fx = samples[id].value;
            x = samples[id].x;
        }
    open_session(i, std::move(x), fx, false);
}

// A session at cell i from x (value fx, or not yet evaluated when infinite: its first round
// evaluates it), first step ils_step x the cell's half-size.
std::uint32_t fractal_optimizer::state::open_session(std::uint32_t i, point x, double fx, bool keeps_cell) {
    ils_session s;
    s.cell = i;
    s.x = std::move(x);
    s.fx = fx;
    s.keeps_cell = keeps_cell;
    sessions.push_back(std::move(s));
    ++stats.ils_sessions;
    const auto sid = static_cast<std::uint32_t>(sessions.size() - 1);
    live_sessions.push_back(sid);
    const point centre = sessions[sid].x;
    ils_round_at(sid, centre, cfg.ils_step * size_of(cells[i]), !std::isfinite(fx));
    if (sessions[sid].outstanding == 0) end_ils(sid);
    return sid;
}

void fractal_optimizer::state::ils_push(std::uint32_t sid, std::uint32_t round, point y) {
    ils_session& s = sessions[sid];
    ++s.used;
    ++s.outstanding;
    ++s.rounds[round].outstanding;
    ++stats.ils_points;
    queue.push_back(queued_point{std::move(y), sid, sample_kind::ils, round});
}

// A round polls centre -/+ step e_k for every k at once (2d points, where the sequential ILS
// tries one coordinate after the other), and the centre itself when asked (a composite not yet
// evaluated); it becomes the session's latest round.
void fractal_optimizer::state::ils_round_at(std::uint32_t sid, point centre, double step, bool with_centre) {
    ils_session& s = sessions[sid];
    ils_round r;
    r.centre = std::move(centre);
    r.step = step;
    r.ref = s.fx;
    r.with_centre = with_centre;
    s.rounds.push_back(std::move(r));
    const auto id = static_cast<std::uint32_t>(s.rounds.size() - 1);
    s.latest = id;
    std::vector<point> pts;
    const point& c = s.rounds[id].centre;
    if (with_centre) pts.push_back(c);
    for (std::size_t k = 0; k < dim; ++k)
        for (const double sign : {-1.0, 1.0}) {
            point y = c;
            y[k] = std::fmin(1.0, std::fmax(0.0, y[k] + sign * step));
            if (y[k] != c[k]) pts.push_back(std::move(y));
        }
    for (auto& y : pts) {
        if (s.used >= ils_cap()) break;
        ils_push(sid, id, std::move(y));
    }
}

// The round after the latest: centred on the composite of every improving coordinate move the
// latest has been told of (evaluated with its own polls, speculatively) or on the session's best
// point; its step grows (ils_expansion, at most max_ils_step) from the step of the round that
// improved and halves when none did (Zellij's ILS only halves, which leaves a session started
// far from a minimum crawling at its first step). `early`: the latest round still has points
// in flight (asynchronous asks, below); the session then does not end on a step it has not
// seen fail. False when no round follows now (the session ends when it is not early).
bool fractal_optimizer::state::ils_next_round(std::uint32_t sid, bool early) {
    ils_session& s = sessions[sid];
    ils_round& r = s.rounds[s.latest];
    const double ref = std::isfinite(r.centre_value) ? r.centre_value : r.ref;
    point next = r.centre;
    std::vector<double> best_poll(dim, inf);
    std::size_t moving = 0;
    for (const auto& p : r.polls)
        if (p.value < ref && p.value < best_poll[p.dim]) {
            if (!std::isfinite(best_poll[p.dim])) ++moving;
            best_poll[p.dim] = p.value;
            next[p.dim] = p.coord;
        }
    // A round where no poll improved (ils_vertex): the vertex of the parabola through each
    // coordinate's two polls and the centre, where it curves upwards and lies within one step,
    // is evaluated as one extra point of the next round. It moves the session's best point when
    // it is better, but never centres a round: a vertex fitted to ripples (Ackley's, at a
    // large step) led the walk astray when it did (docs/results/optimizer.md).
    point vertex_point;
    if (cfg.ils_vertex && moving == 0 && std::isfinite(ref) && (!r.with_centre || std::isfinite(r.centre_value))) {
        std::vector<double> lo_x(dim, 0.0), lo_f(dim, inf), hi_x(dim, 0.0), hi_f(dim, inf);
        for (const auto& p : r.polls) {
            if (p.coord < r.centre[p.dim]) {
                lo_x[p.dim] = p.coord;
                lo_f[p.dim] = p.value;
            } else if (p.coord > r.centre[p.dim]) {
                hi_x[p.dim] = p.coord;
                hi_f[p.dim] = p.value;
            }
        }
        point v = r.centre;
        std::size_t fitted = 0;
        for (std::size_t k = 0; k < dim; ++k) {
            if (!std::isfinite(lo_f[k]) || !std::isfinite(hi_f[k])) continue;
            const double vertex = vertex_offset(r.centre[k] - lo_x[k], hi_x[k] - r.centre[k], lo_f[k], ref, hi_f[k]);
            if (!(std::fabs(vertex) <= r.step)) continue;
            const double x = std::fmin(1.0, std::fmax(0.0, r.centre[k] + vertex));
            if (x == r.centre[k]) continue;
            v[k] = x;
            ++fitted;
        }
        if (fitted >= 2) vertex_point = std::move(v);  // one coordinate alone would read as a poll
    }
    double step = 0.5 * r.step;
    if (r.best < r.ref)
        step = std::fmin(cfg.ils_expansion * r.step, max_ils_step);
    else if (s.fx < r.ref)
        step = std::fmin(cfg.ils_expansion * s.best_step, max_ils_step);  // by an earlier round's late poll
    const bool composite = moving >= 2;
    // Only the session holding the best point refines to ils_precision: one at a worse local
    // minimum ends at ils_local_precision, where refining it further cannot change the result
    // (issue 11: on the 2-d Rastrigin, ~300 evaluations per session went to minima worse than
    // the best, and fda lost to random search).
    const double floor = s.fx > best_value ? std::fmax(cfg.ils_precision, cfg.ils_local_precision) : cfg.ils_precision;
    if (step < floor || s.used >= ils_cap()) {
        if (!early) end_ils(sid);
        return false;
    }
    if (!cfg.ils_async_vertex) {  // else its late polls still fit vertices; retire() frees them
        r.polls.clear();
        r.polls.shrink_to_fit();
    }
    // Asynchronous vertices (ils_async_vertex; only in a round started early, so never with one
    // point in flight): with 256 in flight a round is followed after ~5 of its 60 polls, so no
    // round is told in full and the vertex above never fires. Every round's two polls on a
    // coordinate, told late or not, fit that coordinate's vertex (fit_vertex); the next early
    // round tries the vertices of the coordinates still where they were fitted, together, as
    // one extra point. A session whose best point beats every improving poll of the round
    // (a vertex point, a late poll) centres there instead of on the round's composite.
    const bool to_best = early && cfg.ils_async_vertex && composite && s.fx < *std::min_element(best_poll.begin(), best_poll.end());
    point base = composite && !to_best ? next : s.x;
    if (early && cfg.ils_async_vertex && !s.vtx.empty()) {
        point v = base;
        std::size_t fitted = 0;
        for (std::size_t k = 0; k < dim; ++k)
            if (std::isfinite(s.vtx[k]) && s.vtx_from[k] == base[k] && s.vtx[k] != base[k]) {
                v[k] = s.vtx[k];
                s.vtx[k] = std::numeric_limits<double>::quiet_NaN();
                ++fitted;
            }
        if (fitted >= 2) vertex_point = std::move(v);
    }
    ils_round_at(sid, std::move(base), step, composite && !to_best);
    s.rounds[s.latest].early = early;
    if (!vertex_point.empty() && s.used < ils_cap()) ils_push(sid, s.latest, std::move(vertex_point));
    return true;
}

// Asynchronous rounds. Asked for a point while every queued point is out, the session with the
// best point whose latest round has all its points asked and at least one told starts its next
// round now, from what that round has told so far, instead of leaving the workers to the tree
// (new sessions started on little information, or cells the sequential search would expand
// only after this session). Rounds then overlap; a round's late results still move the
// session's best point. Sequentially every round is told before the next ask, so this never
// happens there.
bool fractal_optimizer::state::ils_early() {
    live_sessions.erase(std::remove_if(live_sessions.begin(), live_sessions.end(), [&](std::uint32_t sid) { return sessions[sid].ended; }),
                        live_sessions.end());
    std::uint32_t chosen = no_cell;
    for (const std::uint32_t sid : live_sessions) {
        const ils_session& s = sessions[sid];
        const ils_round& r = s.rounds[s.latest];
        if (r.outstanding == 0 || r.told == 0) continue;
        if (chosen == no_cell || s.fx < sessions[chosen].fx) chosen = sid;
    }
    return chosen != no_cell && ils_next_round(chosen, true);
}

// Coordinate k's vertex from round r's two polls and centre, once all three are told, kept with
// the centre coordinate it was fitted at (it stays valid while k does not move).
void fractal_optimizer::state::fit_vertex(ils_session& s, const ils_round& r, std::size_t k) {
    if (r.with_centre && !std::isfinite(r.centre_value)) return;
    const double ref = std::isfinite(r.centre_value) ? r.centre_value : r.ref;
    if (!std::isfinite(ref)) return;
    double lo_x = 0, lo_f = inf, hi_x = 0, hi_f = inf;
    for (const auto& p : r.polls) {
        if (p.dim != k) continue;
        if (p.coord < r.centre[k]) {
            lo_x = p.coord;
            lo_f = p.value;
        } else if (p.coord > r.centre[k]) {
            hi_x = p.coord;
            hi_f = p.value;
        }
    }
    if (!std::isfinite(lo_f) || !std::isfinite(hi_f)) return;
    const double vertex = vertex_offset(r.centre[k] - lo_x, hi_x - r.centre[k], lo_f, ref, hi_f);
    if (!(std::fabs(vertex) <= r.step)) return;
    if (s.vtx.empty()) {
        s.vtx.assign(dim, std::numeric_limits<double>::quiet_NaN());
        s.vtx_from.assign(dim, std::numeric_limits<double>::quiet_NaN());
    }
    s.vtx[k] = std::fmin(1.0, std::fmax(0.0, r.centre[k] + vertex));
    s.vtx_from[k] = r.centre[k];
}

void fractal_optimizer::state::ils_told(std::uint32_t sid, const sample& smp) {
    ils_session& s = sessions[sid];
    ils_round& r = s.rounds[smp.round];
    --s.outstanding;
    --r.outstanding;
    ++r.told;
    // A vertex point of a round started early (it moves two or more coordinates of the centre)
    // says the minimum along them lies within the round's step: it does not count as the
    // round's improvement, which would double the next step, and when it is the session's
    // best, a later round grows from half the step (ils_async_vertex; sequentially no round
    // starts early).
    std::size_t off = 0;
    for (std::size_t k = 0; k < dim && off < 2; ++k) off += smp.x[k] != r.centre[k] ? 1 : 0;
    const bool early_vertex = r.early && off >= 2;
    if (!early_vertex) r.best = std::fmin(r.best, smp.value);
    if (s.ended) return;
    if (smp.value < s.fx) {
        s.fx = smp.value;
        s.x = smp.x;
        s.best_step = early_vertex ? 0.5 * r.step : r.step;
    }
    const bool late = smp.round != s.latest;
    if (late && !cfg.ils_async_vertex) {  // a round already followed: only its best point counts
        if (r.outstanding == 0) retire(r);
        return;
    }
    std::size_t moved_dim = dim, moves = 0;
    for (std::size_t k = 0; k < dim && moves < 2; ++k)
        if (smp.x[k] != r.centre[k]) {
            moved_dim = k;
            ++moves;
        }
    if (moves == 1)
        r.polls.push_back({moved_dim, smp.x[moved_dim], smp.value});
    else if (moves == 0)
        r.centre_value = smp.value;
    if (cfg.ils_async_vertex) {
        if (moves == 1)
            fit_vertex(s, r, moved_dim);
        else if (moves == 0)
            for (std::size_t k = 0; k < dim; ++k) fit_vertex(s, r, k);
    }
    if (late) {
        if (r.outstanding == 0) retire(r);
        return;
    }
    if (r.outstanding > 0) return;
    if (!ils_next_round(sid, false) && s.outstanding == 0) end_ils(sid);
    retire(s.rounds[smp.round]);  // told and followed (ils_next_round may have moved the rounds)
}

}  // namespace fracnas::core
