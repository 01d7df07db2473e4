// The asynchronous fractal tree: cells, their samples, the open-cell index each tree search reads,
// expansion (split or DIRECT probing), exploration, ILS sessions and idle filling.
// Pending samples impute their cell's score from the parent, so a search can always choose.
#include "fracnas/core/fractal_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <set>
#include <utility>

#include "fracnas/core/geometry.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"

namespace fracnas::core {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr std::uint32_t no_cell = std::numeric_limits<std::uint32_t>::max();
constexpr double min_cell_size = 1e-12;  // cells this small are never split
constexpr double max_ils_step = 0.25;    // an ILS step never grows beyond a quarter of the cube

enum class cell_state : std::uint8_t { open, probing, expanded, exploiting, closed };
enum class sample_kind : std::uint8_t { explore, probe, ils, fill };

struct cell {
    std::uint32_t parent = no_cell;
    std::uint32_t depth = 0;
    std::uint32_t level = 0;          // size class: depth, or DIRECT's number of trisections
    box b;                            // box geometries
    sphere s;                         // hypersphere geometry
    std::vector<std::uint32_t> samples;  // sample ids held (told or pending)
    std::uint32_t pending = 0;        // held samples not yet told (probes included)
    std::uint32_t told = 0;           // held samples told
    std::uint32_t probes = 0;         // DIRECT probes not yet told
    std::uint32_t first_child = 0, children = 0;  // children are contiguous
    double score = inf;               // own score once told > 0, else imputed from the parent
    cell_state st = cell_state::open;
    bool keyed_blind = false;         // the blind flag of its key in the open index
};

// The key of the open-cell index: informed cells (something told) before blind ones (score
// imputed from the parent), then by score, then by creation.
struct open_key {
    bool blind = false;
    double score = 0.0;
    std::uint32_t cell = 0;
    bool operator<(const open_key& o) const {
        if (blind != o.blind) return !blind;
        if (score != o.score) return score < o.score;
        return cell < o.cell;
    }
};

struct sample {
    point x;
    double value = inf;
    std::uint32_t owner = no_cell;    // cell, or ILS session for sample_kind::ils
    sample_kind kind = sample_kind::explore;
    bool told = false;
};

struct queued_point {
    point x;
    std::uint32_t owner;
    sample_kind kind;
};

struct ils_session {
    std::uint32_t cell = 0;
    point x;                 // the best point the session has seen (value fx)
    point round_x;           // this round's centre: x, or the composite of the last round's moves
    double fx = inf;
    double step = 0.0;
    std::uint32_t outstanding = 0;
    struct poll {
        std::size_t dim;
        double coord, value;
    };
    std::vector<poll> polls;   // this round's single-coordinate moves, as they are told
    double centre_value = inf; // the round centre's value when this round evaluated it
    point best_x;            // the best point told in this round
    double best = inf;
    std::vector<double> best_poll;  // per dimension: the best improving poll value, or inf
    std::uint64_t used = 0;
};

template <class E>
struct name_table {
    E kind;
    const char* name;
};

constexpr name_table<geometry_kind> geometry_names[] = {
    {geometry_kind::k_section, "k-section"}, {geometry_kind::direct, "direct"},
    {geometry_kind::bisection, "bisection"}, {geometry_kind::hypersphere, "hypersphere"}};
constexpr name_table<search_kind> search_names[] = {
    {search_kind::breadth_first, "breadth-first"}, {search_kind::depth_first, "depth-first"},
    {search_kind::best_first, "best-first"}, {search_kind::cyclic_best_first, "cyclic-best-first"},
    {search_kind::beam, "beam"}, {search_kind::epsilon_greedy, "epsilon-greedy"},
    {search_kind::move_up, "move-up"}, {search_kind::soo, "soo"}, {search_kind::direct, "direct"},
    {search_kind::direct_local, "direct-local"}};
constexpr name_table<sampler_kind> sampler_names[] = {
    {sampler_kind::centre, "centre"}, {sampler_kind::latin_hypercube, "latin-hypercube"},
    {sampler_kind::random, "random"}, {sampler_kind::phs, "phs"}};
constexpr name_table<scoring_kind> scoring_names[] = {
    {scoring_kind::best, "best"}, {scoring_kind::mean, "mean"}, {scoring_kind::median, "median"},
    {scoring_kind::distance_to_best, "distance-to-best"}, {scoring_kind::belief, "belief"}};
constexpr name_table<exploitation_kind> exploitation_names[] = {
    {exploitation_kind::none, "none"}, {exploitation_kind::ils, "ils"}};

template <class E, std::size_t N>
std::string name_of(const name_table<E> (&table)[N], E kind) {
    for (const auto& entry : table)
        if (entry.kind == kind) return entry.name;
    return "?";
}

template <class E, std::size_t N>
E parse_name(const name_table<E> (&table)[N], const std::string& name, const char* field) {
    std::string valid;
    for (const auto& entry : table) {
        if (name == entry.name) return entry.kind;
        valid += valid.empty() ? "" : ", ";
        valid += entry.name;
    }
    throw config_error(field, std::string("unknown ") + field + " '" + name + "'; valid: " + valid + ".");
}

}  // namespace

