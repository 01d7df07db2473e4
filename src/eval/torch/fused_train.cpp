// The training's fused linear layers (fused_train.hpp). Row-major tensors are column-major
// transposes for cuBLASLt: a (rows, cols) tensor is a (cols, rows) column-major matrix with
// leading dimension cols, which is how each gemm below is written.
#include "fused_train.hpp"

#include <atomic>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <tuple>

#include "device_kernels.hpp"
#include "fused_linear.hpp"

namespace fracnas::eval::torch_fused {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<std::uint64_t> epilogue_count{0};
std::atomic<std::uint64_t> rounded_count{0};

// The bf16 rounding of an fp32 stream's gradient that a LayerNorm's backward wrote beside the
// gradient (layer_norm_grads), until the node that receives that gradient for its bf16 layers
// takes it (rounded): one slot, the gradient held weakly (its memory is not kept) with its version
// (an in-place change since makes the rounding stale). A gradient that reaches no such node leaves
// its rounding here until the next LayerNorm's backward replaces it.
struct rounded_slot {
    std::mutex mutex;
    std::optional<c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>> of;
    std::int64_t version = 0;
    torch::Tensor rounded;
};

rounded_slot& slot() {
    static rounded_slot s;
    return s;
}

void publish_rounded(const torch::Tensor& grad, torch::Tensor rounded) {
    auto& s = slot();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.of.emplace(grad.getIntrusivePtr());
    s.version = grad._version();
    s.rounded = std::move(rounded);
}

// grad in `type`: the rounding a LayerNorm's backward wrote beside it where it is this very
// tensor, unchanged since, else a cast
torch::Tensor rounded(const torch::Tensor& grad, at::ScalarType type) {
    if (grad.scalar_type() == type) return grad;
    {
        auto& s = slot();
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.of && s.rounded.defined() && s.rounded.scalar_type() == type && s.of->lock().get() == grad.unsafeGetTensorImpl() &&
            s.version == grad._version() && s.rounded.sizes() == grad.sizes()) {
            auto r = std::move(s.rounded);
            s.rounded = torch::Tensor();
            s.of.reset();
            ++rounded_count;
            return r;
        }
    }
    return grad.to(type);
}

// every tensor on one CUDA device, of one dtype, contiguous: what the cuBLASLt paths take
bool lt_ready(std::initializer_list<const torch::Tensor*> ts) {
    const auto& first = *ts.begin();
    if (!first->is_cuda()) return false;
    for (const auto* t : ts)
        if (!t->defined() || !t->is_cuda() || t->device() != first->device() || t->scalar_type() != first->scalar_type() ||
            !t->is_contiguous())
            return false;
    return true;
}

bool run_counted(const gemm& g, const torch::Tensor& like) {
    if (!run(g, like.scalar_type(), like.device().index())) return false;
    ++epilogue_count;
    return true;
}

// dW = dy^T x (out, in) and db = the column sums of dy (out), from dy (rows, out) and x (rows, in):
// one GEMM with the BGRADB epilogue (column-major: dW^T (in, out) = x^T dy, the bias gradient
// reduced over dy's rows, the GEMM's k)
std::pair<torch::Tensor, torch::Tensor> weight_and_bias_grad(const torch::Tensor& dy, const torch::Tensor& x) {
    const auto rows = dy.size(0), out = dy.size(1), in = x.size(1);
    if (lt_ready({&dy, &x})) {
        auto dw = torch::empty({out, in}, dy.options());
        auto db = torch::empty({out}, dy.options());
        gemm g;
        g.trans_b = true;
        g.m = in, g.n = out, g.k = rows;
        g.a = x.data_ptr(), g.lda = in;
        g.b = dy.data_ptr(), g.ldb = out;
        g.d = dw.data_ptr(), g.ldd = in;
        g.kind = epilogue::bgradb;
        g.bias = db.data_ptr();
        if (run_counted(g, dy)) return {dw, db};
    }
    return {at::mm(dy.t(), x), dy.sum(0)};
}

torch::Tensor flat(const torch::Tensor& t) {
    return t.reshape({-1, t.size(-1)}).contiguous();
}

