// The training's fused linear layers (fused_train.hpp). Row-major tensors are column-major
// transposes for cuBLASLt: a (rows, cols) tensor is a (cols, rows) column-major matrix with
// leading dimension cols, which is how each gemm below is written.
#include "fused_train.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include "device_kernels.hpp"
#include "fused_linear.hpp"

namespace fracnas::eval::torch_fused {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<std::uint64_t> epilogue_count{0};
std::atomic<std::uint64_t> rounded_count{0};
std::atomic<std::uint64_t> bias_sums_count{0};

// What a kernel wrote beside a gradient it produced, for the node that receives that gradient
// (take): the bf16 rounding of an fp32 stream's gradient (LayerNorm's backward, layer_norm_grads)
// and the column sums of the gradient's bf16 values, which are the receiving linear layer's bias
// gradient (attention's q/k/v packing, split_heads_fn). One slot, the gradient held weakly (its
// memory is not kept) with its version (an in-place change since makes the extras stale). A
// gradient that reaches no such node leaves its extras here until the next kernel replaces them.
struct grad_slot {
    std::mutex mutex;
    std::optional<c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>> of;
    std::int64_t version = 0;
    torch::Tensor rounded, bias_sums;
};

grad_slot& slot() {
    static grad_slot s;
    return s;
}

void publish(const torch::Tensor& grad, torch::Tensor rounded, torch::Tensor bias_sums) {
    auto& s = slot();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.of.emplace(grad.getIntrusivePtr());
    s.version = grad._version();
    s.rounded = std::move(rounded);
    s.bias_sums = std::move(bias_sums);
}

// A linear layer's output gradient as the layer takes it: dy, grad in `type` (the rounding a
// kernel wrote beside it where grad is that very tensor, unchanged since, else a cast), and db,
// the column sums of dy where a kernel wrote them (else undefined: the layer sums)
struct taken_grad {
    torch::Tensor dy, db;
};

taken_grad take(const torch::Tensor& grad, at::ScalarType type, bool counted = true) {
    taken_grad t;
    {
        auto& s = slot();
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.of && s.of->lock().get() == grad.unsafeGetTensorImpl() && s.version == grad._version()) {
            if (grad.scalar_type() != type && s.rounded.defined() && s.rounded.scalar_type() == type && s.rounded.sizes() == grad.sizes()) {
                t.dy = std::move(s.rounded);
                if (counted) ++rounded_count;
            }
            if (s.bias_sums.defined() && s.bias_sums.scalar_type() == type && grad.dim() > 0 && s.bias_sums.numel() == grad.size(-1)) {
                t.db = std::move(s.bias_sums);
                if (counted) ++bias_sums_count;
            }
            s.rounded = s.bias_sums = torch::Tensor();
            s.of.reset();
        }
    }
    if (!t.dy.defined()) t.dy = grad.scalar_type() == type ? grad : grad.to(type);
    return t;
}

// grad in `type`, as take's dy
torch::Tensor rounded(const torch::Tensor& grad, at::ScalarType type) {
    return take(grad, type).dy;
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

// dW and db as weight_and_bias_grad, or dW alone by a plain GEMM where db came with dy (take)
std::pair<torch::Tensor, torch::Tensor> weights_grad(const torch::Tensor& dy, const torch::Tensor& x, torch::Tensor db) {
    if (db.defined()) return {at::mm(dy.t(), x), std::move(db)};
    return weight_and_bias_grad(dy, x);
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
        auto taken = take(grad, w.scalar_type());  // an fp32 stream's gradient rounded for the layer
        const auto dy = flat(taken.dy);
        auto [dw, db] = weights_grad(dy, flat(x), std::move(taken.db));
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

// GPT-2's MLP without its output layer's add: h = gelu(x W1^T + b1) (ctx keeps what mlp_grads
// takes), as (..., f)
torch::Tensor mlp_hidden(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1,
                         const torch::Tensor& w2) {
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
    return h.view(sizes);
}

// dx, dW1, db1, dW2, db2 from the MLP output's gradient
variable_list mlp_grads(AutogradContext* ctx, const torch::Tensor& grad) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w1 = saved[1];
    const auto& w2 = saved[2];
    const auto pre = ctx->saved_data["pre"].toTensor();
    const auto h = ctx->saved_data["h"].toTensor();
    auto taken = take(grad, w2.scalar_type());  // an fp32 stream's gradient rounded
    const auto dy = flat(taken.dy);             // (rows, d)
    const auto x2 = flat(x);
    auto [dw2, db2] = weights_grad(dy, h, std::move(taken.db));
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
    return {dx, dw1, db1, dw2, db2};
}

// residual + the MLP's output (to_stream: the add in the output layer's GEMM)
struct mlp_fn : torch::autograd::Function<mlp_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1,
                                 const torch::Tensor& w2, const torch::Tensor& b2, const torch::Tensor& residual) {
        return to_stream(mlp_hidden(ctx, x, w1, b1, w2), w2, b2, residual);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto grads = mlp_grads(ctx, grad_out[0]);
        grads.push_back(grad_out[0]);
        return grads;
    }
};