std::string to_string(geometry_kind kind) { return name_of(geometry_names, kind); }
std::string to_string(search_kind kind) { return name_of(search_names, kind); }
std::string to_string(sampler_kind kind) { return name_of(sampler_names, kind); }
std::string to_string(scoring_kind kind) { return name_of(scoring_names, kind); }
std::string to_string(exploitation_kind kind) { return name_of(exploitation_names, kind); }
geometry_kind parse_geometry(const std::string& n) { return parse_name(geometry_names, n, "geometry"); }
search_kind parse_search(const std::string& n) { return parse_name(search_names, n, "search"); }
sampler_kind parse_sampler(const std::string& n) { return parse_name(sampler_names, n, "sampler"); }
scoring_kind parse_scoring(const std::string& n) { return parse_name(scoring_names, n, "scoring"); }
exploitation_kind parse_exploitation(const std::string& n) {
    return parse_name(exploitation_names, n, "exploitation");
}

void validate(const fractal_config& cfg, std::size_t dim) {
    if (dim == 0) throw config_error("dim", "the dimension must be at least 1.");
    if (cfg.geometry == geometry_kind::k_section && (cfg.sections < 2 || cfg.sections > 1000))
        throw config_error("sections", "the k-section needs 2 <= k <= 1000 sections.");
    if (cfg.geometry == geometry_kind::bisection && dim > 16)
        throw config_error("geometry", "bisection makes 2^d children and is limited to d <= 16; use k-section.");
    const bool sphere = cfg.geometry == geometry_kind::hypersphere;
    if (sphere && !(cfg.inflation >= 1.0 && cfg.inflation <= 10.0))
        throw config_error("inflation", "the hypersphere inflation must be in [1, 10].");
    if ((cfg.geometry == geometry_kind::direct) !=
        (cfg.search == search_kind::direct || cfg.search == search_kind::direct_local))
        throw config_error("search", "the direct and direct-local searches go with the direct geometry, and only they.");
    if (cfg.search == search_kind::beam && cfg.beam_width == 0)
        throw config_error("beam_width", "the beam width must be at least 1.");
    if (!(cfg.epsilon >= 0.0 && cfg.epsilon <= 1.0))
        throw config_error("epsilon", "epsilon must be a probability in [0, 1].");
    if (!(cfg.direct_epsilon >= 0.0 && cfg.direct_epsilon < 1.0))
        throw config_error("direct_epsilon", "DIRECT's epsilon must be in [0, 1).");
    if ((cfg.sampler == sampler_kind::latin_hypercube || cfg.sampler == sampler_kind::random) &&
        (cfg.samples_per_cell == 0 || cfg.samples_per_cell > 100000))
        throw config_error("samples_per_cell", "samples per cell must be in 1..100000.");
    if (!(cfg.belief_gamma >= 0.0 && cfg.belief_gamma <= 1.0))
        throw config_error("belief_gamma", "the belief weight gamma must be in [0, 1].");
    if (cfg.max_depth == 0 || cfg.max_depth > 100000)
        throw config_error("max_depth", "the maximum depth must be in 1..100000.");
    if (cfg.exploitation == exploitation_kind::ils &&
        !(cfg.ils_step > 0.0 && cfg.ils_precision > 0.0 && cfg.ils_precision < 1.0))
        throw config_error("ils_step", "ILS needs a positive step and a precision in (0, 1).");
    if (!(cfg.ils_expansion >= 1.0 && cfg.ils_expansion <= 10.0))
        throw config_error("ils_expansion", "the ILS step expansion must be in [1, 10] (1: never grow).");
}

