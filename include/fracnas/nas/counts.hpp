// Exact analytic counts of an architecture: parameters (the LiteTransformerSearch decoder proxy
// among them) and forward FLOPs of a prefill and of one decode step. Closed forms only: they
// never build a model (the LibTorch module is checked against them in eval/torch tests).
#pragma once

#include <cstdint>

#include "fracnas/nas/architecture.hpp"

namespace fracnas::nas {

/// Parameter counts of a GPT-2-style decoder (biases everywhere, tied output projection).
struct parameter_counts {
    std::uint64_t attention = 0;   ///< q, k, v and output projections, weights and biases: 4d^2 + 4d per layer
    std::uint64_t ffn = 0;         ///< both MLP linears: 2 d d_inner_l + d_inner_l + d per layer
    std::uint64_t layer_norm = 0;  ///< two LayerNorms per block (4d) and the final one (2d)
    std::uint64_t decoder = 0;     ///< attention + ffn + layer_norm: the LTS accuracy proxy
    std::uint64_t embedding =
        0;  ///< token (vocab x e) and position (context x d) tables, and with e != d the e -> d and d -> e projections (2ed + e + d)
    std::uint64_t total = 0;  ///< decoder + embedding (the output projection reuses the token table)
};

/// Validates `a` (config_error) and counts its parameters.
parameter_counts count_parameters(const architecture& a);

/// The embedding-side weights one token's forward multiplies by: the tied output table (vocab x e)
/// and, when e != d, both projection matrices (2ed); the position table is a row lookup. With the
/// decoder's weights, what a decode step must read.
std::uint64_t embedding_matmul_weights(const architecture& a);

/// Forward FLOPs (2 per multiply-accumulate) of the matrix products; LayerNorm, GELU, softmax and
/// other elementwise work are not counted. Attention is causal: a query at position t reads t keys.
struct flop_counts {
    std::uint64_t linear = 0;  ///< q/k/v/output projections and the MLP: 2 (4d^2 + 2 d d_inner_l) per token and layer; with e != d also 2ed
                               ///< per token (the embedding's projection)
    std::uint64_t attention = 0;  ///< QK^T and AV: 4 d n per query reading n keys, per layer
    std::uint64_t logits = 0;     ///< output projection, last position only: 2 e vocab per sequence (and 2de for d -> e when e != d)
    std::uint64_t total = 0;
};

/// Prefill of `batch` prompts of `tokens` tokens (1..context), logits for the last position
/// only, as a server computes the first token. Throws config_error for out-of-range sizes.
flop_counts prefill_flops(const architecture& a, std::uint64_t batch, std::uint64_t tokens);

/// One decode step of `batch` sequences whose KV cache holds `cached` tokens (0..context-1).
flop_counts decode_flops(const architecture& a, std::uint64_t batch, std::uint64_t cached);

}  // namespace fracnas::nas