// the MLP's output alone (an autograd input may not be undefined: a node of its own)
struct mlp_out_fn : torch::autograd::Function<mlp_out_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1,
                                 const torch::Tensor& w2, const torch::Tensor& b2) {
        return at::linear(mlp_hidden(ctx, x, w1, b1, w2), w2, b2);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) { return mlp_grads(ctx, grad_out[0]); }
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
variable_list layer_norm_grads(AutogradContext* ctx, const torch::Tensor& grad, const torch::Tensor& grad_res, std::uint32_t salt = 0) {
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
        // and, where the node was asked (bias_sums: a model whose linear layers take them), the
        // column sums of that rounding: the bias gradient of the linear layer whose output x was
        // (the projection or the MLP that added to the stream), taken with dx (take)
        auto dx_sums = ctx->saved_data["bias_sums"].toBool() ? torch::empty_like(w) : torch::Tensor();
        if (!torch_kernels::layer_norm_backward(dy, x, mean, rstd, w, dx, dw, db, dres, dx_lo, dx_sums, salt)) dx_sums = torch::Tensor();
        publish(dx, dx_lo, std::move(dx_sums));
        return {dx, dw, db};
    }
    const auto type = x.scalar_type();
    auto [dx, dw, db] = at::native_layer_norm_backward(dy.to(type), x, {w.size(0)}, mean, rstd, w.to(type), b.to(type), {true, true, true});
    if (grad_res.defined()) dx = dx + grad_res.to(type);
    return {dx, dw.to(w.scalar_type()), db.to(b.scalar_type())};
}

struct layer_norm_fn : torch::autograd::Function<layer_norm_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                                 bool bias_sums) {
        ctx->saved_data["bias_sums"] = bias_sums;
        return layer_norm_forward(ctx, x, w, b);
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto grads = layer_norm_grads(ctx, grad_out[0], {});
        grads.emplace_back();
        return grads;
    }
};

// (LayerNorm(x), x): the stream returned as a second output (autograd makes it a view of x with
// this node as its grad_fn), so that its gradient and LayerNorm's meet in this node's backward
// instead of in autograd's add
struct layer_norm_stream_fn : torch::autograd::Function<layer_norm_stream_fn> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                                 bool bias_sums) {
        ctx->saved_data["bias_sums"] = bias_sums;
        return {layer_norm_forward(ctx, x, w, b), x};
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto grads = layer_norm_grads(ctx, grad_out[0], grad_out[1]);
        grads.emplace_back();
        return grads;
    }
};