struct fractal_optimizer::state {
    fractal_config cfg;
    std::string name;
    std::size_t dim;
    rng random;
    std::vector<cell> cells;
    std::vector<sample> samples;  // by evaluation id
    std::deque<queued_point> queue;
    std::vector<ils_session> sessions;
    // Open cells by level, ordered by (score, index): the index every tree search reads.
    std::vector<std::set<open_key>> open_by_level;
    std::vector<std::uint32_t> open_list, open_pos;  // uniform access for epsilon-greedy
    std::vector<std::uint32_t> beam_used;            // beam: expansions per level
    std::size_t cyclic_level = 0;
    std::size_t soo_level = 0;
    double soo_vmin = inf;
    std::vector<std::uint32_t> direct_batch;  // potentially optimal cells still to expand
    bool rescore = false;                     // the best moved and the score depends on it
    double best_value = inf;
    point best_x;
    fractal_stats stats;
    std::vector<expansion_record> log;

    state(std::size_t d, const fractal_config& c, std::uint64_t seed, std::string n)
        : cfg(c), name(std::move(n)), dim(d), random(seed) {}

    bool is_box() const { return cfg.geometry != geometry_kind::hypersphere; }
    double size_of(const cell& c) const { return is_box() ? half_longest_side(c.b) : c.s.radius; }
    point centre_of(const cell& c) const { return is_box() ? centre(c.b) : c.s.centre; }
    bool terminal(const cell& c) const {
        return c.depth >= cfg.max_depth || size_of(c) < min_cell_size;
    }

    // ---- the open-cell index --------------------------------------------------------------
    void open_insert(std::uint32_t i) {
        cell& c = cells[i];
        c.st = cell_state::open;
        if (terminal(c) && cfg.exploitation == exploitation_kind::none) {
            c.st = cell_state::closed;  // final leaf: nothing to do with it
            return;
        }
        if (open_by_level.size() <= c.level) open_by_level.resize(c.level + 1);
        c.keyed_blind = c.told == 0;
        open_by_level[c.level].insert(open_key{c.keyed_blind, c.score, i});
        if (open_pos.size() < cells.size()) open_pos.resize(cells.size(), no_cell);
        open_pos[i] = static_cast<std::uint32_t>(open_list.size());
        open_list.push_back(i);
    }

