// The cube structure (core/cube_structure.hpp) of a search space's codec: each discrete
// coordinate's levels, and an item of a layer_array active in a box only where the array's
// length variable can exceed that item's layer. It knows nothing of what the variables mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fracnas/core/cube_structure.hpp"
#include "fracnas/space/search_space.hpp"

namespace fracnas::space {

class codec_structure : public core::cube_structure {
public:
    /// Reads the space's variables; the space need not outlive it.
    explicit codec_structure(const search_space& space);
    /// An int_range's or categorical's levels; 0 for a real_range.
    std::uint64_t levels(std::size_t i, const core::box& b) const override;
    /// true, except for an item of layer l of a layer_array when the array's length variable
    /// takes no value above l anywhere in b.
    bool active(std::size_t i, const core::box& b) const override;
    /// An array item's layer (from 0), or -1 for a coordinate of its own.
    std::int64_t layer(std::size_t i) const { return coords_.at(i).layer; }

private:
    struct coordinate {
        std::uint64_t levels = 0;  // 0: real
        std::int64_t layer = -1;   // array items: their layer
        std::size_t length = 0;    // array items: the length variable's coordinate
    };
    std::vector<coordinate> coords_;
    std::vector<std::int64_t> lo_, step_;  // per coordinate: an int_range's lo and step (lengths)
};

}  // namespace fracnas::space
