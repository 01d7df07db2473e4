// Closed-form parameter and FLOP counts of a GPT-2-style decoder.
#include "fracnas/nas/counts.hpp"

#include <string>

#include "fracnas/error.hpp"

namespace fracnas::nas {

namespace {

// Layer l's keys' (and values') width: its KV heads times the head dimension.
std::uint64_t kv_width(const architecture& a, std::uint32_t l) {
    return static_cast<std::uint64_t>(kv_heads(a, l)) * (a.d_model / a.n_head[l]);
}

// The MLP's linears of layer l: 2 (GELU) or 3 (SwiGLU) matrices of d x d_inner_l.
std::uint64_t mlp_matrices(const architecture& a) {
    return a.mlp == mlp_kind::swiglu ? 3 : 2;
}

}  // namespace

parameter_counts count_parameters(const architecture& a) {
    validate(a);
    const std::uint64_t d = a.d_model;
    const std::uint64_t norm = a.norm == norm_kind::layer_norm && a.bias ? 2 * d : d;  // weight, and a LayerNorm's bias
    parameter_counts c;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) {
        const std::uint64_t di = a.d_inner[l], k = kv_width(a, l);
        c.attention += 2 * d * d + 2 * d * k + (a.bias ? 2 * d + 2 * k : 0);  // q and o (d x d), k and v (d x k)
        c.ffn += mlp_matrices(a) * d * di + (a.bias ? (mlp_matrices(a) - 1) * di + d : 0);
        c.layer_norm += (a.block == block_kind::parallel ? 1 : 2) * norm;
    }
    c.layer_norm += norm;  // the final norm
    c.decoder = c.attention + c.ffn + c.layer_norm;
    const std::uint64_t e = embed_width(a);
    c.embedding = static_cast<std::uint64_t>(a.vocab) * e + (a.positions == position_kind::learned ? a.context * d : 0);
    if (e != d) c.embedding += 2 * e * d + (a.bias ? e + d : 0);  // the e -> d and d -> e projections
    c.output = a.tied ? 0 : static_cast<std::uint64_t>(a.vocab) * e;
    c.total = c.decoder + c.embedding + c.output;
    return c;
}

namespace {

// Per token, all layers: 2 FLOPs per weight of the four projections and the MLP's linears.
std::uint64_t linear_per_token(const architecture& a) {
    const std::uint64_t d = a.d_model;
    std::uint64_t f = 0;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) f += 2 * (2 * d * d + 2 * d * kv_width(a, l) + mlp_matrices(a) * d * a.d_inner[l]);
    return f;
}

// Per token: the e -> d projection of its embedding (none when e = d).
std::uint64_t projection_in(const architecture& a) {
    const std::uint64_t d = a.d_model, e = embed_width(a);
    return e == d ? 0 : 2 * e * d;
}

// Per sequence, its last position: the d -> e projection (none when e = d) and the e x vocab table.
std::uint64_t logits_per_position(const architecture& a) {
    const std::uint64_t d = a.d_model, e = embed_width(a);
    return (e == d ? 0 : 2 * d * e) + 2 * e * a.vocab;
}

void check_batch(std::uint64_t batch) {
    if (batch == 0 || batch > 1000000) throw config_error("batch", "the batch must be in 1..1000000.");
}

}  // namespace

std::uint64_t embedding_matmul_weights(const architecture& a) {
    validate(a);
    return (projection_in(a) + logits_per_position(a)) / 2;  // 2 FLOPs per weight
}

flop_counts prefill_flops(const architecture& a, std::uint64_t batch, std::uint64_t tokens) {
    validate(a);
    check_batch(batch);
    if (tokens == 0 || tokens > a.context)
        throw config_error("tokens", "a prefill needs 1.." + std::to_string(a.context) + " tokens, got " + std::to_string(tokens) + ".");
    const std::uint64_t d = a.d_model, layers = a.n_layer;
    flop_counts f;
    f.linear = batch * tokens * (linear_per_token(a) + projection_in(a));
    f.attention = batch * layers * 2 * d * tokens * (tokens + 1);  // sum over t of 4 d t
    f.logits = batch * logits_per_position(a);
    f.total = f.linear + f.attention + f.logits;
    return f;
}

flop_counts decode_flops(const architecture& a, std::uint64_t batch, std::uint64_t cached) {
    validate(a);
    check_batch(batch);
    if (cached >= a.context)
        throw config_error("cached", "a decode step needs a cache of 0.." + std::to_string(a.context - 1) + " tokens, got " +
                                         std::to_string(cached) + ".");
    const std::uint64_t d = a.d_model, layers = a.n_layer;
    flop_counts f;
    f.linear = batch * (linear_per_token(a) + projection_in(a));
    f.attention = batch * layers * 4 * d * (cached + 1);
    f.logits = batch * logits_per_position(a);
    f.total = f.linear + f.attention + f.logits;
    return f;
}

std::uint64_t kv_bytes_per_token(const architecture& a, std::uint64_t element_bytes) {
    validate(a);
    std::uint64_t width = 0;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) width += 2 * kv_width(a, l);
    return width * element_bytes;
}

std::uint64_t decode_bytes(const architecture& a, std::uint64_t batch, std::uint64_t cached, std::uint64_t element_bytes) {
    (void)decode_flops(a, batch, cached);  // the same checks
    return (count_parameters(a).decoder + embedding_matmul_weights(a)) * element_bytes +
           batch * (cached + 1) * kv_bytes_per_token(a, element_bytes);
}

}  // namespace fracnas::nas