// residual + y in the residual's dtype: for an fp32 stream and a bf16 y one pass of
// device_kernels.hpp's kernel where it runs, else LibTorch's add
torch::Tensor stream_sum(const torch::Tensor& x, const torch::Tensor& y) {
    if (x.is_cuda() && x.scalar_type() == at::kFloat && y.scalar_type() == at::kBFloat16 && x.is_contiguous() && y.is_contiguous() &&
        x.sizes() == y.sizes() && y.device() == x.device() && torch_kernels::available(x.device().index())) {
        auto out = torch::empty_like(x);
        torch_kernels::residual_add(x, y, out);
        return out;
    }
    return x + y;
}

// residual + x W^T + b: one cuBLASLt call with the residual as C where the dtypes agree; for an
// fp32 stream in a bf16 model one cuBLASLt call with bf16 products summed in fp32 and added to
// the fp32 residual (C and D fp32, the bias read in fp32: its bf16 values exactly) where
// cuBLASLt offers it, else the linear map in bf16, then stream_sum
torch::Tensor to_stream(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, const torch::Tensor& residual) {
    if (residual.scalar_type() == x.scalar_type()) return linear_residual(x.contiguous(), w, b, residual.contiguous());
    const auto xc = x.contiguous(), rc = residual.contiguous();
    if (residual.scalar_type() == at::kFloat && x.scalar_type() == at::kBFloat16 && lt_ready({&xc, &w, &b}) && rc.is_cuda() &&
        rc.device() == xc.device() && w.dim() == 2 && xc.size(-1) == w.size(1) && rc.size(-1) == w.size(0) &&
        rc.numel() / w.size(0) == xc.numel() / w.size(1)) {
        const auto in = w.size(1);
        const auto bias = b.to(at::kFloat);
        auto result = torch::empty_like(rc);
        gemm g = projection(xc.data_ptr(), w.data_ptr(), bias.data_ptr(), rc.data_ptr(), result.data_ptr(), xc.numel() / in, in, w.size(0));
        g.fp32_out = true;
        if (g.n > 0 && run_counted(g, xc)) return result;
    }
    return stream_sum(rc, at::linear(xc, w, b).contiguous());
}

// x W^T + b, and with the residual (an autograd input may not be undefined: two nodes)
struct linear_fn : torch::autograd::Function<linear_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
        ctx->save_for_backward({x, w});
        return at::linear(x, w, b);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto grads = input_grads(ctx, grad_out[0]);
        return {grads[0], grads[1], grads[2]};
    }

    // dx, dW, db from the saved x, W and the output's gradient
    static variable_list input_grads(AutogradContext* ctx, const torch::Tensor& grad) {
        const auto saved = ctx->get_saved_variables();
        const auto& x = saved[0];
        const auto& w = saved[1];
        const auto dy = flat(rounded(grad, w.scalar_type()));  // an fp32 stream's gradient, rounded for the layer
        auto [dw, db] = weight_and_bias_grad(dy, flat(x));
        return {at::mm(dy, w).view(x.sizes()), dw, db};
    }
};

struct linear_residual_fn : torch::autograd::Function<linear_residual_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                                 const torch::Tensor& residual) {
        ctx->save_for_backward({x, w});
        // grad mode is off here: linear_residual takes its one-call cuBLASLt path where it can
        return to_stream(x, w, b, residual);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto grads = linear_fn::input_grads(ctx, grad_out[0]);
        return {grads[0], grads[1], grads[2], grad_out[0]};
    }
};

