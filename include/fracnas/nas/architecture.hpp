// A GPT-like decoder architecture as the search sees it: depth, width, per-layer FFN width and
// head count, with its canonical text form (readable, parseable back) and a 64-bit hash.
// Plain data and checks only: building the model is eval/torch's job, counting is counts.hpp's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fracnas::nas {

/// A GPT-2-style decoder (learned positions, pre-LayerNorm blocks, GELU MLP, tied output).
/// Aggregate order: n_layer, d_model, d_inner, n_head, vocab, context, d_embed.
struct architecture {
    std::uint32_t n_layer = 12;          ///< decoder blocks (default space: 2..24)
    std::uint32_t d_model = 768;         ///< residual width (default space: 128..2048 step 64)
    std::vector<std::uint32_t> d_inner;  ///< FFN width per layer (GPT-2: 4 d_model)
    std::vector<std::uint32_t> n_head;   ///< attention heads per layer; each divides d_model
    std::uint32_t vocab = 50257;         ///< vocabulary (GPT-2's BPE)
    std::uint32_t context = 1024;        ///< positions (GPT-2's context)
    /// Width e of the token embedding and of the tied output table, with d -> e and e -> d
    /// projections between them and the residual stream (LiteTransformerSearch's d_embed);
    /// 0 or d_model: GPT-2's model, the table at the residual width and no projections.
    std::uint32_t d_embed = 0;

    bool operator==(const architecture& o) const;
    bool operator!=(const architecture& o) const { return !(*this == o); }
};

/// Throws config_error naming the field (e.g. "n_head[3]") with one sentence when `a` is not a
/// buildable architecture: a zero size, per-layer lists whose length is not n_layer, a head
/// count that does not divide d_model, or sizes beyond 1,000,000 (vocab 10,000,000).
void validate(const architecture& a);

/// "n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4 vocab=50257 context=1024": every field,
/// in this order, no spaces inside a value, and " d_embed=E" last only when the embedding width
/// differs from d_model (so that every architecture without one keeps its text and hash).
/// parse_architecture(canonical(a)) == a.
std::string canonical(const architecture& a);

/// Parses canonical() text (fields in any order, separated by spaces; vocab, context and d_embed
/// may be omitted and default to GPT-2's and d_model) and validates it. Throws config_error
/// naming the field.
architecture parse_architecture(const std::string& text);

/// 64-bit FNV-1a of canonical(a): equal architectures, equal hashes; stable across runs and
/// machines (it keys the result cache and the archive).
std::uint64_t hash(const architecture& a);

/// The embedding width e: d_embed, or d_model when d_embed is 0.
std::uint32_t embed_width(const architecture& a) noexcept;

/// The reference models: GPT-2 small (12 x 768, 12 heads) and medium (24 x 1024, 16 heads).
architecture gpt2_small();
architecture gpt2_medium();

}  // namespace fracnas::nas
