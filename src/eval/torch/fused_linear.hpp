// A residual projection in one cuBLASLt call: residual + x W^T + b, the bias through cuBLASLt's
// epilogue and the residual as its C matrix (beta 1). A pre-LayerNorm block ends both halves this
// way (attention and MLP c_proj), so a decode step saves two kernels per layer against a GEMM and
// a separate add. Private to src/eval/torch/.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace fracnas::eval::torch_fused {

/// residual + x W^T + b, with x (..., in), W (out, in), b (out), residual (..., out) of x's leading
/// shape. One cuBLASLt matmul when every tensor is a contiguous CUDA tensor of one dtype (fp32,
/// fp16 or bf16), autograd does not record the call, and cuBLASLt offers an algorithm for the
/// shape; otherwise at::linear then the add (the CPU, the grad-norm proxy, a process without
/// cuBLASLt). Returns a new tensor.
torch::Tensor linear_residual(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& residual);

/// How many linear_residual calls of this process took the one-call cuBLASLt path (tests).
std::uint64_t fused_calls() noexcept;

}  // namespace fracnas::eval::torch_fused