// (LayerNorm(x + y), x + y) for a residual stream x and a layer's output y (bf16) of one shape: the
// stream's add in LayerNorm's forward (device_kernels.hpp's layer_norm_add_forward where the
// kernels run: rounded to nearest or, with a nonzero salt and a bf16 stream, stochastically, at any
// width; else stream_sum, then LayerNorm), so that the layer's GEMM writes its output alone. The backward is
// LayerNorm's with the sum's other gradient added (layer_norm_grads): x's gradient, and y's its
// bf16 rounding, with the column sums that are y's producer's bias gradient (take)
struct layer_norm_add_fn : torch::autograd::Function<layer_norm_add_fn> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                                 const torch::Tensor& b, std::int64_t salt, bool bias_sums) {
        ctx->saved_data["salt"] = salt;
        ctx->saved_data["bias_sums"] = bias_sums;
        ctx->saved_data["y_dtype"] = static_cast<std::int64_t>(y.scalar_type());
        const auto xc = x.contiguous(), yc = y.contiguous();
        if (norm_kernels(xc, w, b) && yc.scalar_type() == at::kBFloat16 && yc.sizes() == xc.sizes() && yc.device() == xc.device()) {
            const auto rows = xc.numel() / w.size(0);
            auto sum = torch::empty_like(xc), out = torch::empty_like(xc, w.options());
            auto mean = torch::empty({rows}, xc.options().dtype(at::kFloat)), rstd = torch::empty({rows}, xc.options().dtype(at::kFloat));
            torch_kernels::layer_norm_add_forward(xc, yc, w, b, 1e-5, sum, out, mean, rstd, static_cast<std::uint32_t>(salt));
            ctx->save_for_backward({sum, w, b, mean, rstd});
            return {out, sum};
        }
        const auto sum = xc.scalar_type() == yc.scalar_type() ? xc + yc : stream_sum(xc, yc);
        return {layer_norm_forward(ctx, sum, w, b), sum};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto salt = static_cast<std::uint32_t>(ctx->saved_data["salt"].toInt());
        // another salt than the forward's: the backward's draws independent of the forward's
        auto grads = layer_norm_grads(ctx, grad_out[0], grad_out[1], salt != 0 ? salt ^ 0x5bd1e995u : 0u);
        const auto& dx = grads[0];
        // y's gradient: dx's bf16 rounding (from the kernel's pass where it ran, else a cast), and
        // the bias sums the kernel wrote, handed on to y's producer with it
        auto taken = take(dx, static_cast<at::ScalarType>(ctx->saved_data["y_dtype"].toInt()), /*counted=*/false);
        if (taken.db.defined()) publish(taken.dy, {}, std::move(taken.db));
        return {dx, taken.dy, grads[1], grads[2], torch::Tensor(), torch::Tensor()};
    }
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

// q, k, v (B, nh, T, hs) as views of a projection's output qkv (B, T, 3 C), C = nh hs; the
// backward writes their gradients side by side into qkv's gradient and the projection's bias
// gradient (its column sums) in one pass of device_kernels.hpp's kernel where it runs, handed to
// the projection's node with the gradient (take): no concatenation by autograd, and no
// bias-gradient kernel of cuBLASLt's over the concatenated gradient. Elsewhere autograd's own
// concatenation, in the same layout.
struct split_heads_fn : torch::autograd::Function<split_heads_fn> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& qkv, std::int64_t n_head) {
        const auto B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, hs = C / n_head;
        ctx->saved_data["sizes"] = std::vector<std::int64_t>{B, T, C};
        ctx->saved_data["n_head"] = n_head;
        const auto parts = qkv.split(C, 2);
        variable_list heads;
        for (const auto& part : parts) heads.push_back(part.view({B, T, n_head, hs}).transpose(1, 2));
        return heads;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto sizes = ctx->saved_data["sizes"].toIntVector();
        const auto B = sizes[0], T = sizes[1], C = sizes[2], n_head = ctx->saved_data["n_head"].toInt();
        const auto like = std::find_if(grad_out.begin(), grad_out.end(), [](const torch::Tensor& g) { return g.defined(); });
        if (like == grad_out.end()) return {torch::Tensor(), torch::Tensor()};
        for (auto& g : grad_out)
            if (!g.defined()) g = torch::zeros({B, n_head, T, C / n_head}, like->options());
        const auto& dq = grad_out[0];
        if (dq.is_cuda() && dq.scalar_type() == at::kBFloat16 && grad_out[1].scalar_type() == at::kBFloat16 &&
            grad_out[2].scalar_type() == at::kBFloat16 && torch_kernels::available(dq.device().index())) {
            auto packed = torch::empty({B, T, 3 * C}, dq.options());
            auto db = torch::empty({3 * C}, dq.options());
            if (torch_kernels::qkv_pack(dq, grad_out[1], grad_out[2], packed, db)) {
                publish(packed, {}, std::move(db));
                return {packed, torch::Tensor()};
            }
        }
        std::vector<torch::Tensor> rows;
        for (const auto& g : grad_out) rows.push_back(g.transpose(1, 2).reshape({B, T, C}));
        return {at::cat(rows, 2), torch::Tensor()};
    }
};

