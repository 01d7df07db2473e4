// CUDA kernels of fracnas's own, compiled at run time by NVRTC for the device they run on and
// launched through the driver API on LibTorch's current stream: no CUDA compiler at build time,
// and a process without NVRTC or a GPU runs LibTorch's operators instead (available() says so).
// Today: the loss's softmax, cross-entropy and logits gradient in one pass over bf16 logits, and
// LayerNorm's forward and backward in bf16. Private to src/eval/torch/; it knows tensors, not the model.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <string>

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
/// gives a NaN loss for its row. Runs on the current stream; requires available().
void softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& loss, bool grad);

/// LayerNorm over the last dimension for x (rows, d) in bf16: y = (x - mean) rstd gamma + beta
/// into y (rows, d), with each row's mean and rstd = 1 / sqrt(var + eps) into mean and rstd (rows,
/// fp32; what layer_norm_backward takes), the statistics in fp32 by two passes. Every tensor
/// contiguous on x's CUDA device. Runs on the current stream; requires available().
void layer_norm_forward(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps, const torch::Tensor& y,
                        const torch::Tensor& mean, const torch::Tensor& rstd);

/// LayerNorm's backward over the last dimension for x (rows, d) in bf16, from the forward's mean
/// and rstd (rows, fp32; at::native_layer_norm's): dx (rows, d), dgamma and dbeta (d) written,
/// every sum in fp32 in a fixed order (the same bits on every run), each output rounded once to
/// bf16. Every tensor contiguous on x's CUDA device. Runs on the current stream; requires available().
void layer_norm_backward(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& rstd,
                         const torch::Tensor& gamma, const torch::Tensor& dx, const torch::Tensor& dgamma, const torch::Tensor& dbeta);

}  // namespace fracnas::eval::torch_kernels
