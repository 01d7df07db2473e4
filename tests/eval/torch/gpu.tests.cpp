// [gpu] tests of the evaluator's CUDA path: the peak is the model's own (not the L2-flush
// buffer's), the prefill runs a fused attention kernel, a long-lived worker does not grow its
// memory over many candidates, a model that cannot fit is a result, an out-of-memory while
// running is a result, graph replay gives the eager logits, the capture stream waits for the
// current stream, a failed capture leaves the device usable, the model is built on the device in
// its dtype, a resident reference is re-timed without allocating, recipe A trains under bf16
// autocast. Without a CUDA device each case prints so and checks nothing, and CTest reports it as
// skipped (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <ATen/cuda/Sleep.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "device_kernels.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "fracnas/torch/trainer.hpp"
#include "fused_linear.hpp"
#include "fused_train.hpp"
#include "gpt_model.hpp"
#include "graph_runner.hpp"
#include "train_loss.hpp"

using namespace fracnas;

namespace {

bool have_cuda() {
    if (eval::torch_cuda_available()) {
        at::globalContext().lazyInitDevice(at::kCUDA);  // the allocator's statistics exist from here on
        return true;
    }
    std::cout << "no CUDA device: this [gpu] case checks nothing here" << std::endl;  // CTest reports it skipped
    return false;
}

eval::gpt_measure_config on_gpu() {
    eval::gpt_measure_config cfg;
    cfg.device = eval::device_kind::cuda;
    cfg.dtype = eval::dtype_kind::bf16;
    cfg.prefill_tokens = 1024;
    cfg.decode_context = 1023;
    cfg.warmup = 2;
    cfg.repeats = 5;
    return cfg;
}

nas::architecture layers_of(std::uint32_t n, std::uint32_t d) {
    nas::architecture a;
    a.n_layer = n;
    a.d_model = d;
    a.d_inner.assign(n, 4 * d);
    a.n_head.assign(n, d / 64);
    return a;
}

constexpr auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);

std::int64_t allocated_now() {
    return c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[aggregate].current;
}
std::int64_t reserved_now() {
    return c10::cuda::CUDACachingAllocator::getDeviceStats(0).reserved_bytes[aggregate].current;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<double>();
}

// The MLP's output (residual + W2 gelu(W1 x + b1) + b2) and the gradients of v = {x, W1, b1, W2,
// b2, residual} for the output's gradient probe, in fp32: by the training's fused node from v as
// it is, or by LibTorch's layers from v in fp32
std::vector<torch::Tensor> mlp_outputs(const std::vector<torch::Tensor>& v, const torch::Tensor& probe, bool fused) {
    std::vector<torch::Tensor> in;
    for (const auto& t : v) in.push_back((fused ? t : t.to(torch::kFloat32)).detach().clone().requires_grad_(true));
    const auto y = fused ? eval::torch_fused::mlp_train(in[0], in[1], in[2], in[3], in[4], in[5])
                         : in[5] + at::linear(at::gelu(at::linear(in[0], in[1], in[2]), "tanh"), in[3], in[4]);
    (y * probe.to(y.scalar_type())).sum().backward();
    std::vector<torch::Tensor> out = {y.detach().to(torch::kFloat32)};
    for (const auto& t : in) out.push_back(t.grad().to(torch::kFloat32));
    return out;
}

}  // namespace

TEST_CASE("gpu: the peak is the model's own, with or without the L2 flush", "[gpu][eval]") {
    if (!have_cuda()) return;
    auto cfg = on_gpu();
    const auto small = layers_of(2, 512);  // its weights fit in L2: the flush buffer is used
    cfg.flush_l2 = true;
    const auto flushed = eval::evaluate_gpt(small, cfg);
    cfg.flush_l2 = false;
    const auto plain = eval::evaluate_gpt(small, cfg);
    INFO(flushed.message << plain.message);
    REQUIRE(flushed.status == eval::eval_status::ok);
    REQUIRE(plain.status == eval::eval_status::ok);
    CAPTURE(flushed.peak_memory_bytes, plain.peak_memory_bytes);
    // the 256 MiB flush buffer is not in the peak (the peak counts the bytes asked for, not the
    // allocator's blocks, whose rounding depends on what ran before)
    const auto diff = static_cast<std::int64_t>(flushed.peak_memory_bytes) - static_cast<std::int64_t>(plain.peak_memory_bytes);
    REQUIRE(std::abs(diff) <= (64 << 10));
    REQUIRE(flushed.peak_memory_bytes >= flushed.weight_bytes);
    // the sweep's symptom: 2 x 512 reported a larger peak than 4 x 512
    cfg.flush_l2 = true;
    const auto deeper = eval::evaluate_gpt(layers_of(4, 512), cfg);
    REQUIRE(deeper.status == eval::eval_status::ok);
    REQUIRE(flushed.peak_memory_bytes < deeper.peak_memory_bytes);
}

TEST_CASE("gpu: the prefill and the decode step run fused attention kernels, recorded with the result", "[gpu][eval]") {
    if (!have_cuda()) return;
    const auto r = eval::evaluate_gpt(nas::gpt2_small(), on_gpu());
    INFO(r.message);
    REQUIRE(r.status == eval::eval_status::ok);
    REQUIRE(r.graphs_used);
    CAPTURE(r.prefill_attention, r.decode_attention);
    REQUIRE((r.prefill_attention == "flash" || r.prefill_attention == "cudnn" || r.prefill_attention == "efficient"));
    REQUIRE(r.decode_attention != "math");
    REQUIRE_FALSE(r.decode_attention.empty());
    // grouped KV heads (4 for 12 query heads) at batch 8: SDPA's enable_gqa keeps a fused kernel,
    // which reads each cached head once (the math kernel would repeat them)
    auto grouped = nas::gpt2_small();
    grouped.n_kv_head.assign(12, 4);
    auto cfg = on_gpu();
    cfg.decode_batch = cfg.prefill_batch = 8;
    const auto g = eval::evaluate_gpt(grouped, cfg);
    INFO(g.message);
    REQUIRE(g.status == eval::eval_status::ok);
    CAPTURE(g.prefill_attention, g.decode_attention);
    REQUIRE(g.prefill_attention != "math");
    REQUIRE(g.decode_attention != "math");
    REQUIRE(g.decode->median_ms > 0.0);
}

TEST_CASE("gpu: a long-lived worker measures 50 different candidates without growing its memory", "[gpu][eval]") {
    if (!have_cuda()) return;
    auto cfg = on_gpu();
    cfg.warmup = 1;
    cfg.repeats = 2;
    const auto worker = eval::make_gpt_job_evaluator(cfg, nas::gpt2_small());
    REQUIRE(worker->binding().kind == "cuda");
    REQUIRE(worker->binding().uuid.rfind("GPU-", 0) == 0);
    std::int64_t first = -1, reserved_early = 0;
    for (std::uint32_t i = 0; i < 50; ++i) {
        const auto a = layers_of(2 + i % 4, 256 + 64 * (i % 7));
        const auto o = worker->evaluate({}, nas::canonical(a));
        INFO(i << ": " << o.message);
        REQUIRE(o.status == eval::outcome_status::ok);
        REQUIRE(o.value > 0.0);
        const std::int64_t now = allocated_now();
        if (first < 0) first = now;
        CAPTURE(first, now);
        REQUIRE(now <= first + (8 << 20));  // nothing held over from one candidate to the next
        // the allocator's pool is kept and reused: after every size has been seen once (28
        // candidates), it does not keep growing
        if (i < 28)
            reserved_early = std::max(reserved_early, reserved_now());
        else
            REQUIRE(reserved_now() <= 2 * reserved_early);
    }
}

TEST_CASE("gpu: a resident reference is re-timed from its graphs without allocating, and is not in a candidate's peak", "[gpu][eval]") {
    if (!have_cuda()) return;
    const auto cfg = on_gpu();
    const auto candidate = layers_of(4, 512);
    eval::evaluate_gpt(candidate, cfg);  // the process's kernels and workspaces, before the figures compared
    const auto alone = eval::evaluate_gpt(candidate, cfg);
    REQUIRE(alone.status == eval::eval_status::ok);
    eval::resident_gpt reference(nas::gpt2_small(), cfg);
    const auto first = reference.time();
    INFO(first.message);
    REQUIRE(first.status == eval::eval_status::ok);
    REQUIRE(reference.built());
    const std::int64_t held = allocated_now();
    REQUIRE(held >= static_cast<std::int64_t>(first.weight_bytes));  // the model stays on the device
    const auto again = reference.time();
    INFO(again.message);
    REQUIRE(again.status == eval::eval_status::ok);
    REQUIRE(again.phases.capture == 0.0);
    REQUIRE(again.decode.has_value());
    REQUIRE(again.decode->median_ms > 0.0);
    REQUIRE(again.decode_nodes == first.decode_nodes);
    CAPTURE(held, allocated_now());
    REQUIRE(allocated_now() == held);  // replays of the kept graphs over the kept buffers
    const auto beside = eval::evaluate_gpt(candidate, cfg);
    REQUIRE(beside.status == eval::eval_status::ok);
    CAPTURE(alone.peak_memory_bytes, beside.peak_memory_bytes);
    const auto diff = static_cast<std::int64_t>(beside.peak_memory_bytes) - static_cast<std::int64_t>(alone.peak_memory_bytes);
    REQUIRE(std::abs(diff) <= (64 << 10));
}

TEST_CASE("gpu: a model that cannot fit is a result, and the device stays usable", "[gpu][eval]") {
    if (!have_cuda()) return;
    const auto huge = layers_of(24, 65536);
    const auto r = eval::evaluate_gpt(huge, on_gpu());
    REQUIRE(r.status == eval::eval_status::out_of_memory);
    REQUIRE_FALSE(r.message.empty());
    REQUIRE(eval::evaluate_gpt(layers_of(2, 256), on_gpu()).status == eval::eval_status::ok);
}

