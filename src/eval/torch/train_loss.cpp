// The chunked linear cross-entropy with its gradient formed in the forward (the form of the
// "fused linear cross-entropy" of Liger and of llm.c's classifier): per chunk one GEMM for the
// logits, one log-softmax into fp32 (after a cast: half_to_float is fp16-only), one exp into the
// gradient's dtype, and two GEMMs for the gradients of h and w (w's summed over the chunks in
// fp32 by its GEMM where cuBLASLt runs: fp32 C and D); or, with `kernel` on a GPU in
// bf16, the log-softmax, the loss and the gradient in one pass of device_kernels.hpp's kernel
// over the bf16 logits, which become the gradient. Autocast is switched off inside: every dtype here is chosen explicitly.
#include "train_loss.hpp"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <algorithm>

#include "device_kernels.hpp"
#include "fused_linear.hpp"

namespace fracnas::eval::torch_train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// sum (V, e) fp32 := alpha g^T h (+ sum where `add`) for g (n, V) and h (n, e) in bf16 or fp16 on
// a GPU: one cuBLASLt GEMM with fp32 C and D (column-major: sum^T (e, V) = h^T g). False, with
// nothing written, where it has no such path (the CPU, no cuBLASLt, no algorithm).
bool accumulate_fp32(const torch::Tensor& sum, const torch::Tensor& g, const torch::Tensor& h, double alpha, bool add) {
    if (!g.is_cuda() || (g.scalar_type() != at::kBFloat16 && g.scalar_type() != at::kHalf) || h.scalar_type() != g.scalar_type() ||
        sum.scalar_type() != at::kFloat || !g.is_contiguous() || !h.is_contiguous() || !sum.is_contiguous() || h.device() != g.device() ||
        sum.device() != g.device() || g.size(0) == 0)
        return false;
    torch_fused::gemm m;
    m.trans_b = true;
    m.m = h.size(1), m.n = g.size(1), m.k = g.size(0);
    m.a = h.data_ptr(), m.lda = h.size(1);
    m.b = g.data_ptr(), m.ldb = g.size(1);
    m.c = add ? sum.data_ptr() : nullptr;
    m.d = sum.data_ptr(), m.ldd = h.size(1);
    m.fp32_out = true;
    m.alpha = static_cast<float>(alpha);
    return torch_fused::run(m, g.scalar_type(), g.device().index());
}

