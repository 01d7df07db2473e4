// The GPT-2-style decoder in LibTorch with per-layer FFN width and head count: learned
// positions, pre-LayerNorm blocks, tanh-GELU MLP, tied output projection, fused scaled-dot-
// product attention and a preallocated KV cache for decoding. Private to src/eval/torch/:
// nothing outside this folder includes LibTorch. It does not time or train anything.
#pragma once

#include <torch/torch.h>

#include "fracnas/nas/architecture.hpp"

namespace fracnas::eval::torch_model {

/// Keys and values of one layer for every position decoded so far: (B, n_head, context, head).
struct layer_cache {
    torch::Tensor k, v;
};

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(std::int64_t d_model, std::int64_t n_head);
    /// x: (B, T, d). Without a cache: causal attention over x. With a cache: x holds positions
    /// [pos, pos + T); their keys and values are written into the cache, and each query attends
    /// to every cached position up to itself.
    torch::Tensor forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos);

    torch::nn::Linear c_attn{nullptr}, c_proj{nullptr};  // d -> 3d (q, k, v), d -> d
    std::int64_t n_head;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(std::int64_t d_model, std::int64_t d_inner);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};  // d -> d_inner, d_inner -> d
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(std::int64_t d_model, std::int64_t d_inner, std::int64_t n_head);
    torch::Tensor forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos);
    torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

/// Parameter names follow Hugging Face's GPT2Model ("h.3.attn.c_attn.weight"), with
/// nn::Linear's (out, in) weight layout (Hugging Face's Conv1D stores (in, out)).
class GptImpl : public torch::nn::Module {
public:
    /// Throws config_error (from nas::validate) for an invalid architecture.
    explicit GptImpl(const nas::architecture& arch);

    /// Logits (B, T, vocab) for token ids idx (B, T), T <= context, no cache.
    torch::Tensor forward(const torch::Tensor& idx);

    /// One cache per layer for `batch` sequences of up to `context` positions.
    std::vector<layer_cache> make_cache(std::int64_t batch, torch::TensorOptions options) const;

    /// Logits (B, T, vocab) for idx (B, T) at positions [pos, pos + T), reading and filling the
    /// cache (a prefill is pos = 0; a decode step is T = 1). last_only: logits of the last
    /// position only, (B, 1, vocab), as a server computes them.
    torch::Tensor forward_cached(const torch::Tensor& idx, std::vector<layer_cache>& cache, std::int64_t pos,
                                 bool last_only = false);

    const nas::architecture& architecture() const noexcept { return arch_; }

    torch::nn::Embedding wte{nullptr}, wpe{nullptr};
    torch::nn::ModuleList h{nullptr};
    torch::nn::LayerNorm ln_f{nullptr};

private:
    torch::Tensor run(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos, bool last_only);
    nas::architecture arch_;
};
TORCH_MODULE(Gpt);

}  // namespace fracnas::eval::torch_model