TEST_CASE("gpu: running out of device memory mid-run is a result, and the memory comes back", "[gpu][eval]") {
    if (!have_cuda()) return;
    auto cfg = on_gpu();
    cfg.decode = false;
    cfg.prefill_batch = 4096;  // 4,096 x 1,024 tokens of width 4,096: hundreds of GiB of activations
    const std::int64_t before = allocated_now();
    const auto r = eval::evaluate_gpt(layers_of(2, 4096), cfg);  // 1.2 GiB of weights: passes the up-front check
    INFO(r.message);
    REQUIRE(r.status == eval::eval_status::out_of_memory);
    REQUIRE_FALSE(r.prefill.has_value());
    REQUIRE(allocated_now() <= before);
    REQUIRE(eval::evaluate_gpt(layers_of(2, 256), on_gpu()).status == eval::eval_status::ok);
}

TEST_CASE("gpu: the model is built on the device in its dtype, and graph replay gives the eager logits", "[gpu][eval]") {
    if (!have_cuda()) return;
    namespace tm = eval::torch_model;
    // GPT-2's block, and Llama's (grouped KV heads through SDPA's enable_gqa, rotary positions
    // applied before the cache, SwiGLU, RMSNorm, an untied head, no biases: issue 25)
    auto llama = layers_of(3, 512);
    for (const auto& [key, word] :
         {std::pair{"norm", "rmsnorm"}, {"mlp", "swiglu"}, {"positions", "rotary"}, {"output", "untied"}, {"bias", "off"}})
        nas::set_block_option(llama, key, word);
    llama.n_kv_head.assign(3, 2);
    for (const auto& a : {layers_of(3, 512), llama}) {
        INFO(nas::canonical(a));
        torch::manual_seed(5);
        const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
        tm::Gpt model(a, opts);
        for (const auto& p : model->named_parameters()) {
            INFO(p.key());
            REQUIRE(p.value().is_cuda());
            REQUIRE(p.value().scalar_type() == torch::kBFloat16);
        }
        c10::InferenceMode inference;
        const auto arch = model->architecture();
        const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(torch::kCUDA, 0);
        const auto prompt = torch::randint(0, arch.vocab, {2, 64}, long_opts);
        const auto token = torch::randint(0, arch.vocab, {2, 1}, long_opts);

        // eager: a prefill of 64 tokens, then one decode step at position 64
        auto cache = model->make_cache(2, opts);
        const auto eager_prefill = model->forward_cached(prompt, cache, 0, true).clone();
        const auto eager_decode = model->forward_cached(token, cache, 64).clone();

        // the same two steps captured, then replayed into fixed output buffers from a fresh cache
        auto graph_cache = model->make_cache(2, opts);
        torch::Tensor prefill_out = torch::empty_like(eager_prefill), decode_out = torch::empty_like(eager_decode);
        double warmup = 0.0, capture = 0.0;
        eval::torch_graphs::graph_runner runner;
        const auto replay = runner.wrap({[&] { prefill_out.copy_(model->forward_cached(prompt, graph_cache, 0, true)); },
                                         [&] { decode_out.copy_(model->forward_cached(token, graph_cache, 64)); }},
                                        true, warmup, capture);
        prefill_out.zero_();
        decode_out.zero_();
        for (auto& c : graph_cache) c.kv.zero_();
        replay();
        torch::cuda::synchronize();
        const double scale = eager_decode.abs().max().item<double>();
        CAPTURE(scale, max_abs_diff(prefill_out, eager_prefill), max_abs_diff(decode_out, eager_decode));
        REQUIRE(scale > 0.0);
        // the same kernels on the same inputs: within a bf16 rounding of the logits' scale (a stale
        // cache or a wrong position differs by the scale itself)
        REQUIRE(max_abs_diff(prefill_out, eager_prefill) <= 4e-3 * scale);
        REQUIRE(max_abs_diff(decode_out, eager_decode) <= 4e-3 * scale);
        REQUIRE(warmup > 0.0);
        REQUIRE(capture > 0.0);
        // and the full forward gives the cached decode's logits (a cache written with rotated keys
        // in the wrong place, or a group read from the wrong KV head, would not)
        const auto whole = model->forward(torch::cat({prompt, token}, 1)).narrow(1, 64, 1);
        CAPTURE(max_abs_diff(whole, eager_decode));
        REQUIRE(max_abs_diff(whole, eager_decode) <= 3e-2 * scale);
    }
}

TEST_CASE("gpu: the fused bias and GELU epilogue computes GPT-2's tanh GELU, for one row and for many, with a bias or without",
          "[gpu][eval]") {
    if (!have_cuda()) return;
    namespace tm = eval::torch_model;
    const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kFloat32);
    tm::Dense dense(256, 256, 0.02, opts);
    {
        torch::NoGradGuard no_grad;
        dense->weight.copy_(torch::eye(256, opts));  // the identity: the epilogue sees x + b
        dense->bias.copy_(torch::linspace(-0.5, 0.5, 256, opts));
    }
    for (const std::int64_t rows : {1, 7}) {
        const auto x = torch::linspace(-3.5, 3.5, rows * 256, opts).view({1, rows, 256});
        const auto fused = dense->forward_gelu(x).cpu();
        const auto pre = (x + dense->bias).cpu();
        namespace F = torch::nn::functional;
        const double to_tanh = max_abs_diff(fused, F::gelu(pre, F::GELUFuncOptions().approximate("tanh")));
        const double to_exact = max_abs_diff(fused, F::gelu(pre));
        CAPTURE(rows, to_tanh, to_exact);
        // the two GELUs differ by up to 5e-4 on [-4, 4]; fp32 rounding is far below that
        REQUIRE(to_tanh < 5e-5);
        REQUIRE(to_exact > 1e-4);
    }
    // a layer without a bias (bias=off) takes the epilogue too, over a zero bias of its own
    tm::Dense plain(256, 256, 0.02, opts, /*with_bias=*/false);
    {
        torch::NoGradGuard no_grad;
        plain->weight.copy_(torch::eye(256, opts));
    }
    const auto x = torch::linspace(-3.5, 3.5, 7 * 256, opts).view({1, 7, 256});
    namespace F = torch::nn::functional;
    for (int call = 0; call < 2; ++call) {  // the zero bias made at the first call, kept for the next
        const auto fused = plain->forward_gelu(x);
        CAPTURE(call);
        REQUIRE(max_abs_diff(fused.cpu(), F::gelu(x, F::GELUFuncOptions().approximate("tanh")).cpu()) < 5e-5);
    }
    REQUIRE_FALSE(plain->bias.defined());
    REQUIRE(plain->parameters().size() == 1);  // the zero bias is not a parameter
}

TEST_CASE("gpu: the residual projection is one cuBLASLt call equal to the GEMM, the bias and the add, with a bias or without",
          "[gpu][eval]") {
    if (!have_cuda()) return;
    namespace tf = eval::torch_fused;
    torch::manual_seed(7);
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(dtype);
        for (const auto& [rows, in, out] :
             {std::tuple<std::int64_t, std::int64_t, std::int64_t>{1, 768, 768}, {7, 3072, 768}, {1024, 1024, 1024}, {3, 200, 136}}) {
            const auto x = torch::randn({1, rows, in}, opts);
            const auto w = torch::randn({out, in}, opts) * 0.02;
            const auto r = torch::randn({1, rows, out}, opts);
            // a bias far from zero (its epilogue is seen), and none (a Llama block's projection)
            for (const auto& b : {torch::randn({out}, opts), torch::Tensor()}) {
                const auto before = tf::fused_calls();
                const auto fused = tf::linear_residual(x, w, b, r);
                const auto fused_ran = tf::fused_calls() - before;
                // the reference in fp32 from the same (rounded) inputs
                const auto b32 = b.defined() ? b.to(torch::kFloat32) : torch::Tensor();
                const auto expected = (r.to(torch::kFloat32) + at::linear(x.to(torch::kFloat32), w.to(torch::kFloat32), b32));
                const double err = max_abs_diff(fused.to(torch::kFloat32).cpu(), expected.cpu());
                const double scale = expected.abs().max().item<double>();
                CAPTURE(rows, in, out, dtype, b.defined(), err, scale);
                REQUIRE(fused_ran == 1);
                REQUIRE(fused.sizes() == r.sizes());
                REQUIRE(err <= (dtype == torch::kFloat32 ? 2e-3 : 2e-2) * scale);  // TF32 or bf16 output rounding
            }
        }
    }
    // a recorded forward (the grad-norm proxy) takes the unfused path and has gradients
    const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kFloat32);
    const auto w = torch::randn({64, 32}, opts).requires_grad_();
    const auto before = tf::fused_calls();
    const auto y = tf::linear_residual(torch::randn({4, 32}, opts), w, torch::zeros({64}, opts), torch::randn({4, 64}, opts));
    y.sum().backward();
    REQUIRE(tf::fused_calls() == before);
    REQUIRE(w.grad().defined());
}

