// The fractal optimizer's private state, shared by the files that implement it (one concept
// each): fractal_index.cpp (the open-cell index and scores), fractal_cells.cpp (cells, their
// points, splitting and DIRECT probing), fractal_ils.cpp (exploitation), fractal_search.cpp (the
// tree searches), fractal_names.cpp (names and validation), fractal_optimizer.cpp (proposing and
// the public interface). Not installed, not included outside src/core/.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/geometry.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/core/scoring.hpp"

namespace fracnas::core {

namespace fractal_detail {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr std::uint32_t no_cell = std::numeric_limits<std::uint32_t>::max();
constexpr double min_cell_size = 1e-12;  // cells this small are never split
constexpr double max_ils_step = 0.25;    // an ILS step never grows beyond a quarter of the cube

enum class cell_state : std::uint8_t { open, probing, expanded, exploiting, closed };
enum class sample_kind : std::uint8_t { explore, probe, ils, fill };

struct cell {
    std::uint32_t parent = no_cell;
    std::uint32_t depth = 0;
    std::uint32_t level = 0;                      // size class: depth, or DIRECT's number of trisections
    box b;                                        // box geometries
    sphere s;                                     // hypersphere geometry
    std::vector<std::uint32_t> samples;           // sample ids held (told or pending)
    std::uint32_t pending = 0;                    // held samples not yet told (probes included)
    std::uint32_t told = 0;                       // held samples told
    std::uint32_t probes = 0;                     // DIRECT probes not yet told
    std::uint32_t first_child = 0, children = 0;  // children are contiguous
    double score = inf;                           // own score once told > 0, else imputed from the parent
    cell_state st = cell_state::open;
    bool keyed_blind = false;       // the blind flag of its key in the open index
    std::uint32_t new_pending = 0;  // expanded: the points its split created, not yet told
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
    std::uint32_t owner = no_cell;  // cell, or ILS session for sample_kind::ils
    sample_kind kind = sample_kind::explore;
    bool told = false;
    std::uint32_t round = 0;         // sample_kind::ils: the session's round
    std::uint32_t family = no_cell;  // the expanded cell whose split created it (depth_quota)
};

struct queued_point {
    point x;
    std::uint32_t owner;
    sample_kind kind;
    std::uint32_t round = 0;
    std::uint32_t family = no_cell;
};

// One round of an ILS session: its centre's polls at one step (fractal_ils.cpp).
struct ils_round {
    point centre;
    double step = 0.0;
    double ref = inf;  // the session's best value when the round began
    std::uint32_t outstanding = 0;
    struct poll {
        std::size_t dim;
        double coord, value;
    };
    std::vector<poll> polls;    // single-coordinate moves, as they are told
    double centre_value = inf;  // the centre's value when this round evaluated it
    bool with_centre = false;   // the round evaluates its centre (else it is the session's point, of value ref)
    bool early = false;         // started before its predecessor was told in full
    std::uint32_t told = 0;     // its points told so far
    double best = inf;          // the best value told so far
};

struct ils_session {
    std::uint32_t cell = 0;
    point x;  // the best point the session has been told (value fx)
    double fx = inf;
    double best_step = 0.0;         // the step of the round that found x
    std::vector<ils_round> rounds;  // every round, by index
    std::uint32_t latest = 0;       // the round the next one follows
    std::uint32_t outstanding = 0;
    std::uint64_t used = 0;
    bool ended = false;
    bool keeps_cell = false;  // started for idle workers (exploit_idle): the cell stays as it is
    // Per coordinate, the latest parabola vertex fitted from a round's two polls and centre, and
    // the centre coordinate it was fitted at (NaN: none).
    std::vector<double> vtx, vtx_from;
};

}  // namespace fractal_detail

using namespace fractal_detail;  // the fractal_*.cpp files and the state below use these names

struct fractal_optimizer::state {
    fractal_config cfg;
    std::shared_ptr<const cube_structure> structure;  // the space's, or none
    std::string name;
    std::size_t dim;
    rng random;
    std::vector<cell> cells;
    std::vector<sample> samples;  // by evaluation id
    std::deque<queued_point> queue;
    std::vector<ils_session> sessions;
    std::vector<std::uint32_t> live_sessions;  // sessions not ended (ended ones leave it lazily)
    // Open cells by level, ordered by (score, index): the index every tree search reads.
    std::vector<std::set<open_key>> open_by_level;
    std::vector<std::uint32_t> open_list, open_pos;  // uniform access for epsilon-greedy
    std::vector<std::uint32_t> beam_used;            // beam: expansions per level
    std::size_t cyclic_level = 0;
    std::size_t soo_level = 0;
    double soo_vmin = inf;
    std::uint32_t soo_last = no_cell;             // the cell this sweep expanded last
    std::vector<std::uint32_t> waiting_by_level;  // per level: expansions with new points not all told
    bool over_quota = false;                      // grow() may pass depth_quota (nothing else to offer)
    std::uint32_t idle_session = no_cell;         // the exploit_idle session, while it lives
    std::uint64_t best_id = 0;                    // the sample holding best_value
    std::vector<std::uint32_t> direct_batch;      // potentially optimal cells still to expand
    bool rescore = false;                         // the best moved and the score depends on it
    double best_value = inf;
    point best_x;
    fractal_stats stats;
    std::vector<expansion_record> log;

