// residual + x W^T + b as one cuBLASLt matmul (D = x W^T + C + bias, C the residual), with the
// descriptors and the algorithm chosen once per shape, dtype and pointer alignment. cuBLASLt's
// functions are looked up in the process (dlsym), not linked: they are those of the cuBLASLt that
// LibTorch loaded, whichever CUDA installation it came from; without them the unfused path runs.
#include "fused_linear.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

namespace fracnas::eval::torch_fused {

namespace {

std::atomic<std::uint64_t> fused_count{0};
std::atomic<int> tuning_depth{0};  // open tuning_scopes that asked for it
std::atomic<std::uint64_t> timed_count{0};

static_assert(static_cast<int>(epilogue::none) == CUBLASLT_EPILOGUE_DEFAULT && static_cast<int>(epilogue::bias) == CUBLASLT_EPILOGUE_BIAS &&
                  static_cast<int>(epilogue::gelu_aux_bias) == CUBLASLT_EPILOGUE_GELU_AUX_BIAS &&
                  static_cast<int>(epilogue::bgradb) == CUBLASLT_EPILOGUE_BGRADB,
              "fracnas's epilogue values are cuBLASLt's");

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
                     resolve(a.cublasLtMatmul, "cublasLtMatmul") && resolve(a.cublasLtGetStatusString, "cublasLtGetStatusString");
        return a;
    }();
    return api;
}

bool lt_type(at::ScalarType t, cudaDataType_t& out) {
    switch (t) {
        case at::kFloat:
            out = CUDA_R_32F;
            return true;
        case at::kHalf:
            out = CUDA_R_16F;
            return true;
        case at::kBFloat16:
            out = CUDA_R_16BF;
            return true;
        default:
            return false;
    }
}

// the largest power of two, at most 16, that divides the address
std::uint32_t alignment(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t align = 16;
    while (align > 1 && a % align != 0) align /= 2;
    return align;
}

// One GEMM's descriptors and algorithm: column-major D (m, n) = op(A) op(B) [+ C] with an
// epilogue, chosen once per shapes, leading dimensions, epilogue, dtype and pointer alignments.
struct plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
    std::vector<cublasLtMatmulAlgo_t> candidates;  // the heuristic's, best first (algo: the first or the fastest)
    bool usable = false;

    plan() = default;
    plan(const plan&) = delete;
    plan& operator=(const plan&) = delete;
    ~plan() {
        if (d) lt().cublasLtMatrixLayoutDestroy(d);
        if (b) lt().cublasLtMatrixLayoutDestroy(b);
        if (a) lt().cublasLtMatrixLayoutDestroy(a);
        if (op) lt().cublasLtMatmulDescDestroy(op);
    }
};

// the gemm's shape and layout, its epilogue, dtype, tf32, whether C is read, the six alignments
// (A, B, C, D, bias, aux), the device, whether C and D are fp32 for lower-precision A and B,
// whether the algorithm was timed
using plan_key = std::tuple<bool, bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                            int, int, bool, bool, std::array<std::uint32_t, 6>, c10::DeviceIndex, bool, bool>;

