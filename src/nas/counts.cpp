// Closed-form parameter and FLOP counts of a GPT-2-style decoder.
#include "fracnas/nas/counts.hpp"

#include <string>

#include "fracnas/error.hpp"

namespace fracnas::nas {

parameter_counts count_parameters(const architecture& a) {
    validate(a);
    const std::uint64_t d = a.d_model;
    parameter_counts c;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) {
        const std::uint64_t di = a.d_inner[l];
        c.attention += 4 * d * d + 4 * d;  // c_attn (d -> 3d) and c_proj (d -> d), with biases
        c.ffn += 2 * d * di + di + d;      // c_fc (d -> di) and c_proj (di -> d), with biases
        c.layer_norm += 4 * d;             // ln_1 and ln_2: weight and bias each
    }
    c.layer_norm += 2 * d;  // ln_f
    c.decoder = c.attention + c.ffn + c.layer_norm;
    const std::uint64_t e = embed_width(a);
    c.embedding = static_cast<std::uint64_t>(a.vocab) * e + static_cast<std::uint64_t>(a.context) * d;
    if (e != d) c.embedding += 2 * e * d + e + d;  // the e -> d and d -> e projections, with biases
    c.total = c.decoder + c.embedding;
    return c;
}

namespace {

// Per token, all layers: 2 FLOPs per weight of the four projections and the two MLP linears.
std::uint64_t linear_per_token(const architecture& a) {
    const std::uint64_t d = a.d_model;
    std::uint64_t f = 0;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) f += 2 * (4 * d * d + 2 * d * a.d_inner[l]);
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

}  // namespace fracnas::nas
