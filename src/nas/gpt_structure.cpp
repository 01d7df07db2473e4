// The GPT space's cube structure: FFN grids per width, layer weights, pruning by the top corner.
#include "fracnas/nas/gpt_structure.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "fracnas/nas/counts.hpp"

namespace fracnas::nas {

namespace {
constexpr std::size_t d_model_coordinate = 1;  // gpt_space declares n_layer, then d_model
}

gpt_structure::gpt_structure(const gpt_space& space, std::uint64_t floor)
    : codec_structure(space.codec()), space_(space), floor_(floor), mlp_(space.codec().coordinate_names().size()) {
    const auto& names = space.codec().coordinate_names();
    const auto& keys = block_option_keys();
    for (std::size_t i = 0; i < names.size(); ++i) {
        ffn_.push_back(names[i].rfind("d_inner", 0) == 0);
        block_.push_back(names[i].rfind("n_kv_head", 0) == 0 || std::find(keys.begin(), keys.end(), names[i]) != keys.end());
        if (names[i] == "mlp") mlp_ = i;
    }
}

std::uint64_t gpt_structure::grid_size(std::uint32_t d, const core::box& b) const {
    const auto words = block_words(space_.config(), "mlp");
    std::uint64_t first = 0, last = 0;  // the MLP words b holds
    if (mlp_ < b.lo.size()) std::tie(first, last) = core::level_span(b.lo[mlp_], b.hi[mlp_], words.size());
    std::uint64_t size = 0;
    for (std::uint64_t k = first; k <= last; ++k) {
        architecture scratch;
        set_block_option(scratch, "mlp", words[k]);
        size = std::max<std::uint64_t>(size, space_.d_inner_grid(d, scratch.mlp).size());
    }
    return size;
}

std::uint64_t gpt_structure::levels(std::size_t i, const core::box& b) const {
    if (!ffn_.at(i)) return codec_structure::levels(i, b);
    const auto& c = space_.config();
    const std::uint64_t widths = codec_structure::levels(d_model_coordinate, b);
    const std::uint64_t top = core::level_span(b.lo[d_model_coordinate], b.hi[d_model_coordinate], widths).second;
    return grid_size(static_cast<std::uint32_t>(c.d_model_min + top * c.d_model_step), b);
}

double gpt_structure::weight(std::size_t i) const {
    return layer(i) >= 0 ? 1.0 : static_cast<double>(space_.config().n_layer_max);
}

architecture gpt_structure::top_corner(const core::box& b) const {
    core::point x(b.lo.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::uint64_t n = levels(i, b);
        if (n == 0) {
            x[i] = b.hi[i];
        } else if (ffn_[i] && mlp_ < x.size()) {
            // with the MLP a coordinate, the FFN grids differ in size: just below the cell's top
            // is the highest FFN width of either
            x[i] = b.hi[i] - 1e-9 * (b.hi[i] - b.lo[i]);
        } else {
            const std::uint64_t top = core::level_span(b.lo[i], b.hi[i], n).second;
            x[i] = (static_cast<double>(top) + 0.5) / static_cast<double>(n);  // the top level's centre
        }
    }
    // the block options and KV heads at their levels with the most decoder parameters, one
    // coordinate after the other, again until none changes (a LayerNorm's bias counts only with
    // biases on: the norm's best level can change once the biases' is chosen)
    std::uint64_t most = count_parameters(space_.decode(x)).decoder;
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!block_[i]) continue;
            const std::uint64_t n = levels(i, b);
            if (n == 0) continue;
            const auto [first, last] = core::level_span(b.lo[i], b.hi[i], n);
            const double kept = x[i];
            for (std::uint64_t k = first; k <= last; ++k) {
                const double at = (static_cast<double>(k) + 0.5) / static_cast<double>(n);
                if (at == kept) continue;
                x[i] = at;
                const std::uint64_t params = count_parameters(space_.decode(x)).decoder;
                if (params > most) {
                    most = params;
                    changed = true;
                } else {
                    x[i] = kept;
                }
                if (x[i] != kept) break;
            }
        }
    }
    return space_.decode(x);
}

bool gpt_structure::may_be_feasible(const core::box& b) const {
    return floor_ == 0 || count_parameters(top_corner(b)).decoder >= floor_;
}

core::point gpt_structure::representative(const core::box& b) const {
    const core::point mid = core::centre(b);
    if (floor_ == 0) return mid;
    // the diagonal, kept inside b's half-open faces
    const auto at = [&](double t) {
        core::point x(b.lo.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double span = b.hi[i] - b.lo[i];
            x[i] = b.lo[i] + std::fmin(t, 1.0 - 1e-9) * span;
        }
        return x;
    };
    const auto feasible = [&](double t) { return count_parameters(space_.decode(at(t))).decoder >= floor_; };
    double lo = 0.0, hi = 1.0;  // the smallest feasible t on the diagonal lies in (lo, hi]
    if (feasible(0.5))
        hi = 0.5;
    else if (!feasible(1.0))
        return mid;  // nothing feasible on the diagonal
    else
        lo = 0.5;
    if (lo == 0.0 && feasible(0.0)) return at(0.0);
    for (int k = 0; k < 40; ++k) {
        const double t = 0.5 * (lo + hi);
        (feasible(t) ? hi : lo) = t;
    }
    return at(hi);
}

}  // namespace fracnas::nas
