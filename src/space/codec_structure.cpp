// The codec's cube structure: levels per coordinate, and layer items active only where the
// array's length variable can reach them.
#include "fracnas/space/codec_structure.hpp"

#include <variant>

namespace fracnas::space {

codec_structure::codec_structure(const search_space& space) {
    std::vector<std::size_t> first;  // each variable's first coordinate
    for (const auto& v : space.variables()) {
        first.push_back(coords_.size());
        if (const auto* a = std::get_if<layer_array>(&v)) {
            std::size_t len = 0;  // the length variable: declared earlier, an int_range
            while (name_of(space.variables()[len]) != a->length_of) ++len;
            const auto& r = std::get<int_range>(space.variables()[len]);
            for (std::int64_t l = 0; l < r.hi; ++l) coords_.push_back(coordinate{space.levels(coords_.size()), l, first[len]});
        } else {
            coords_.push_back(coordinate{space.levels(coords_.size()), -1, 0});
        }
        const auto* r = std::get_if<int_range>(&v);
        while (lo_.size() < coords_.size()) {
            lo_.push_back(r ? r->lo : 0);
            step_.push_back(r ? r->step : 1);
        }
    }
}

std::uint64_t codec_structure::levels(std::size_t i, const core::box&) const {
    return coords_.at(i).levels;
}

bool codec_structure::active(std::size_t i, const core::box& b) const {
    const coordinate& c = coords_.at(i);
    if (c.layer < 0) return true;
    const std::size_t j = c.length;
    const std::uint64_t top = core::level_span(b.lo[j], b.hi[j], coords_[j].levels).second;
    return lo_[j] + step_[j] * static_cast<std::int64_t>(top) > c.layer;
}

}  // namespace fracnas::space
