// A residual projection in one cuBLASLt call: residual + x W^T + b, the bias through cuBLASLt's
// epilogue and the residual as its C matrix (beta 1). A pre-LayerNorm block ends both halves this
// way (attention and MLP c_proj), so a decode step saves two kernels per layer against a GEMM and
// a separate add. Below it, the one cuBLASLt GEMM with an epilogue that this and the training's
// fused layers (fused_train.hpp) run. Private to src/eval/torch/.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace fracnas::eval::torch_fused {

/// residual + x W^T + b, with x (..., in), W (out, in), b (out, or undefined: no bias), residual
/// (..., out) of x's leading shape. One cuBLASLt matmul when every tensor is a contiguous CUDA tensor of one dtype (fp32,
/// fp16 or bf16), autograd does not record the call, and cuBLASLt offers an algorithm for the
/// shape; otherwise at::linear then the add (the CPU, the grad-norm proxy, a process without
/// cuBLASLt). Returns a new tensor.
torch::Tensor linear_residual(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& residual);

/// cuBLASLt epilogues the GEMMs below use (the values of cublasLtEpilogue_t, checked where
/// cublasLt.h is included).
enum class epilogue : int { none = 1, bias = 4, gelu_aux_bias = 164, bgradb = 512 };

/// One cuBLASLt GEMM in column-major terms: D (m, n) = op(A) op(B) [+ C], op transposing when
/// asked, every matrix of one dtype with the leading dimensions given, C (optional, read with
/// beta 1) in D's layout. bias: the bias read (bias, gelu_aux_bias) or the bias gradient written
/// (bgradb: over B's k rows, n entries); aux: GELU's input, written by gelu_aux_bias, (m, n) with
/// leading dimension ld_aux (a multiple of 8). fp32_out: C, D and the bias in fp32 for bf16 or
/// fp16 A and B (the products summed in fp32 and added to an fp32 C without a rounding between).
/// alpha scales op(A) op(B) (D = alpha op(A) op(B) + C).
struct gemm {
    bool trans_a = false, trans_b = false;
    std::int64_t m = 0, n = 0, k = 0;
    const void* a = nullptr;
    std::int64_t lda = 0;
    const void* b = nullptr;
    std::int64_t ldb = 0;
    const void* c = nullptr;
    void* d = nullptr;
    std::int64_t ldd = 0;
    epilogue kind = epilogue::none;
    void* bias = nullptr;
    void* aux = nullptr;
    std::int64_t ld_aux = 0;
    bool fp32_out = false;
    float alpha = 1.0f;
};

/// The gemm of residual + x W^T + b for row-major x (rows, in), W (out, in), the residual and the
/// result (rows, out): column-major D (out, rows) = W^T (W stored (in, out), transposed) x^T + C,
/// the bias by the epilogue (a null bias: none, the plain GEMM with C).
gemm projection(const void* x, const void* weight, const void* bias, const void* residual, void* result, std::int64_t rows, std::int64_t in,
                std::int64_t out);

/// Runs g on the device's current stream with a plan (descriptors and algorithm) made once per
/// shape, layout, epilogue, dtype and pointer alignments. False, with nothing written, when the
/// process has no cuBLASLt, the dtype is not fp32, fp16 or bf16, or cuBLASLt offers no algorithm:
/// the caller then computes the same with LibTorch's operators. A failing call throws.
bool run(const gemm& g, at::ScalarType dtype, c10::DeviceIndex device);

/// How many linear_residual calls of this process took the one-call cuBLASLt path (tests).
std::uint64_t fused_calls() noexcept;

/// While one with `on` is open, run() makes each new plan by timing up to eight of cuBLASLt's
/// heuristic algorithms on the call's inputs (outputs to scratch) and keeping the fastest, the
/// heuristic's first unless another is 3% faster; plans made outside one, or while the stream is
/// captured, take the heuristic's first. Timed plans are kept apart from the others. The choice
/// can differ between processes where two algorithms are close (train_speed::gemm_tune).
/// How many plans of this process were made by timing their candidates (tests).
std::uint64_t timed_plans() noexcept;

class tuning_scope {
public:
    explicit tuning_scope(bool on);
    ~tuning_scope();
    tuning_scope(const tuning_scope&) = delete;
    tuning_scope& operator=(const tuning_scope&) = delete;

private:
    bool on_;
};

}  // namespace fracnas::eval::torch_fused