struct linear_ce : torch::autograd::Function<linear_ce> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& y,
                                 std::int64_t chunk_rows, at::ScalarType compute, bool kernel) {
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
        const bool need_grad = h.requires_grad() || w.requires_grad();
        const auto hc = h.to(compute).contiguous(), wc = w.to(compute).contiguous();  // (N, e), (V, e)
        const auto N = hc.size(0), V = wc.size(0);
        const double inv_n = 1.0 / static_cast<double>(N);
        const bool lowp = compute != at::kFloat && compute != at::kDouble;
        auto loss = torch::zeros({}, hc.options().dtype(at::kFloat));
        // the softmax, loss and logits gradient by device_kernels.hpp's one pass, in place
        const bool one_pass = kernel && compute == at::kBFloat16 && hc.is_cuda() && y.scalar_type() == at::kLong &&
                              y.device() == hc.device() && y.is_contiguous() && torch_kernels::available(hc.device().index());
        torch::Tensor grad_h, grad_w;
        bool grad_w_written = false;  // whether grad_w holds the chunks' sum so far (else it is not initialised)
        if (need_grad) {
            grad_h = torch::empty_like(hc);                                                           // (N, e)
            grad_w = torch::empty({V, wc.size(1)}, wc.options().dtype(lowp ? at::kFloat : compute));  // (V, e)
        }
        for (std::int64_t r0 = 0; r0 < N; r0 += chunk_rows) {
            const auto n = std::min(chunk_rows, N - r0);
            const auto hx = hc.narrow(0, r0, n);                  // (n, e)
            const auto target = y.narrow(0, r0, n).unsqueeze(1);  // (n, 1)
            const auto logits = at::mm(hx, wc.t());               // (n, V) in compute
            // d(mean loss)/d logits = (softmax - onehot) / N; the 1/N is the GEMMs' alpha
            torch::Tensor g;
            if (one_pass) {
                const auto row_loss = torch::empty({n}, loss.options());  // (n) fp32
                torch_kernels::softmax_cross_entropy(logits, y.narrow(0, r0, n), row_loss, need_grad);
                loss.add_(row_loss.sum());
                if (!need_grad) continue;
                g = logits;  // (n, V): the gradient, over the logits
            } else {
                const auto logp = at::log_softmax(logits, 1, at::kFloat);  // (n, V) fp32
                loss.sub_(logp.gather(1, target).sum());
                if (!need_grad) continue;
                g = torch::empty_like(logits);  // (n, V) in compute
                at::exp_out(g, logp);
                g.scatter_add_(1, target, torch::full({n, 1}, -1.0, g.options()));
            }
            auto gh = grad_h.narrow(0, r0, n);  // (n, e), contiguous rows
            at::addmm_out(gh, gh, g, wc, /*beta=*/0.0, /*alpha=*/inv_n);
            if (lowp) {
                // each chunk's products summed in fp32 and added to the fp32 sum in the GEMM (cuBLASLt,
                // fp32 C and D), else each chunk's product rounded to the low precision and added
                if (!accumulate_fp32(grad_w, g, hx, inv_n, grad_w_written)) {
                    if (!grad_w_written) grad_w.zero_();
                    grad_w.add_(at::mm(g.t(), hx), inv_n);
                }
            } else {
                at::addmm_out(grad_w, grad_w, g.t(), hx, grad_w_written ? 1.0 : 0.0, inv_n);
            }
            grad_w_written = true;
        }
        if (need_grad && !grad_w_written) grad_w.zero_();  // no rows
        ctx->saved_data["grad_h"] = grad_h;
        ctx->saved_data["grad_w"] = grad_w;
        ctx->saved_data["h_dtype"] = static_cast<std::int64_t>(h.scalar_type());
        ctx->saved_data["w_dtype"] = static_cast<std::int64_t>(w.scalar_type());
        return loss.mul_(inv_n);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto scale = grad_out[0].to(at::kFloat);  // 0-d: 1 for loss.backward()
        const auto h_dtype = static_cast<at::ScalarType>(ctx->saved_data["h_dtype"].toInt());
        const auto w_dtype = static_cast<at::ScalarType>(ctx->saved_data["w_dtype"].toInt());
        const auto grad_h = ctx->saved_data["grad_h"].toTensor();
        const auto grad_w = ctx->saved_data["grad_w"].toTensor();
        // the scale and the rounding to the input's dtype in one pass
        const auto scaled = [&](const torch::Tensor& g, at::ScalarType type) {
            if (!g.defined()) return torch::Tensor();
            auto out = torch::empty(g.sizes(), g.options().dtype(type));
            return at::mul_out(out, g, scale);
        };
        return {scaled(grad_h, h_dtype), scaled(grad_w, w_dtype), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& y, std::int64_t chunk_rows,
                                   at::ScalarType compute, bool kernel) {
    TORCH_CHECK(h.dim() == 2 && w.dim() == 2 && y.dim() == 1 && h.size(0) == y.size(0) && h.size(1) == w.size(1),
                "linear_cross_entropy: h (N, e), w (V, e) and y (N) disagree");
    TORCH_CHECK(chunk_rows > 0, "linear_cross_entropy: chunk_rows must be positive");
    return linear_ce::apply(h, w, y, chunk_rows, compute, kernel);
}

std::int64_t loss_chunk_rows(std::int64_t rows, std::int64_t vocab) {
    const std::int64_t per_chunk = std::int64_t{1} << 27;
    return std::clamp<std::int64_t>(per_chunk / std::max<std::int64_t>(vocab, 1), 1, std::max<std::int64_t>(rows, 1));
}

}  // namespace fracnas::eval::torch_train