// candidates: how many of the heuristic's algorithms to keep (1: its first, the one it runs)
bool make_plan(plan& p, const gemm& g, cudaDataType_t type, cudaDataType_t out_type, bool tf32, const std::array<std::uint32_t, 6>& align,
               cublasLtHandle_t handle, std::size_t workspace, int candidates) {
    const auto compute = type == CUDA_R_32F && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    if (lt().cublasLtMatmulDescCreate(&p.op, compute, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return false;
    const cublasOperation_t transa = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, transb = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const auto lt_epilogue = static_cast<cublasLtEpilogue_t>(g.kind);
    const auto set = [&](cublasLtMatmulDescAttributes_t attr, const void* value, std::size_t size) {
        return lt().cublasLtMatmulDescSetAttribute(p.op, attr, value, size) == CUBLAS_STATUS_SUCCESS;
    };
    if (!set(CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa) || !set(CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb) ||
        !set(CUBLASLT_MATMUL_DESC_EPILOGUE, &lt_epilogue, sizeof lt_epilogue))
        return false;
    // the pointers' values set the alignments the heuristic assumes; each call sets its own
    if (g.bias != nullptr && !set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias, sizeof g.bias)) return false;
    if (g.aux != nullptr && (!set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &g.aux, sizeof g.aux) ||
                             !set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &g.ld_aux, sizeof g.ld_aux)))
        return false;
    const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    // stored shapes: A is (m, k) or, transposed, (k, m); B is (k, n) or (n, k)
    if (lt().cublasLtMatrixLayoutCreate(&p.a, type, u(g.trans_a ? g.k : g.m), u(g.trans_a ? g.m : g.k), g.lda) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatrixLayoutCreate(&p.b, type, u(g.trans_b ? g.n : g.k), u(g.trans_b ? g.k : g.n), g.ldb) != CUBLAS_STATUS_SUCCESS ||
        lt().cublasLtMatrixLayoutCreate(&p.d, out_type, u(g.m), u(g.n), g.ldd) != CUBLAS_STATUS_SUCCESS)
        return false;
    cublasLtMatmulPreference_t pref = nullptr;
    if (lt().cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return false;
    const cublasLtMatmulPreferenceAttributes_t align_attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    bool ok = lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace) ==
              CUBLAS_STATUS_SUCCESS;
    for (int i = 0; ok && i < 4; ++i)
        ok = lt().cublasLtMatmulPreferenceSetAttribute(pref, align_attr[i], &align[static_cast<std::size_t>(i)], sizeof align[0]) ==
             CUBLAS_STATUS_SUCCESS;
    std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<std::size_t>(std::max(candidates, 1)));
    int found = 0;
    ok = ok &&
         lt().cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.d, p.d, pref, static_cast<int>(results.size()), results.data(),
                                             &found) == CUBLAS_STATUS_SUCCESS &&
         found > 0;
    lt().cublasLtMatmulPreferenceDestroy(pref);
    if (!ok) return false;
    for (int i = 0; i < found; ++i)
        if (results[static_cast<std::size_t>(i)].state == CUBLAS_STATUS_SUCCESS)
            p.candidates.push_back(results[static_cast<std::size_t>(i)].algo);
    if (p.candidates.empty()) return false;
    p.algo = p.candidates.front();
    return true;
}

