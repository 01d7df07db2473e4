// The LibTorch GPT: attention with fused SDPA and an optional KV cache, MLP, blocks, model.
#include "gpt_model.hpp"

namespace fracnas::eval::torch_model {

namespace F = torch::nn::functional;

AttentionImpl::AttentionImpl(std::int64_t d_model, std::int64_t n_head_) : n_head(n_head_) {
    c_attn = register_module("c_attn", torch::nn::Linear(d_model, 3 * d_model));
    c_proj = register_module("c_proj", torch::nn::Linear(d_model, d_model));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos) {
    const auto B = x.size(0), T = x.size(1), C = x.size(2), hs = C / n_head;
    auto qkv = c_attn(x).split(C, /*dim=*/2);                        // 3 x (B, T, C)
    auto q = qkv[0].view({B, T, n_head, hs}).transpose(1, 2);        // (B, nh, T, hs)
    auto k = qkv[1].view({B, T, n_head, hs}).transpose(1, 2);        // (B, nh, T, hs)
    auto v = qkv[2].view({B, T, n_head, hs}).transpose(1, 2);        // (B, nh, T, hs)
    torch::Tensor y;
    if (cache == nullptr) {
        y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);  // (B, nh, T, hs)
    } else {
        cache->k.narrow(2, pos, T).copy_(k);
        cache->v.narrow(2, pos, T).copy_(v);
        const auto keys = cache->k.narrow(2, 0, pos + T);            // (B, nh, pos+T, hs)
        const auto values = cache->v.narrow(2, 0, pos + T);          // (B, nh, pos+T, hs)
        if (T == 1) {
            y = at::scaled_dot_product_attention(q, keys, values);   // one query sees every key
        } else if (pos == 0) {
            // a prefill: the block's own keys, causal form (no mask tensor, flash-eligible)
            y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);  // (B, nh, T, hs)
        } else {
            // query i (position pos + i) sees keys 0 .. pos + i
            const auto rows = torch::arange(T, torch::TensorOptions().device(x.device())).unsqueeze(1) + pos;
            const auto cols = torch::arange(pos + T, torch::TensorOptions().device(x.device())).unsqueeze(0);
            const auto allowed = cols.le(rows);                       // (T, pos+T) bool
            y = at::scaled_dot_product_attention(q, keys, values, allowed);
        }
    }
    y = y.transpose(1, 2).contiguous().view({B, T, C});              // (B, T, C)
    return c_proj(y);
}

MlpImpl::MlpImpl(std::int64_t d_model, std::int64_t d_inner) {
    c_fc = register_module("c_fc", torch::nn::Linear(d_model, d_inner));
    c_proj = register_module("c_proj", torch::nn::Linear(d_inner, d_model));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
    return c_proj(F::gelu(c_fc(x), F::GELUFuncOptions().approximate("tanh")));  // GPT-2's gelu_new
}

BlockImpl::BlockImpl(std::int64_t d_model, std::int64_t d_inner, std::int64_t n_head) {
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model}).eps(1e-5)));
    attn = register_module("attn", Attention(d_model, n_head));
    ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model}).eps(1e-5)));
    mlp = register_module("mlp", Mlp(d_model, d_inner));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos) {
    auto y = x + attn(ln_1(x), cache, pos);  // pre-LayerNorm residual blocks
    return y + mlp(ln_2(y));
}

GptImpl::GptImpl(const nas::architecture& arch) : arch_(arch) {
    nas::validate(arch_);
    const std::int64_t d = arch_.d_model;
    wte = register_module("wte", torch::nn::Embedding(arch_.vocab, d));
    wpe = register_module("wpe", torch::nn::Embedding(arch_.context, d));
    h = register_module("h", torch::nn::ModuleList());
    for (std::uint32_t l = 0; l < arch_.n_layer; ++l) h->push_back(Block(d, arch_.d_inner[l], arch_.n_head[l]));
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx) { return run(idx, nullptr, 0, false); }

std::vector<layer_cache> GptImpl::make_cache(std::int64_t batch, torch::TensorOptions options) const {
    std::vector<layer_cache> cache;
    for (std::uint32_t l = 0; l < arch_.n_layer; ++l) {
        const std::int64_t nh = arch_.n_head[l], hs = arch_.d_model / arch_.n_head[l];
        cache.push_back({torch::zeros({batch, nh, arch_.context, hs}, options),    // (B, nh, T, hs)
                         torch::zeros({batch, nh, arch_.context, hs}, options)});  // (B, nh, T, hs)
    }
    return cache;
}

torch::Tensor GptImpl::forward_cached(const torch::Tensor& idx, std::vector<layer_cache>& cache, std::int64_t pos,
                                      bool last_only) {
    return run(idx, &cache, pos, last_only);
}

torch::Tensor GptImpl::run(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos,
                           bool last_only) {
    const auto T = idx.size(1);
    TORCH_CHECK(pos >= 0 && pos + T <= static_cast<std::int64_t>(arch_.context),
                "positions ", pos, "..", pos + T, " exceed the context of ", arch_.context);
    const auto positions = torch::arange(pos, pos + T, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
    auto x = wte(idx) + wpe(positions);                               // (B, T, d)
    for (std::size_t l = 0; l < h->size(); ++l)
        x = h[l]->as<Block>()->forward(x, cache ? &(*cache)[l] : nullptr, pos);
    if (last_only) x = x.narrow(1, T - 1, 1);                         // (B, 1, d)
    x = ln_f(x);
    return torch::matmul(x, wte->weight.t());                         // tied output: (B, T, vocab)
}

}  // namespace fracnas::eval::torch_model