    state(std::size_t d, const fractal_config& c, std::uint64_t seed, std::string n) : cfg(c), name(std::move(n)), dim(d), random(seed) {}

    bool is_box() const { return cfg.geometry != geometry_kind::hypersphere; }
    double size_of(const cell& c) const { return is_box() ? half_longest_side(c.b) : c.s.radius; }
    point centre_of(const cell& c) const { return is_box() ? centre(c.b) : c.s.centre; }
    bool terminal(const cell& c) const { return c.depth >= cfg.max_depth || size_of(c) < min_cell_size; }
    // every point of the box cell decodes to one point of the space
    bool leaf(const cell& c) const {
        if (!structure || !is_box()) return false;
        for (std::size_t i = 0; i < dim; ++i)
            if (split_priority(c.b, i, *structure) > 0.0) return false;
        return true;
    }

    // ---- the open-cell index (fractal_index.cpp) ------------------------
    void open_insert(std::uint32_t i);
    void open_erase(std::uint32_t i, cell_state next);
    void set_score(std::uint32_t i, double score);
    double own_score(std::uint32_t i) const;
    void refresh(std::uint32_t i);
    void rescore_open() {
        rescore = false;
        for (const std::uint32_t i : std::vector<std::uint32_t>(open_list)) refresh(i);
    }

    // ---- creating cells and points (fractal_cells.cpp) ------------------
    std::uint32_t add_cell(std::uint32_t parent, std::uint32_t level);
    void enqueue(point x, std::uint32_t owner, sample_kind kind);
    void explore(std::uint32_t i);
    sphere inflated(const cell& c) const { return sphere{c.s.centre, c.s.radius * cfg.inflation}; }
    box sampling_box(const cell& c) const;
    void adopt_samples(std::uint32_t parent);
    void make_children_boxes(std::uint32_t parent, std::vector<box> boxes, const std::vector<std::uint32_t>& levels);
    void finish_children(std::uint32_t parent);
    void split(std::uint32_t i);
    void probe(std::uint32_t i);
    void direct_split(std::uint32_t i);

    // ---- exploitation (fractal_ils.cpp) ---------------------------------
    void start_ils(std::uint32_t i);
    std::uint32_t open_session(std::uint32_t i, point x, double fx, bool keeps_cell);
    bool exploit_idle();
    std::uint64_t ils_cap() const { return cfg.ils_budget == 0 ? std::numeric_limits<std::uint64_t>::max() : cfg.ils_budget; }
    void ils_push(std::uint32_t sid, std::uint32_t round, point y);
    void ils_round_at(std::uint32_t sid, point centre, double step, bool with_centre);
    bool ils_next_round(std::uint32_t sid, bool early);
    bool ils_early();
    void end_ils(std::uint32_t sid) {
        sessions[sid].ended = true;
        if (!sessions[sid].keeps_cell) cells[sessions[sid].cell].st = cell_state::closed;
    }
    void ils_told(std::uint32_t sid, const sample& smp);
    void fit_vertex(ils_session& s, const ils_round& r, std::size_t k);
    // A round told in full and followed keeps only its counters (a session's rounds stay indexed).
    static void retire(ils_round& r) {
        r.centre = point();
        r.polls = {};
    }

    // ---- tree searches (fractal_search.cpp) -----------------------------
    std::uint32_t front(std::size_t level) const { return open_by_level[level].begin()->cell; }
    std::uint32_t select();
    std::uint32_t select_soo();
    std::uint32_t select_direct();

    // ---- proposing (fractal_optimizer.cpp) ------------------------------
    bool grow();
    bool grow_over_quota() {
        if (cfg.depth_quota == 0) return false;
        over_quota = true;
        const bool grew = grow();
        over_quota = false;
        return grew;
    }
    void close_open_siblings(std::uint32_t i);
    void fill();
};

}  // namespace fracnas::core
