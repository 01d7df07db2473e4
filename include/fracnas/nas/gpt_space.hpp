// The default GPT search space (LiteTransformerSearch's heterogeneous space, widened, or a
// homogeneous variant where all layers share one FFN width and head choice) on top of the space
// codec: a point of [0,1]^d decodes to an architecture that satisfies every constraint by
// construction, and every architecture of the space encodes to one canonical point.
// It does not rank, sample or evaluate architectures.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/space/search_space.hpp"

namespace fracnas::nas {

/// Ranges of the space; the defaults are DESIGN section 1's preset.
struct gpt_space_config {
    std::uint32_t n_layer_min = 2, n_layer_max = 24;  ///< depth range
    std::uint32_t d_model_min = 128, d_model_max = 2048;
    std::uint32_t d_model_step = 64;  ///< width grid
    double d_inner_min_ratio = 1.7;   ///< d_inner_l > ratio * d_model (strictly)
    double d_inner_max_ratio = 4.0;   ///< d_inner_l <= ratio * d_model
    std::uint32_t d_inner_step = 64;  ///< FFN width grid
    /// Per-layer head choices: a head size s gives the largest head count <= d_model / s that
    /// divides d_model; a head count c gives the largest divisor of d_model that is <= c.
    std::vector<std::uint32_t> head_sizes = {64, 128};
    std::vector<std::uint32_t> head_counts = {};  ///< e.g. LTS's {2, 4, 8}
    std::uint32_t vocab = 50257, context = 1024;
    /// The embedding widths e the space may choose (architecture::d_embed), 0 meaning e = d_model
    /// (GPT-2's tied table); empty: no such coordinate, every architecture has e = d_model.
    std::vector<std::uint32_t> embed_widths = {};
    /// false: per-layer d_inner and n_head (2 + 2 n_layer_max coordinates, 50 by default);
    /// true: one d_inner and one head choice shared by every layer (4 coordinates), so a search
    /// spends its budget on depth and width, which dominate latency.
    bool homogeneous = false;
    /// The block options (architecture.hpp's block_option_keys) the space may choose, as their
    /// words: a key with one word fixes it for every architecture, with two it is a coordinate; a
    /// key not listed is GPT-2's. Empty: GPT-2's block, and the space it always was.
    std::vector<std::pair<std::string, std::vector<std::string>>> block_options = {};
    /// KV heads per layer: a choice c gives the largest divisor of the layer's n_head that is
    /// <= c, 0 one KV head per query head. Empty or {0}: one per query head; one choice fixes it;
    /// several make a per-layer coordinate (one shared by every layer when homogeneous).
    std::vector<std::uint32_t> kv_heads = {};
    /// A SwiGLU's FFN grid is the GELU one's ratios times this: 2/3 gives a SwiGLU the weights of
    /// the GELU MLP at the same ratio (Llama's 8/3 d_model for GPT-2's 4 d_model).
    double swiglu_ratio = 2.0 / 3.0;
};

/// The words block option `key` takes in a space of config c: those listed in block_options,
/// else GPT-2's alone (one word: fixed; two: a coordinate).
std::vector<std::string> block_words(const gpt_space_config& c, const std::string& key);

class gpt_space {
public:
    /// Throws config_error naming the field when the ranges are empty or inconsistent (for
    /// instance no 64-step FFN width between 1.7 and 4 times the smallest d_model).
    explicit gpt_space(gpt_space_config cfg = {});

    const gpt_space_config& config() const noexcept { return cfg_; }
    /// The codec underneath: n_layer, d_model, d_inner (a fraction of the allowed FFN grid for
    /// the decoded d_model) and n_head (one of the head choices); d_inner and n_head are
    /// per-layer arrays, or single variables shared by every layer when the space is homogeneous;
    /// then d_embed (one of embed_widths) when the space has embedding widths; then each block
    /// option with two words, by its key, and n_kv_head (per layer, or shared) with two or more
    /// KV choices. A space without them has the coordinates it always had.
    const space::search_space& codec() const noexcept { return codec_; }
    std::size_t dim() const noexcept { return codec_.dim(); }

    /// The architecture x means. Throws config_error{"x"} as the codec does for a bad point.
    architecture decode(const core::point& x) const;
    /// The canonical point of a. Throws config_error naming the field when a is not in the
    /// space (depth or width out of range, an FFN width off the grid, a head count no choice
    /// gives, or, in the homogeneous space, a layer whose d_inner or n_head differs from layer 0's).
    core::point encode(const architecture& a) const;
    /// encode(decode(x)): equal for points that mean the same architecture; idempotent.
    core::point canonical(const core::point& x) const;

    /// The FFN widths allowed for a given d_model and MLP, in increasing order.
    std::vector<std::uint32_t> d_inner_grid(std::uint32_t d_model, mlp_kind mlp = mlp_kind::gelu) const;
    /// The head count a choice gives for a given d_model; with rotary positions the largest that
    /// leaves an even head dimension.
    std::uint32_t heads(std::size_t choice, std::uint32_t d_model, bool rotary = false) const;

private:
    gpt_space_config cfg_;
    space::search_space codec_;
    std::vector<std::string> head_choice_names_;
    std::vector<std::string> embed_names_;  // "tied" for 0, "e<width>" otherwise
    std::vector<std::string> kv_names_;     // "all" for 0, "kv<count>" otherwise
};

}  // namespace fracnas::nas
