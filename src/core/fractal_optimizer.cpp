// The asynchronous fractal tree: proposing (expand, exploit or fill idle workers), the public
// interface and observe(). Pending samples impute their cell's score from the parent, so a
// search can always choose. The state and the other concepts are in fractal_state.hpp and the
// fractal_*.cpp files.
#include "fracnas/core/fractal_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

// Expand one cell, or start exploitation; false when the tree has nothing to offer now.
bool fractal_optimizer::state::grow() {
    while (true) {
        if (rescore) rescore_open();
        const std::uint32_t i = select();
        if (i == no_cell) return false;
        const cell& c = cells[i];
        if (cfg.record_expansions) log.push_back(expansion_record{i, c.depth, c.score, centre_of(c), false});
        if (terminal(c)) {
            open_erase(i, cell_state::exploiting);
            if (cfg.record_expansions) log.back().exploited = true;
            if (cfg.search == search_kind::move_up) close_open_siblings(i);
            start_ils(i);
        } else if (cfg.geometry == geometry_kind::direct) {
            open_erase(i, cell_state::probing);
            ++stats.expansions;
            probe(i);
        } else {
            open_erase(i, cell_state::expanded);
            ++stats.expansions;
            const std::size_t queued = queue.size();
            split(i);
            if (cfg.depth_quota > 0 && queue.size() > queued) {
                // the expansion waits at its depth until the points it created are told
                for (std::size_t k = queued; k < queue.size(); ++k) queue[k].family = i;
                cells[i].new_pending = static_cast<std::uint32_t>(queue.size() - queued);
                if (waiting_by_level.size() <= cells[i].level) waiting_by_level.resize(cells[i].level + 1, 0);
                ++waiting_by_level[cells[i].level];
            }
        }
        if (!queue.empty()) return true;
    }
}

void fractal_optimizer::state::close_open_siblings(std::uint32_t i) {
    const std::uint32_t parent = cells[i].parent;
    if (parent == no_cell) return;
    for (std::uint32_t k = 0; k < cells[parent].children; ++k) {
        const std::uint32_t sib = cells[parent].first_child + k;
        if (cells[sib].st == cell_state::open) open_erase(sib, cell_state::closed);
    }
}

// Workers the tree does not use under its depth quota: an ILS session from the best point,
// its first step ils_step x the half-size of the cell holding that point. One at a time; it
// ends at ils_precision, and the next starts from the best point then (the tree's cells are
// deeper by then, so its first step is smaller). False when the live one has nothing to offer.
// Off on a space with structure (the constructor): there most polls of a shrinking step decode
// to the architecture already measured (dry_run_scale at 256 workers: 4,562 cached answers of
// 5,120).
bool fractal_optimizer::state::exploit_idle() {
    if (!cfg.exploit_idle || !std::isfinite(best_value)) return false;
    if (idle_session != no_cell && !sessions[idle_session].ended) return false;
    const sample& b = samples[best_id];
    std::uint32_t cell = b.kind == sample_kind::ils ? sessions[b.owner].cell : b.owner;
    if (cell == no_cell) cell = 0;
    idle_session = open_session(cell, b.x, b.value, true);
    return !queue.empty();
}

// A uniform point, held by the box leaf that contains it (it then counts in that cell's
// score and moves to a child when the leaf splits).
void fractal_optimizer::state::fill() {
    point x(dim);
    for (double& v : x) v = random.uniform();
    std::uint32_t owner = no_cell;
    if (is_box()) {
        owner = 0;
        while (cells[owner].children > 0) {
            std::uint32_t next = cells[owner].first_child + cells[owner].children - 1;
            for (std::uint32_t k = 0; k < cells[owner].children; ++k)
                if (contains(cells[cells[owner].first_child + k].b, x)) {
                    next = cells[owner].first_child + k;
                    break;
                }
            owner = next;
        }
        ++cells[owner].pending;
    }
    ++stats.fill_points;
    queue.push_back(queued_point{std::move(x), owner, sample_kind::fill});
}

