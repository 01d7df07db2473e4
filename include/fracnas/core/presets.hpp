// Named algorithms with their published defaults: soo (Munos 2011), direct (Jones et al. 1993),
// direct-l (Gablonsky and Kelley 2001), fda (Nakib et al. 2017, as in Zellij), and random search.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/optimizer.hpp"

namespace fracnas::core {

/// The preset names, in the order the CLI lists them.
std::vector<std::string> preset_names();

/// The fractal configuration of a preset for a run of `budget` evaluations in dimension dim.
/// Throws config_error("algorithm") for an unknown name or for "random" (not a fractal).
fractal_config preset_config(const std::string& name, std::size_t dim, std::uint64_t budget);

/// A ready optimizer for a preset name (fractal presets and "random"); a fractal preset uses
/// `structure` when given (fractal_optimizer's constructor), random search ignores it.
/// Throws config_error naming the field on any invalid argument.
std::unique_ptr<optimizer> make_optimizer(const std::string& name, std::size_t dim, std::uint64_t seed,
                                          const stopping& stop, std::shared_ptr<const cube_structure> structure = nullptr);

}  // namespace fracnas::core