TEST_CASE("gpu: GEMMs timed among cuBLASLt's candidates give the heuristic's results, the timing writing nothing of the call's",
          "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tf = eval::torch_fused;
    torch::manual_seed(5);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    const tf::tuning_scope tuned(true);
    const auto timed_before = tf::timed_plans();
    // D is C (the residual added to in place): a timing run that wrote D would add the product twice
    for (const auto& [rows, in, out] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t>{4096, 768, 768}, {512, 768, 3072}, {100, 64, 136}}) {
        const auto x = torch::randn({rows, in}, bf), w = torch::randn({out, in}, bf) * 0.05, b = torch::randn({out}, bf);
        const auto r = torch::randn({rows, out}, bf);
        auto acc = r.clone();
        const auto g = tf::projection(x.data_ptr(), w.data_ptr(), b.data_ptr(), acc.data_ptr(), acc.data_ptr(), rows, in, out);
        REQUIRE(tf::run(g, torch::kBFloat16, 0));
        const auto expected = r.to(torch::kFloat32) + at::linear(x.to(torch::kFloat32), w.to(torch::kFloat32), b.to(torch::kFloat32));
        const double err = max_abs_diff(acc.to(torch::kFloat32).cpu(), expected.cpu()), scale = expected.abs().max().item<double>();
        CAPTURE(rows, in, out, err, scale);
        REQUIRE(err <= 2e-2 * scale);
    }
    // the MLP's epilogues that write a second output (GELU's input, the bias gradient) timed too
    const std::vector<torch::Tensor> v = {torch::randn({4, 128, 768}, bf), torch::randn({3072, 768}, bf) * 0.05,
                                          torch::randn({3072}, bf) * 0.1,  torch::randn({768, 3072}, bf) * 0.05,
                                          torch::randn({768}, bf) * 0.1,   torch::randn({4, 128, 768}, bf)};
    const auto probe = torch::randn({4, 128, 768}, bf);
    const auto fused = mlp_outputs(v, probe, true), reference = mlp_outputs(v, probe, false);
    for (std::size_t i = 0; i < fused.size(); ++i) {
        const double err = (fused[i] - reference[i]).norm().item<double>() / reference[i].norm().item<double>();
        CAPTURE(i, err);
        REQUIRE(err < 2e-2);
    }
    REQUIRE(tf::timed_plans() > timed_before);  // some shape had candidates to time
}

TEST_CASE("gpu: the grad-norm proxy runs on the device (the fused epilogue has no derivative)", "[gpu][eval]") {
    if (!have_cuda()) return;
    auto cfg = on_gpu();
    cfg.grad_norm = true;
    cfg.prefill = cfg.decode = false;
    const auto r = eval::evaluate_gpt(layers_of(3, 256), cfg);
    INFO(r.message);
    REQUIRE(r.status == eval::eval_status::ok);
    REQUIRE(r.grad_norm.has_value());
    REQUIRE(std::isfinite(*r.grad_norm));
    REQUIRE(*r.grad_norm > 0.0);
    REQUIRE(r.phases.proxy > 0.0);
}

TEST_CASE("gpu: the capture stream waits for work queued on the current stream", "[gpu][eval]") {
    if (!have_cuda()) return;
    const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kFloat32);
    auto x = torch::zeros({1024}, opts), acc = torch::zeros({1024}, opts);
    torch::cuda::synchronize();
    at::cuda::sleep(200'000'000);  // about 0.1 s of device time queued before x becomes 1
    x.fill_(1.0);
    double warmup = 0.0, capture = 0.0;
    eval::torch_graphs::graph_runner runner;
    const auto replay = runner.wrap({[&] { acc.add_(x); }}, true, warmup, capture, /*warmups=*/3);
    torch::cuda::synchronize();
    // three warm-ups on the capture stream, each after x became 1 (an unordered stream reads 0)
    REQUIRE(acc.min().item<float>() == 3.0f);
    REQUIRE(acc.max().item<float>() == 3.0f);
    replay();
    torch::cuda::synchronize();
    REQUIRE(acc.min().item<float>() == 4.0f);
}

TEST_CASE("gpu: a capture that fails is closed, and the device stays usable", "[gpu][eval]") {
    if (!have_cuda()) return;
    const auto opts = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kFloat32);
    auto x = torch::ones({16}, opts);
    double warmup = 0.0, capture = 0.0;
    {
        eval::torch_graphs::graph_runner runner;
        // reading a value back to the host is not allowed while a stream captures
        REQUIRE_THROWS(runner.wrap({[&] { (void)x.sum().item<float>(); }}, true, warmup, capture));
    }
    REQUIRE(x.sum().item<float>() == 16.0f);
    eval::torch_graphs::graph_runner again;
    auto y = torch::zeros({16}, opts);
    const auto replay = again.wrap({[&] { y.add_(x); }}, true, warmup, capture, /*warmups=*/0);
    replay();
    torch::cuda::synchronize();
    REQUIRE(y.sum().item<float>() == 16.0f);
    REQUIRE(eval::evaluate_gpt(layers_of(2, 256), on_gpu()).status == eval::eval_status::ok);
}
namespace {
// 20,000 ids, each the previous one plus one (mod 64) 9 times in 10: 4.16 nats untrained, 0.73 the floor
std::vector<std::uint32_t> counting_stream(std::uint64_t s) {
    std::vector<std::uint32_t> ids(20000);
    for (std::size_t i = 1; i < ids.size(); ++i) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        ids[i] = (s >> 33) % 10 == 0 ? static_cast<std::uint32_t>((s >> 40) % 64) : (ids[i - 1] + 1) % 64;
    }
    return ids;
}

// A small recipe on the device: `steps` steps of 8 x 64 tokens at a high learning rate.
eval::train_recipe device_recipe(std::uint64_t steps) {
    eval::train_recipe r;
    r.device = eval::device_kind::cuda;
    r.tokens = 8 * 64 * steps;
    r.batch = 8;
    r.seq_len = 64;
    r.lr = 3e-3;
    return r;
}
}  // namespace

TEST_CASE("gpu: recipe A trains under bf16 autocast on the device, and its loss falls", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    const auto ids = counting_stream(1);
    auto r = device_recipe(200);
    r.checkpoints = 2;
    for (const std::uint32_t e : {0u, 32u}) {
        auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=256,256 n_head=2,2 context=128");
        arch.d_embed = e;
        const auto out = eval::train_gpt(arch, 64, {ids.data(), 16000}, {ids.data() + 16000, 4000}, r);
        INFO(out.message);
        REQUIRE(out.status == eval::train_status::ok);
        REQUIRE(out.device_name.find("NVIDIA") != std::string::npos);
        REQUIRE(out.checkpoints.size() == 2);
        REQUIRE(out.checkpoints.back().val_loss < out.checkpoints.front().val_loss);
        REQUIRE(out.checkpoints.back().val_loss < 3.0);  // far below 4.16 (the CPU tests reach 0.89 and 2.37)
    }
}

TEST_CASE("gpu: Llama's block trains with the engine's settings (bf16 weights, graphs), and its loss falls as GPT-2's does",
          "[gpu][eval][train]") {
    if (!have_cuda()) return;
    const auto ids = counting_stream(1);
    auto r = device_recipe(200);
    r.checkpoints = 2;
    // every setting on, as `fracnas train --speed all` turns them on for bf16
    r.speed.loss_kernel = r.speed.bf16_weights = r.speed.residual_sr = r.speed.norm_kernel = r.speed.adam_kernel = r.speed.fused_dense =
        r.speed.swiglu_kernel = true;
    for (const std::string options :
         {"", " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=1,1 output=untied bias=off", " block=parallel"}) {
        const auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=256,256 n_head=2,2 context=128" + options);
        const auto out = eval::train_gpt(arch, 64, {ids.data(), 16000}, {ids.data() + 16000, 4000}, r);
        INFO(options << ": " << out.message << " " << out.engine_note);
        REQUIRE(out.status == eval::train_status::ok);
        REQUIRE(out.checkpoints.back().val_loss < out.checkpoints.front().val_loss);
        REQUIRE(out.checkpoints.back().val_loss < 3.0);
    }
}

TEST_CASE("gpu: smaller budgets branch off a graph-replayed wsd training and are put back", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    const auto ids = counting_stream(7);
    auto r = device_recipe(120);
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 8 * 64 * 10;
    const auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=256,256 n_head=2,2 context=128");
    const auto train = [&](const eval::train_recipe& x) {
        return eval::train_gpt(arch, 64, {ids.data(), 16000}, {ids.data() + 16000, 4000}, x);
    };
    const auto whole = train(r);
    auto small = r;
    small.tokens = 8 * 64 * 40;
    const auto alone = train(small);
    r.budgets = {small.tokens};
    const auto with = train(r);
    INFO(with.message);
    REQUIRE(with.status == eval::train_status::ok);
    REQUIRE(with.engine_note.empty());  // the steps were replayed from the graph, the branch's too
    REQUIRE(with.budgets.size() == 1);
    // the device's sums are not deterministic: the same training up to rounding
    REQUIRE(with.budgets[0].steps == alone.steps);
    REQUIRE(with.budgets[0].val_loss == Approx(alone.checkpoints.back().val_loss).epsilon(0.02));
    REQUIRE(with.budgets[0].val_loss > with.checkpoints.back().val_loss);
    REQUIRE(with.checkpoints.back().val_loss == Approx(whole.checkpoints.back().val_loss).epsilon(0.02));
    REQUIRE(with.loss_curve.size() == whole.loss_curve.size());
}
TEST_CASE("gpu: a worker's training task trains on its GPU with the engine's settings, and a promotion continues its state",
          "[gpu][eval][train]") {
    if (!have_cuda()) return;
    const auto ids = counting_stream(5);
    auto training = std::make_shared<eval::gpt_training>();
    training->train = std::make_shared<std::vector<std::uint32_t>>(ids.begin(), ids.begin() + 16000);
    training->val = std::make_shared<std::vector<std::uint32_t>>(ids.begin() + 16000, ids.end());
    training->vocab = 64;
    auto& r = training->recipe;
    r = device_recipe(1);
    r.checkpoints = 1;
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 8 * 64 * 10;
    // `fracnas train --speed all` with bf16: bf16 weights, the stochastically rounded stream, the kernels
    r.speed.bf16_weights = r.speed.residual_sr = r.speed.loss_kernel = r.speed.norm_kernel = r.speed.adam_kernel = r.speed.fused_dense =
        true;
    const std::string root = std::string(FRACNAS_TEST_TMP) + "/gpu_worker_states";
    REQUIRE(std::system(("rm -rf '" + root + "'").c_str()) == 0);
    training->state_root = root;
    auto cfg = on_gpu();
    const auto worker = eval::make_gpt_job_evaluator(cfg, nas::gpt2_small(), 1, training);
    const auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=256,256 n_head=2,2 context=128");
    const auto first = worker->train({}, nas::canonical(arch), eval::train_task{8 * 64 * 100, 1, 0});
    INFO(first.message);
    REQUIRE(first.status == eval::outcome_status::ok);
    REQUIRE(first.tokens_trained == 8 * 64 * 100);
    REQUIRE(first.val_loss < 3.0);
    REQUIRE(first.tokens_per_second > 0.0);
    const auto promoted = worker->train({}, nas::canonical(arch), eval::train_task{8 * 64 * 200, 1, 1});
    INFO(promoted.message);
    REQUIRE(promoted.status == eval::outcome_status::ok);
    REQUIRE(promoted.tokens_trained == 8 * 64 * 200);
    REQUIRE(promoted.val_loss < 3.0);  // (this stream's floor is near 0.84: the first budget reached it already)
    // the same as a training of the larger budget from the start, up to the device's rounding
    auto fresh = std::make_shared<eval::gpt_training>(*training);
    fresh->state_root.clear();
    const auto whole = eval::make_gpt_job_evaluator(cfg, nas::gpt2_small(), 1, fresh)
                           ->train({}, nas::canonical(arch), eval::train_task{8 * 64 * 200, 1, 1});
    REQUIRE(whole.status == eval::outcome_status::ok);
    REQUIRE(promoted.val_loss == Approx(whole.val_loss).epsilon(0.02));
    REQUIRE(std::system(("rm -rf '" + root + "'").c_str()) == 0);
}

