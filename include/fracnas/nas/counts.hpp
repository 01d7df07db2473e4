// Exact analytic counts of an architecture: parameters (the LiteTransformerSearch decoder proxy
// among them), forward FLOPs of a prefill and of one decode step, and the bytes a decode step reads. Closed forms only: they
// never build a model (the LibTorch module is checked against them in eval/torch tests).
#pragma once

#include <cstdint>

#include "fracnas/nas/architecture.hpp"

namespace fracnas::nas {

/// Parameter counts of a decoder, as Hugging Face's GPT2LMHeadModel and LlamaForCausalLM hold
/// them. With k = n_kv_head_l x d / n_head_l (the keys' and values' width, d without grouping):
struct parameter_counts {
    /// q, k, v and output projections: 2d^2 + 2dk per layer, with biases 2d + 2k more (GPT-2: 4d^2 + 4d)
    std::uint64_t attention = 0;
    /// the MLP's linears: GELU 2 d d_inner_l (biases d_inner_l + d), SwiGLU 3 d d_inner_l (biases 2 d_inner_l + d)
    std::uint64_t ffn = 0;
    /// the norms: two per sequential block, one per parallel block, and the final one; d each
    /// (RMSNorm, or LayerNorm without biases), 2d for a LayerNorm with its bias (GPT-2: 4d per block + 2d)
    std::uint64_t layer_norm = 0;
    std::uint64_t decoder = 0;  ///< attention + ffn + layer_norm: the LTS accuracy proxy
    /// token (vocab x e) table, position (context x d) table when learned, and with e != d the
    /// e -> d and d -> e projections (2ed, with biases + e + d)
    std::uint64_t embedding = 0;
    std::uint64_t output = 0;  ///< an untied output table (vocab x e); 0 when tied (it reuses the token table)
    std::uint64_t total = 0;   ///< decoder + embedding + output
};

/// Validates `a` (config_error) and counts its parameters.
parameter_counts count_parameters(const architecture& a);

/// The embedding-side weights one token's forward multiplies by: the tied output table (vocab x e)
/// and, when e != d, both projection matrices (2ed); the position table is a row lookup. With the
/// decoder's weights, what a decode step must read.
std::uint64_t embedding_matmul_weights(const architecture& a);

/// Forward FLOPs (2 per multiply-accumulate) of the matrix products; norms, activations, rotary
/// positions, softmax and other elementwise work are not counted. Attention is causal: a query at
/// position t reads t keys.
struct flop_counts {
    /// q/k/v/output projections and the MLP: 2 (2d^2 + 2dk + m d d_inner_l) per token and layer (m = 2
    /// for GELU, 3 for SwiGLU; GPT-2: 2 (4d^2 + 2 d d_inner_l)); with e != d also 2ed per token (the
    /// embedding's projection)
    std::uint64_t linear = 0;
    std::uint64_t attention = 0;  ///< QK^T and AV: 4 d n per query reading n keys, per layer
    std::uint64_t logits = 0;     ///< output projection, last position only: 2 e vocab per sequence (and 2de for d -> e when e != d)
    std::uint64_t total = 0;
};

/// Prefill of `batch` prompts of `tokens` tokens (1..context), logits for the last position
/// only, as a server computes the first token. Throws config_error for out-of-range sizes.
flop_counts prefill_flops(const architecture& a, std::uint64_t batch, std::uint64_t tokens);

/// One decode step of `batch` sequences whose KV cache holds `cached` tokens (0..context-1).
flop_counts decode_flops(const architecture& a, std::uint64_t batch, std::uint64_t cached);

/// Bytes of one layer-summed token's keys and values: 2 k_l per layer, times element_bytes.
std::uint64_t kv_bytes_per_token(const architecture& a, std::uint64_t element_bytes);

/// Bytes one decode step of `batch` sequences must read at least, with `cached` tokens in each
/// KV cache and element_bytes per value: every decoder weight and embedding_matmul_weights once,
/// and each sequence's keys and values of its cached tokens and of the new one.
std::uint64_t decode_bytes(const architecture& a, std::uint64_t batch, std::uint64_t cached, std::uint64_t element_bytes);

}  // namespace fracnas::nas
