// Creating cells and their points: exploration samples, splitting (k-section, bisection,
// hypersphere), DIRECT probing and trisection, and the samples children adopt.

#include <algorithm>
#include <cmath>
#include <utility>

#include "fracnas/error.hpp"
#include "fractal_state.hpp"

namespace fracnas::core {

std::uint32_t fractal_optimizer::state::add_cell(std::uint32_t parent, std::uint32_t level) {
    cell c;
    c.parent = parent;
    if (parent != no_cell) {
        c.depth = cells[parent].depth + 1;
        c.score = cells[parent].score;
    }
    c.level = level;
    cells.push_back(std::move(c));
    ++stats.cells;
    stats.deepest = std::max(stats.deepest, cells.back().depth);
    return static_cast<std::uint32_t>(cells.size() - 1);
}

void fractal_optimizer::state::enqueue(point x, std::uint32_t owner, sample_kind kind) {
    if (kind == sample_kind::explore || kind == sample_kind::probe) ++cells[owner].pending;
    if (kind == sample_kind::probe) ++cells[owner].probes;
    queue.push_back(queued_point{std::move(x), owner, kind});
}

// The exploration points of a new cell (none when it already holds its centre).
void fractal_optimizer::state::explore(std::uint32_t i) {
    const cell& c = cells[i];
    std::vector<point> pts;
    switch (cfg.sampler) {
        case sampler_kind::centre: {
            const bool representatives = structure && is_box() && structure->has_representatives();
            const point mid = representatives ? structure->representative(c.b) : centre_of(c);
            bool have = representatives && !c.samples.empty();
            for (const std::uint32_t id : c.samples) {
                double gap = 0.0;
                for (std::size_t k = 0; k < dim; ++k) gap = std::fmax(gap, std::fabs(samples[id].x[k] - mid[k]));
                if (gap <= 1e-9 * (size_of(c) + 1e-300)) have = true;
                // with the space's structure: a held sample that decodes like the centre
                if (structure && is_box() && same_decoded(c.b, samples[id].x, mid, *structure)) have = true;
            }
            if (!have) pts.push_back(mid);
            break;
        }
        case sampler_kind::latin_hypercube:
            pts = latin_hypercube(sampling_box(c), cfg.samples_per_cell, random);
            break;
        case sampler_kind::random:
            for (std::size_t k = 0; k < cfg.samples_per_cell; ++k)
                pts.push_back(is_box() ? uniform_in(c.b, random) : uniform_in(inflated(c), random));
            break;
        case sampler_kind::phs:
            pts = phs_points(is_box() ? sphere{centre(c.b), half_longest_side(c.b)} : inflated(c));
            break;
    }
    for (auto& x : pts) enqueue(std::move(x), i, sample_kind::explore);
}

box fractal_optimizer::state::sampling_box(const cell& c) const {
    if (is_box()) return c.b;
    const sphere s = inflated(c);
    box b{s.centre, s.centre};
    for (std::size_t k = 0; k < dim; ++k) {
        b.lo[k] = std::fmax(0.0, s.centre[k] - s.radius);
        b.hi[k] = std::fmin(1.0, s.centre[k] + s.radius);
    }
    return b;
}

// Box children take over the parent's samples that fall inside them (the centre included),
// so a trisection's middle child needs no new evaluation.
void fractal_optimizer::state::adopt_samples(std::uint32_t parent) {
    cell& p = cells[parent];
    for (const std::uint32_t id : p.samples) {
        sample& smp = samples[id];
        std::uint32_t child = no_cell;
        for (std::uint32_t k = 0; k < p.children && child == no_cell; ++k)
            if (contains(cells[p.first_child + k].b, smp.x)) child = p.first_child + k;
        if (child == no_cell) child = p.first_child + p.children - 1;  // rounding at a face
        smp.owner = child;
        cells[child].samples.push_back(id);
        if (smp.told)
            ++cells[child].told;
        else
            ++cells[child].pending;
    }
    p.samples.clear();
    p.samples.shrink_to_fit();
    p.pending = 0;
}

void fractal_optimizer::state::make_children_boxes(std::uint32_t parent, std::vector<box> boxes, const std::vector<std::uint32_t>& levels) {
    const auto first = static_cast<std::uint32_t>(cells.size());
    for (std::size_t k = 0; k < boxes.size(); ++k) {
        const std::uint32_t i = add_cell(parent, levels[k]);
        cells[i].b = std::move(boxes[k]);
    }
    cells[parent].first_child = first;
    cells[parent].children = static_cast<std::uint32_t>(boxes.size());
    adopt_samples(parent);
    finish_children(parent);
}

void fractal_optimizer::state::finish_children(std::uint32_t parent) {
    const cell& p = cells[parent];
    for (std::uint32_t k = 0; k < p.children; ++k) {
        const std::uint32_t i = p.first_child + k;
        if (cells[i].told > 0) cells[i].score = own_score(i);
        if (structure && !structure->may_be_feasible(sampling_box(cells[i]))) {
            cells[i].st = cell_state::closed;  // nothing feasible inside: never sampled
            ++stats.pruned;
            continue;
        }
        open_insert(i);
        explore(i);
    }
}

void fractal_optimizer::state::split(std::uint32_t i) {
    cell& c = cells[i];
    const std::uint32_t next = c.level + 1;
    switch (cfg.geometry) {
        case geometry_kind::k_section: {
            auto boxes = structure ? structured_section(c.b, cfg.sections, *structure) : k_section(c.b, cfg.sections);
            if (boxes.empty()) {  // a leaf (open_insert closes them; this one was the root)
                c.st = cell_state::closed;
                ++stats.leaves;
                break;
            }
            const std::size_t n = boxes.size();
            make_children_boxes(i, std::move(boxes), std::vector<std::uint32_t>(n, next));
            break;
        }
        case geometry_kind::bisection: {
            auto boxes = bisect_all(c.b);
            const std::size_t n = boxes.size();
            make_children_boxes(i, std::move(boxes), std::vector<std::uint32_t>(n, next));
            break;
        }
        case geometry_kind::hypersphere: {
            auto spheres = split_sphere(c.s);
            const auto first = static_cast<std::uint32_t>(cells.size());
            for (auto& s : spheres) cells[add_cell(i, next)].s = std::move(s);
            cells[i].first_child = first;
            cells[i].children = static_cast<std::uint32_t>(spheres.size());
            finish_children(i);  // spheres overlap: the parent keeps its samples
            break;
        }
        case geometry_kind::direct:
            break;  // handled by probe() / direct_split()
    }
}

// DIRECT: evaluate c -/+ delta e_i along every longest side before deciding the order.
void fractal_optimizer::state::probe(std::uint32_t i) {
    cell& c = cells[i];
    const point mid = centre(c.b);
    for (const std::size_t k : longest_dims(c.b))
        for (const double sign : {-1.0, 1.0}) {
            point x = mid;
            x[k] += sign * (c.b.hi[k] - c.b.lo[k]) / 3.0;
            enqueue(std::move(x), i, sample_kind::probe);
        }
}

// All probes told: trisect the longest sides in increasing order of w_k = min(f(c - d e_k),
// f(c + d e_k)), so the best probes get the largest children (Jones et al. 1993).
void fractal_optimizer::state::direct_split(std::uint32_t i) {
    const cell& c = cells[i];
    const point mid = centre(c.b);
    std::vector<std::pair<double, std::size_t>> order;
    for (const std::size_t k : longest_dims(c.b)) {
        double w = inf;
        for (const std::uint32_t id : c.samples) {
            const sample& smp = samples[id];
            if (smp.kind != sample_kind::probe || std::fabs(smp.x[k] - mid[k]) <= 0.0) continue;
            bool on_axis = true;
            for (std::size_t j = 0; j < dim && on_axis; ++j)
                if (j != k && smp.x[j] != mid[j]) on_axis = false;
            if (on_axis) w = std::fmin(w, smp.value);
        }
        order.emplace_back(w, k);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::size_t> dims;
    std::vector<std::uint32_t> levels;
    for (std::size_t r = 0; r < order.size(); ++r) {
        dims.push_back(order[r].second);
        const auto lvl = static_cast<std::uint32_t>(c.level + r + 1);
        levels.push_back(lvl);
        levels.push_back(lvl);
    }
    levels.push_back(static_cast<std::uint32_t>(c.level + order.size()));
    cells[i].st = cell_state::expanded;
    make_children_boxes(i, direct_trisection(c.b, dims), levels);
}

}  // namespace fracnas::core