TEST_CASE("gpu: bf16 weights and the flash attention train the autocast training's curve, graph-replayed", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    const auto ids = counting_stream(3);
    auto r = device_recipe(200);
    r.checkpoints = 2;
    const auto arch = nas::parse_architecture("n_layer=2 d_model=64 d_inner=256,256 n_head=2,2 context=128");
    const auto train = [&](const eval::train_recipe& x) {
        return eval::train_gpt(arch, 64, {ids.data(), 16000}, {ids.data() + 16000, 4000}, x);
    };
    const bool cudnn_attention = at::globalContext().userEnabledCuDNNSDP();
    const auto autocast = train(r);
    REQUIRE(autocast.status == eval::train_status::ok);
    for (const auto& [bf16, flash] : {std::pair{true, false}, std::pair{false, true}, std::pair{true, true}}) {
        auto x = r;
        x.speed.bf16_weights = bf16;
        x.speed.flash_attention = flash;
        const auto out = train(x);
        INFO(out.message << " bf16_weights " << bf16 << " flash_attention " << flash);
        REQUIRE(out.status == eval::train_status::ok);
        REQUIRE(out.engine_note.empty());  // captured and replayed
        REQUIRE(out.loss_curve.front() == Approx(autocast.loss_curve.front()).margin(0.05));
        REQUIRE(out.checkpoints.back().val_loss == Approx(autocast.checkpoints.back().val_loss).epsilon(0.1));
        REQUIRE(out.checkpoints.back().val_loss < 3.0);
    }
    REQUIRE(at::globalContext().userEnabledCuDNNSDP() == cudnn_attention);  // as it was before the training
    // the fused linear layers with bf16 weights, graph-replayed: the same curve, their GEMMs taken
    auto x = r;
    x.speed.bf16_weights = x.speed.fused_dense = true;
    const auto before = eval::torch_fused::epilogue_gemms();
    const auto fused = train(x);
    INFO(fused.message);
    REQUIRE(fused.status == eval::train_status::ok);
    REQUIRE(fused.engine_note.empty());
    REQUIRE(eval::torch_fused::epilogue_gemms() > before);
    REQUIRE(fused.loss_curve.front() == Approx(autocast.loss_curve.front()).margin(0.05));
    REQUIRE(fused.checkpoints.back().val_loss == Approx(autocast.checkpoints.back().val_loss).epsilon(0.1));
    // the loss kernel under autocast, with bf16 weights, with the LayerNorm kernels, with the AdamW
    // kernel and with the fp32 residual stream (and fused_dense), graph-replayed: the same curve
    for (const auto& [bf16, norm, adam, wide] :
         {std::tuple{false, false, false, false}, std::tuple{true, false, false, false}, std::tuple{true, true, false, false},
          std::tuple{true, true, true, false}, std::tuple{true, true, true, true}}) {
        auto k = r;
        k.speed.loss_kernel = true;
        k.speed.bf16_weights = bf16;
        k.speed.norm_kernel = norm;
        k.speed.adam_kernel = adam;
        k.speed.residual_fp32 = k.speed.fused_dense = wide;
        const auto reused = eval::torch_fused::stream_roundings_reused();
        const auto sums = eval::torch_fused::bias_sums_reused();
        const auto out = train(k);
        INFO(out.message << " " << out.engine_note << " bf16_weights " << bf16 << " norm_kernel " << norm << " adam_kernel " << adam
                         << " residual_fp32 " << wide);
        REQUIRE(out.status == eval::train_status::ok);
        REQUIRE(out.engine_note.empty());  // compiled, captured and replayed
        // with the fp32 stream, its gradient reaches the bf16 layers as the LayerNorms' backward
        // rounded it (no cast), four times a step in two blocks (a projection, an MLP each)
        if (wide) REQUIRE(eval::torch_fused::stream_roundings_reused() - reused >= 4);
        // and the bias gradients as the kernels summed them beside the gradients (q/k/v packing,
        // the LayerNorms' backward): three a block a step
        if (wide) REQUIRE(eval::torch_fused::bias_sums_reused() - sums >= 6);
        REQUIRE(out.loss_curve.front() == Approx(autocast.loss_curve.front()).margin(0.05));
        REQUIRE(out.checkpoints.back().val_loss == Approx(autocast.checkpoints.back().val_loss).epsilon(0.1));
    }
    // the residual adds in the LayerNorms, with the fp32 stream and with a bf16 stream rounded
    // stochastically: the same curve, graph-replayed, the bias sums handed over
    for (const bool fp32_stream : {true, false}) {
        auto k = r;
        k.speed.loss_kernel = k.speed.bf16_weights = k.speed.norm_kernel = k.speed.adam_kernel = k.speed.fused_dense = true;
        k.speed.residual_fp32 = k.speed.norm_add = fp32_stream;
        k.speed.residual_sr = !fp32_stream;
        const auto sums = eval::torch_fused::bias_sums_reused();
        const auto out = train(k);
        INFO(out.message << " " << out.engine_note << " fp32 stream " << fp32_stream);
        REQUIRE(out.status == eval::train_status::ok);
        REQUIRE(out.engine_note.empty());
        REQUIRE(eval::torch_fused::bias_sums_reused() - sums >= 6);
        REQUIRE(out.loss_curve.front() == Approx(autocast.loss_curve.front()).margin(0.05));
        REQUIRE(out.checkpoints.back().val_loss == Approx(autocast.checkpoints.back().val_loss).epsilon(0.1));
    }
}

