// The GPT space's cube structure for a search under a decoder-parameter floor (issue 11): the
// codec's (a layer's coordinates inactive beyond every depth a cell allows), FFN fractions
// discrete on the FFN grid of the widest d_model in the cell, the coordinates that set every
// layer (depth, width, and the shared FFN and head choice of the homogeneous space) weighted by
// the number of layers, and a cell pruned when even its largest architecture is below the floor.
#pragma once

#include <cstdint>
#include <vector>

#include "fracnas/nas/gpt_space.hpp"
#include "fracnas/space/codec_structure.hpp"

namespace fracnas::nas {

class gpt_structure final : public space::codec_structure {
public:
    /// floor: the decoder-parameter floor of the search (0: every cell may be feasible).
    gpt_structure(const gpt_space& space, std::uint64_t floor);
    /// The codec's levels; an FFN fraction: the size of the FFN grid of the widest d_model in b
    /// (for the MLP b holds: with both GELU and SwiGLU, the larger grid).
    std::uint64_t levels(std::size_t i, const core::box& b) const override;
    /// n_layer_max for a coordinate that sets every layer, 1 for one layer's.
    double weight(std::size_t i) const override;
    /// Whether the architecture of b's top corner has at least `floor` decoder parameters.
    /// Decoder parameters grow with depth, width and each FFN width and do not depend on heads;
    /// the block options and KV heads are taken at the value with the most, so no point of b has more.
    bool may_be_feasible(const core::box& b) const override;
    /// The architecture of b's top corner: every coordinate at its highest value in b, except
    /// the block options and KV heads (which do not order parameters by their level: biases off,
    /// RMSNorm and fewer KV heads have fewer), each at its level in b with the most decoder
    /// parameters, chosen one coordinate after the other.
    architecture top_corner(const core::box& b) const;
    /// With a floor: the first point of b's main diagonal, from its lowest corner to its highest,
    /// whose decoder parameters reach the floor (found by bisection: they only grow along it; the
    /// lowest corner when it already does). At equal shape a model above the floor is slower
    /// than one at it, so the constrained optimum lies on the floor. b's centre without a floor,
    /// or when no point of the diagonal is feasible.
    core::point representative(const core::box& b) const override;
    bool has_representatives() const override { return floor_ > 0; }

private:
    gpt_space space_;
    std::uint64_t floor_;
    std::vector<bool> ffn_;    // per coordinate: an FFN fraction
    std::vector<bool> block_;  // per coordinate: a block option or a layer's KV heads
    std::size_t mlp_;          // the MLP's coordinate (the dimension when the MLP is fixed)
    // the FFN grid's size at d_model d for the MLPs b holds
    std::uint64_t grid_size(std::uint32_t d, const core::box& b) const;
};

}  // namespace fracnas::nas