// silu(gate) up from gate_up's halves, by device_kernels.hpp's kernels; the backward forms
// gate_up's whole gradient in one pass (no concatenation of the halves' gradients)
struct swiglu_fn : torch::autograd::Function<swiglu_fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gate_up) {
        ctx->save_for_backward({gate_up});
        return torch_kernels::swiglu(gate_up);
    }
    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        const auto gate_up = ctx->get_saved_variables()[0];
        auto grad = torch::empty_like(gate_up);
        torch_kernels::swiglu_backward(gate_up, grad_out[0].contiguous(), grad);
        return {grad};
    }
};

}  // namespace

torch::Tensor swiglu_train(const torch::Tensor& gate_up) {
    TORCH_CHECK(gate_up.dim() >= 1 && gate_up.size(-1) % 2 == 0 && gate_up.is_cuda() && gate_up.scalar_type() == at::kBFloat16 &&
                    gate_up.is_contiguous(),
                "swiglu_train: gate_up must be a contiguous bf16 CUDA tensor of an even last dimension");
    return swiglu_fn::apply(gate_up);
}

torch::Tensor residual_add(const torch::Tensor& x, const torch::Tensor& y) {
    TORCH_CHECK(x.sizes() == y.sizes(), "residual_add: the stream and the output differ in shape");
    return residual_add_fn::apply(x, y);
}

std::array<torch::Tensor, 3> split_heads(const torch::Tensor& qkv, std::int64_t n_head) {
    TORCH_CHECK(qkv.dim() == 3 && n_head > 0 && qkv.size(2) % (3 * n_head) == 0,
                "split_heads: qkv must be (B, T, 3 C) with C a multiple of the heads");
    const auto heads = split_heads_fn::apply(qkv, n_head);
    return {heads[0], heads[1], heads[2]};
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_add(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& weight,
                                                       const torch::Tensor& bias, std::uint32_t salt, bool bias_sums) {
    TORCH_CHECK(x.sizes() == y.sizes(), "layer_norm_add: the stream and the output differ in shape");
    auto out = layer_norm_add_fn::apply(x, y, weight, bias, static_cast<std::int64_t>(salt), bias_sums);
    return {out[0], out[1]};
}

torch::Tensor layer_norm_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool bias_sums) {
    return layer_norm_fn::apply(x, weight, bias, bias_sums);
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_stream(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                                          bool bias_sums) {
    auto out = layer_norm_stream_fn::apply(x, weight, bias, bias_sums);
    return {out[0], out[1]};
}

torch::Tensor linear_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& residual) {
    return residual.defined() ? linear_residual_fn::apply(x, weight, bias, residual) : linear_fn::apply(x, weight, bias);
}

torch::Tensor mlp_train(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                        const torch::Tensor& b2, const torch::Tensor& residual) {
    return residual.defined() ? mlp_fn::apply(x, w1, b1, w2, b2, residual) : mlp_out_fn::apply(x, w1, b1, w2, b2);
}

std::uint64_t epilogue_gemms() noexcept {
    return epilogue_count.load();
}

std::uint64_t stream_roundings_reused() noexcept {
    return rounded_count.load();
}

std::uint64_t bias_sums_reused() noexcept {
    return bias_sums_count.load();
}

}  // namespace fracnas::eval::torch_fused
