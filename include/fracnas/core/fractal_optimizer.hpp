// The fractal decomposition optimizer (Firmin and Talbi's framework, as in Zellij) rebuilt as an
// asynchronous ask/tell state machine: a tree of cells of [0,1]^d, a split rule, a tree search,
// an exploration sampler, a cell score and an exploitation step at the deepest level.
// It never waits for a level to finish: see docs/core.md for the asynchronous form of each part.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fracnas/core/cube_structure.hpp"
#include "fracnas/core/geometry.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/scoring.hpp"

namespace fracnas::core {

enum class geometry_kind {
    k_section,    ///< k slices along the longest side (SOO: k = 3)
    direct,       ///< DIRECT: probe c +/- delta e_i on the longest sides, trisect best-first
    bisection,    ///< every side halved: 2^d children (small d only)
    hypersphere,  ///< FDA: 2d children of radius r / (1 + sqrt 2), sampled inflated
};

enum class search_kind {
    breadth_first,      ///< shallowest level first, best cell of it
    depth_first,        ///< deepest level first, best cell of it
    best_first,         ///< the best open cell anywhere
    cyclic_best_first,  ///< the best cell of each level in turn
    beam,               ///< best-first per level, at most beam_width expansions per level
    epsilon_greedy,     ///< best-first, or with probability epsilon a uniformly random open cell
    move_up,            ///< FDA: depth-first; after exploiting the best deepest cell, its siblings close
    soo,                ///< SOO sweeps with Munos' rule (one cell per depth, better than shallower)
    direct,             ///< DIRECT's potentially optimal cells (one per size class, ties included)
    direct_local,       ///< DIRECT-L: L-infinity sizes, one cell per size, Gablonsky's local bias
};

enum class sampler_kind {
    centre,           ///< the cell's centre (reused when the parent already evaluated it)
    latin_hypercube,  ///< samples_per_cell points of a Latin hypercube of the cell
    random,           ///< samples_per_cell uniform points of the cell
    phs,              ///< FDA's promising hypersphere search: centre and centre -/+ r/sqrt(d)
};

enum class exploitation_kind {
    none,  ///< cells at max_depth are final
    ils,   ///< intensive local search with step halving around the cell's best point
};

/// Everything that defines a fractal algorithm; presets (presets.hpp) fill it with published
/// defaults. Checked by validate(); typical values in the comments.
struct fractal_config {
    geometry_kind geometry = geometry_kind::k_section;         ///< how a cell splits
    std::size_t sections = 3;                                  ///< k of the k-section (SOO: 3)
    double inflation = 1.75;                                   ///< hypersphere sampling radius factor (FDA: 1.75)
    search_kind search = search_kind::soo;                     ///< which open cell to expand next
    std::size_t beam_width = 8;                                ///< beam: expansions per level
    double epsilon = 0.1;                                      ///< epsilon-greedy: probability of a random cell
    double direct_epsilon = 1e-4;                              ///< DIRECT: required relative improvement (Jones: 1e-4)
    sampler_kind sampler = sampler_kind::centre;               ///< exploration inside a new cell
    std::size_t samples_per_cell = 4;                          ///< latin_hypercube / random: points per new cell
    scoring_kind scoring = scoring_kind::best;                 ///< how a cell's samples become its score
    double belief_gamma = 0.5;                                 ///< belief: weight of the parent's score
    std::size_t max_depth = 20;                                ///< cells at this depth are exploited or final (FDA: 5)
    exploitation_kind exploitation = exploitation_kind::none;  ///< at max_depth
    double ils_step = 1.0;                                     ///< ILS initial step, in units of the cell's half-size
    double ils_precision = 1e-7;                               ///< ILS ends when its step falls below this
    double ils_expansion = 2.0;                                ///< ILS step factor after an improving round (1: Zellij's)
    std::size_t ils_budget = 0;                                ///< evaluations per ILS session (0: until precision)
    /// After an ILS round where no poll improved: the vertex of each coordinate's parabola
    /// through its two polls and the centre (where it curves upwards, within one step) is
    /// evaluated as one extra point of the next round (FDA: on).
    bool ils_vertex = false;
    /// A round started while its predecessor still has points in flight tries, as one extra
    /// point, the parabola vertices fitted from any round's two polls and centre on coordinates
    /// not moved since, and centres on the session's best point when that point beats every
    /// improving poll of the round; such a vertex point does not double the next step (FDA: on;
    /// never acts with one point in flight).
    bool ils_async_vertex = false;
    double ils_local_precision = 0.0;  ///< a session worse than the best found ends below this step (0: off; FDA: 3e-4)
    /// soo: at most this many expansions per depth whose new points are all still in flight
    /// (0: no limit). The SOO preset: 2. A sweep passes over a depth at its quota.
    std::size_t depth_quota = 0;
    /// Asked for points the tree does not offer under depth_quota: ILS rounds around the best
    /// point (ils_* settings, first step ils_step x its cell's half-size) before the tree expands
    /// beyond the quota. The SOO preset: on. Sequentially the quota never binds: no effect.
    /// Both are off on a space with structure (a cube_structure given to the optimizer).
    bool exploit_idle = false;
    bool fill_idle = true;           ///< offer uniform random points when the tree has nothing to offer
    bool record_expansions = false;  ///< keep expansions() (memory grows with the run)
};

/// Throws config_error naming the field when cfg cannot run in dimension dim.
void validate(const fractal_config& cfg, std::size_t dim);

std::string to_string(geometry_kind kind);
std::string to_string(search_kind kind);
std::string to_string(sampler_kind kind);
std::string to_string(scoring_kind kind);
std::string to_string(exploitation_kind kind);
/// Parse the names printed by to_string; throw config_error(field) listing the valid names.
geometry_kind parse_geometry(const std::string& name);
search_kind parse_search(const std::string& name);
sampler_kind parse_sampler(const std::string& name);
scoring_kind parse_scoring(const std::string& name);
exploitation_kind parse_exploitation(const std::string& name);

/// DIRECT's selection (Jones, Perttunen and Stuckman 1993) on one (size, value) pair per size
/// class: the indexes j for which some K > 0 makes f_j - K d_j minimal over all pairs and at most
/// f_min - epsilon |f_min|. Pairs of equal size: only the lowest value can be chosen.
std::vector<std::size_t> potentially_optimal(const std::vector<std::pair<double, double>>& size_value, double epsilon);

/// Counters for progress lines and benchmarks.
struct fractal_stats {
    std::uint64_t cells = 0;         ///< cells ever created
    std::uint64_t open = 0;          ///< cells that may still be selected
    std::uint64_t expansions = 0;    ///< cells split (or being probed)
    std::uint64_t ils_sessions = 0;  ///< exploitation sessions started
    std::uint64_t ils_points = 0;    ///< points proposed by exploitation
    std::uint64_t fill_points = 0;   ///< random points offered because the tree had none
    std::uint64_t leaves = 0;        ///< cells closed because all their points decode alike
    std::uint64_t pruned = 0;        ///< cells closed unsampled: no feasible point inside
    std::uint64_t queued = 0;        ///< points generated but not yet asked
    std::uint32_t deepest = 0;       ///< the deepest cell's depth
};

/// One expansion decision, in order (for tests and analysis).
struct expansion_record {
    std::uint32_t cell = 0;  ///< cell index, root = 0
    std::uint32_t depth = 0;
    double score = 0.0;      ///< the cell's score (imputed when its samples were pending)
    point centre;            ///< the cell's centre
    bool exploited = false;  ///< true when the cell started an ILS session instead of splitting
};

/// A read-only view of one cell (for tests, analysis and the archive).
struct cell_view {
    std::uint32_t index = 0, parent = 0, depth = 0, level = 0;  ///< parent of the root: UINT32_MAX
    box b;                                                      ///< box geometries
    sphere s;                                                   ///< the hypersphere geometry
    double score = 0.0;                                         ///< own score, or imputed from the parent while nothing is told
    std::uint32_t told = 0, pending = 0;
    std::string state;  ///< "open", "probing", "expanded", "exploiting" or "closed"
};

class fractal_optimizer final : public optimizer {
public:
    /// Throws config_error when cfg is invalid for dim (see validate). With a structure (the
    /// search space's, cube_structure.hpp): a cell whose points all decode to one point is
    /// sampled once and never split; a cell that cannot hold a feasible point is closed without
    /// a sample; and a k-section splits on level boundaries along the coordinate with most left
    /// to decide (structured_section) instead of the longest side.
    fractal_optimizer(std::size_t dim, const fractal_config& cfg, std::uint64_t seed, stopping stop, std::string name = "",
                      std::shared_ptr<const cube_structure> structure = nullptr);
    ~fractal_optimizer() override;

    std::string name() const override;
    const fractal_config& config() const noexcept;
    fractal_stats stats() const;
    const std::vector<expansion_record>& expansions() const noexcept;
    /// Every cell, the root first; O(cells).
    std::vector<cell_view> cells() const;

protected:
    void propose(std::size_t n, std::vector<point>& out) override;
    void observe(std::uint64_t id, const point& x, double value, eval_status status) override;

private:
    struct state;
    std::unique_ptr<state> s_;
};

}  // namespace fracnas::core
