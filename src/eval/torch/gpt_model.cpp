// The LibTorch GPT: attention with fused SDPA and an optional KV cache, MLP, blocks, model; every
// parameter created and drawn on the model's device in its dtype.
#include "gpt_model.hpp"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

#include "device_kernels.hpp"
#include "fracnas/error.hpp"
#include "fused_linear.hpp"
#include "fused_train.hpp"

namespace fracnas::eval::torch_model {

namespace F = torch::nn::functional;

namespace {

// (B, positions, C) slice `which` (0 keys, 1 values) of a (B, context, 2, C) cache, as (B, nh, positions, hs)
torch::Tensor heads(const torch::Tensor& kv, std::int64_t which, std::int64_t n_head, std::int64_t positions) {
    const auto B = kv.size(0), C = kv.size(3);
    return kv.narrow(1, 0, positions).select(2, which).view({B, positions, n_head, C / n_head}).transpose(1, 2);
}

// the training's fused layers take a forward that autograd records outside autocast (whose casts
// they would skip); they need a bias
bool fused_training(const DenseImpl& dense, const torch::Tensor& x) {
    return dense.fused_train && dense.bias.defined() && torch::GradMode::is_enabled() &&
           (x.requires_grad() || dense.weight.requires_grad()) && !at::autocast::is_autocast_enabled(x.device().type());
}

// Whether inference on t's device takes the one-kernel forms of the Llama block's parts (RMSNorm
// by LibTorch's fused kernel, SwiGLU's product and rotary positions with the cache's write by
// device_kernels.hpp's): bf16 on CUDA, no autograd recording, the kernels available, and not
// turned off by FRACNAS_INFERENCE_KERNELS=0 (a diagnostic: the operators' forms, as before them)
bool inference_kernels(const torch::Tensor& t) {
    static const bool on = [] {
        const char* v = std::getenv("FRACNAS_INFERENCE_KERNELS");
        return v == nullptr || std::strcmp(v, "0") != 0;
    }();
    return on && t.is_cuda() && t.scalar_type() == torch::kBFloat16 && !torch::GradMode::is_enabled() &&
           torch_kernels::available(t.device().index());
}

// t (B, heads, T, hs) at positions [pos, pos + T) with rotary positions (rotary_tables)
torch::Tensor rotate(const torch::Tensor& t, std::int64_t pos, rotary_tables& tables) {
    const auto hs = t.size(-1);
    const auto [cos, signed_sin] = tables.at(hs, pos, t.size(-2), t);
    return torch::addcmul(t * cos, t.roll(hs / 2, -1), signed_sin);
}

// Attention of queries q (B, nh, T, hs) over keys and values (B, kv heads, n, hs): query head h
// reads KV head h / (nh / kv heads), as Hugging Face's repeat_kv, without repeating them (SDPA's
// enable_gqa: the flash kernel reads each KV head once; the math kernel repeats them itself)
torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const std::optional<torch::Tensor>& mask = std::nullopt, bool causal = false) {
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal, std::nullopt, /*enable_gqa=*/q.size(1) != k.size(1));
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> rotary_tables::at(std::int64_t hs, std::int64_t pos, std::int64_t T, const torch::Tensor& like) {
    const auto device = like.device();
    const auto key =
        std::make_tuple(hs, static_cast<int>(like.scalar_type()), static_cast<int>(device.type()), static_cast<int>(device.index()));
    auto found = tables_.find(key);
    if (found == tables_.end()) {
        // ordinary tensors even when first asked for under InferenceMode: a training or the grad-norm
        // proxy may read them later, and autograd cannot save an inference tensor
        c10::InferenceMode ordinary(false);
        torch::NoGradGuard no_grad;
        const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
        const auto inv_freq = torch::pow(10000.0, -torch::arange(0, hs, 2, f32) / static_cast<double>(hs));  // (hs / 2)
        const auto freqs = torch::outer(torch::arange(0, context_, f32), inv_freq);                          // (context, hs / 2)
        const auto cos = torch::cat({freqs.cos(), freqs.cos()}, -1).to(like.scalar_type());
        const auto sin = freqs.sin();
        const auto signed_sin = torch::cat({-sin, sin}, -1).to(like.scalar_type());
        found = tables_.emplace(key, std::make_pair(cos, signed_sin)).first;
    }
    return {found->second.first.narrow(0, pos, T), found->second.second.narrow(0, pos, T)};
}

torch::Tensor layer_cache::keys(std::int64_t n_head, std::int64_t positions) const {
    return heads(kv, 0, n_head, positions);
}
torch::Tensor layer_cache::values(std::int64_t n_head, std::int64_t positions) const {
    return heads(kv, 1, n_head, positions);
}

DenseImpl::DenseImpl(std::int64_t in, std::int64_t out, double std, const torch::TensorOptions& options, bool with_bias) {
    torch::NoGradGuard no_grad;
    weight = register_parameter("weight", torch::empty({out, in}, options).normal_(0.0, std));
    if (with_bias) bias = register_parameter("bias", torch::zeros({out}, options));
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) {
    if (fused_training(*this, x)) return torch_fused::linear_train(x, weight, bias, {});
    return at::linear(x, weight, bias);
}

torch::Tensor DenseImpl::forward_gelu(const torch::Tensor& x) {
    // the fused op has no derivative: a forward that autograd records (the grad-norm proxy)
    // takes the two-step path
    const bool recorded =
        torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
    if (x.is_cuda() && !recorded) {
        const auto in = x.size(-1);
        const auto rows = x.numel() / in;
        if (!bias.defined() &&
            (!zero_bias_.defined() || zero_bias_.device() != weight.device() || zero_bias_.scalar_type() != weight.scalar_type())) {
            c10::InferenceMode ordinary(false);  // an ordinary tensor, whatever mode the first call runs in
            zero_bias_ = torch::zeros({weight.size(0)}, weight.options().requires_grad(false));
        }
        // cuBLASLt's GELU epilogue is the tanh approximation, GPT-2's gelu_new
        auto sizes = x.sizes().vec();
        sizes.back() = weight.size(0);
        return at::_addmm_activation(bias.defined() ? bias : zero_bias_, x.reshape({rows, in}), weight.t(), 1, 1, /*use_gelu=*/true)
            .view(sizes);
    }
    return F::gelu(forward(x), F::GELUFuncOptions().approximate("tanh"));
}

torch::Tensor DenseImpl::forward_add(const torch::Tensor& x, const torch::Tensor& residual) {
    if (fused_training(*this, x)) return torch_fused::linear_train(x, weight, bias, residual);
    if (residual.scalar_type() != x.scalar_type()) return torch_fused::residual_add(residual, forward(x));  // an fp32 stream
    return torch_fused::linear_residual(x, weight, bias, residual);  // without a bias too: one GEMM adding the residual
}

NormImpl::NormImpl(std::int64_t d, const torch::TensorOptions& options, nas::norm_kind kind_, bool with_bias) : kind(kind_) {
    weight = register_parameter("weight", torch::ones({d}, options));
    if (with_bias && kind == nas::norm_kind::layer_norm) bias = register_parameter("bias", torch::zeros({d}, options));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
    if (kind == nas::norm_kind::rms_norm) {
        // LibTorch's fused kernel, the weight's product rounded once: in inference (bf16), and in
        // training with norm_kernel (one kernel forward and one backward, at::_fused_rms_norm's
        // derivative; an fp32 stream in a bf16 model normalised in fp32, then rounded)
        if ((x.scalar_type() == weight.scalar_type() && inference_kernels(x)) ||
            (kernel_backward && x.is_cuda() && torch::GradMode::is_enabled()))
            return std::get<0>(at::_fused_rms_norm(x, {weight.size(0)}, weight.to(x.scalar_type()), 1e-5)).to(weight.scalar_type());
        const auto f = x.to(torch::kFloat32);
        const auto y = f * torch::rsqrt(f.pow(2).mean(-1, /*keepdim=*/true) + 1e-5);
        return weight * y.to(weight.scalar_type());
    }
    if (kernel_backward && bias.defined() && torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return torch_fused::layer_norm_train(x, weight, bias, bias_sums);
    if (x.scalar_type() != weight.scalar_type()) {
        const auto type = x.scalar_type();
        return at::layer_norm(x, {weight.size(0)}, weight.to(type), bias.defined() ? bias.to(type) : torch::Tensor(), 1e-5)
            .to(weight.scalar_type());
    }
    return at::layer_norm(x, {weight.size(0)}, weight, bias, 1e-5);
}

std::pair<torch::Tensor, torch::Tensor> NormImpl::forward_add(const torch::Tensor& x, const torch::Tensor& y) {
    if (kernel_backward && bias.defined() && torch::GradMode::is_enabled() &&
        (x.requires_grad() || y.requires_grad() || weight.requires_grad()))
        return torch_fused::layer_norm_add(x, y, weight, bias, salt, bias_sums);
    return forward_stream(x.scalar_type() == y.scalar_type() ? x + y : torch_fused::residual_add(x, y));
}

std::pair<torch::Tensor, torch::Tensor> NormImpl::forward_stream(const torch::Tensor& x) {
    if (kernel_backward && bias.defined() && torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return torch_fused::layer_norm_stream(x, weight, bias, bias_sums);
    return {forward(x), x};
}

TableImpl::TableImpl(std::int64_t rows, std::int64_t d, double std, const torch::TensorOptions& options) {
    torch::NoGradGuard no_grad;
    weight = register_parameter("weight", torch::empty({rows, d}, options).normal_(0.0, std));
}

AttentionImpl::AttentionImpl(std::int64_t d_model, std::int64_t n_head_, double proj_std, const torch::TensorOptions& options,
                             attention_options block)
    : n_head(n_head_), n_kv_head(block.n_kv_head > 0 ? block.n_kv_head : n_head_), rotary(block.rotary) {
    const std::int64_t k = n_kv_head * (d_model / n_head);
    c_attn = register_module("c_attn", Dense(d_model, d_model + 2 * k, 0.02, options, block.bias));
    c_proj = register_module("c_proj", Dense(d_model, d_model, proj_std, options, block.bias));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos, const torch::Tensor& residual) {
    const auto B = x.size(0), T = x.size(1), C = x.size(2), hs = C / n_head;
    const auto qkv_out = c_attn(x);  // (B, T, 3C)
    if (n_kv_head != n_head || rotary) return forward_options(x, qkv_out, cache, pos, residual);
    torch::Tensor q, k, v;  // (B, nh, T, hs) each
    if (cache == nullptr && fused_training(*c_attn, x)) {
        // the training's split: its backward packs the gradients and c_attn's bias gradient in one pass
        const auto heads = torch_fused::split_heads(qkv_out, n_head);
        q = heads[0], k = heads[1], v = heads[2];
    } else {
        auto qkv = qkv_out.split(C, /*dim=*/2);  // 3 x (B, T, C)
        q = qkv[0].view({B, T, n_head, hs}).transpose(1, 2);
        k = qkv[1].view({B, T, n_head, hs}).transpose(1, 2);
        v = qkv[2].view({B, T, n_head, hs}).transpose(1, 2);
    }
    torch::Tensor y;
    if (cache == nullptr) {
        y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);  // (B, nh, T, hs)
    } else {
        // one copy writes this block's keys and values: q|k|v's last 2C columns are k|v
        cache->kv.narrow(1, pos, T).view({B, T, 2 * C}).copy_(qkv_out.narrow(2, C, 2 * C));
        const auto keys = cache->keys(n_head, pos + T);      // (B, nh, pos+T, hs)
        const auto values = cache->values(n_head, pos + T);  // (B, nh, pos+T, hs)
        if (T == 1) {
            y = at::scaled_dot_product_attention(q, keys, values);  // one query sees every key
        } else if (pos == 0) {
            // a prefill: the block's own keys, causal form (no mask tensor, flash-eligible)
            y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);  // (B, nh, T, hs)
        } else {
            // query i (position pos + i) sees keys 0 .. pos + i
            const auto rows = torch::arange(T, torch::TensorOptions().device(x.device())).unsqueeze(1) + pos;
            const auto cols = torch::arange(pos + T, torch::TensorOptions().device(x.device())).unsqueeze(0);
            const auto allowed = cols.le(rows);  // (T, pos+T) bool
            y = at::scaled_dot_product_attention(q, keys, values, allowed);
        }
    }
    y = y.transpose(1, 2).reshape({B, T, C});  // (B, T, C)
    return residual.defined() ? c_proj->forward_add(y, residual) : c_proj(y);
}

torch::Tensor AttentionImpl::forward_options(const torch::Tensor& x, const torch::Tensor& qkv_out, layer_cache* cache, std::int64_t pos,
                                             const torch::Tensor& residual) {
    const auto B = x.size(0), T = x.size(1), C = x.size(2), hs = C / n_head, kw = n_kv_head * hs;
    const auto parts = qkv_out.split_with_sizes({C, kw, kw}, 2);  // q (B, T, C), k and v (B, T, kw)
    auto q = parts[0].view({B, T, n_head, hs}).transpose(1, 2);
    auto k = parts[1].view({B, T, n_kv_head, hs}).transpose(1, 2);  // (B, kv heads, T, hs)
    auto v = parts[2].view({B, T, n_kv_head, hs}).transpose(1, 2);
    const bool kernel = rotary && cache != nullptr && qkv_out.is_contiguous() && inference_kernels(qkv_out);
    if (kernel) {
        // one kernel: q rotated, k rotated and v copied into the cache; attention reads the cache
        const auto [cos, signed_sin] = rotary->at(hs, pos, T, qkv_out);
        auto q_rot = torch::empty({B, T, C}, qkv_out.options());
        torch_kernels::rotary_cache(qkv_out, cos, signed_sin, n_head, n_kv_head, q_rot, cache->kv, pos);
        q = q_rot.view({B, T, n_head, hs}).transpose(1, 2);
    } else if (rotary) {
        q = rotate(q, pos, *rotary);
        k = rotate(k, pos, *rotary);
    }
    torch::Tensor y;
    if (cache == nullptr) {
        y = grouped_attention(q, k, v, std::nullopt, /*causal=*/true);
    } else {
        if (!kernel) {
            auto slot = cache->kv.narrow(1, pos, T);  // (B, T, 2, kw)
            if (rotary) {
                slot.select(2, 0).copy_(k.transpose(1, 2).reshape({B, T, kw}));
                slot.select(2, 1).copy_(parts[2]);
            } else {
                slot.view({B, T, 2 * kw}).copy_(qkv_out.narrow(2, C, 2 * kw));  // k|v as c_attn wrote them
            }
        }
        const auto keys = cache->keys(n_kv_head, pos + T);  // (B, kv heads, pos+T, hs)
        const auto values = cache->values(n_kv_head, pos + T);
        if (T == 1) {
            y = grouped_attention(q, keys, values);
        } else if (pos == 0) {
            // this step's keys and values alone, causal (with the kernel: as the cache holds them)
            y = kernel ? grouped_attention(q, keys, values, std::nullopt, /*causal=*/true)
                       : grouped_attention(q, k, v, std::nullopt, /*causal=*/true);
        } else {
            const auto rows = torch::arange(T, torch::TensorOptions().device(x.device())).unsqueeze(1) + pos;
            const auto cols = torch::arange(pos + T, torch::TensorOptions().device(x.device())).unsqueeze(0);
            y = grouped_attention(q, keys, values, cols.le(rows));
        }
    }
    y = y.transpose(1, 2).reshape({B, T, C});
    return residual.defined() ? c_proj->forward_add(y, residual) : c_proj(y);
}

MlpImpl::MlpImpl(std::int64_t d_model, std::int64_t d_inner, double proj_std, const torch::TensorOptions& options, nas::mlp_kind kind_,
                 bool bias)
    : kind(kind_) {
    const std::int64_t rows = kind == nas::mlp_kind::swiglu ? 2 * d_inner : d_inner;
    c_fc = register_module("c_fc", Dense(d_model, rows, 0.02, options, bias));
    c_proj = register_module("c_proj", Dense(d_inner, d_model, proj_std, options, bias));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
    if (kind == nas::mlp_kind::swiglu) {
        const auto both = c_fc(x);
        torch::Tensor h;
        if (both.is_contiguous() && inference_kernels(both)) {
            h = torch_kernels::swiglu(both);
        } else if (kernel_backward && both.is_cuda() && both.scalar_type() == torch::kBFloat16 && both.is_contiguous() &&
                   torch::GradMode::is_enabled() && both.requires_grad() && torch_kernels::available(both.device().index())) {
            h = torch_fused::swiglu_train(both);
        } else {
            const auto gate_up = both.chunk(2, -1);
            h = torch::silu(gate_up[0]) * gate_up[1];
        }
        return residual.defined() ? c_proj->forward_add(h, residual) : c_proj(h);
    }
    if (fused_training(*c_fc, x)) return torch_fused::mlp_train(x, c_fc->weight, c_fc->bias, c_proj->weight, c_proj->bias, residual);
    const auto h = c_fc->forward_gelu(x);
    return residual.defined() ? c_proj->forward_add(h, residual) : c_proj(h);
}

BlockImpl::BlockImpl(const nas::architecture& arch, std::uint32_t l, double proj_std, const torch::TensorOptions& options,
                     std::shared_ptr<rotary_tables> rotary) {
    const std::int64_t d = arch.d_model;
    ln_1 = register_module("ln_1", Norm(d, options, arch.norm, arch.bias));
    attention_options block;
    block.n_kv_head = nas::kv_heads(arch, l);
    if (arch.positions == nas::position_kind::rotary)
        block.rotary = rotary ? std::move(rotary) : std::make_shared<rotary_tables>(static_cast<std::int64_t>(arch.context));
    block.bias = arch.bias;
    attn = register_module("attn", Attention(d, arch.n_head[l], proj_std, options, block));
    if (arch.block == nas::block_kind::sequential) ln_2 = register_module("ln_2", Norm(d, options, arch.norm, arch.bias));
    mlp = register_module("mlp", Mlp(d, arch.d_inner[l], proj_std, options, arch.mlp, arch.bias));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, layer_cache* cache, std::int64_t pos) {
    // pre-LayerNorm residual blocks: y = x + attn(ln_1(x)), then y + mlp(ln_2(y)); the stream read
    // through each LayerNorm (Norm::forward_stream) so that its two gradients meet there
    const auto [h1, x1] = ln_1->forward_stream(x);
    const auto y = attn(h1, cache, pos, x1);
    if (!ln_2) return mlp(h1, y);  // parallel: x + attn(ln_1(x)) + mlp(ln_1(x))
    const auto [h2, y1] = ln_2->forward_stream(y);
    return mlp(h2, y1);
}

std::pair<torch::Tensor, torch::Tensor> BlockImpl::forward_pending(const torch::Tensor& x, const torch::Tensor& pending) {
    TORCH_CHECK(ln_2, "the adds-in-the-norms form is for sequential blocks (GptImpl::use_norm_add)");
    const auto [h1, x1] = pending.defined() ? ln_1->forward_add(x, pending) : ln_1->forward_stream(x);
    const auto a = attn->forward(h1, nullptr, 0, torch::Tensor());  // the attention's output alone
    const auto [h2, y1] = ln_2->forward_add(x1, a);
    return {y1, mlp->forward(h2, torch::Tensor())};
}

GptImpl::GptImpl(const nas::architecture& arch, const torch::TensorOptions& options) : arch_(arch) {
    nas::validate(arch_);
    const std::int64_t d = arch_.d_model;
    const double proj_std = 0.02 / std::sqrt(2.0 * arch_.n_layer);  // GPT-2's scaled residual projections
    const std::int64_t e = nas::embed_width(arch_);
    wte = register_module("wte", Table(arch_.vocab, e, 0.02, options));
    if (arch_.positions == nas::position_kind::learned) wpe = register_module("wpe", Table(arch_.context, d, 0.01, options));
    if (e != d) {
        // variance-preserving projections: at initialisation the residual stream gets token
        // vectors of the table's scale (0.02) and the tied table gets ln_f's unit scale, as in
        // the e = d model. With std 0.02 here (an earlier choice) the token signal entered
        // 0.02 * sqrt(e) times smaller, below the position table's, and the e < d models trained
        // far slower (docs/results/training.md)
        proj_in = register_module("proj_in", Dense(e, d, 1.0 / std::sqrt(static_cast<double>(e)), options, arch_.bias));
        proj_out = register_module("proj_out", Dense(d, e, 1.0 / std::sqrt(static_cast<double>(d)), options, arch_.bias));
    }
    h = register_module("h", torch::nn::ModuleList());
    // one set of rotary tables for every layer
    const auto rotary =
        arch_.positions == nas::position_kind::rotary ? std::make_shared<rotary_tables>(static_cast<std::int64_t>(arch_.context)) : nullptr;
    for (std::uint32_t l = 0; l < arch_.n_layer; ++l) h->push_back(Block(arch_, l, proj_std, options, rotary));
    ln_f = register_module("ln_f", Norm(d, options, arch_.norm, arch_.bias));
    if (!arch_.tied) lm_head = register_module("lm_head", Table(arch_.vocab, e, 0.02, options));
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx) {
    return run(idx, nullptr, 0, false);
}

void GptImpl::use_fused_dense(bool on) {
    for (const auto& m : modules())
        if (auto dense = std::dynamic_pointer_cast<DenseImpl>(m))
            dense->fused_train = on;
        else if (auto norm = std::dynamic_pointer_cast<NormImpl>(m))
            norm->bias_sums = on;  // the fused layers take the bias sums the LayerNorms' backward forms
}

void GptImpl::use_norm_add(bool on, std::uint32_t salt) {
    on = on && arch_.block == nas::block_kind::sequential;
    norm_add_ = on;
    std::uint32_t k = 0;
    for (const auto& m : modules())
        if (auto norm = std::dynamic_pointer_cast<NormImpl>(m)) norm->salt = on && salt != 0 ? (salt + 0x9e3779b9u * ++k) | 1u : 0u;
}

void GptImpl::use_norm_kernel(bool on) {
    for (const auto& m : modules())
        if (auto norm = std::dynamic_pointer_cast<NormImpl>(m)) norm->kernel_backward = on;
}

void GptImpl::use_swiglu_kernel(bool on) {
    for (const auto& m : modules())
        if (auto mlp = std::dynamic_pointer_cast<MlpImpl>(m)) mlp->kernel_backward = on;
}

torch::Tensor GptImpl::features(const torch::Tensor& idx) {
    return trunk(idx, nullptr, 0, false);
}

std::vector<layer_cache> GptImpl::make_cache(std::int64_t batch, torch::TensorOptions options) const {
    std::vector<layer_cache> cache;
    for (std::uint32_t l = 0; l < arch_.n_layer; ++l) {
        const std::int64_t k = static_cast<std::int64_t>(nas::kv_heads(arch_, l)) * (arch_.d_model / arch_.n_head[l]);
        cache.push_back({torch::zeros({batch, static_cast<std::int64_t>(arch_.context), 2, k}, options)});  // (B, context, 2, k)
    }
    return cache;
}

torch::Tensor GptImpl::forward_cached(const torch::Tensor& idx, std::vector<layer_cache>& cache, std::int64_t pos, bool last_only) {
    return run(idx, &cache, pos, last_only);
}

torch::Tensor GptImpl::run(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos, bool last_only) {
    return torch::matmul(trunk(idx, cache, pos, last_only), output_table().t());  // (B, T, vocab)
}

torch::Tensor GptImpl::trunk(const torch::Tensor& idx, std::vector<layer_cache>* cache, std::int64_t pos, bool last_only) {
    const auto T = idx.size(1);
    TORCH_CHECK(pos >= 0 && pos + T <= static_cast<std::int64_t>(arch_.context), "positions ", pos, "..", pos + T,
                " exceed the context of ", arch_.context);
    auto x = at::embedding(wte->weight, idx);  // (B, T, e)
    if (proj_in) x = proj_in(x);               // (B, T, d)
    if (fp32_residual_) x = x.to(torch::kFloat32);
    if (wpe) x = x + wpe->weight.narrow(0, pos, T);  // positions are a slice (rotary: in the attention)
    if (norm_add_ && cache == nullptr && !last_only && torch::GradMode::is_enabled()) {
        // the training's form: each block's output added to the stream by the LayerNorm after it
        torch::Tensor pending;
        for (std::size_t l = 0; l < h->size(); ++l) std::tie(x, pending) = h[l]->as<Block>()->forward_pending(x, pending);
        x = pending.defined() ? ln_f->forward_add(x, pending).first : ln_f(x);
    } else {
        for (std::size_t l = 0; l < h->size(); ++l) x = h[l]->as<Block>()->forward(x, cache ? &(*cache)[l] : nullptr, pos);
        if (last_only) x = x.narrow(1, T - 1, 1);  // (B, 1, d)
        x = ln_f(x);
    }
    if (proj_out) x = proj_out(x);  // (B, T, e)
    return x;
}

}  // namespace fracnas::eval::torch_model