// The fastest of the plan's candidates for g, timed on the stream with g's inputs and scratch
// outputs (D, and the aux or bias gradient an epilogue writes), so that nothing of g's is written
// and C may be D: a warm-up, then three runs each; the heuristic's first unless another is at least
// 3% faster (a choice timing noise does not flip). The heuristic's first where the stream is being
// captured (no synchronising there) or a candidate fails.
cublasLtMatmulAlgo_t fastest(plan& p, const gemm& g, cudaDataType_t type, cudaDataType_t out_type, cublasLtHandle_t handle,
                             std::size_t workspace_bytes, c10::DeviceIndex device) {
    const auto stream = c10::cuda::getCurrentCUDAStream(device).stream();
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (p.candidates.size() < 2 || cudaStreamIsCapturing(stream, &capture) != cudaSuccess || capture != cudaStreamCaptureStatusNone)
        return p.candidates.front();
    const auto bytes = [](cudaDataType_t t) { return t == CUDA_R_32F ? std::int64_t{4} : std::int64_t{2}; };
    const auto opts = at::TensorOptions().device(at::kCUDA, device).dtype(at::kByte);
    const auto d = at::empty({g.ldd * g.n * bytes(out_type)}, opts);
    const auto aux = at::empty({g.kind == epilogue::gelu_aux_bias ? g.ld_aux * g.n * bytes(type) : 1}, opts);
    const auto bias_grad = at::empty({g.kind == epilogue::bgradb ? std::max(g.m, g.n) * 4 : 1}, opts);
    void* pd = d.data_ptr();
    void* paux = aux.data_ptr();
    void* pbias = bias_grad.data_ptr();
    if ((g.kind == epilogue::gelu_aux_bias && lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &paux,
                                                                                  sizeof paux) != CUBLAS_STATUS_SUCCESS) ||
        (g.kind == epilogue::bgradb &&
         lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &pbias, sizeof pbias) != CUBLAS_STATUS_SUCCESS) ||
        (g.bias != nullptr && g.kind != epilogue::bgradb &&
         lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias, sizeof g.bias) != CUBLAS_STATUS_SUCCESS))
        return p.candidates.front();
    const float one = 1.0f, zero = 0.0f;
    const auto once = [&](const cublasLtMatmulAlgo_t& algo) {
        return lt().cublasLtMatmul(handle, p.op, &g.alpha, g.a, p.a, g.b, p.b, g.c ? &one : &zero, g.c ? g.c : pd, p.d, pd, p.d, &algo,
                                   at::cuda::getCUDABlasLtWorkspace(), workspace_bytes, stream) == CUBLAS_STATUS_SUCCESS;
    };
    cudaEvent_t start = nullptr, stop = nullptr;
    if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
        if (start) cudaEventDestroy(start);
        return p.candidates.front();
    }
    std::vector<float> ms;
    for (const auto& algo : p.candidates) {
        float t = -1.0f;
        if (once(algo) && cudaEventRecord(start, stream) == cudaSuccess) {
            bool ok = true;
            for (int r = 0; r < 3 && ok; ++r) ok = once(algo);
            if (ok && cudaEventRecord(stop, stream) == cudaSuccess && cudaEventSynchronize(stop) == cudaSuccess)
                cudaEventElapsedTime(&t, start, stop);
        }
        ms.push_back(t);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaGetLastError();  // a candidate that failed to launch leaves nothing to report
    ++timed_count;
    std::size_t best = 0;
    if (ms.front() <= 0.0f) return p.candidates.front();
    for (std::size_t i = 1; i < ms.size(); ++i)
        if (ms[i] > 0.0f && ms[i] < 0.97f * ms.front() && ms[i] < ms[best]) best = i;
    return p.candidates[best];
}

torch::Tensor unfused(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& residual) {
    return residual + at::linear(x, weight, bias);
}

}  // namespace

std::uint64_t fused_calls() noexcept {
    return fused_count.load();
}

std::uint64_t timed_plans() noexcept {
    return timed_count.load();
}

tuning_scope::tuning_scope(bool on) : on_(on) {
    if (on_) ++tuning_depth;
}

tuning_scope::~tuning_scope() {
    if (on_) --tuning_depth;
}

torch::Tensor linear_residual(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& residual) {
    const bool biased = bias.defined();
    const bool recorded = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || weight.requires_grad() || (biased && bias.requires_grad()) || residual.requires_grad());
    cudaDataType_t type{};
    const auto dtype = x.scalar_type();
    if (recorded || !x.is_cuda() || !lt().complete || !lt_type(dtype, type) || weight.scalar_type() != dtype ||
        residual.scalar_type() != dtype || !weight.is_cuda() || !residual.is_cuda() || !x.is_contiguous() || !weight.is_contiguous() ||
        !residual.is_contiguous() || weight.dim() != 2 ||
        (biased && (bias.scalar_type() != dtype || !bias.is_cuda() || !bias.is_contiguous() || bias.dim() != 1)))
        return unfused(x, weight, bias, residual);
    const auto in = weight.size(1), out = weight.size(0);
    const auto rows = x.numel() / std::max<std::int64_t>(in, 1);
    if (x.size(-1) != in || (biased && bias.size(0) != out) || residual.size(-1) != out || residual.numel() != rows * out || rows == 0)
        return unfused(x, weight, bias, residual);

    auto result = torch::empty_like(residual);
    const gemm g = projection(x.data_ptr(), weight.data_ptr(), biased ? bias.data_ptr() : nullptr, residual.data_ptr(), result.data_ptr(),
                              rows, in, out);
    if (!run(g, dtype, x.device().index())) return unfused(x, weight, bias, residual);
    ++fused_count;
    return result;
}