    void open_erase(std::uint32_t i, cell_state next) {
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

    void set_score(std::uint32_t i, double score) {
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

    double own_score(std::uint32_t i) const {
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
    void refresh(std::uint32_t i) {
        const cell& c = cells[i];
        const double imputed = c.parent == no_cell ? inf : cells[c.parent].score;
        set_score(i, c.told > 0 ? own_score(i) : imputed);
        for (std::uint32_t k = 0; k < cells[i].children; ++k) {
            const std::uint32_t child = cells[i].first_child + k;
            if (cells[child].told == 0) refresh(child);
        }
    }

    void rescore_open() {
        rescore = false;
        for (const std::uint32_t i : std::vector<std::uint32_t>(open_list)) refresh(i);
    }

    // ---- creating cells and points --------------------------------------------------------
    std::uint32_t add_cell(std::uint32_t parent, std::uint32_t level) {
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

    void enqueue(point x, std::uint32_t owner, sample_kind kind) {
        if (kind == sample_kind::explore || kind == sample_kind::probe) ++cells[owner].pending;
        if (kind == sample_kind::probe) ++cells[owner].probes;
        queue.push_back(queued_point{std::move(x), owner, kind});
    }

    // The exploration points of a new cell (none when it already holds its centre).
    void explore(std::uint32_t i) {
        const cell& c = cells[i];
        std::vector<point> pts;
        switch (cfg.sampler) {
            case sampler_kind::centre: {
                const point mid = centre_of(c);
                bool have = false;
                for (const std::uint32_t id : c.samples) {
                    double gap = 0.0;
                    for (std::size_t k = 0; k < dim; ++k) gap = std::fmax(gap, std::fabs(samples[id].x[k] - mid[k]));
                    if (gap <= 1e-9 * (size_of(c) + 1e-300)) have = true;
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

    sphere inflated(const cell& c) const { return sphere{c.s.centre, c.s.radius * cfg.inflation}; }
    box sampling_box(const cell& c) const {
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
    void adopt_samples(std::uint32_t parent) {
        cell& p = cells[parent];
        for (const std::uint32_t id : p.samples) {
            sample& smp = samples[id];
            std::uint32_t child = no_cell;
            for (std::uint32_t k = 0; k < p.children && child == no_cell; ++k)
                if (contains(cells[p.first_child + k].b, smp.x)) child = p.first_child + k;
            if (child == no_cell) child = p.first_child + p.children - 1;  // rounding at a face
            smp.owner = child;
            cells[child].samples.push_back(id);
            if (smp.told) ++cells[child].told;
            else ++cells[child].pending;
        }
        p.samples.clear();
        p.samples.shrink_to_fit();
        p.pending = 0;
    }

    void make_children_boxes(std::uint32_t parent, std::vector<box> boxes, const std::vector<std::uint32_t>& levels) {
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

    void finish_children(std::uint32_t parent) {
        const cell& p = cells[parent];
        for (std::uint32_t k = 0; k < p.children; ++k) {
            const std::uint32_t i = p.first_child + k;
            if (cells[i].told > 0) cells[i].score = own_score(i);
            open_insert(i);
            explore(i);
        }
    }

    void split(std::uint32_t i) {
        cell& c = cells[i];
        const std::uint32_t next = c.level + 1;
        switch (cfg.geometry) {
            case geometry_kind::k_section: {
                auto boxes = k_section(c.b, cfg.sections);
                make_children_boxes(i, std::move(boxes), std::vector<std::uint32_t>(cfg.sections, next));
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
    void probe(std::uint32_t i) {
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
    void direct_split(std::uint32_t i) {
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
        std::stable_sort(order.begin(), order.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
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

    // ---- exploitation ---------------------------------------------------------------------
    void start_ils(std::uint32_t i) {
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

    std::uint64_t ils_cap() const {
        return cfg.ils_budget == 0 ? std::numeric_limits<std::uint64_t>::max() : cfg.ils_budget;
    }

    void ils_push(std::uint32_t sid, point y) {
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
    void ils_poll(std::uint32_t sid) {
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

    void end_ils(std::uint32_t sid) { cells[sessions[sid].cell].st = cell_state::closed; }

    void ils_told(std::uint32_t sid, const sample& smp) {
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

    // ---- tree searches --------------------------------------------------------------------
    std::uint32_t front(std::size_t level) const { return open_by_level[level].begin()->cell; }

    std::uint32_t select() {
        const std::size_t levels = open_by_level.size();
        auto nonempty = [&](std::size_t h) { return h < levels && !open_by_level[h].empty(); };
        auto best_first = [&]() {
            const open_key* bestk = nullptr;
            for (std::size_t h = 0; h < levels; ++h)
                if (nonempty(h) && (bestk == nullptr || *open_by_level[h].begin() < *bestk))
                    bestk = &*open_by_level[h].begin();
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
    // they impute from their parent.
    std::uint32_t select_soo() {
        for (int attempt = 0; attempt < 2; ++attempt) {
            const bool fresh = soo_level == 0;
            for (std::size_t h = soo_level; h < open_by_level.size(); ++h) {
                if (open_by_level[h].empty()) continue;
                const open_key& key = *open_by_level[h].begin();
                if (key.score <= soo_vmin) {
                    soo_vmin = key.score;
                    soo_level = h + 1;
                    return key.cell;
                }
            }
            soo_level = 0;
            soo_vmin = inf;
            if (fresh) break;
        }
        return no_cell;
    }

    // DIRECT: the potentially optimal cells of the open set, computed once and expanded in
    // turn; the next batch is computed when this one is used up (no waiting for its results).
    std::uint32_t select_direct() {
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

    // ---- proposing ------------------------------------------------------------------------
    // Expand one cell, or start exploitation; false when the tree has nothing to offer now.
    bool grow() {
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
                split(i);
            }
            if (!queue.empty()) return true;
        }
    }

    void close_open_siblings(std::uint32_t i) {
        const std::uint32_t parent = cells[i].parent;
        if (parent == no_cell) return;
        for (std::uint32_t k = 0; k < cells[parent].children; ++k) {
            const std::uint32_t sib = cells[parent].first_child + k;
            if (cells[sib].st == cell_state::open) open_erase(sib, cell_state::closed);
        }
    }

    // A uniform point, held by the box leaf that contains it (it then counts in that cell's
    // score and moves to a child when the leaf splits).
    void fill() {
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
};

std::vector<std::size_t> potentially_optimal(const std::vector<std::pair<double, double>>& size_value,
                                             double epsilon) {
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
            if (di < dj) k_low = std::fmax(k_low, (fj - fi) / (dj - di));
            else if (di > dj) k_high = std::fmin(k_high, (fi - fj) / (di - dj));
            else if (fi < fj) ok = false;
        }
        if (!ok || k_low > k_high || k_high <= 0.0) continue;
        if (std::isfinite(k_high) && std::isfinite(fmin) &&
            fj - k_high * dj > fmin - epsilon * std::fabs(fmin))
            continue;
        chosen.push_back(j);
    }
    return chosen;
}

fractal_optimizer::fractal_optimizer(std::size_t dim, const fractal_config& cfg, std::uint64_t seed,
                                     stopping stop, std::string name)
    : optimizer(dim, stop) {
    validate(cfg, dim);
    if (name.empty())
        name = "fractal(" + to_string(cfg.geometry) + "/" + to_string(cfg.search) + "/" +
               to_string(cfg.sampler) + "/" + to_string(cfg.scoring) + "/" + to_string(cfg.exploitation) + ")";
    s_ = std::make_unique<state>(dim, cfg, seed, std::move(name));
    state& s = *s_;
    const std::uint32_t root = s.add_cell(no_cell, 0);
    if (s.is_box()) s.cells[root].b = box{point(dim, 0.0), point(dim, 1.0)};
    else s.cells[root].s = sphere{point(dim, 0.5), 0.5};
    s.open_insert(root);
    s.explore(root);
}

fractal_optimizer::~fractal_optimizer() = default;

std::string fractal_optimizer::name() const { return s_->name; }
const fractal_config& fractal_optimizer::config() const noexcept { return s_->cfg; }
const std::vector<expansion_record>& fractal_optimizer::expansions() const noexcept { return s_->log; }

std::vector<cell_view> fractal_optimizer::cells() const {
    static const char* const names[] = {"open", "probing", "expanded", "exploiting", "closed"};
    std::vector<cell_view> views;
    views.reserve(s_->cells.size());
    for (std::size_t i = 0; i < s_->cells.size(); ++i) {
        const cell& c = s_->cells[i];
        views.push_back(cell_view{static_cast<std::uint32_t>(i), c.parent, c.depth, c.level, c.b, c.s,
                                  c.score, c.told, c.pending, names[static_cast<int>(c.st)]});
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
        if (s.queue.empty() && !s.grow()) {
            if (!s.cfg.fill_idle) break;
            s.fill();
        }
        queued_point q = std::move(s.queue.front());
        s.queue.pop_front();
        for (double& v : q.x) v = std::fmin(1.0, std::fmax(0.0, v));
        const std::uint64_t id = asked() + out.size();
        if (s.samples.size() != id) throw protocol_error("internal: sample ids out of step with the optimizer.");
        s.samples.push_back(sample{q.x, inf, q.owner, q.kind, false});
        if (q.kind != sample_kind::ils && q.owner != no_cell) s.cells[q.owner].samples.push_back(static_cast<std::uint32_t>(id));
        out.push_back(std::move(q.x));
    }
}

void fractal_optimizer::observe(std::uint64_t id, const point& /*x*/, double value, eval_status /*status*/) {
    state& s = *s_;
    sample& smp = s.samples[id];
    smp.value = value;
    smp.told = true;
    if (value < s.best_value) {
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
