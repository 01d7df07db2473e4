// The training's linear layers with their element-wise work inside cuBLASLt's epilogues
// (train_speed::fused_dense): the bias gradient formed by the weight gradient's GEMM (BGRADB), or
// taken as a kernel summed it beside the output's gradient (the LayerNorm backward, the q/k/v
// packing of split_heads), the MLP's GELU by its first GEMM (GELU_AUX_BIAS, keeping GELU's input for LibTorch's GELU
// backward: cuBLASLt's DGELU epilogue was slower on the H200), the residual added as the
// projection's C. Recorded by autograd as one node each, with the gradients of the
// unfused layers. Where a GEMM has no cuBLASLt path (the CPU, mixed dtypes, no algorithm) the
// same node computes the same with LibTorch's operators, so the CPU tests check its gradients.
// Private to src/eval/torch/.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <utility>

namespace fracnas::eval::torch_fused {

/// x W^T + b (+ residual when defined), x (..., in), W (out, in), b (out), residual (..., out).
/// A residual of another dtype than x's (an fp32 stream in a bf16 model) is added in its own
/// dtype (residual_add), and its gradient stays in it.
torch::Tensor linear_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& residual);

/// residual + gelu_tanh(x W1^T + b1) W2^T + b2: GPT-2's MLP, x (..., d), W1 (f, d), W2 (d, f);
/// the residual may be an fp32 stream for bf16 layers, as in linear_train, or undefined (the MLP's
/// output alone).
torch::Tensor mlp_train(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                        const torch::Tensor& b2, const torch::Tensor& residual);

/// LayerNorm over the last dimension, eps 1e-5, x (..., d), weight and bias (d): forward and
/// backward by device_kernels.hpp's kernels for bf16 weights and a bf16 or fp32 x on a GPU that
/// has them (train_speed::norm_kernel), else by LibTorch's (at::native_layer_norm and its
/// backward, in x's dtype). The output is in the weights' dtype, x's gradient in x's.
/// With bias_sums, the kernels' backward also sums the columns of x's gradient rounded to bf16 and
/// hands them, with the gradient, to the node of this file that receives it (the linear layer
/// whose output x was takes them as its bias gradient); for models whose linear layers are these
/// nodes (fused_dense).
torch::Tensor layer_norm_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool bias_sums = false);

/// (layer_norm_train(x, weight, bias), x) for a pre-LayerNorm block's residual stream x: the
/// block reads the stream through the second output, whose gradient the node adds to LayerNorm's
/// input gradient in its own backward (the same pass of the kernels where they run) instead of
/// autograd adding the two afterwards. The same values and gradients as layer_norm_train on x
/// and x itself.
std::pair<torch::Tensor, torch::Tensor> layer_norm_stream(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                                          bool bias_sums = false);

/// (layer_norm_train(s, weight, bias), s) for s = x + y, a residual stream x (bf16 or fp32) and a
/// layer's bf16 output y of the same shape: the stream's add in LayerNorm's forward pass
/// (device_kernels.hpp's layer_norm_add_forward for bf16 weights on a GPU with the kernels, d a
/// multiple of 8 up to 1,024; else the add, then layer_norm_train's steps), so that the layer's
/// GEMM writes its output without reading the stream. s is rounded to x's dtype: to nearest, or
/// for a bf16 stream and a nonzero salt stochastically (train_speed::residual_sr), in the
/// backward's input gradient too. The backward adds s's gradient (the stream's) to LayerNorm's,
/// as layer_norm_stream does; y's gradient is x's rounded to y's dtype.
std::pair<torch::Tensor, torch::Tensor> layer_norm_add(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& weight,
                                                       const torch::Tensor& bias, std::uint32_t salt = 0, bool bias_sums = false);

/// x + y for a residual stream x and a layer's output y of the same shape (an fp32 stream in a
/// bf16 model: train_speed::residual_fp32): one kernel's pass for fp32 x and bf16 y on a GPU
/// with device_kernels.hpp's kernels, else LibTorch's add; the result in x's dtype, y's gradient
/// the stream's rounded to y's dtype.
torch::Tensor residual_add(const torch::Tensor& x, const torch::Tensor& y);

/// (q, k, v), each (B, nh, T, hs), from qkv (B, T, 3 C), C = nh hs, whose last dimension holds
/// q's columns, then k's, then v's, head after head: views of qkv (attention's split). The
/// backward forms qkv's gradient and, for the projection that made qkv (linear_train), its bias
/// gradient in one pass of device_kernels.hpp's kernel for bf16 gradients on a GPU that has
/// them, else by concatenating (the same values).
std::array<torch::Tensor, 3> split_heads(const torch::Tensor& qkv, std::int64_t n_head);

/// SwiGLU's product silu(gate) up (rows, f) for gate_up (..., 2 f), gate the first f columns and
/// up the last f, forward and backward each one pass of device_kernels.hpp's kernels
/// (train_speed::swiglu_kernel): gate_up contiguous bf16 on a GPU whose kernels are available.
torch::Tensor swiglu_train(const torch::Tensor& gate_up);

/// How many GEMMs of this process's linear_train and mlp_train calls (forward and backward)
/// took a cuBLASLt epilogue path (tests).
std::uint64_t epilogue_gemms() noexcept;

/// How many times a node of this file took an fp32 stream's gradient in bf16 as the LayerNorm
/// backward that computed it wrote it (the kernels' path), instead of casting it (tests).
std::uint64_t stream_roundings_reused() noexcept;

/// How many times a linear node of this file took its bias gradient as the column sums a kernel
/// wrote beside its output's gradient (split_heads' backward), instead of summing (tests).
std::uint64_t bias_sums_reused() noexcept;

}  // namespace fracnas::eval::torch_fused