TEST_CASE("gpu: the training's fused layers run their cuBLASLt epilogues and give the unfused gradients", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tf = eval::torch_fused;
    torch::manual_seed(21);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    // GPT-2 small's MLP at a batch of 4 x 128, an FFN width cuBLASLt's GELU input cannot take (not a
    // multiple of 8: the node's LibTorch steps), and the attention's projections
    for (const auto& [rows, d, f] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{512, 768, 3072}, {96, 64, 204}}) {
        const std::vector<torch::Tensor> v = {torch::randn({4, rows / 4, d}, bf), torch::randn({f, d}, bf) * 0.05,
                                              torch::randn({f}, bf) * 0.1,        torch::randn({d, f}, bf) * 0.05,
                                              torch::randn({d}, bf) * 0.1,        torch::randn({4, rows / 4, d}, bf)};
        const auto probe = torch::randn({4, rows / 4, d}, bf);
        const auto before = tf::epilogue_gemms();
        const auto fused = mlp_outputs(v, probe, true);
        const auto gemms = tf::epilogue_gemms() - before;
        const auto reference = mlp_outputs(v, probe, false);  // fp32 from the same bf16 inputs
        CAPTURE(rows, d, f, gemms);
        if (f % 8 == 0)
            REQUIRE(gemms == 2u);  // GELU_AUX_BIAS, and BGRADB for W2's gradient (b1's comes from the GELU backward kernel)
        else
            REQUIRE(gemms <= 1u);  // GELU's input needs a leading dimension of 8k: W2's BGRADB at most
        for (std::size_t i = 0; i < fused.size(); ++i) {
            const double err = (fused[i] - reference[i]).norm().item<double>() / reference[i].norm().item<double>();
            CAPTURE(i, err);
            REQUIRE(err < 2e-2);  // bf16 products and outputs against fp32
        }
    }
    const std::vector<torch::Tensor> v = {torch::randn({8, 64, 768}, bf), torch::randn({2304, 768}, bf) * 0.05, torch::randn({2304}, bf)};
    std::vector<torch::Tensor> in, ref;
    for (const auto& t : v) {
        in.push_back(t.detach().clone().requires_grad_(true));
        ref.push_back(t.to(torch::kFloat32).detach().clone().requires_grad_(true));
    }
    const auto before = tf::epilogue_gemms();
    tf::linear_train(in[0], in[1], in[2], {}).sum().backward();
    REQUIRE(tf::epilogue_gemms() - before == 1u);  // the weight gradient's GEMM with BGRADB
    at::linear(ref[0], ref[1], ref[2]).sum().backward();
    for (std::size_t i = 0; i < 3; ++i) {
        const double err = (in[i].grad().to(torch::kFloat32) - ref[i].grad()).norm().item<double>() / ref[i].grad().norm().item<double>();
        CAPTURE(i, err);
        REQUIRE(err < 2e-2);
    }
    // an fp32 stream: the projection's bf16 products summed in fp32 and added to the stream in one
    // GEMM, no bf16 rounding of the layer's output between (far nearer fp32's than bf16's 2^-9)
    {
        const auto xs = torch::randn({8, 64, 768}, bf), ws = torch::randn({768, 768}, bf) * 0.05, bs = torch::randn({768}, bf);
        const auto stream = torch::randn({8, 64, 768}, bf.dtype(torch::kFloat32));
        auto xg = xs.clone().requires_grad_(true), wg = ws.clone().requires_grad_(true), bg = bs.clone().requires_grad_(true),
             sg = stream.clone().requires_grad_(true);
        const auto before_stream = tf::epilogue_gemms();
        const auto out = tf::linear_train(xg, wg, bg, sg);
        REQUIRE(tf::epilogue_gemms() - before_stream == 1u);
        REQUIRE(out.scalar_type() == torch::kFloat32);
        const auto want = at::linear(xs.to(torch::kFloat32), ws.to(torch::kFloat32), bs.to(torch::kFloat32));
        const double err = (out.detach() - stream - want).norm().item<double>() / want.norm().item<double>();
        CAPTURE(err);
        REQUIRE(err < 1e-4);
        const auto probe = torch::randn({8, 64, 768}, bf.dtype(torch::kFloat32));
        (out * probe).sum().backward();
        REQUIRE(torch::equal(sg.grad(), probe));  // the stream's gradient passes in fp32
        REQUIRE(xg.grad().scalar_type() == torch::kBFloat16);
    }
}
TEST_CASE("gpu: the loss kernel gives LibTorch's softmax cross-entropy and its gradient, in one pass over bf16 logits",
          "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    std::string why;
    REQUIRE(tk::available(0, &why));
    INFO(why);
    torch::manual_seed(23);
    const auto dev = torch::TensorOptions().device(torch::kCUDA, 0);
    // rows held in registers (32k, the most they take; 1,000, a few threads' vectors), rows read
    // twice (64k, 16-byte loads; an odd width, element by element); targets at both ends
    for (const std::int64_t V : {std::int64_t{32768}, std::int64_t{1000}, std::int64_t{65536}, std::int64_t{1001}}) {
        const std::int64_t n = 67;
        const auto logits = (torch::randn({n, V}, dev) * 3.0).to(torch::kBFloat16);
        auto y = torch::randint(V, {n}, dev.dtype(torch::kInt64));
        y[0] = 0;
        y[1] = V - 1;
        const auto ref32 = logits.to(torch::kFloat32);
        const auto logp = at::log_softmax(ref32, 1);
        const auto want_loss = -logp.gather(1, y.unsqueeze(1)).squeeze(1);
        auto want_grad = logp.exp();
        want_grad.scatter_add_(1, y.unsqueeze(1), torch::full({n, 1}, -1.0f, dev));
        const auto loss = torch::empty({n}, dev.dtype(torch::kFloat32));
        auto no_grad = logits.clone();
        tk::softmax_cross_entropy(no_grad, y, loss, false);
        CAPTURE(V);
        REQUIRE(torch::equal(no_grad, logits));  // without grad the logits stay
        REQUIRE((loss - want_loss).abs().max().item<double>() < 1e-4);
        auto g = logits.clone();
        tk::softmax_cross_entropy(g, y, loss, true);
        REQUIRE((loss - want_loss).abs().max().item<double>() < 1e-4);
        // each value rounded once from fp32: within half a bf16 step of the fp32 gradient
        const auto err = (g.to(torch::kFloat32) - want_grad).abs();
        const auto step = want_grad.abs() * (std::ldexp(1.0, -8) + 1e-5) + 1e-7;  // and fp32's differences of order
        REQUIRE((err <= step).all().item<bool>());
        REQUIRE(g.to(torch::kFloat32).sum(1).abs().max().item<double>() < 1e-2);  // softmax - onehot sums to 0
    }
    // an id outside the vocabulary: a NaN loss for its row, the others untouched
    const auto logits = torch::randn({3, 64}, dev).to(torch::kBFloat16);
    const auto y = torch::tensor(std::vector<std::int64_t>{5, 64, -1}, dev.dtype(torch::kInt64));
    const auto loss = torch::empty({3}, dev.dtype(torch::kFloat32));
    tk::softmax_cross_entropy(logits.clone(), y, loss, true);
    const auto back = loss.cpu();
    REQUIRE(std::isfinite(back[0].item<float>()));
    REQUIRE(std::isnan(back[1].item<float>()));
    REQUIRE(std::isnan(back[2].item<float>()));
    // the chunked loss with the kernel against LibTorch's operators, loss and both gradients
    const std::int64_t N = 1536, e = 256, V = 32768;
    const auto h0 = torch::randn({N, e}, dev.dtype(torch::kBFloat16)), w0 = (torch::randn({V, e}, dev) * 0.05).to(torch::kBFloat16);
    const auto ids = torch::randint(V, {N}, dev.dtype(torch::kInt64));
    // (chunks of 500 rows: three, and a short last one; the table's gradient summed over them in
    // fp32 by cuBLASLt, C the sum so far)
    const auto run = [&](bool kernel, at::ScalarType compute) {
        auto h = h0.to(compute).clone().requires_grad_(true), w = w0.to(compute).clone().requires_grad_(true);
        const auto l = eval::torch_train::linear_cross_entropy(h, w, ids, 500, compute, kernel);
        l.backward();
        return std::tuple{l.item<double>(), h.grad().to(torch::kFloat32), w.grad().to(torch::kFloat32)};
    };
    const auto [l0, gh0, gw0] = run(false, at::kBFloat16);  // LibTorch's operators
    const auto [l1, gh1, gw1] = run(true, at::kBFloat16);
    const auto [l2, gh2, gw2] = run(false, at::kFloat);  // fp32 throughout, from the same bf16 values
    REQUIRE(l1 == Approx(l0).epsilon(1e-4));
    REQUIRE((gh1 - gh0).norm().item<double>() / gh0.norm().item<double>() < 1e-2);
    REQUIRE((gw1 - gw0).norm().item<double>() / gw0.norm().item<double>() < 1e-2);
    REQUIRE(l1 == Approx(l2).epsilon(1e-3));
    REQUIRE((gw1 - gw2).norm().item<double>() / gw2.norm().item<double>() < 1e-2);  // bf16 logits' gradient, fp32 sums
    REQUIRE((gh1 - gh2).norm().item<double>() / gh2.norm().item<double>() < 1e-2);
}
TEST_CASE("gpu: the LayerNorm kernels give LibTorch's LayerNorm and gradients in bf16, the same bits every run", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(29);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    // GPT-2 small's width over recipe A's rows (16-byte loads, the one-pass backward), 1,024 wide
    // over rows that end a slab early (its widest form), a width and row count that fit no tile
    // (element by element, partial slabs and column tiles), and a width above the one pass's
    for (const auto& [rows, d] : {std::pair<std::int64_t, std::int64_t>{16384, 768}, {1001, 1024}, {1001, 100}, {200, 2560}}) {
        const auto x = torch::randn({rows, d}, bf) * 1.5 + 0.25, w = torch::randn({d}, bf), b = torch::randn({d}, bf);
        const auto dy = torch::randn({rows, d}, bf);
        auto [y, mean, rstd] = at::native_layer_norm(x, {d}, w, b, 1e-5);
        // the forward against LibTorch's in fp32 of the same values, statistics to fp32's rounding
        const auto ky = torch::empty_like(x);
        const auto kmean = torch::empty({rows}, bf.dtype(torch::kFloat32)), krstd = torch::empty({rows}, bf.dtype(torch::kFloat32));
        tk::layer_norm_forward(x, w, b, 1e-5, ky, kmean, krstd);
        auto [y32, mean32, rstd32] = at::native_layer_norm(x.to(torch::kFloat32), {d}, w.to(torch::kFloat32), b.to(torch::kFloat32), 1e-5);
        REQUIRE((kmean - mean32.view({rows})).abs().max().item<double>() < 1e-5);
        REQUIRE(((krstd - rstd32.view({rows})) / rstd32.view({rows})).abs().max().item<double>() < 1e-5);
        REQUIRE((ky.to(torch::kFloat32) - y32).norm().item<double>() / y32.norm().item<double>() < 4e-3);  // bf16's rounding
        const auto dx = torch::empty_like(x), dw = torch::empty_like(w), db = torch::empty_like(w);
        tk::layer_norm_backward(dy, x, mean.contiguous(), rstd.contiguous(), w, dx, dw, db);
        // fp32 LayerNorm of the same bf16 values
        auto x32 = x.to(torch::kFloat32).requires_grad_(true), w32 = w.to(torch::kFloat32).requires_grad_(true),
             b32 = b.to(torch::kFloat32).requires_grad_(true);
        (at::layer_norm(x32, {d}, w32, b32, 1e-5) * dy.to(torch::kFloat32)).sum().backward();
        CAPTURE(rows, d);
        for (const auto& [got, want] : {std::pair{dx, x32.grad()}, std::pair{dw, w32.grad()}, std::pair{db, b32.grad()}}) {
            const double err = (got.to(torch::kFloat32) - want).norm().item<double>() / want.norm().item<double>();
            CAPTURE(err);
            REQUIRE(err < 1e-2);  // bf16's rounding of the outputs (2^-9) and of LayerNorm's inputs
        }
        const auto dx2 = torch::empty_like(x), dw2 = torch::empty_like(w), db2 = torch::empty_like(w);
        tk::layer_norm_backward(dy, x, mean.contiguous(), rstd.contiguous(), w, dx2, dw2, db2);
        REQUIRE(torch::equal(dx, dx2));
        REQUIRE(torch::equal(dw, dw2));
        REQUIRE(torch::equal(db, db2));
        // with the stream's other gradient (dres): dx is LayerNorm's plus dres, rounded once
        const auto dres = torch::randn({rows, d}, bf);
        const auto dx3 = torch::empty_like(x), dw3 = torch::empty_like(w), db3 = torch::empty_like(w);
        tk::layer_norm_backward(dy, x, mean.contiguous(), rstd.contiguous(), w, dx3, dw3, db3, dres);
        const auto want_dx = x32.grad() + dres.to(torch::kFloat32);
        REQUIRE((dx3.to(torch::kFloat32) - want_dx).norm().item<double>() / want_dx.norm().item<double>() < 1e-2);
        REQUIRE(torch::equal(dw3, dw));
        REQUIRE(torch::equal(db3, db));
        REQUIRE_THROWS(tk::layer_norm_backward(dy, x, mean.contiguous(), rstd.contiguous(), w, dx3, dw3, db3, dx3));
        // the fp32 stream's add: fp32's sum of the same values, to the bit
        const auto yb = torch::randn({rows, d}, bf), sum = torch::empty({rows, d}, bf.dtype(torch::kFloat32));
        const auto stream = torch::randn({rows, d}, bf.dtype(torch::kFloat32));
        tk::residual_add(stream, yb, sum);
        REQUIRE(torch::equal(sum, stream + yb.to(torch::kFloat32)));
        // an fp32 input (the fp32 residual stream): the output bf16, x's gradient fp32, against
        // fp32 LibTorch on the same fp32 values
        const auto xf = (torch::randn({rows, d}, bf.dtype(torch::kFloat32)) * 1.5 + 0.25).contiguous();
        const auto fy = torch::empty({rows, d}, bf);
        tk::layer_norm_forward(xf, w, b, 1e-5, fy, kmean, krstd);
        auto xf32 = xf.clone().requires_grad_(true), wf32 = w.to(torch::kFloat32).requires_grad_(true),
             bf32 = b.to(torch::kFloat32).requires_grad_(true);
        const auto want_y = at::layer_norm(xf32, {d}, wf32, bf32, 1e-5);
        REQUIRE((fy.to(torch::kFloat32) - want_y).norm().item<double>() / want_y.norm().item<double>() < 4e-3);
        (want_y * dy.to(torch::kFloat32)).sum().backward();
        const auto fdx = torch::empty_like(xf), fdw = torch::empty_like(w), fdb = torch::empty_like(w);
        tk::layer_norm_backward(dy, xf, kmean, krstd, w, fdx, fdw, fdb);
        REQUIRE(fdx.scalar_type() == torch::kFloat32);
        // with dx's bf16 rounding written beside it: that rounding exactly, dx the same bits
        const auto fdx_b = torch::empty_like(xf), fdx_lo = torch::empty({rows, d}, bf), fdw_b = torch::empty_like(w),
                   fdb_b = torch::empty_like(w);
        tk::layer_norm_backward(dy, xf, kmean, krstd, w, fdx_b, fdw_b, fdb_b, {}, fdx_lo);
        REQUIRE(torch::equal(fdx_b, fdx));
        REQUIRE(torch::equal(fdx_lo, fdx.to(torch::kBFloat16)));
        REQUIRE(torch::equal(fdw_b, fdw));
        for (const auto& [got, want] : {std::pair{fdx, xf32.grad()}, std::pair{fdw, wf32.grad()}, std::pair{fdb, bf32.grad()}}) {
            const double err = (got.to(torch::kFloat32) - want).norm().item<double>() / want.norm().item<double>();
            CAPTURE(err);
            REQUIRE(err < (got.scalar_type() == torch::kFloat32 ? 1e-4 : 1e-2));  // fp32's rounding for dx, bf16's for the weights'
        }
        // the fp32 stream's gradient added in fp32
        const auto fres = torch::randn({rows, d}, bf.dtype(torch::kFloat32));
        const auto fdx2 = torch::empty_like(xf), fdx2_lo = torch::empty({rows, d}, bf);
        tk::layer_norm_backward(dy, xf, kmean, krstd, w, fdx2, fdw, fdb, fres, fdx2_lo);
        const auto want_f = xf32.grad() + fres;
        REQUIRE((fdx2 - want_f).norm().item<double>() / want_f.norm().item<double>() < 1e-4);
        REQUIRE(torch::equal(fdx2_lo, fdx2.to(torch::kBFloat16)));
        // the column sums of dx's bf16 rounding beside it (the one pass only: d up to 1,024),
        // for bf16 and fp32 x, nothing else changed by them
        for (const bool f32 : {false, true}) {
            CAPTURE(f32);
            const auto& xx = f32 ? xf : x;
            const auto& res = f32 ? fres : dres;
            const auto& mm = f32 ? kmean : mean.contiguous();
            const auto& rr = f32 ? krstd : rstd.contiguous();
            const auto plain = torch::empty_like(xx), with = torch::empty_like(xx);
            const auto pw = torch::empty_like(w), pb = torch::empty_like(w), ww = torch::empty_like(w), wb = torch::empty_like(w);
            const auto lo = f32 ? torch::empty({rows, d}, bf) : torch::Tensor();
            tk::layer_norm_backward(dy, xx, mm, rr, w, plain, pw, pb, res);
            const auto sums = torch::full({d}, 7.0, bf);
            const bool written = tk::layer_norm_backward(dy, xx, mm, rr, w, with, ww, wb, res, lo, sums);
            REQUIRE(written == (d % 8 == 0 && d <= 1024));
            REQUIRE(torch::equal(with, plain));
            REQUIRE(torch::equal(ww, pw));
            REQUIRE(torch::equal(wb, pb));
            if (written) {
                const auto want_sums = plain.to(torch::kBFloat16).to(torch::kFloat64).sum(0);
                const auto step = want_sums.abs() * (1.0 / 128) + 1e-3 * std::sqrt(static_cast<double>(rows));
                REQUIRE(((sums.to(torch::kFloat64) - want_sums).abs() > step).sum().item<std::int64_t>() == 0);
            } else {
                REQUIRE(torch::equal(sums, torch::full({d}, 7.0, bf)));  // untouched
            }
        }
    }
}
TEST_CASE("gpu: the stream's add and LayerNorm in one pass: the sum rounded to nearest, or stochastically and unbiased, at any width",
          "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(32);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    const auto f4 = bf.dtype(torch::kFloat32);
    // rows held in registers (768, 1,024, 40), wider ones (1,920, 2,560) and one not a multiple of 8
    for (const auto& [rows, d] :
         {std::pair<std::int64_t, std::int64_t>{16384, 768}, {1001, 1024}, {77, 40}, {3000, 1920}, {65, 2560}, {99, 1030}}) {
        CAPTURE(rows, d);
        const auto w = torch::randn({d}, bf), b = torch::randn({d}, bf), yin = torch::randn({rows, d}, bf);
        const auto mean = torch::empty({rows}, f4), rstd = torch::empty({rows}, f4), y = torch::empty({rows, d}, bf);
        const auto want_mean = torch::empty({rows}, f4), want_rstd = torch::empty({rows}, f4), want_y = torch::empty({rows, d}, bf);
        for (const bool f32 : {false, true}) {
            CAPTURE(f32);
            const auto x = (torch::randn({rows, d}, f4) * 4.0).to(f32 ? torch::kFloat32 : torch::kBFloat16);
            const auto s = torch::empty_like(x);
            tk::layer_norm_add_forward(x, yin, w, b, 1e-5, s, y, mean, rstd);
            // the sum: fp32's exactly, or its rounding to nearest; then LayerNorm of that sum
            const auto sum = x.to(torch::kFloat32) + yin.to(torch::kFloat32);
            REQUIRE(torch::equal(s, sum.to(x.scalar_type())));
            tk::layer_norm_forward(s, w, b, 1e-5, want_y, want_mean, want_rstd);
            REQUIRE(torch::equal(y, want_y));
            REQUIRE(torch::equal(mean, want_mean));
            REQUIRE(torch::equal(rstd, want_rstd));
            REQUIRE_THROWS(tk::layer_norm_add_forward(x, yin, w, b, 1e-5, x, y, mean, rstd));  // s may not be x
        }
    }
    // stochastic rounding of a bf16 stream: 1 + 2^-10 is an eighth of a step above 1 (bf16's step
    // there is 2^-7): to nearest it is 1 everywhere; stochastically 1 or 1 + 2^-7, the latter about
    // an eighth of the time, so the mean keeps the 2^-10. Rows held in registers, wide rows, rows of
    // a width not a multiple of 8
    for (const std::int64_t d : {512, 1920, 1030}) {
        CAPTURE(d);
        const std::int64_t rows = 4096 * 512 / d;
        const auto x = torch::ones({rows, d}, bf), yin = torch::full({rows, d}, std::ldexp(1.0, -10), bf);
        const auto w = torch::ones({d}, bf), b = torch::zeros({d}, bf);
        const auto mean = torch::empty({rows}, f4), rstd = torch::empty({rows}, f4), y = torch::empty({rows, d}, bf);
        const auto nearest = torch::empty_like(x), s1 = torch::empty_like(x), s1b = torch::empty_like(x), s2 = torch::empty_like(x);
        tk::layer_norm_add_forward(x, yin, w, b, 1e-5, nearest, y, mean, rstd);
        REQUIRE(torch::equal(nearest, x));
        tk::layer_norm_add_forward(x, yin, w, b, 1e-5, s1, y, mean, rstd, 12345u);
        const auto up = s1.to(torch::kFloat32).gt(1.0f);
        REQUIRE(
            torch::logical_or(s1.to(torch::kFloat32).eq(1.0f), s1.to(torch::kFloat32).eq(1.0f + std::ldexp(1.0f, -7))).all().item<bool>());
        const double share = up.to(torch::kFloat64).mean().item<double>();
        REQUIRE(share == Approx(0.125).margin(0.005));  // 2 M draws: the standard error is 0.0002
        // LayerNorm of the sum as written
        const auto want_y = torch::empty_like(y);
        tk::layer_norm_forward(s1, w, b, 1e-5, want_y, mean, rstd);
        REQUIRE(torch::equal(y, want_y));
        tk::layer_norm_add_forward(x, yin, w, b, 1e-5, s1b, y, mean, rstd, 12345u);
        REQUIRE(torch::equal(s1b, s1));  // the same bits every run
        tk::layer_norm_add_forward(x, yin, w, b, 1e-5, s2, y, mean, rstd, 777u);
        REQUIRE_FALSE(torch::equal(s2, s1));  // another salt, other draws
    }
    // the draws depend on the value, its place and the salt, not on the kernel: rows held in
    // registers and the same rows, misaligned by one value, read by the wide kernel value by value
    {
        const std::int64_t rows = 300, d = 768;
        const auto x = torch::randn({rows, d}, bf) * 8.0, yin = torch::randn({rows, d}, bf) * 0.01;
        const auto w = torch::randn({d}, bf), b = torch::randn({d}, bf);
        const auto mean = torch::empty({rows}, f4), rstd = torch::empty({rows}, f4), y = torch::empty({rows, d}, bf);
        const auto held = torch::empty_like(x);
        tk::layer_norm_add_forward(x, yin, w, b, 1e-5, held, y, mean, rstd, 4242u);
        const auto shifted = [&](const torch::Tensor& t) {
            auto buffer = torch::empty({rows * d + 1}, t.options());
            auto view = buffer.narrow(0, 1, rows * d).view({rows, d});
            view.copy_(t);
            return view;
        };
        const auto xs = shifted(x), ys = shifted(yin), ss = shifted(torch::zeros_like(x)), y2 = shifted(y);
        REQUIRE(reinterpret_cast<std::uintptr_t>(ss.data_ptr()) % 16 != 0);
        tk::layer_norm_add_forward(xs, ys, w, b, 1e-5, ss, y2, mean, rstd, 4242u);
        REQUIRE(torch::equal(ss, held));
        // LayerNorm of it, the row's sums in another order
        REQUIRE(torch::allclose(y2.to(torch::kFloat32), y.to(torch::kFloat32), 0.02, 0.02));
    }
    // the backward's bf16 dx stochastically rounded too: within a step of the nearest, unbiased,
    // with the same draws whether the one pass (aligned rows up to 1,024) or the two passes run
    for (const std::int64_t d : {512, 1920}) {
        CAPTURE(d);
        const std::int64_t rows = 4096 * 512 / d;
        const auto w = torch::randn({d}, bf), b = torch::randn({d}, bf), y = torch::empty({rows, d}, bf);
        const auto mean = torch::empty({rows}, f4), rstd = torch::empty({rows}, f4);
        const auto dy = torch::randn({rows, d}, bf);
        const auto xs = torch::randn({rows, d}, bf), dw = torch::empty({d}, bf), db = torch::empty({d}, bf);
        tk::layer_norm_forward(xs, w, b, 1e-5, y, mean, rstd);
        const auto dx_nearest = torch::empty_like(xs), dx_sr = torch::empty_like(xs);
        tk::layer_norm_backward(dy, xs, mean, rstd, w, dx_nearest, dw, db);
        tk::layer_norm_backward(dy, xs, mean, rstd, w, dx_sr, dw, db, {}, {}, {}, 99u);
        const auto near = dx_nearest.to(torch::kFloat64), sr = dx_sr.to(torch::kFloat64);
        const auto step = near.abs() * std::ldexp(1.0, -7) + 1e-30;
        REQUIRE((sr - near).abs().le(step).all().item<bool>());
        REQUIRE_FALSE(torch::equal(dx_sr, dx_nearest));
        // unbiased: dx's fp32 value (the fp32 stream's backward) is kept on average, away from 0
        // as towards it (a rounding towards zero would be a third of a step short on average)
        const auto xf = xs.to(torch::kFloat32), dx_f32 = torch::empty_like(xf);
        tk::layer_norm_backward(dy, xf, mean, rstd, w, dx_f32, dw, db);
        const auto exact = dx_f32.to(torch::kFloat64);
        const double outward = ((sr - exact) * exact.sign() / (exact.abs() * std::ldexp(1.0, -7) + 1e-30)).mean().item<double>();
        REQUIRE(std::abs(outward) < 0.01);  // 2 M values: the standard error is under 0.001
    }
}

