// Named algorithms with their published defaults: soo (Munos 2011), direct (Jones et al. 1993),
// direct-l (Gablonsky and Kelley 2001), fda (Nakib et al. 2017, as in Zellij); and two baselines,
// LiteTransformerSearch's evolution (Javaheripi et al. 2022, core/evolution.hpp) and random search.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/optimizer.hpp"

namespace fracnas::core {

/// The preset names, in the order the CLI lists them.
std::vector<std::string> preset_names();
/// Whether a preset is a fractal configuration (false for the baselines "evolution" and "random").
bool is_fractal_preset(const std::string& name);

/// The fractal configuration of a preset for a run of `budget` evaluations in dimension dim.
/// Throws config_error("algorithm") for an unknown name or a baseline (not a fractal).
fractal_config preset_config(const std::string& name, std::size_t dim, std::uint64_t budget);

/// A ready optimizer for a preset name (fractal presets and the baselines); a fractal preset and
/// evolution use `structure` when given (fractal_optimizer's and evolution's constructors),
/// random search ignores it.
/// Throws config_error naming the field on any invalid argument.
std::unique_ptr<optimizer> make_optimizer(const std::string& name, std::size_t dim, std::uint64_t seed, const stopping& stop,
                                          std::shared_ptr<const cube_structure> structure = nullptr);

}  // namespace fracnas::core