fractal_optimizer::fractal_optimizer(std::size_t dim, const fractal_config& cfg, std::uint64_t seed, stopping stop, std::string name,
                                     std::shared_ptr<const cube_structure> structure)
    : optimizer(dim, stop) {
    validate(cfg, dim);
    if (name.empty())
        name = "fractal(" + to_string(cfg.geometry) + "/" + to_string(cfg.search) + "/" + to_string(cfg.sampler) + "/" +
               to_string(cfg.scoring) + "/" + to_string(cfg.exploitation) + ")";
    s_ = std::make_unique<state>(dim, cfg, seed, std::move(name));
    state& s = *s_;
    s.structure = std::move(structure);
    if (s.structure) {
        // On a space with structure (the NAS spaces) the idle ILS polls decode to architectures
        // already measured, and the quota alone only reorders the sweep, for the worse
        // (docs/results/optimizer.md): both are off there.
        s.cfg.depth_quota = 0;
        s.cfg.exploit_idle = false;
    }
    const std::uint32_t root = s.add_cell(no_cell, 0);
    if (s.is_box())
        s.cells[root].b = box{point(dim, 0.0), point(dim, 1.0)};
    else
        s.cells[root].s = sphere{point(dim, 0.5), 0.5};
    s.open_insert(root);
    s.explore(root);
}

fractal_optimizer::~fractal_optimizer() = default;

std::string fractal_optimizer::name() const {
    return s_->name;
}
const fractal_config& fractal_optimizer::config() const noexcept {
    return s_->cfg;
}
const std::vector<expansion_record>& fractal_optimizer::expansions() const noexcept {
    return s_->log;
}

std::vector<cell_view> fractal_optimizer::cells() const {
    static const char* const names[] = {"open", "probing", "expanded", "exploiting", "closed"};
    std::vector<cell_view> views;
    views.reserve(s_->cells.size());
    for (std::size_t i = 0; i < s_->cells.size(); ++i) {
        const cell& c = s_->cells[i];
        views.push_back(cell_view{static_cast<std::uint32_t>(i), c.parent, c.depth, c.level, c.b, c.s, c.score, c.told, c.pending,
                                  names[static_cast<int>(c.st)]});
    }
    return views;
}

fractal_stats fractal_optimizer::stats() const {
    fractal_stats st = s_->stats;
    st.open = s_->open_list.size();
    st.queued = s_->queue.size();
    return st;
}

void fractal_optimizer::propose(std::size_t n, std::vector<point>& out) {
    state& s = *s_;
    while (out.size() < n) {
        if (s.queue.empty() && !s.ils_early() && !s.grow() && !s.exploit_idle() && !s.grow_over_quota()) {
            if (!s.cfg.fill_idle) break;
            s.fill();
        }
        queued_point q = std::move(s.queue.front());
        s.queue.pop_front();
        for (double& v : q.x) v = std::fmin(1.0, std::fmax(0.0, v));
        const std::uint64_t id = asked() + out.size();
        if (s.samples.size() != id) throw protocol_error("internal: sample ids out of step with the optimizer.");
        s.samples.push_back(sample{q.x, inf, q.owner, q.kind, false, q.round, q.family});
        if (q.kind != sample_kind::ils && q.owner != no_cell) s.cells[q.owner].samples.push_back(static_cast<std::uint32_t>(id));
        out.push_back(std::move(q.x));
    }
}

void fractal_optimizer::observe(std::uint64_t id, const point& /*x*/, double value, eval_status /*status*/) {
    state& s = *s_;
    sample& smp = s.samples[id];
    smp.value = value;
    smp.told = true;
    if (smp.family != no_cell && --s.cells[smp.family].new_pending == 0) --s.waiting_by_level[s.cells[smp.family].level];
    if (value < s.best_value) {
        s.best_id = id;
        s.best_value = value;
        s.best_x = smp.x;
        if (depends_on_best(s.cfg.scoring)) s.rescore = true;
    }
    if (smp.kind == sample_kind::ils) {
        s.ils_told(smp.owner, smp);
        return;
    }
    if (smp.owner == no_cell) return;
    const std::uint32_t i = smp.owner;
    cell& c = s.cells[i];
    --c.pending;
    ++c.told;
    s.refresh(i);
    if (smp.kind == sample_kind::probe && --c.probes == 0 && c.st == cell_state::probing) s.direct_split(i);
}

}  // namespace fracnas::core