TEST_CASE("gpu: the q/k/v packing kernel gives autograd's concatenation and its column sums, for any strides", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(31);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    // GPT-2 small's heads over recipe A's rows, and a shape that fits no slab or column tile
    for (const auto& [B, nh, T, hs] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>{16, 12, 1024, 64}, {3, 5, 37, 24}}) {
        CAPTURE(B, nh, T, hs);
        // three layouts: (B, nh, T, hs) contiguous, a transpose of (B, T, nh, hs), a slice of a wider tensor
        const auto dq = torch::randn({B, nh, T, hs}, bf);
        const auto dk = torch::randn({B, T, nh, hs}, bf).transpose(1, 2);
        const auto dv = torch::randn({B, T, nh, hs + 16}, bf).narrow(3, 8, hs).transpose(1, 2);
        const auto C = nh * hs;
        const auto out = torch::empty({B * T, 3 * C}, bf), db = torch::empty({3 * C}, bf);
        REQUIRE(tk::qkv_pack(dq, dk, dv, out, db));
        std::vector<torch::Tensor> parts;
        for (const auto& g : {dq, dk, dv}) parts.push_back(g.transpose(1, 2).reshape({B * T, C}));
        const auto want = at::cat(parts, 1);
        REQUIRE(torch::equal(out, want));
        const auto sums = want.to(torch::kFloat64).sum(0);
        REQUIRE(((db.to(torch::kFloat64) - sums).abs() > sums.abs() * (1.0 / 128) + 1e-6).sum().item<std::int64_t>() == 0);
        const auto out2 = torch::empty_like(out), db2 = torch::empty_like(db);
        REQUIRE(tk::qkv_pack(dq, dk, dv, out2, db2));
        REQUIRE(torch::equal(db2, db));  // the same bits every run
    }
    // a head width that is not a multiple of 8: refused, nothing written
    const auto odd = torch::randn({2, 3, 10, 12}, bf), out = torch::zeros({20, 108}, bf), db = torch::zeros({108}, bf);
    REQUIRE_FALSE(tk::qkv_pack(odd, odd, odd, out, db));
    REQUIRE(out.abs().sum().item<double>() == 0.0);
    // the split node: its gradient is the concatenation, and the projection takes its bias sums
    namespace tf = eval::torch_fused;
    const auto x = torch::randn({4, 64, 96}, bf), w = torch::randn({288, 96}, bf) * 0.1, b = torch::randn({288}, bf);
    const auto probe = torch::randn({4, 3, 64, 32}, bf);
    auto xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true), bg = b.clone().requires_grad_(true);
    const auto reused = tf::bias_sums_reused();
    const auto heads = tf::split_heads(tf::linear_train(xg, wg, bg, {}), 3);
    (heads[0] * probe + heads[1] * probe * 2 + heads[2] * probe * 3).sum().backward();
    REQUIRE(tf::bias_sums_reused() - reused == 1u);
    auto x32 = x.to(torch::kFloat32).requires_grad_(true), w32 = w.to(torch::kFloat32).requires_grad_(true),
         b32 = b.to(torch::kFloat32).requires_grad_(true);
    const auto qkv = at::linear(x32, w32, b32).split(96, 2);
    const auto p32 = probe.to(torch::kFloat32);
    std::vector<torch::Tensor> h32;
    for (const auto& part : qkv) h32.push_back(part.view({4, 64, 3, 32}).transpose(1, 2));
    (h32[0] * p32 + h32[1] * p32 * 2 + h32[2] * p32 * 3).sum().backward();
    for (const auto& [got, want] : {std::pair{xg.grad(), x32.grad()}, std::pair{wg.grad(), w32.grad()}, std::pair{bg.grad(), b32.grad()}}) {
        const double err = (got.to(torch::kFloat32) - want).norm().item<double>() / want.norm().item<double>();
        CAPTURE(err);
        REQUIRE(err < 2e-2);
    }
}
TEST_CASE(
    "gpu: the Llama block's kernels give SwiGLU's product and gradient, RMSNorm's training form, and the rotated q and cache of LibTorch's "
    "operators",
    "[gpu][eval]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(41);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    // at most one bf16 step apart (the exp or an fma may differ in the last fp32 bit before the
    // rounding), and nearly always the same bits
    const auto close = [](const torch::Tensor& got, const torch::Tensor& want) {
        const auto g = got.to(torch::kFloat32), w = want.to(torch::kFloat32);
        const auto step = w.abs().clamp_min(1e-30) * (1.0 / 128);
        const auto far = ((g - w).abs() > step).sum().item<std::int64_t>();
        const auto differ = (g != w).sum().item<std::int64_t>();
        CAPTURE(far, differ, got.numel());
        REQUIRE(far == 0);
        REQUIRE(differ * 100 <= got.numel());
    };
    // SwiGLU: one row, a Llama-shaped block of rows, a width not a multiple of 8
    for (const auto& [rows, f] : {std::pair<std::int64_t, std::int64_t>{1, 2048}, {64, 8192}, {37, 1000}}) {
        CAPTURE(rows, f);
        const auto both = torch::randn({rows, 2 * f}, bf) * 3;
        const auto out = torch::empty({rows, f}, bf);
        tk::swiglu(both, out);
        const auto parts = both.chunk(2, -1);
        close(out, torch::silu(parts[0]) * parts[1]);
        // the training's gradient, against autograd's through LibTorch's silu and mul
        const auto dout = torch::randn({rows, f}, bf);
        const auto ref = both.clone().requires_grad_(true);
        const auto halves = ref.chunk(2, -1);
        (torch::silu(halves[0]) * halves[1]).backward(dout);
        const auto grad = torch::empty_like(both);
        tk::swiglu_backward(both, dout, grad);
        close(grad, ref.grad());
        // and through the autograd function the training takes
        const auto in = both.clone().requires_grad_(true);
        const auto y = eval::torch_fused::swiglu_train(in);
        close(y.detach(), out);
        y.backward(dout);
        close(in.grad(), ref.grad());
    }
    // RMSNorm's training form with norm_kernel (LibTorch's fused kernel, forward and backward)
    // against its operators' form: one rounding fewer, so within a few bf16 steps
    {
        namespace tm = eval::torch_model;
        tm::Norm fused(768, bf, nas::norm_kind::rms_norm), ops(768, bf, nas::norm_kind::rms_norm);
        fused->kernel_backward = true;
        {
            torch::NoGradGuard no_grad;
            const auto w = torch::rand({768}, bf) + 0.5;
            fused->weight.copy_(w);
            ops->weight.copy_(w);
        }
        const auto x = torch::randn({256, 768}, bf) * 3;
        const auto dy = torch::randn({256, 768}, bf);
        std::vector<torch::Tensor> grads;
        for (auto* norm : {&fused, &ops}) {
            const auto in = x.clone().requires_grad_(true);
            (*norm)->forward(in).backward(dy);
            grads.push_back(in.grad().to(torch::kFloat32));
            grads.push_back((*norm)->weight.grad().to(torch::kFloat32));
        }
        for (int i = 0; i < 2; ++i) {
            const auto scale = grads[2 + i].abs().max().item<double>();
            CAPTURE(i, scale);
            REQUIRE(scale > 0);
            REQUIRE(((grads[i] - grads[2 + i]).abs().max().item<double>()) <= 0.03 * scale);
        }
    }
    // rotary: grouped KV heads, a decode step and a prefill at positions past 0, the cache's other
    // positions untouched
    namespace tm = eval::torch_model;
    for (const auto& [B, T, nh, kvh, hs, pos] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t>{4, 1, 12, 4, 64, 40},
          {2, 19, 6, 6, 32, 5},
          {3, 7, 8, 2, 128, 0}}) {
        CAPTURE(B, T, nh, kvh, hs, pos);
        const std::int64_t context = 64, C = nh * hs, kw = kvh * hs;
        tm::rotary_tables tables(context);
        const auto qkv = torch::randn({B, T, C + 2 * kw}, bf);
        const auto [cos, signed_sin] = tables.at(hs, pos, T, qkv);
        const auto q_out = torch::empty({B, T, C}, bf);
        const auto cache = torch::full({B, context, 2, kw}, 7.0, bf);
        tk::rotary_cache(qkv, cos.contiguous(), signed_sin.contiguous(), nh, kvh, q_out, cache, pos);
        const auto rotate = [&](const torch::Tensor& t) {  // (B, heads, T, hs), as gpt_model.cpp's rotate
            return torch::addcmul(t * cos, t.roll(hs / 2, -1), signed_sin);
        };
        const auto parts = qkv.split_with_sizes({C, kw, kw}, 2);
        const auto q = rotate(parts[0].view({B, T, nh, hs}).transpose(1, 2)).transpose(1, 2).reshape({B, T, C});
        const auto k = rotate(parts[1].view({B, T, kvh, hs}).transpose(1, 2)).transpose(1, 2).reshape({B, T, kw});
        close(q_out, q);
        close(cache.narrow(1, pos, T).select(2, 0), k);
        REQUIRE(torch::equal(cache.narrow(1, pos, T).select(2, 1), parts[2]));
        const auto rest = torch::cat({cache.narrow(1, 0, pos), cache.narrow(1, pos + T, context - pos - T)}, 1);
        REQUIRE((rest != 7.0).sum().item<std::int64_t>() == 0);
    }
}