struct mlp_fn : torch::autograd::Function<mlp_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1,
                                 const torch::Tensor& w2, const torch::Tensor& b2, const torch::Tensor& residual) {
        const auto x2 = flat(x);
        const auto rows = x2.size(0), d = x2.size(1), f = w1.size(0);
        torch::Tensor pre, h;
        // h = gelu(x W1^T + b1) with GELU's input kept (column-major: h^T (f, rows) = W1 x^T)
        if (lt_ready({&x2, &w1, &b1}) && f % 8 == 0) {
            pre = torch::empty({rows, f}, x2.options());
            h = torch::empty({rows, f}, x2.options());
            gemm g;
            g.trans_a = true;
            g.m = f, g.n = rows, g.k = d;
            g.a = w1.data_ptr(), g.lda = d;
            g.b = x2.data_ptr(), g.ldb = d;
            g.d = h.data_ptr(), g.ldd = f;
            g.kind = epilogue::gelu_aux_bias;
            g.bias = b1.data_ptr();
            g.aux = pre.data_ptr(), g.ld_aux = f;
            if (!run_counted(g, x2)) pre = h = torch::Tensor();
        }
        if (!h.defined()) {
            pre = at::linear(x2, w1, b1);
            h = at::gelu(pre, "tanh");
        }
        ctx->save_for_backward({x, w1, w2});
        ctx->saved_data["pre"] = pre;
        ctx->saved_data["h"] = h;
        auto sizes = x.sizes().vec();
        sizes.back() = f;
        return to_stream(h.view(sizes), w2, b2, residual);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto saved = ctx->get_saved_variables();
        const auto& x = saved[0];
        const auto& w1 = saved[1];
        const auto& w2 = saved[2];
        const auto pre = ctx->saved_data["pre"].toTensor();
        const auto h = ctx->saved_data["h"].toTensor();
        const auto dy = flat(rounded(grad_out[0], w2.scalar_type()));  // (rows, d); an fp32 stream's gradient rounded
        const auto x2 = flat(x);
        auto [dw2, db2] = weight_and_bias_grad(dy, h);
        // d pre = (dy W2) * gelu'(pre) by a plain GEMM, then GELU's backward: with the bias
        // gradient db1 in the same pass by device_kernels.hpp's kernel where it runs, else
        // LibTorch's GELU backward and db1 by dW1's GEMM (BGRADB). cuBLASLt's DGELU epilogue ran
        // as a separate kernel of 3.8 ms a step on the H200 where the GELU backward takes 0.9
        // (docs/results/training.md)
        auto dpre = at::mm(dy, w2);  // (rows, f)
        torch::Tensor dw1, db1;
        if (dpre.is_cuda() && dpre.scalar_type() == at::kBFloat16 && pre.scalar_type() == at::kBFloat16 && pre.is_contiguous() &&
            dpre.is_contiguous() && torch_kernels::available(dpre.device().index())) {
            db1 = torch::empty({pre.size(1)}, pre.options());
            torch_kernels::gelu_backward_bias(dpre, pre, dpre, db1);  // in place
            dw1 = at::mm(dpre.t(), x2);
        } else {
            dpre = at::gelu_backward(dpre, pre, "tanh");
            std::tie(dw1, db1) = weight_and_bias_grad(dpre, x2);
        }
        const auto dx = at::mm(dpre, w1).view(x.sizes());
        return {dx, dw1, db1, dw2, db2, grad_out[0]};
    }
};

// LayerNorm over the last dimension (eps 1e-5) by device_kernels.hpp's kernels where they can
// run (bf16 weights, a bf16 or fp32 input, on a GPU that has them), else LibTorch's (an input of
// another dtype than the weights' normalised in its own, the output in the weights')
bool norm_kernels(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return x.is_cuda() && (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kFloat) && w.scalar_type() == at::kBFloat16 &&
           b.scalar_type() == at::kBFloat16 && x.is_contiguous() && w.is_contiguous() && b.is_contiguous() &&
           torch_kernels::available(x.device().index());
}

// LayerNorm's forward, saving what layer_norm_grads takes
torch::Tensor layer_norm_forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    torch::Tensor y, mean, rstd;
    if (norm_kernels(x, w, b)) {
        const auto rows = x.numel() / w.size(0);
        y = torch::empty_like(x, w.options());
        mean = torch::empty({rows}, x.options().dtype(at::kFloat));
        rstd = torch::empty({rows}, x.options().dtype(at::kFloat));
        torch_kernels::layer_norm_forward(x, w, b, 1e-5, y, mean, rstd);
    } else {
        const auto type = x.scalar_type();
        std::tie(y, mean, rstd) = at::native_layer_norm(x, {w.size(0)}, w.to(type), b.to(type), 1e-5);
        y = y.to(w.scalar_type());
    }
    ctx->save_for_backward({x, w, b, mean, rstd});
    return y;
}