gemm projection(const void* x, const void* weight, const void* bias, const void* residual, void* result, std::int64_t rows, std::int64_t in,
                std::int64_t out) {
    gemm g;
    g.trans_a = true;
    g.m = out, g.n = rows, g.k = in;
    g.a = weight, g.lda = in;
    g.b = x, g.ldb = in;
    g.c = residual;
    g.d = result, g.ldd = out;
    g.kind = bias != nullptr ? epilogue::bias : epilogue::none;
    g.bias = const_cast<void*>(bias);  // read by the bias epilogue (none: a plain GEMM with C)
    return g;
}

bool run(const gemm& g, at::ScalarType dtype, c10::DeviceIndex device) {
    cudaDataType_t type{};
    if (!lt().complete || !lt_type(dtype, type) || (g.fp32_out && dtype != at::kBFloat16 && dtype != at::kHalf)) return false;
    const cudaDataType_t out_type = g.fp32_out ? CUDA_R_32F : type;
    const bool tf32 = at::globalContext().allowTF32CuBLAS();
    const std::array<std::uint32_t, 6> align = {alignment(g.a),
                                                alignment(g.b),
                                                g.c ? alignment(g.c) : 16u,
                                                alignment(g.d),
                                                g.bias ? alignment(g.bias) : 16u,
                                                g.aux ? alignment(g.aux) : 16u};
    const plan_key key{g.trans_a,
                       g.trans_b,
                       g.m,
                       g.n,
                       g.k,
                       g.lda,
                       g.ldb,
                       g.ldd,
                       g.ld_aux,
                       static_cast<int>(g.kind),
                       static_cast<int>(dtype),
                       tf32,
                       g.c != nullptr,
                       align,
                       device,
                       g.fp32_out,
                       tuning_depth.load() > 0};

    static std::mutex mutex;
    static std::map<plan_key, plan> plans;
    std::lock_guard<std::mutex> lock(mutex);
    const auto handle = at::cuda::getCurrentCUDABlasLtHandle();
    const auto workspace_bytes = at::cuda::getCUDABlasLtWorkspaceSize();
    auto [it, fresh] = plans.try_emplace(key);
    plan& p = it->second;
    if (fresh) {
        const bool tune = std::get<16>(key);
        p.usable = make_plan(p, g, type, out_type, tf32, align, handle, workspace_bytes, tune ? 8 : 1);
        if (p.usable && tune) p.algo = fastest(p, g, type, out_type, handle, workspace_bytes, device);
    }
    if (!p.usable) return false;

    if (g.bias != nullptr &&
        lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias, sizeof g.bias) != CUBLAS_STATUS_SUCCESS)
        return false;
    if (g.aux != nullptr &&
        lt().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &g.aux, sizeof g.aux) != CUBLAS_STATUS_SUCCESS)
        return false;
    const float one = 1.0f, zero = 0.0f;
    // without C, beta 0 and D passed in its place (cuBLASLt reads no C then)
    const auto status =
        lt().cublasLtMatmul(handle, p.op, &g.alpha, g.a, p.a, g.b, p.b, g.c ? &one : &zero, g.c ? g.c : g.d, p.d, g.d, p.d, &p.algo,
                            at::cuda::getCUDABlasLtWorkspace(), workspace_bytes, c10::cuda::getCurrentCUDAStream(device).stream());
    TORCH_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLASLt matmul (epilogue ", static_cast<int>(g.kind),
                ") failed: ", lt().cublasLtGetStatusString(status));
    return true;
}

}  // namespace fracnas::eval::torch_fused
