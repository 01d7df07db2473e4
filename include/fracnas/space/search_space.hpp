// The search-space codec: maps the mixed variables of variable.hpp to and from the unit cube
// [0,1]^d that optimizers work in, and gives each point a canonical representative.
// It does not sample, mutate or constrain points (e.g. parameter budgets): that is the
// optimizer's and the evaluator's business.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fracnas/space/assignment.hpp"
#include "fracnas/space/variable.hpp"

namespace fracnas::space {

/// An ordered list of validated variables and their coordinates.
///
/// Coordinates follow declaration order: one per int_range, real_range and categorical,
/// max_len per layer_array. A discrete variable of n levels maps coordinate x to level
/// k = the largest k with double(k)/double(n) <= x (so x = 0 -> lo, x = 1 -> hi), and level k
/// encodes to its centre (k + 0.5)/n. A real_range maps x to lo + x*(hi - lo) (x = 1 -> hi).
/// Coordinates of inactive layers are ignored by decode and encoded as 0.5.
///
/// Value semantics; all const members are safe to call from several threads.
class search_space {
public:
    search_space() = default;

    /// Adds the variables in order, as add() does. Throws config_error as add() does; for a
    /// layer_array whose length variable comes later in vars, the message says so.
    explicit search_space(std::vector<variable> vars);

    /// Validates v against the variables already added and appends it. Returns *this.
    /// Throws config_error (field e.g. "int_range.step", "layer_array.length_of") for: an empty
    /// name, a name already declared, lo > hi, step <= 0, hi - lo not a multiple of step, more
    /// than 2^40 levels, a non-finite real bound, no choices or a repeated choice, a
    /// layer_array whose length_of is not a declared int_range with lo >= 0, or more than
    /// 2^20 layers. On a throw the space is unchanged.
    search_space& add(variable v);

    /// Number of coordinates d.
    std::size_t dim() const noexcept { return coordinate_names_.size(); }
    /// Number of variables.
    std::size_t size() const noexcept { return vars_.size(); }
    const std::vector<variable>& variables() const noexcept { return vars_; }

    /// Variable names in declaration order, e.g. {"n_layer", "d_model", "d_inner"}.
    std::vector<std::string> names() const;
    /// One description per coordinate, e.g. {"n_layer", "d_model", "d_inner[0]", ...};
    /// layers count from 0.
    const std::vector<std::string>& coordinate_names() const noexcept { return coordinate_names_; }

    /// The values x means, in declaration order; arrays hold only their active items.
    /// Throws config_error{"x"} when x.size() != dim() or a coordinate is NaN or outside [0,1].
    assignment decode(const std::vector<double>& x) const;

    /// The canonical point of a: discrete levels at their centre, inactive coordinates 0.5,
    /// reals at a coordinate that decodes back to exactly the same double. Such a coordinate
    /// exists for every value decode() returns, so decode(encode(a)) == a for those; a real no
    /// coordinate maps to (rare: a gap of lo + x*(hi - lo)) gets the nearest one, within about
    /// (hi - lo)*2^-53.
    /// Throws config_error{name} when a variable is missing, a name is not declared, a value
    /// has the wrong type, is not on the int grid, not among the choices, outside [lo, hi] or
    /// NaN, or an array's size differs from the value of its length variable.
    std::vector<double> encode(const assignment& a) const;

    /// encode(decode(x)): equal for any two points that decode to equal assignments, and
    /// idempotent. Throws as decode() does.
    std::vector<double> canonical(const std::vector<double>& x) const;
    /// A coordinate's level count n (level k decodes from [k/n, (k+1)/n)): an int_range's or a
    /// categorical's, an array item's element's; 0 for a real. Throws config_error{"coordinate"}
    /// when coordinate >= dim().
    std::uint64_t levels(std::size_t coordinate) const;

private:
    std::vector<variable> vars_;
    std::vector<std::size_t> offsets_;       // first coordinate of each variable
    std::vector<std::size_t> length_index_;  // for a layer_array, index of its length variable
    std::vector<std::string> coordinate_names_;
};

}  // namespace fracnas::space
