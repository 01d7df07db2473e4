// The kinds of variable a search space is declared from: integer grids, real intervals,
// categorical choices, and per-layer arrays whose active length is another variable.
// These are plain descriptions; they are validated (and throw) only when added to a
// search_space (see search_space.hpp), and they know nothing of the unit cube.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace fracnas::space {

/// The integers lo, lo+step, ..., hi: n = (hi-lo)/step + 1 levels, one coordinate.
/// Requires lo <= hi, step > 0, (hi-lo) a multiple of step, at most 2^40 levels.
struct int_range {
    std::string name;       ///< unique within a space, e.g. "d_model"
    std::int64_t lo = 0;    ///< smallest value, e.g. 128
    std::int64_t hi = 0;    ///< largest value, e.g. 2048
    std::int64_t step = 1;  ///< distance between levels, e.g. 64
};

/// The real interval [lo, hi], mapped linearly onto one coordinate.
/// Requires finite lo <= hi with hi - lo finite.
struct real_range {
    std::string name;  ///< unique within a space, e.g. "dropout"
    double lo = 0.0;   ///< e.g. 0.0
    double hi = 1.0;   ///< e.g. 0.3
};

/// One of a list of distinct strings, one coordinate with one level per choice.
struct categorical {
    std::string name;                  ///< unique within a space, e.g. "activation"
    std::vector<std::string> choices;  ///< non-empty, distinct, e.g. {"gelu", "relu"}
};

/// What one item of a layer_array can be.
using scalar = std::variant<int_range, real_range, categorical>;

/// One value per layer, e.g. d_inner of each block. The active length is the value of the
/// earlier declared int_range named length_of (its lo must be >= 0); the array takes
/// max_len = hi of that variable coordinates, and those of layers >= the active length are
/// inactive. element describes each item; its own name is ignored (it may be empty).
struct layer_array {
    std::string name;       ///< unique within a space, e.g. "d_inner"
    std::string length_of;  ///< name of the int_range giving the active length, e.g. "n_layer"
    scalar element;         ///< e.g. int_range{"", 256, 8192, 64}
};

/// Any variable a search space can hold.
using variable = std::variant<int_range, real_range, categorical, layer_array>;

/// The declared name of v.
inline const std::string& name_of(const variable& v) {
    return std::visit([](const auto& u) -> const std::string& { return u.name; }, v);
}

/// "int_range", "real_range", "categorical" or "layer_array".
inline const char* kind_of(const variable& v) {
    static const char* const kinds[] = {"int_range", "real_range", "categorical", "layer_array"};
    return kinds[v.index()];
}

}  // namespace fracnas::space
