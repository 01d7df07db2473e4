// CUDA kernels of fracnas's own, compiled at run time by NVRTC for the device they run on and
// launched through the driver API on LibTorch's current stream: no CUDA compiler at build time,
// and a process without NVRTC or a GPU runs LibTorch's operators instead (available() says so).
// Today: the loss's softmax, cross-entropy and logits gradient in one pass over bf16 logits,
// LayerNorm's forward (with the residual stream's add, optionally rounded stochastically) and
// backward in bf16 or on an fp32 stream, GELU's backward with its bias gradient, the packing of
// attention's q/k/v gradients with their bias gradient, AdamW's step for bf16 weights with
// fp32 masters, SwiGLU's gradient; for inference, SwiGLU's product and the rotary positions with
// the KV cache's write.
// Private to src/eval/torch/; it knows tensors, not the model.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fracnas::eval::torch_kernels {

/// Whether the kernels can run on CUDA device `device`: NVRTC and the CUDA driver found, the
/// source compiled for the device's architecture and loaded (done once per process and device,
/// outside any CUDA graph capture: call it before capturing). When false, `why` (if given) says
/// what was missing or what the compiler said.
bool available(c10::DeviceIndex device, std::string* why = nullptr);

/// Compiles the kernels' source for the architecture `arch` ("sm_90", "compute_80", ...)
/// without a GPU and returns the size in bytes of the cubin or PTX; 0 with the compiler's log
/// in `log` when NVRTC is missing or the compile fails (the CPU tests' check of the source).
std::size_t compile_for(const std::string& arch, std::string* log);

/// One pass over each row r of `logits` (n, V), a contiguous bf16 CUDA tensor: loss[r] =
/// logsumexp(logits[r]) - logits[r][y[r]] into `loss` (n, fp32, contiguous, on the same
/// device) and, when `grad`, logits[r] := softmax(logits[r]) - onehot(y[r]) in place, each value
/// computed in fp32 and rounded once to bf16. y (n) int64 on the device; an id outside [0, V)
/// gives a NaN loss for its row. A row of at most 32,768 values (a multiple of 8) is held in
/// registers and read once; a longer one is read twice. Runs on the current stream; requires
/// available().
void softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& loss, bool grad);

/// LayerNorm over the last dimension for x (rows, d) in bf16 or fp32 (an fp32 residual stream):
/// y = (x - mean) rstd gamma + beta into y (rows, d) in bf16, with each row's mean and rstd = 1 /
/// sqrt(var + eps) into mean and rstd (rows, fp32; what layer_norm_backward takes), the
/// statistics in fp32 by two passes; gamma, beta bf16. Every tensor contiguous on x's CUDA
/// device. Runs on the current stream; requires available().
void layer_norm_forward(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps, const torch::Tensor& y,
                        const torch::Tensor& mean, const torch::Tensor& rstd);

/// LayerNorm's backward over the last dimension for x (rows, d) in bf16 or fp32, from the
/// forward's mean and rstd (rows, fp32; at::native_layer_norm's) and dy (rows, d) in bf16: dx
/// (rows, d, x's dtype), dgamma and dbeta (d, bf16) written, every sum in fp32 in a fixed order
/// (the same bits on every run), each output rounded once to its dtype. Where dres (rows, d, x's
/// dtype) is given, dx is LayerNorm's input gradient plus dres, added before the one rounding (a
/// residual stream's gradient that reaches x by another path). For d a multiple of 8 up to 1,024
/// and 16-byte-aligned tensors, one pass over dy and x gives dx and the weight gradients' sums.
/// Where dx_lo (rows, d, bf16) is given, dx's rounding to bf16 is written there as well (for an
/// fp32 x: the stream's gradient as the bf16 layers before it take it, without a cast kernel).
/// Where dx_sums (d, bf16) is given, the one-pass path also writes the column sums of dx's bf16
/// rounding there (summed in fp32 in a fixed order, rounded once): the bias gradient of the
/// linear layer whose output's gradient dx is; returns whether it did (false: the two-pass path
/// ran, dx_sums untouched). Every tensor contiguous on x's CUDA device. Runs on the current
/// stream; requires available().
/// With a nonzero salt, a bf16 dx is rounded stochastically (as layer_norm_add_forward rounds),
/// with the same draws on either path.
bool layer_norm_backward(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& rstd,
                         const torch::Tensor& gamma, const torch::Tensor& dx, const torch::Tensor& dgamma, const torch::Tensor& dbeta,
                         const torch::Tensor& dres = {}, const torch::Tensor& dx_lo = {}, const torch::Tensor& dx_sums = {},
                         std::uint32_t salt = 0);

/// A residual stream's add and the LayerNorm of the sum in one pass: s = x + yin (x and s the
/// stream, bf16 or fp32; yin a layer's bf16 output) rounded to the stream's dtype, and
/// layer_norm_forward of s into y, mean and rstd, each row read once. A bf16 stream is rounded to
/// nearest even, or, with a nonzero salt, stochastically (up with the probability of the sum's
/// distance from the bf16 value below, in units of the step: unbiased, so the stream keeps
/// updates smaller than its step on average), the random bits a hash of the sum's bits, its index
/// and the salt (the same bits every run, and under graph replay, and the same for a row of any
/// width and alignment). For d a multiple of 8 up to 1,024 and 16-byte-aligned tensors the row is
/// held in registers and read once, else read three times (the last two from L1/L2). Every tensor
/// contiguous on x's CUDA device, s another tensor than x. Runs on the current stream; requires
/// available().
void layer_norm_add_forward(const torch::Tensor& x, const torch::Tensor& yin, const torch::Tensor& gamma, const torch::Tensor& beta,
                            double eps, const torch::Tensor& s, const torch::Tensor& y, const torch::Tensor& mean,
                            const torch::Tensor& rstd, std::uint32_t salt = 0);