TEST_CASE("gpu: the GELU backward kernel gives LibTorch's GELU backward and the column sums of its output", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(30);
    const auto bf = torch::TensorOptions().device(torch::kCUDA, 0).dtype(torch::kBFloat16);
    // GPT-2 small's MLP over recipe A's rows (16-byte loads), and a width and row count that fit
    // no tile (element by element, a partial slab and column tile)
    for (const auto& [rows, f] : {std::pair<std::int64_t, std::int64_t>{16384, 3072}, {333, 204}}) {
        CAPTURE(rows, f);
        const auto pre = torch::randn({rows, f}, bf) * 2.0, dh = torch::randn({rows, f}, bf);
        const auto dpre = torch::empty_like(pre), db = torch::empty({f}, bf);
        tk::gelu_backward_bias(dh, pre, dpre, db);
        // against the exact derivative (fp64, with 1 + tanh and 1 - tanh^2 free of cancellation):
        // no value more than one bf16 step away, and nearly every one its rounding
        const auto x = pre.to(torch::kFloat64);
        const auto inner = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        const auto e = (2.0 * inner).exp(), r = 1.0 / (e + 1.0);
        const auto exact =
            dh.to(torch::kFloat64) * (e * r + 0.5 * x * 4.0 * e * r * r * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x));
        const auto got = dpre.to(torch::kFloat64);
        REQUIRE(((got - exact).abs() > exact.abs() * (1.0 / 128) + 1e-30).sum().item<std::int64_t>() == 0);
        REQUIRE((got != exact.to(torch::kFloat32).to(torch::kBFloat16).to(torch::kFloat64)).sum().item<std::int64_t>() <= rows * f / 1000);
        // and LibTorch's GELU backward where its formula keeps its digits (gelu' not near 0)
        const auto libtorch = at::gelu_backward(dh, pre, "tanh").to(torch::kFloat64);
        const auto kept = pre.to(torch::kFloat32).gt(-2.0);
        REQUIRE(((got - libtorch).abs() > libtorch.abs() * (1.0 / 128) + 1e-30).logical_and(kept).sum().item<std::int64_t>() == 0);
        const auto sums = dpre.to(torch::kFloat32).sum(0);
        REQUIRE((db.to(torch::kFloat32) - sums).norm().item<double>() / sums.norm().item<double>() < 4e-3);  // bf16's rounding of db
        // in place over dh, the same bits; and the same bits every run
        const auto inplace = dh.clone(), db2 = torch::empty_like(db);
        tk::gelu_backward_bias(inplace, pre, inplace, db2);
        REQUIRE(torch::equal(inplace, dpre));
        REQUIRE(torch::equal(db2, db));
        REQUIRE_THROWS(tk::gelu_backward_bias(dh, pre, pre, db2));
    }
}

