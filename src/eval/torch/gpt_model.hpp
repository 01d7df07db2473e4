// The GPT-2-style decoder in LibTorch with per-layer FFN width and head count: learned
// positions, pre-LayerNorm blocks, tanh-GELU MLP, tied output projection, fused scaled-dot-
// product attention and a preallocated KV cache for decoding; and the block options of
// nas::architecture (RMSNorm, SwiGLU, rotary positions, grouped KV heads, parallel blocks, an
// untied head, no biases). Private to src/eval/torch/:
// nothing outside this folder includes LibTorch. It does not time or train anything.
//
// Every parameter is created where the model will run, in the dtype it will run in, and drawn
// there (GPT-2's initialisation): a candidate on a GPU never passes through host memory.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "fracnas/nas/architecture.hpp"

namespace fracnas::eval::torch_model {

/// Keys and values of one layer for every position: kv is (B, context, 2, k), k the keys' width
/// (d_model without grouped KV heads), a position's key then its value, so that one copy writes
/// both from the fused q|k|v projection. keys() and values() are (B, heads, positions, head)
/// views of the first `positions`, heads being the layer's KV heads.
struct layer_cache {
    torch::Tensor kv;
    torch::Tensor keys(std::int64_t n_head, std::int64_t positions) const;
    torch::Tensor values(std::int64_t n_head, std::int64_t positions) const;
};

/// y = x W^T + b with W (out, in), drawn from N(0, std^2); b zero, or none (undefined, not a
/// parameter) without biases.
class DenseImpl : public torch::nn::Module {
public:
    DenseImpl(std::int64_t in, std::int64_t out, double std, const torch::TensorOptions& options, bool with_bias = true);
    torch::Tensor forward(const torch::Tensor& x);
    /// gelu_tanh(x W^T + b): on CUDA one cuBLASLt call with the bias and GELU (the tanh form) in
    /// its epilogue (at::_addmm_activation; without a bias, a zero bias of the layer's own, made at
    /// the first call); on the CPU, or when autograd records the forward (the fused op has no
    /// derivative), the linear map, then the GELU.
    torch::Tensor forward_gelu(const torch::Tensor& x);
    /// residual + x W^T + b: on CUDA one cuBLASLt call (torch_fused::linear_residual), the residual
    /// as the GEMM's C; otherwise the linear map, then the add (with a residual of another dtype,
    /// an fp32 stream, torch_fused::residual_add: the sum in the stream's dtype).
    torch::Tensor forward_add(const torch::Tensor& x, const torch::Tensor& residual);
    /// When autograd records the forward outside autocast: forward, forward_add and the MLP take
    /// the training's fused layers (fused_train.hpp; GptImpl::use_fused_dense).
    bool fused_train = false;
    torch::Tensor weight, bias;

private:
    torch::Tensor zero_bias_;  // forward_gelu's epilogue bias without a bias: not a parameter
};
TORCH_MODULE(Dense);

/// LayerNorm over the last dimension, eps 1e-5, weight one and bias zero at initialisation (no
/// bias without biases); or RMSNorm, x / sqrt(mean(x^2) + 1e-5) times the weight, computed in fp32
/// as Hugging Face's LlamaRMSNorm.
class NormImpl : public torch::nn::Module {
public:
    NormImpl(std::int64_t d, const torch::TensorOptions& options, nas::norm_kind kind = nas::norm_kind::layer_norm, bool with_bias = true);
    torch::Tensor forward(const torch::Tensor& x);
    /// (forward(x), x) for a residual stream x that the block also adds to: with kernel_backward,
    /// fused_train.hpp's layer_norm_stream, whose backward adds the stream's gradient to
    /// LayerNorm's in one pass; otherwise x itself.
    std::pair<torch::Tensor, torch::Tensor> forward_stream(const torch::Tensor& x);
    /// forward_stream(x + y) for a residual stream x and a layer's output y: with kernel_backward,
    /// fused_train.hpp's layer_norm_add (the add in LayerNorm's pass, rounded as `salt` says);
    /// otherwise the add in x's dtype, then forward_stream.
    std::pair<torch::Tensor, torch::Tensor> forward_add(const torch::Tensor& x, const torch::Tensor& y);
    torch::Tensor weight, bias;
    /// forward_add's rounding of a bf16 stream: to nearest (0), else stochastic with this salt
    std::uint32_t salt = 0;
    /// The kernels' backward also forms the bias gradient of the linear layer before it, for the
    /// fused layers to take (fused_train.hpp's layer_norm_train; GptImpl::use_fused_dense)
    bool bias_sums = false;
    /// When autograd records the forward: fused_train.hpp's layer_norm_train, fracnas's kernels in
    /// bf16 on a GPU (GptImpl::use_norm_kernel); an RMSNorm on a GPU by LibTorch's fused kernel. An input of another dtype than the
    /// weights' (an fp32 residual stream in a bf16 model) is normalised in its dtype by LibTorch and the result rounded to the weights'.
    bool kernel_backward = false;
    nas::norm_kind kind = nas::norm_kind::layer_norm;
};
TORCH_MODULE(Norm);

/// An embedding table (rows, d) drawn from N(0, std^2); rows are looked up, or sliced for positions.
class TableImpl : public torch::nn::Module {
public:
    TableImpl(std::int64_t rows, std::int64_t d, double std, const torch::TensorOptions& options);
    torch::Tensor weight;
};
TORCH_MODULE(Table);

/// Rotary positions' tables, shared by a model's layers: for a head size hs, cos and a signed sin
/// (-sin on the first half, sin on the second) of every position up to the context, so that a
/// rotation is t cos + roll(t, hs / 2) signed_sin, Hugging Face Llama's t cos + rotate_half(t) sin
/// (theta 10,000; frequencies theta^(-2i / hs), i < hs / 2, repeated over both halves; computed
/// in fp32, kept in the dtype and on the device they are asked for). Made on first use, as the
/// eager warm-up before a capture asks for them: a step then reads a slice, three kernels a tensor.
class rotary_tables {
public:
    explicit rotary_tables(std::int64_t context) : context_(context) {}
    /// (cos, signed sin) of positions [pos, pos + T), (T, hs) views, in like's dtype on its device.
    std::pair<torch::Tensor, torch::Tensor> at(std::int64_t hs, std::int64_t pos, std::int64_t T, const torch::Tensor& like);

private:
    std::int64_t context_;
    std::map<std::tuple<std::int64_t, int, int, int>, std::pair<torch::Tensor, torch::Tensor>> tables_;  // hs, dtype, device
};

/// The layer's block options beyond its widths: KV heads, rotary positions, biases.
struct attention_options {
    std::int64_t n_kv_head = 0;  ///< 0: one per query head
    /// rotary positions on queries and keys from these tables (none: no rotary positions)
    std::shared_ptr<rotary_tables> rotary;
    bool bias = true;
};

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(std::int64_t d_model, std::int64_t n_head, double proj_std, const torch::TensorOptions& options,
                  attention_options block = {});
    /// x: (B, T, d). Without a cache: causal attention over x. With a cache: x holds positions
    /// [pos, pos + T); their keys and values are written into the cache, and each query attends
    /// to every cached position up to itself. Returns residual + the block's attention output
    /// (the output alone where residual is undefined).
    torch::Tensor forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos, const torch::Tensor& residual);

    Dense c_attn{nullptr}, c_proj{nullptr};  // d -> d + 2k (q, k, v), d -> d

