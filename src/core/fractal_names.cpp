// The names of the fractal configuration's choices (to_string, parse_*) and validate().
#include <string>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/error.hpp"

namespace fracnas::core {

namespace {

template <class E>
struct name_table {
    E kind;
    const char* name;
};

constexpr name_table<geometry_kind> geometry_names[] = {{geometry_kind::k_section, "k-section"},
                                                        {geometry_kind::direct, "direct"},
                                                        {geometry_kind::bisection, "bisection"},
                                                        {geometry_kind::hypersphere, "hypersphere"}};
constexpr name_table<search_kind> search_names[] = {{search_kind::breadth_first, "breadth-first"},
                                                    {search_kind::depth_first, "depth-first"},
                                                    {search_kind::best_first, "best-first"},
                                                    {search_kind::cyclic_best_first, "cyclic-best-first"},
                                                    {search_kind::beam, "beam"},
                                                    {search_kind::epsilon_greedy, "epsilon-greedy"},
                                                    {search_kind::move_up, "move-up"},
                                                    {search_kind::soo, "soo"},
                                                    {search_kind::direct, "direct"},
                                                    {search_kind::direct_local, "direct-local"}};
constexpr name_table<sampler_kind> sampler_names[] = {{sampler_kind::centre, "centre"},
                                                      {sampler_kind::latin_hypercube, "latin-hypercube"},
                                                      {sampler_kind::random, "random"},
                                                      {sampler_kind::phs, "phs"}};
constexpr name_table<scoring_kind> scoring_names[] = {{scoring_kind::best, "best"},
                                                      {scoring_kind::mean, "mean"},
                                                      {scoring_kind::median, "median"},
                                                      {scoring_kind::distance_to_best, "distance-to-best"},
                                                      {scoring_kind::belief, "belief"}};
constexpr name_table<exploitation_kind> exploitation_names[] = {{exploitation_kind::none, "none"}, {exploitation_kind::ils, "ils"}};

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

std::string to_string(geometry_kind kind) {
    return name_of(geometry_names, kind);
}
std::string to_string(search_kind kind) {
    return name_of(search_names, kind);
}
std::string to_string(sampler_kind kind) {
    return name_of(sampler_names, kind);
}
std::string to_string(scoring_kind kind) {
    return name_of(scoring_names, kind);
}
std::string to_string(exploitation_kind kind) {
    return name_of(exploitation_names, kind);
}
geometry_kind parse_geometry(const std::string& n) {
    return parse_name(geometry_names, n, "geometry");
}
search_kind parse_search(const std::string& n) {
    return parse_name(search_names, n, "search");
}
sampler_kind parse_sampler(const std::string& n) {
    return parse_name(sampler_names, n, "sampler");
}
scoring_kind parse_scoring(const std::string& n) {
    return parse_name(scoring_names, n, "scoring");
}
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
    if ((cfg.geometry == geometry_kind::direct) != (cfg.search == search_kind::direct || cfg.search == search_kind::direct_local))
        throw config_error("search", "the direct and direct-local searches go with the direct geometry, and only they.");
    if (cfg.search == search_kind::beam && cfg.beam_width == 0) throw config_error("beam_width", "the beam width must be at least 1.");
    if (!(cfg.epsilon >= 0.0 && cfg.epsilon <= 1.0)) throw config_error("epsilon", "epsilon must be a probability in [0, 1].");
    if (!(cfg.direct_epsilon >= 0.0 && cfg.direct_epsilon < 1.0))
        throw config_error("direct_epsilon", "DIRECT's epsilon must be in [0, 1).");
    if ((cfg.sampler == sampler_kind::latin_hypercube || cfg.sampler == sampler_kind::random) &&
        (cfg.samples_per_cell == 0 || cfg.samples_per_cell > 100000))
        throw config_error("samples_per_cell", "samples per cell must be in 1..100000.");
    if (!(cfg.belief_gamma >= 0.0 && cfg.belief_gamma <= 1.0))
        throw config_error("belief_gamma", "the belief weight gamma must be in [0, 1].");
    if (cfg.max_depth == 0 || cfg.max_depth > 100000) throw config_error("max_depth", "the maximum depth must be in 1..100000.");
    if (cfg.depth_quota > 0 && cfg.search != search_kind::soo)
        throw config_error("depth_quota", "a depth quota applies to the soo tree search only.");
    if (cfg.depth_quota > 100000) throw config_error("depth_quota", "the depth quota must be in 0..100000 (0: no limit).");
    if ((cfg.exploitation == exploitation_kind::ils || cfg.exploit_idle) &&
        !(cfg.ils_step > 0.0 && cfg.ils_precision > 0.0 && cfg.ils_precision < 1.0))
        throw config_error("ils_step", "ILS needs a positive step and a precision in (0, 1).");
    if (!(cfg.ils_local_precision >= 0.0 && cfg.ils_local_precision < 1.0))
        throw config_error("ils_local_precision", "the ILS precision away from the best must be in [0, 1) (0: off).");
    if (!(cfg.ils_expansion >= 1.0 && cfg.ils_expansion <= 10.0))
        throw config_error("ils_expansion", "the ILS step expansion must be in [1, 10] (1: never grow).");
}

}  // namespace fracnas::core