TEST_CASE("gpu: the AdamW kernel steps bf16 weights' fp32 masters as LibTorch's casts, clip and fused AdamW do", "[gpu][eval][train]") {
    if (!have_cuda()) return;
    namespace tk = eval::torch_kernels;
    REQUIRE(tk::available(0));
    torch::manual_seed(31);
    const auto f32 = torch::TensorOptions().device(torch::kCUDA, 0);
    // sizes over several chunks (16-byte loads), odd ones (element by element), and more tensors
    // than one launch takes
    std::vector<std::int64_t> sizes = {768 * 3072, 4096 * 3 + 8, 1001, 64, 3};
    for (int i = 0; i < 60; ++i) sizes.push_back(24 + 8 * (i % 5));
    const double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    const auto lr = torch::full({}, 6e-4, f32);
    // max_norm 1 clips (the gradients' norm is in the thousands), 1e6 does not, 0 turns the clip off
    for (const double max_norm : {1.0, 1e6, 0.0}) {
        std::vector<torch::Tensor> p, m, v, s, w, rp, rm, rv, rs;
        std::vector<double> wd;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            p.push_back(torch::randn({sizes[i]}, f32));
            rp.push_back(p.back().clone());
            for (auto* list : {&m, &v, &rm, &rv}) list->push_back(torch::zeros({sizes[i]}, f32));
            s.push_back(torch::zeros({}, f32));
            rs.push_back(torch::zeros({}, f32));
            w.push_back(p.back().to(torch::kBFloat16));
            wd.push_back(i % 2 == 0 ? 0.1 : 0.0);
        }
        const auto start = p[0].clone();
        for (int step = 0; step < 3; ++step) {
            std::vector<torch::Tensor> g, g32;
            for (const auto n : sizes) {
                g.push_back((torch::randn({n}, f32) * 2.0).to(torch::kBFloat16));
                g32.push_back(g.back().to(torch::kFloat32));
            }
            // LibTorch's: the cast gradients clipped (clip_grad_norm_'s rule), then the fused AdamW per decay group
            if (max_norm > 0) {
                const auto total = at::linalg_vector_norm(at::stack(at::_foreach_norm(g32)), 2);
                at::_foreach_mul_(g32, at::clamp_max(at::reciprocal(total + 1e-6) * max_norm, 1.0));
            }
            at::_foreach_add_(rs, 1.0);
            for (const double decay : {0.1, 0.0}) {
                std::vector<torch::Tensor> a, b, c, d, e;
                for (std::size_t i = 0; i < sizes.size(); ++i)
                    if (wd[i] == decay) {
                        a.push_back(rp[i]);
                        b.push_back(g32[i]);
                        c.push_back(rm[i]);
                        d.push_back(rv[i]);
                        e.push_back(rs[i]);
                    }
                at::_fused_adamw_(a, b, c, d, {}, e, lr, beta1, beta2, decay, eps, false, false);
            }
            const auto kept = g[0].clone();
            at::_foreach_add_(s, 1.0);
            tk::adamw_bf16(g, p, m, v, w, s, wd, lr, beta1, beta2, eps, max_norm);
            REQUIRE(torch::equal(g[0], kept));  // the gradients are read, not written
        }
        CAPTURE(max_norm);
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            CAPTURE(i, sizes[i]);
            // fp32 arithmetic in another order: a few units of fp32's last place
            REQUIRE((p[i] - rp[i]).abs().max().item<double>() < 2e-6);
            // the moments to fp32's rounding of their terms (a first moment near zero keeps that absolute error)
            const double m_scale = rm[i].abs().max().item<double>(), v_scale = rv[i].abs().max().item<double>();
            REQUIRE(((m[i] - rm[i]).abs() <= rm[i].abs() * 1e-5 + m_scale * 1e-6).all().item<bool>());
            REQUIRE(((v[i] - rv[i]).abs() <= rv[i].abs() * 1e-5 + v_scale * 1e-6).all().item<bool>());
            REQUIRE(torch::equal(w[i], p[i].to(torch::kBFloat16)));  // the weight is the master's rounding
            REQUIRE(s[i].item<float>() == 3.0f);
        }
        // the steps moved the masters (Adam's first steps move each by about the rate, clipped or not)
        REQUIRE((p[0] - start).abs().mean().item<double>() > 5e-4);
    }
}
#endif