private:
    // forward with grouped KV heads or rotary positions, from c_attn's output
    torch::Tensor forward_options(const torch::Tensor& x, const torch::Tensor& qkv_out, layer_cache* cache, std::int64_t pos,
                                  const torch::Tensor& residual);

public:
    std::int64_t n_head, n_kv_head;
    std::shared_ptr<rotary_tables> rotary;  // none without rotary positions
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    /// GELU (tanh form): c_fc d -> d_inner; SwiGLU: c_fc d -> 2 d_inner (gate, then up), SiLU(gate) x up.
    MlpImpl(std::int64_t d_model, std::int64_t d_inner, double proj_std, const torch::TensorOptions& options,
            nas::mlp_kind kind = nas::mlp_kind::gelu, bool bias = true);
    /// residual + the MLP of x (the MLP of x where residual is undefined)
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
    Dense c_fc{nullptr}, c_proj{nullptr};  // d -> d_inner (SwiGLU: 2 d_inner), d_inner -> d
    nas::mlp_kind kind;
    /// When autograd records a bf16 forward on a GPU: SwiGLU's product by fused_train.hpp's
    /// swiglu_train (GptImpl::use_swiglu_kernel)
    bool kernel_backward = false;
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
public:
    /// The block of layer l of arch (its widths, heads and block options; with rotary positions,
    /// the model's tables).
    BlockImpl(const nas::architecture& arch, std::uint32_t l, double proj_std, const torch::TensorOptions& options,
              std::shared_ptr<rotary_tables> rotary = nullptr);
    torch::Tensor forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos);
    /// The same block with its adds in its LayerNorms (Norm::forward_add): for the stream x plus
    /// the previous block's output `pending` (undefined for the first block), returns (the stream
    /// after the attention's add, this block's MLP output), whose sum is forward's result.
    std::pair<torch::Tensor, torch::Tensor> forward_pending(const torch::Tensor& x, const torch::Tensor& pending);
    Norm ln_1{nullptr}, ln_2{nullptr};  // a parallel block has ln_1 only
    Attention attn{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

/// Parameter names follow Hugging Face's GPT2Model ("h.3.attn.c_attn.weight"), with a linear
/// map's weight stored (out, in) (Hugging Face's Conv1D stores (in, out)). The block options
/// (nas::architecture) keep those names: q|k|v in c_attn (d + 2k rows), SwiGLU's gate|up in
/// mlp.c_fc, an untied output table "lm_head.weight" (vocab, e), no "wpe" with rotary positions,
/// no "ln_2" in a parallel block, no biases without them.

class GptImpl : public torch::nn::Module {
public:
    /// Builds the model on options' device and dtype (CPU fp32 by default) with GPT-2's
    /// initialisation, drawn from the generator of that device (torch::manual_seed seeds it):
    /// linear maps and token embeddings N(0, 0.02^2), positions N(0, 0.01^2), the residual
    /// projections (attention and MLP c_proj) N(0, (0.02 / sqrt(2 n_layer))^2), biases zero,
    /// LayerNorms the identity; with an embedding width e != d (arch.d_embed), the token table is
    /// (vocab, e) and the e -> d and d -> e projections N(0, 0.02^2). Throws config_error (from
    /// nas::validate) for an invalid architecture.
    explicit GptImpl(const nas::architecture& arch, const torch::TensorOptions& options = {});

    /// Logits (B, T, vocab) for token ids idx (B, T), T <= context, no cache.
    torch::Tensor forward(const torch::Tensor& idx);

    /// What the output table multiplies: (B, T, e) after ln_f (and the d -> e projection), so
    /// that forward(idx) == features(idx) wte^T (lm_head^T when untied). The trainer forms its
    /// loss from it without the logits (train_loss.hpp).
    torch::Tensor features(const torch::Tensor& idx);

    /// One cache per layer for `batch` sequences of up to `context` positions.
    std::vector<layer_cache> make_cache(std::int64_t batch, torch::TensorOptions options) const;

    /// Logits (B, T, vocab) for idx (B, T) at positions [pos, pos + T), reading and filling the
    /// cache (a prefill is pos = 0; a decode step is T = 1). last_only: logits of the last
    /// position only, (B, 1, vocab), as a server computes them.
    torch::Tensor forward_cached(const torch::Tensor& idx, std::vector<layer_cache>& cache, std::int64_t pos, bool last_only = false);

    /// The training's linear layers with their bias gradients, GELU and residual adds in cuBLASLt
    /// epilogues (train_speed::fused_dense): the same gradients, fewer kernels. Changes only the
    /// forwards autograd records outside autocast.
    void use_fused_dense(bool on);
    /// The training's LayerNorms by fracnas's own kernels where they run (train_speed::norm_kernel):
    /// the same outputs and gradients to rounding. Changes only forwards that autograd records.
    void use_norm_kernel(bool on);
    /// The training's SwiGLU products by fracnas's kernels where they run (train_speed::
    /// swiglu_kernel): the same outputs and gradients to rounding. Changes only bf16 forwards
    /// that autograd records on a GPU.
    void use_swiglu_kernel(bool on);
    /// A model in bf16 whose residual stream is fp32, as autocast keeps it (train_speed::
    /// residual_fp32): the embeddings' sum, each block's adds and the LayerNorms' inputs in fp32,
    /// each LayerNorm computed there and rounded to bf16 for the layer that reads it.
    void use_fp32_residual(bool on) noexcept { fp32_residual_ = on; }
    /// The training's residual adds in the LayerNorms that follow them (train_speed::norm_add;
    /// Norm::forward_add, BlockImpl::forward_pending): the attention's projection and the MLP
    /// write their outputs alone, and each LayerNorm adds the output to the stream in its pass.
    /// With a nonzero salt a bf16 stream is rounded stochastically (train_speed::residual_sr),
    /// each LayerNorm with its own salt. Changes only forwards that autograd records, and only
    /// sequential blocks: a parallel block has no norm between its two adds, and keeps its form.
    void use_norm_add(bool on, std::uint32_t salt = 0);

    /// The output table the features multiply: lm_head's weight when untied, else wte's (vocab, e).
    const torch::Tensor& output_table() const noexcept { return (lm_head ? lm_head : wte)->weight; }

    const nas::architecture& architecture() const noexcept { return arch_; }

    Table wte{nullptr}, wpe{nullptr};           // token (vocab, e) and position (context, d) embeddings (none with rotary)
    Table lm_head{nullptr};                     // an untied output table (vocab, e); null when tied
    Dense proj_in{nullptr}, proj_out{nullptr};  // e -> d and d -> e when e != d (d_embed), else null
    torch::nn::ModuleList h{nullptr};
    Norm ln_f{nullptr};

private:
    torch::Tensor run(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos, bool last_only);
    torch::Tensor trunk(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos, bool last_only);
    nas::architecture arch_;
    bool fp32_residual_ = false;
    bool norm_add_ = false;
};
TORCH_MODULE(Gpt);

}  // namespace fracnas::eval::torch_model
