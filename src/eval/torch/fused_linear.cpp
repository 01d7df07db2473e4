// residual + x W^T + b as one cuBLASLt matmul (D = x W^T + C + bias, C the residual), with the
// descriptors and the algorithm chosen once per shape, dtype and pointer alignment. cuBLASLt's
// functions are looked up in the process (dlsym), not linked: they are those of the cuBLASLt that
// LibTorch loaded, whichever CUDA installation it came from; without them the unfused path runs.
#include "fused_linear.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>

#include <cublasLt.h>
#include <dlfcn.h>

#include <atomic>
#include <map>
#include <mutex>
#include <tuple>

namespace fracnas::eval::torch_fused {

namespace {

std::atomic<std::uint64_t> fused_count{0};

// the cuBLASLt entry points this file uses, from the library LibTorch loaded
struct lt_api {
#define FRACNAS_LT(name) decltype(&::name) name = nullptr;
    FRACNAS_LT(cublasLtMatmulDescCreate)
    FRACNAS_LT(cublasLtMatmulDescDestroy)
    FRACNAS_LT(cublasLtMatmulDescSetAttribute)
    FRACNAS_LT(cublasLtMatrixLayoutCreate)
    FRACNAS_LT(cublasLtMatrixLayoutDestroy)
    FRACNAS_LT(cublasLtMatmulPreferenceCreate)
    FRACNAS_LT(cublasLtMatmulPreferenceDestroy)
    FRACNAS_LT(cublasLtMatmulPreferenceSetAttribute)
    FRACNAS_LT(cublasLtMatmulAlgoGetHeuristic)
    FRACNAS_LT(cublasLtMatmul)
    FRACNAS_LT(cublasLtGetStatusString)
#undef FRACNAS_LT
    bool complete = false;
};

template <typename F>
bool resolve(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
    return f != nullptr;
}

const lt_api& lt() {
    static const lt_api api = [] {
        lt_api a;
        a.complete = resolve(a.cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate") &&
                     resolve(a.cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy") &&
                     resolve(a.cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute") &&
                     resolve(a.cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate") &&
                     resolve(a.cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy") &&
                     resolve(a.cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate") &&
                     resolve(a.cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy") &&
                     resolve(a.cublasLtMatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute") &&
                     resolve(a.cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic") &&
                     resolve(a.cublasLtMatmul, "cublasLtMatmul") &&
                     resolve(a.cublasLtGetStatusString, "cublasLtGetStatusString");
        return a;
    }();
    return api;
}

bool lt_type(at::ScalarType t, cudaDataType_t& out) {
    switch (t) {
        case at::kFloat: out = CUDA_R_32F; return true;
        case at::kHalf: out = CUDA_R_16F; return true;
        case at::kBFloat16: out = CUDA_R_16BF; return true;
        default: return false;
    }
}

// the largest power of two, at most 16, that divides the address
std::uint32_t alignment(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t align = 16;
    while (align > 1 && a % align != 0) align /= 2;
    return align;
}

// One shape's descriptors and algorithm, in column-major terms: D (out, rows) = op(A) B + C with
// A = W stored (in, out) and transposed, B = x^T (in, rows), C = D's layout.
struct plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool usable = false;

    plan() = default;
    plan(const plan&) = delete;
    plan& operator=(const plan&) = delete;
    ~plan() {
        if (c) lt().cublasLtMatrixLayoutDestroy(c);
        if (b) lt().cublasLtMatrixLayoutDestroy(b);
        if (a) lt().cublasLtMatrixLayoutDestroy(a);
        if (op) lt().cublasLtMatmulDescDestroy(op);
    }
};

// rows, in, out, dtype, tf32, the four alignments, the device
using plan_key = std::tuple<std::int64_t, std::int64_t, std::int64_t, int, bool, std::uint32_t, std::uint32_t,
                            std::uint32_t, std::uint32_t, c10::DeviceIndex>;

bool make_plan(plan& p, std::int64_t rows, std::int64_t in, std::int64_t out, cudaDataType_t type, bool tf32,
               const std::uint32_t (&align)[4], cublasLtHandle_t handle, std::size_t workspace) {
    const auto compute = type == CUDA_R_32F && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    if (lt().cublasLtMatmulDescCreate(&p.op, compute, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return false;
    const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    if (lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue) !=
            CUBLAS_STATUS_SUCCESS)
        return false;
    const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    if (lt().cublasLtMatrixLayoutCreate(&p.a, type, u(in), u(out), in) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatrixLayoutCreate(&p.b, type, u(in), u(rows), in) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatrixLayoutCreate(&p.c, type, u(out), u(rows), out) != CUBLAS_STATUS_SUCCESS)
        return false;
    cublasLtMatmulPreference_t pref = nullptr;
    if (lt().cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return false;
    const cublasLtMatmulPreferenceAttributes_t align_attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    bool ok = lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                                   sizeof workspace) == CUBLAS_STATUS_SUCCESS;
    for (int i = 0; ok && i < 4; ++i)
        ok = lt().cublasLtMatmulPreferenceSetAttribute(pref, align_attr[i], &align[i], sizeof align[i]) == CUBLAS_STATUS_SUCCESS;
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    ok = ok && lt().cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found) ==
                   CUBLAS_STATUS_SUCCESS &&
         found > 0;
    lt().cublasLtMatmulPreferenceDestroy(pref);
    if (!ok) return false;
    p.algo = result.algo;
    return true;
}

torch::Tensor unfused(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                      const torch::Tensor& residual) {
    return residual + at::linear(x, weight, bias);
}

}  // namespace

std::uint64_t fused_calls() noexcept { return fused_count.load(); }

torch::Tensor linear_residual(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& residual) {
    const bool recorded = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || weight.requires_grad() || bias.requires_grad() || residual.requires_grad());
    cudaDataType_t type{};
    const auto dtype = x.scalar_type();
    if (recorded || !x.is_cuda() || !lt().complete || !lt_type(dtype, type) || weight.scalar_type() != dtype || bias.scalar_type() != dtype ||
        residual.scalar_type() != dtype || !weight.is_cuda() || !bias.is_cuda() || !residual.is_cuda() ||
        !x.is_contiguous() || !weight.is_contiguous() || !bias.is_contiguous() || !residual.is_contiguous() ||
        weight.dim() != 2 || bias.dim() != 1)
        return unfused(x, weight, bias, residual);
    const auto in = weight.size(1), out = weight.size(0);
    const auto rows = x.numel() / std::max<std::int64_t>(in, 1);
    if (x.size(-1) != in || bias.size(0) != out || residual.size(-1) != out || residual.numel() != rows * out || rows == 0)
        return unfused(x, weight, bias, residual);

    auto result = torch::empty_like(residual);
    const bool tf32 = at::globalContext().allowTF32CuBLAS();
    const std::uint32_t align[4] = {alignment(weight.data_ptr()), alignment(x.data_ptr()), alignment(residual.data_ptr()),
                                    alignment(result.data_ptr())};
    const auto device = x.device().index();
    const plan_key key{rows, in, out, static_cast<int>(dtype), tf32, align[0], align[1], align[2], align[3], device};

    static std::mutex mutex;
    static std::map<plan_key, plan> plans;
    std::lock_guard<std::mutex> lock(mutex);
    const auto handle = at::cuda::getCurrentCUDABlasLtHandle();
    const auto workspace_bytes = at::cuda::getCUDABlasLtWorkspaceSize();
    auto [it, fresh] = plans.try_emplace(key);
    plan& p = it->second;
    if (fresh) p.usable = make_plan(p, rows, in, out, type, tf32, align, handle, workspace_bytes);
    if (!p.usable) return unfused(x, weight, bias, residual);

    const void* bias_ptr = bias.data_ptr();
    if (lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr, sizeof bias_ptr) !=
        CUBLAS_STATUS_SUCCESS)
        return unfused(x, weight, bias, residual);
    const float one = 1.0f;
    const auto status = lt().cublasLtMatmul(handle, p.op, &one, weight.data_ptr(), p.a, x.data_ptr(), p.b, &one,
                                       residual.data_ptr(), p.c, result.data_ptr(), p.c, &p.algo,
                                       at::cuda::getCUDABlasLtWorkspace(), workspace_bytes,
                                       c10::cuda::getCurrentCUDAStream(device).stream());
    TORCH_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLASLt residual projection failed: ", lt().cublasLtGetStatusString(status));
    ++fused_count;
    return result;
}

}  // namespace fracnas::eval::torch_fused