/// GELU's backward (tanh form, in fp32, without the cancellation of LibTorch's formula where
/// gelu' is near 0 for pre << 0) with the bias gradient of the layer before it, for bf16 (rows,
/// f): dpre := dh * gelu'(pre), each value within one bf16 step of the exact one and nearly
/// always its rounding (tests/eval/torch/gpu.tests.cpp), rounded once to bf16 (dpre
/// may be dh itself), and db (f, bf16) := the column sums of the rounded dpre, summed in fp32 in a
/// fixed order and rounded once. Every tensor contiguous bf16 on one CUDA device. Runs on the
/// current stream; requires available().
void gelu_backward_bias(const torch::Tensor& dh, const torch::Tensor& pre, const torch::Tensor& dpre, const torch::Tensor& db);

/// Attention's gradients dq, dk, dv (B, nh, T, hs, bf16, each with its own strides) side by side
/// in out (B T, 3 nh hs, bf16, contiguous): row b T + t holds dq[b, :, t, :], then dk's, then
/// dv's, heads in order (the gradient of the projection whose output was split into q, k and v),
/// and db (3 nh hs, bf16) := out's column sums, summed in fp32 in a fixed order and rounded once,
/// from the same pass. False, with nothing written, where the layout does not allow the kernel's
/// 16-byte accesses (hs or a stride not a multiple of 8, hs's stride not 1, a pointer not
/// 16-byte aligned): the caller concatenates instead. Every tensor on one CUDA device. Runs on
/// the current stream; requires available().
bool qkv_pack(const torch::Tensor& dq, const torch::Tensor& dk, const torch::Tensor& dv, const torch::Tensor& out, const torch::Tensor& db);

/// SwiGLU's product for inference: out (rows, f) := silu(gate) * up for gate_up (rows, 2 f), gate
/// the first f columns of each row and up the last f (the MLP's first projection of the Llama
/// block), silu's output rounded to bf16 before the product is taken and rounded, as LibTorch's
/// silu and mul do. Both contiguous bf16 on one CUDA device. Runs on the current stream; requires
/// available().
void swiglu(const torch::Tensor& gate_up, const torch::Tensor& out);
/// The same into a new tensor (..., f) for gate_up (..., 2 f).
torch::Tensor swiglu(const torch::Tensor& gate_up);

/// SwiGLU's gradient for training: dgate_up (rows, 2 f) from gate_up (rows, 2 f) and the
/// product's gradient dout (rows, f), as LibTorch's mul and silu backward form it (the up half
/// dout times silu(gate) rounded to bf16; the gate half dout up rounded to bf16, times silu's
/// derivative, rounded once). Every tensor contiguous bf16 on one CUDA device. Runs on the
/// current stream; requires available().
void swiglu_backward(const torch::Tensor& gate_up, const torch::Tensor& dout, const torch::Tensor& dgate_up);

/// Rotary positions and the KV cache's write for inference in one pass, for the attention's
/// projection output qkv (B, T, C + 2 kw), C = n_head hs, kw = n_kv_head hs: q rotated into q_out
/// (B, T, C), k rotated into cache[:, pos:pos + T, 0] and v copied into cache[:, pos:pos + T, 1]
/// (cache (B, context, 2, kw)), the tables cos and signed_sin (T, hs) those of positions pos ..
/// pos + T - 1 (gpt_model.hpp's rotary_tables). Each value as gpt_model.cpp's rotate() computes
/// it: t cos rounded to bf16, plus the half-rolled t times signed_sin, rounded once. Every tensor
/// contiguous bf16 on one CUDA device, hs even. Runs on the current stream; requires available().
void rotary_cache(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& signed_sin, std::int64_t n_head,
                  std::int64_t n_kv_head, const torch::Tensor& q_out, const torch::Tensor& cache, std::int64_t pos);

/// out = x + y for x and out (n values, fp32) and y (n values, bf16): an fp32 residual stream
/// and a bf16 layer's output, in one pass. Every tensor contiguous on x's CUDA device, out
/// another tensor than x. Runs on the current stream; requires available().
void residual_add(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& out);

/// One AdamW step (torch.optim.AdamW's rule in fp32, as at::_fused_adamw_ applies it) for a
/// model that holds bf16 roundings of fp32 masters, every element read and written once: for each
/// tensor i the gradient grads[i] (bf16) times the clip's factor min(1, max_norm / (norm + 1e-6)),
/// norm the 2-norm of all the gradients given (summed in a fixed order; no clip when max_norm <= 0),
/// steps masters[i], exp_avg[i], exp_avg_sq[i] (fp32) with the step count steps[i] (one fp32 value,
/// already counting this step), the rate lr (one fp32 value on the device, read there: a graph
/// replays it) and weight_decay[i]; weights[i] (bf16) := the master's rounding to nearest even.
/// The lists are of one length, each i-th tensor contiguous and of one size, all on one CUDA
/// device. Runs on the current stream; requires available().
void adamw_bf16(const std::vector<torch::Tensor>& grads, const std::vector<torch::Tensor>& masters,
                const std::vector<torch::Tensor>& exp_avg, const std::vector<torch::Tensor>& exp_avg_sq,
                const std::vector<torch::Tensor>& weights, const std::vector<torch::Tensor>& steps, const std::vector<double>& weight_decay,
                const torch::Tensor& lr, double beta1, double beta2, double eps, double max_norm);

}  // namespace fracnas::eval::torch_kernels
