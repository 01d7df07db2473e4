// The training loss of the tied output table without its logits: mean next-token cross-entropy
// of h W^T, computed a chunk of rows at a time, whose gradient is computed in the same pass.
// Private to src/eval/torch/ (the trainer and its tests). It does not know the model.
#pragma once

#include <torch/torch.h>

namespace fracnas::eval::torch_train {

/// Mean over the N rows of the cross-entropy of logits h W^T against targets y, as
/// cross_entropy(h.matmul(w.t()).float(), y) computes it, without holding more than
/// `chunk_rows` x V logits at once: each chunk's logits are formed in `compute` (bf16 on CUDA
/// under autocast, else h's dtype), their log-softmax in fp32, and, when h or w needs a gradient,
/// the gradients of h and w are accumulated there and then (the w gradient in fp32), so the
/// backward is two scalings. h (N, e) and w (V, e) any float dtype, y (N) int64 ids below V.
/// With `kernel`, a bf16 `compute` on CUDA and device_kernels.hpp's kernels available, each
/// chunk's log-softmax, loss and logits gradient are one kernel's pass over the bf16 logits (no
/// fp32 copy of them); otherwise, or with `kernel` false, LibTorch's operators. Returns a 0-d
/// fp32 tensor on h's device.
torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& y, std::int64_t chunk_rows,
                                   at::ScalarType compute, bool kernel = false);

/// The rows per chunk for N rows and a vocabulary of V: about 2^27 logits (512 MiB in fp32) a
/// chunk, at least one row, at most N.
std::int64_t loss_chunk_rows(std::int64_t rows, std::int64_t vocab);

}  // namespace fracnas::eval::torch_train