// x's, the weight's and the bias's gradients from y's (dy) and, where defined, dres: a gradient
// of x that reached it by another path (the residual stream's), added to LayerNorm's in one pass
// by the kernels
variable_list layer_norm_grads(AutogradContext* ctx, const torch::Tensor& grad, const torch::Tensor& grad_res) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto& b = saved[2];
    const auto mean = saved[3].contiguous(), rstd = saved[4].contiguous();
    if (!grad.defined()) {  // only the stream was used
        const auto dx = grad_res.defined() ? grad_res : torch::zeros_like(x);
        return {dx, torch::zeros_like(w), torch::zeros_like(b)};
    }
    const auto dy = grad.contiguous();
    const auto dres = grad_res.defined() && grad_res.scalar_type() == x.scalar_type() ? grad_res.contiguous() : torch::Tensor();
    if (norm_kernels(x, w, b) && dy.scalar_type() == at::kBFloat16 && mean.scalar_type() == at::kFloat &&
        rstd.scalar_type() == at::kFloat && mean.numel() * w.size(0) == x.numel() &&
        (!grad_res.defined() || (dres.defined() && dres.sizes() == x.sizes()))) {
        auto dx = torch::empty_like(x), dw = torch::empty_like(w), db = torch::empty_like(w);
        // an fp32 stream's gradient: its bf16 rounding from the same pass, for the bf16 layers
        // that receive it (rounded)
        const auto dx_lo = x.scalar_type() == at::kFloat ? torch::empty_like(x, w.options()) : torch::Tensor();
        torch_kernels::layer_norm_backward(dy, x, mean, rstd, w, dx, dw, db, dres, dx_lo);
        if (dx_lo.defined()) publish_rounded(dx, dx_lo);
        return {dx, dw, db};
    }
    const auto type = x.scalar_type();
    auto [dx, dw, db] = at::native_layer_norm_backward(dy.to(type), x, {w.size(0)}, mean, rstd, w.to(type), b.to(type), {true, true, true});
    if (grad_res.defined()) dx = dx + grad_res.to(type);
    return {dx, dw.to(w.scalar_type()), db.to(b.scalar_type())};
}

struct layer_norm_fn : torch::autograd::Function<layer_norm_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
        return layer_norm_forward(ctx, x, w, b);
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) { return layer_norm_grads(ctx, grad_out[0], {}); }
};

// (LayerNorm(x), x): the stream returned as a second output (autograd makes it a view of x with
// this node as its grad_fn), so that its gradient and LayerNorm's meet in this node's backward
// instead of in autograd's add
struct layer_norm_stream_fn : torch::autograd::Function<layer_norm_stream_fn> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
        return {layer_norm_forward(ctx, x, w, b), x};
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) { return layer_norm_grads(ctx, grad_out[0], grad_out[1]); }
};

// x + y for a residual stream x and an output y of one shape (stream_sum); the gradient is the
// stream's for x and its rounding for y
struct residual_add_fn : torch::autograd::Function<residual_add_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y) {
        ctx->saved_data["y_dtype"] = static_cast<std::int64_t>(y.scalar_type());
        return stream_sum(x, y);
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto& g = grad_out[0];
        return {g, rounded(g, static_cast<at::ScalarType>(ctx->saved_data["y_dtype"].toInt()))};
    }
};

}  // namespace

torch::Tensor residual_add(const torch::Tensor& x, const torch::Tensor& y) {
    TORCH_CHECK(x.sizes() == y.sizes(), "residual_add: the stream and the output differ in shape");
    return residual_add_fn::apply(x, y);
}

torch::Tensor layer_norm_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    return layer_norm_fn::apply(x, weight, bias);
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_stream(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    auto out = layer_norm_stream_fn::apply(x, weight, bias);
    return {out[0], out[1]};
}

torch::Tensor linear_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& residual) {
    return residual.defined() ? linear_residual_fn::apply(x, weight, bias, residual) : linear_fn::apply(x, weight, bias);
}

torch::Tensor mlp_train(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                        const torch::Tensor& b2, const torch::Tensor& residual) {
    return mlp_fn::apply(x, w1, b1, w2, b2, residual);
}

std::uint64_t epilogue_gemms() noexcept {
    return epilogue_count.load();
}

std::uint64_t stream_roundings_reused() noexcept {
    return rounded_count.load();
}

}  // namespace fracnas::eval::torch_fused
