// Preset configurations with the published defaults, and the factory the CLI uses.
#include "fracnas/core/presets.hpp"

#include <algorithm>
#include <cmath>

#include "fracnas/core/evolution.hpp"
#include "fracnas/core/random_search.hpp"
#include "fracnas/error.hpp"

namespace fracnas::core {

std::vector<std::string> preset_names() {
    return {"soo", "direct", "direct-l", "fda", "evolution", "random"};
}

bool is_fractal_preset(const std::string& name) {
    return name == "soo" || name == "direct" || name == "direct-l" || name == "fda";
}

fractal_config preset_config(const std::string& name, std::size_t dim, std::uint64_t budget) {
    (void)dim;
    fractal_config cfg;
    if (name == "soo") {
        // Ternary split of the longest side, centre evaluations, h_max(n) = sqrt(n).
        cfg.geometry = geometry_kind::k_section;
        cfg.sections = 3;
        cfg.search = search_kind::soo;
        cfg.sampler = sampler_kind::centre;
        cfg.scoring = scoring_kind::best;
        cfg.max_depth = static_cast<std::size_t>(std::max(1.0, std::floor(std::sqrt(static_cast<double>(budget)))));
        // Many in flight: at most two expansions per depth wait for results, and the workers
        // left go to ILS rounds around the best point (docs/core.md; never binds sequentially).
        cfg.depth_quota = 2;
        cfg.exploit_idle = true;
    } else if (name == "direct" || name == "direct-l") {
        cfg.geometry = geometry_kind::direct;
        cfg.search = name == "direct" ? search_kind::direct : search_kind::direct_local;
        cfg.sampler = sampler_kind::centre;
        cfg.scoring = scoring_kind::best;
        cfg.direct_epsilon = 1e-4;
        cfg.max_depth = 100000;  // cells stop splitting at 1e-12 instead
    } else if (name == "fda") {
        // Hyperspheres inflated 1.75x, PHS exploration, distance-to-the-best scoring, move-up
        // search to depth 5, ILS with step halving at the deepest level; only the session at the
        // best refines to 1e-9 (issue 11, docs/core.md "ILS precision away from the best"); a
        // failed round's parabola vertex is tried (docs/core.md, "ILS vertex").
        cfg.geometry = geometry_kind::hypersphere;
        cfg.inflation = 1.75;
        cfg.search = search_kind::move_up;
        cfg.sampler = sampler_kind::phs;
        cfg.scoring = scoring_kind::distance_to_best;
        cfg.max_depth = 5;
        cfg.exploitation = exploitation_kind::ils;
        cfg.ils_step = 1.0;
        cfg.ils_precision = 1e-9;
        cfg.ils_local_precision = 3e-4;
        cfg.ils_vertex = true;
        cfg.ils_async_vertex = true;
    } else {
        std::string valid;
        for (const auto& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
        const auto names = preset_names();
        throw config_error("algorithm", std::find(names.begin(), names.end(), name) != names.end()
                                            ? "'" + name + "' is not a fractal preset."
                                            : "unknown algorithm '" + name + "'; valid: " + valid + ".");
    }
    return cfg;
}

std::unique_ptr<optimizer> make_optimizer(const std::string& name, std::size_t dim, std::uint64_t seed, const stopping& stop,
                                          std::shared_ptr<const cube_structure> structure) {
    if (name == "random") return std::make_unique<random_search>(dim, seed, stop);
    if (name == "evolution") return std::make_unique<evolution>(dim, evolution_config{}, seed, stop, std::move(structure));
    return std::make_unique<fractal_optimizer>(dim, preset_config(name, dim, stop.budget), seed, stop, name, std::move(structure));
}

}  // namespace fracnas::core
