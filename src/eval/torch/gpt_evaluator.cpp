// The candidate evaluator: build the GPT, warm up, time prefill / decode / generation with CUDA
// events (or a steady clock on the CPU), optionally through CUDA-graph replay with L2 flushed,
// and read the caching allocator's peak. Every exception stops here and becomes a status.
#include "fracnas/torch/evaluator.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/Sleep.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "failures.hpp"
#include "fracnas/error.hpp"
#include "gpt_model.hpp"
#include "graph_runner.hpp"

namespace fracnas::eval {

namespace {

using torch_graphs::graph_runner;
using torch_graphs::phase_timer;
using torch_model::Gpt;
constexpr std::int64_t l2_flush_bytes = 256LL << 20;  // several times any current GPU's L2
constexpr std::uint64_t l2_fit_bytes = 64ULL << 20;   // weights this small may stay in L2 between runs
constexpr auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);  // allocator stats: all pools

// Times `run` (warmup untimed runs, then repeats timed ones) and returns milliseconds; the wall
// time of both goes into the evaluation's phases.
struct timer {
    bool cuda;
    torch::Tensor flush;  // defined when L2 must be overwritten before each timed run
    gpt_evaluation::phase_seconds* phases;
    bool queued = true;  // gpt_measure_config::queue_timed_runs, for graph replays

    std::vector<double> time(const std::function<void()>& run, std::uint32_t warmup, std::uint32_t repeats) const {
        {
            phase_timer p(cuda, phases->warmup);
            for (std::uint32_t i = 0; i < warmup; ++i) run();
        }
        phase_timer p(cuda, phases->timing);
        if (cuda && queued) return queued_runs(run, repeats);
        std::vector<double> ms;
        ms.reserve(repeats);
        for (std::uint32_t i = 0; i < repeats; ++i) {
            if (flush.defined()) flush.zero_();
            if (cuda) {
                at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
                start.record();
                run();
                stop.record();
                stop.synchronize();
                ms.push_back(static_cast<double>(start.elapsed_time(stop)));
            } else {
                const auto t0 = std::chrono::steady_clock::now();
                run();
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            }
        }
        return ms;
    }

    // The device spins while the host queues every timed run (flush, start event, run, stop event),
    // then runs them back to back: each run starts as soon as the device reaches it, not when the
    // host gets to launching it. If the spin ended before the last run was queued (the host was
    // slower than the spin: many launches, or a preempted core), the device may have waited on the
    // host inside a timed run, and the runs are timed again behind a spin twice as long.
    std::vector<double> queued_runs(const std::function<void()>& run, std::uint32_t repeats) const {
        std::int64_t spin_cycles = 2'000'000;  // about 1 ms at 2 GHz
        for (int attempt = 0;; ++attempt, spin_cycles *= 2) {
            std::vector<at::cuda::CUDAEvent> starts, stops;
            starts.reserve(repeats);
            stops.reserve(repeats);
            at::cuda::sleep(spin_cycles);
            at::cuda::CUDAEvent spun(cudaEventDisableTiming);
            spun.record();
            for (std::uint32_t i = 0; i < repeats; ++i) {
                if (flush.defined()) flush.zero_();
                starts.emplace_back(cudaEventDefault).record();
                run();
                stops.emplace_back(cudaEventDefault).record();
            }
            const bool covered = !spun.query();  // still spinning once everything was queued
            stops.back().synchronize();
            if (covered || attempt == 4) {
                std::vector<double> ms;
                ms.reserve(repeats);
                for (std::uint32_t i = 0; i < repeats; ++i) ms.push_back(static_cast<double>(starts[i].elapsed_time(stops[i])));
                return ms;
            }
        }
    }
};

// The SDPA backend PyTorch's dispatcher chooses for these inputs (at::_fused_sdp_choice, the
// function scaled_dot_product_attention itself consults).
std::string sdpa_backend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
    switch (at::_fused_sdp_choice(q, k, v, {}, 0.0, causal, std::nullopt, /*enable_gqa=*/q.size(1) != k.size(1))) {
        case 0:
            return "math";
        case 1:
            return "flash";
        case 2:
            return "efficient";
        case 3:
            return "cudnn";
        case 4:
            return "overrideable";
        default:
            return "none";
    }
}

// Allows only the SDPA kernel `name` ("auto": all of them) for its lifetime, then restores the
// process's settings (the choice is made when a graph is captured, so it lasts in the graph).
class attention_choice {
public:
    explicit attention_choice(const std::string& name) {
        auto& c = at::globalContext();
        saved_ = {c.userEnabledFlashSDP(), c.userEnabledMemEfficientSDP(), c.userEnabledCuDNNSDP(), c.userEnabledMathSDP()};
        check_attention(name, "attention");
        if (name == "auto") return;
        set({name == "flash", name == "efficient", name == "cudnn", name == "math"});
    }
    ~attention_choice() { set(saved_); }
    attention_choice(const attention_choice&) = delete;
    attention_choice& operator=(const attention_choice&) = delete;

private:
    static void set(const std::array<bool, 4>& on) {
        auto& c = at::globalContext();
        c.setSDPUseFlash(on[0]);
        c.setSDPUseMemEfficient(on[1]);
        c.setSDPUseCuDNN(on[2]);
        c.setSDPUseMath(on[3]);
    }
    std::array<bool, 4> saved_{};
};

// An architecture that cannot fit is refused before anything is allocated (building a model that
// needs more host memory than there is could end the process instead of raising an error).
struct does_not_fit : error {
    using error::error;
};

std::uint64_t host_available_bytes() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::uint64_t kib = 0;
    while (meminfo >> key >> kib) {
        if (key == "MemAvailable:") return kib * 1024;
        meminfo.ignore(256, '\n');
    }
    return UINT64_MAX;  // unknown: do not refuse
}

std::string gib(std::uint64_t bytes) {
    std::ostringstream o;
    o.precision(3);
    o << static_cast<double>(bytes) / static_cast<double>(1ULL << 30) << " GiB";
    return o.str();
}

void check(const gpt_measure_config& cfg, const nas::architecture& a) {
    if (cfg.repeats == 0) throw config_error("repeats", "at least one timed repeat is needed.");
    if (cfg.prefill && (cfg.prefill_batch == 0 || cfg.prefill_tokens == 0 || cfg.prefill_tokens > a.context))
        throw config_error("prefill", "a prefill needs a batch >= 1 and 1.." + std::to_string(a.context) + " tokens.");
    if (cfg.decode && cfg.decode_batch == 0) throw config_error("decode_batch", "the decode batch must be at least 1.");
    if (cfg.decode && cfg.decode_context >= a.context)
        throw config_error("decode_context", "the decode context must be below the model's context of " + std::to_string(a.context) + ".");
    if (cfg.scenario && (cfg.prompt_tokens == 0 || cfg.prompt_tokens + cfg.generated_tokens > a.context))
        throw config_error("scenario", "prompt + generated tokens must fit in the context of " + std::to_string(a.context) +
                                           ", with a prompt of at least 1.");
}

// cuBLAS and cuBLASLt draw one workspace per handle and stream from the caching allocator on their
// first use and hold it for the process's life: created (on the current and the capture stream)
// before a candidate's peak starts counting, they are the process's, not its first candidate's.
void hold_blas_workspaces(c10::DeviceIndex device) {
    static std::mutex m;
    static std::set<c10::DeviceIndex> done;
    const std::lock_guard<std::mutex> lock(m);
    if (!done.insert(device).second) return;
    for (const auto& stream : {c10::cuda::getCurrentCUDAStream(device), torch_graphs::capture_stream()}) {
        const c10::cuda::CUDAStreamGuard on(stream);
        at::cuda::getCurrentCUDABlasHandle();
        at::cuda::getCUDABlasLtWorkspace();
    }
}

// A candidate built on its device, with each requested phase's inputs and (captured) run. It is
// built and timed once by evaluate_gpt; a resident_gpt keeps it and times it again, replaying the
// same graphs over the same buffers.
class measurement {
public:
    /// Builds the model (and the grad-norm proxy), then prepares and times every phase into
    /// `out`; with keep, every phase's buffers and graphs stay for retime(), else each goes once
    /// timed (the next phase's peak does not hold it).
    measurement(const nas::architecture& arch, const gpt_measure_config& cfg, gpt_evaluation& out, bool keep);

    /// Times every phase again (the timer's warm-up, then the timed runs) into `out`'s latencies
    /// and phases.
    void retime(gpt_evaluation& out);

private:
    struct phase {
        std::vector<torch_model::layer_cache> cache;
        torch::Tensor tokens, next;
        graph_runner graphs;
        std::function<void()> run;
        std::uint32_t warmup = 0, repeats = 0;
    };
    void build(gpt_evaluation& out);
    std::unique_ptr<phase> prefill(gpt_evaluation& out);
    std::unique_ptr<phase> decode(gpt_evaluation& out);
    std::unique_ptr<phase> scenario(gpt_evaluation& out);
    // Wraps p's steps (captured under graphs) into p->run, timed with `warmup` and `repeats` runs.
    std::unique_ptr<phase> ready(std::unique_ptr<phase> p, std::vector<std::function<void()>> steps, gpt_evaluation& out,
                                 std::uint32_t warmup, std::uint32_t repeats) const {
        p->run = p->graphs.wrap(std::move(steps), out.graphs_used, out.phases.warmup, out.phases.capture);
        p->warmup = warmup;
        p->repeats = repeats;
        return p;
    }
    torch::TensorOptions tokens_on_device() const { return torch::TensorOptions().dtype(torch::kLong).device(device_); }
    std::vector<torch_model::layer_cache> cache_of(std::int64_t batch) const {
        return model_->make_cache(batch, torch::TensorOptions().dtype(dtype_).device(device_));
    }
    latency_stats time(const phase& p, gpt_evaluation& out) const {
        timer t{cuda_, flush_, &out.phases, cfg_.queue_timed_runs && out.graphs_used};
        return summarise(t.time(p.run, p.warmup, p.repeats));
    }
    // the bytes the process's tensors asked for, not the allocator's blocks (a block taken whole
    // where its remainder is too small to split counts more than was asked, and which blocks are
    // free depends on what ran before: a candidate's peak would depend on its neighbours)
    std::int64_t requested_now() const {
        return c10::cuda::CUDACachingAllocator::getDeviceStats(device_.index()).requested_bytes[aggregate].current;
    }

    nas::architecture arch_;
    gpt_measure_config cfg_;
    bool cuda_;
    torch::Device device_;
    torch::ScalarType dtype_;
    Gpt model_{nullptr};
    torch::Tensor flush_;  // defined when L2 must be overwritten before each timed run
    std::unique_ptr<phase> prefill_, decode_, scenario_;
};

measurement::measurement(const nas::architecture& arch, const gpt_measure_config& cfg, gpt_evaluation& out, bool keep)
    : arch_(arch),
      cfg_(cfg),
      cuda_(cfg.device == device_kind::cuda),
      device_(cuda_ ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cfg.cuda_index)) : torch::Device(torch::kCPU)),
      dtype_(cfg.dtype == dtype_kind::bf16 ? torch::kBFloat16 : torch::kFloat32) {
    if (cuda_ && !torch::cuda::is_available()) throw config_error("device", "CUDA was requested but LibTorch sees no CUDA device.");
    std::optional<c10::cuda::CUDAGuard> guard;
    if (cuda_) {
        guard.emplace(device_.index());
        at::globalContext().lazyInitDevice(at::kCUDA);  // the caching allocator's statistics exist from here on
        out.device_name = at::cuda::getDeviceProperties(device_.index())->name;
    } else {
        out.device_name = "cpu";
    }
    // what this process already holds on the device (a resident reference, cuBLAS workspaces)
    // is not the candidate's: the peak counts from here
    if (cuda_) hold_blas_workspaces(device_.index());
    const std::int64_t held = cuda_ ? requested_now() : 0;
    const attention_choice attention(cfg_.attention);
    build(out);
    c10::InferenceMode inference;
    std::int64_t scaffolding = 0;  // bytes of the L2-flush buffer, held through every measurement
    if (cuda_ && cfg_.flush_l2 && out.weight_bytes <= l2_fit_bytes) {
        const std::int64_t before = requested_now();
        flush_ = torch::empty({l2_flush_bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(device_));
        scaffolding = requested_now() - before;
    }
    // after the first allocation (the allocator starts lazily): the weights stay counted; the
    // flush buffer and what was held before are subtracted from the peak below, so that the peak
    // is the model's own
    if (cuda_) c10::cuda::CUDACachingAllocator::resetPeakStats(device_.index());
    out.graphs_used = cuda_ && cfg_.cuda_graphs;
    {
        // which attention kernel each phase gets, at its shapes and strides (layer 0): queries,
        // keys and values are views of the fused projection's output, cached ones of the cache
        const std::int64_t nh = arch_.n_head[0], kvh = nas::kv_heads(arch_, 0), C = arch_.d_model, hs = C / nh, k = kvh * hs;
        const auto opts = torch::TensorOptions().dtype(dtype_).device(device_);
        // q (C columns at 0), then keys and values (k columns each) of the fused projection
        auto heads = [&](const torch::Tensor& qkv, std::int64_t at, std::int64_t n) {
            return qkv.narrow(2, at, n * hs).view({qkv.size(0), qkv.size(1), n, hs}).transpose(1, 2);
        };
        if (cfg_.prefill) {
            const auto qkv = torch::empty({cfg_.prefill_batch, cfg_.prefill_tokens, C + 2 * k}, opts);
            out.prefill_attention = sdpa_backend(heads(qkv, 0, nh), heads(qkv, C, kvh), heads(qkv, C + k, kvh), true);
        }
        if (cfg_.decode) {
            const auto qkv = torch::empty({cfg_.decode_batch, 1, C + 2 * k}, opts);
            const torch_model::layer_cache cache{torch::empty({cfg_.decode_batch, static_cast<std::int64_t>(arch_.context), 2, k}, opts)};
            const auto n = static_cast<std::int64_t>(cfg_.decode_context) + 1;
            out.decode_attention = sdpa_backend(heads(qkv, 0, nh), cache.keys(kvh, n), cache.values(kvh, n), false);
        }
    }
    auto done = [&](std::unique_ptr<phase>& p, std::unique_ptr<phase>& keep_in) {
        if (keep) keep_in = std::move(p);
        p.reset();
    };
    if (cfg_.prefill) {
        auto p = prefill(out);
        out.prefill = time(*p, out);
        out.prefill_nodes = p->graphs.nodes();
        done(p, prefill_);
    }
    if (cfg_.decode) {
        auto p = decode(out);
        out.decode = time(*p, out);
        out.decode_nodes = p->graphs.nodes();
        done(p, decode_);
    }
    if (cfg_.scenario) {
        auto p = scenario(out);
        out.scenario = time(*p, out);
        done(p, scenario_);
    }
    if (cuda_) {
        torch::cuda::synchronize();
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_.index());
        const std::int64_t own = stats.requested_bytes[aggregate].peak - scaffolding - held;
        out.peak_memory_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(own, 0));
    }
}

void measurement::build(gpt_evaluation& out) {
    out.weight_bytes = out.params.total * (dtype_ == torch::kBFloat16 ? 2 : 4);
    // the grad-norm proxy builds the model in fp32 (then casts it where it is); else it is built in dtype
    const std::uint64_t build_bytes = cfg_.grad_norm ? out.params.total * 4 : out.weight_bytes;
    if (!cuda_) {
        const std::uint64_t available = host_available_bytes();
        if (build_bytes > available)
            throw does_not_fit("the model needs " + gib(build_bytes) + " of host memory; " + gib(available) + " is available.");
    }
    if (cuda_) {
        std::size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            // memory the caching allocator holds but does not use is free for this model too
            const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_.index());
            const auto cached = stats.reserved_bytes[aggregate].current - stats.allocated_bytes[aggregate].current;
            const std::uint64_t usable = free_bytes + static_cast<std::uint64_t>(std::max<std::int64_t>(cached, 0));
            if (build_bytes > usable)
                throw does_not_fit("the weights need " + gib(build_bytes) + " of device memory; " + gib(usable) + " of " +
                                   gib(total_bytes) + " is free.");
        }
    }
    auto& phases = out.phases;
    torch::manual_seed(cfg_.seed);
    {
        // built and drawn where it runs: no host copy of the weights
        phase_timer p(cuda_, phases.build);
        model_ = Gpt(arch_, torch::TensorOptions().device(device_).dtype(cfg_.grad_norm ? torch::kFloat32 : dtype_));
        model_->eval();
    }
    if (cfg_.grad_norm) {
        phase_timer proxy_time(cuda_, phases.proxy);
        // before inference mode and the dtype cast: fp32 gradients of the initial weights
        const std::int64_t tokens = std::min<std::int64_t>(cfg_.grad_norm_tokens, arch_.context);  // capped at the context
        if (tokens < 2 || cfg_.grad_norm_batch == 0)
            throw config_error("grad_norm", "the grad-norm batch needs at least 1 sequence of 2 tokens.");
        const auto idx = torch::randint(0, arch_.vocab, {static_cast<std::int64_t>(cfg_.grad_norm_batch), tokens}, tokens_on_device());
        const auto logits = model_->forward(idx.narrow(1, 0, tokens - 1));  // (B, T-1, V)
        const auto loss =
            torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), idx.narrow(1, 1, tokens - 1).reshape({-1}));
        loss.backward();
        double sum = 0.0;
        for (const auto& p : model_->parameters())
            if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
        out.grad_norm = std::sqrt(sum);
        model_->zero_grad(/*set_to_none=*/true);
    }
    if (cfg_.grad_norm && dtype_ != torch::kFloat32) {
        c10::InferenceMode inference;
        phase_timer p(cuda_, phases.build);
        model_->to(dtype_);  // on the device
    }
}

std::unique_ptr<measurement::phase> measurement::prefill(gpt_evaluation& out) {
    auto p = std::make_unique<phase>();
    p->tokens = torch::randint(0, arch_.vocab, {cfg_.prefill_batch, cfg_.prefill_tokens}, tokens_on_device());
    p->cache = cache_of(cfg_.prefill_batch);
    auto step = [model = model_.ptr(), q = p.get()] { model->forward_cached(q->tokens, q->cache, 0, /*last_only=*/true); };
    return ready(std::move(p), {step}, out, cfg_.warmup, cfg_.repeats);
}

std::unique_ptr<measurement::phase> measurement::decode(gpt_evaluation& out) {
    auto p = std::make_unique<phase>();
    const std::int64_t B = cfg_.decode_batch;
    p->cache = cache_of(B);
    if (cfg_.decode_context > 0) {
        phase_timer t(cuda_, out.phases.warmup);  // the cache's prefill
        model_->forward_cached(torch::randint(0, arch_.vocab, {B, cfg_.decode_context}, tokens_on_device()), p->cache, 0, true);
    }
    p->tokens = torch::randint(0, arch_.vocab, {B, 1}, tokens_on_device());
    const std::int64_t pos = cfg_.decode_context;
    auto step = [model = model_.ptr(), q = p.get(), pos] { model->forward_cached(q->tokens, q->cache, pos); };
    return ready(std::move(p), {step}, out, cfg_.warmup, cfg_.repeats);
}

std::unique_ptr<measurement::phase> measurement::scenario(gpt_evaluation& out) {
    // Greedy generation of G new tokens: the prompt's prefill gives the first, then G - 1 decode
    // steps at positions P .. P + G - 2 each feed the last token back. Under graphs every step is
    // its own graph (positions differ), replayed in order; the token stays in one fixed buffer.
    auto p = std::make_unique<phase>();
    p->tokens = torch::randint(0, arch_.vocab, {1, cfg_.prompt_tokens}, tokens_on_device());
    p->cache = cache_of(1);
    p->next = torch::zeros({1, 1}, tokens_on_device());
    std::vector<std::function<void()>> steps;
    auto* q = p.get();
    const auto model = model_.ptr();  // shared with the kept measurement
    if (cfg_.generated_tokens > 0)
        steps.emplace_back([model, q] { q->next.copy_(model->forward_cached(q->tokens, q->cache, 0, true).argmax(-1)); });
    else
        steps.emplace_back([model, q] { model->forward_cached(q->tokens, q->cache, 0, true); });
    for (std::uint32_t g = 1; g < cfg_.generated_tokens; ++g) {
        const std::int64_t pos = cfg_.prompt_tokens + g - 1;
        steps.emplace_back([model, q, pos] { q->next.copy_(model->forward_cached(q->next, q->cache, pos).argmax(-1)); });
    }
    // a generation is long: at most 2 untimed runs, and max(repeats / 5, 3) timed ones
    return ready(std::move(p), std::move(steps), out, std::min<std::uint32_t>(cfg_.warmup, 2),
                 std::max<std::uint32_t>(cfg_.repeats / 5, 3));
}

void measurement::retime(gpt_evaluation& out) {
    std::optional<c10::cuda::CUDAGuard> guard;
    if (cuda_) guard.emplace(device_.index());
    const attention_choice attention(cfg_.attention);  // for eager runs; a graph keeps its capture's choice
    c10::InferenceMode inference;
    if (prefill_) out.prefill = time(*prefill_, out);
    if (decode_) out.decode = time(*decode_, out);
    if (scenario_) out.scenario = time(*scenario_, out);
    if (cuda_) torch::cuda::synchronize();
}

// Runs `f`, turning every exception into out's status and message.
template <class F>
void guarded(gpt_evaluation& out, F&& f) noexcept {
    try {
        f();
    } catch (const does_not_fit& e) {
        out.status = eval_status::out_of_memory;
        out.message = e.what();
    } catch (...) {
        torch_failures::record<eval_status>(out, torch_failures::current("out of host memory while building or running the model.",
                                                                         "an unknown exception stopped the evaluation."));
    }
}

// What every evaluation does once it has ended: a failure keeps no latency, and the allocator,
// which otherwise keeps its pool for the next candidate, is emptied after one, so that an
// out-of-memory leaves the device as the next candidate expects to find it.
void finish(gpt_evaluation& out, const gpt_measure_config& cfg, std::chrono::steady_clock::time_point start) {
    if (out.status != eval_status::ok) {
        out.prefill = out.decode = out.scenario = std::nullopt;
        out.grad_norm = std::nullopt;
    }
    out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (out.status == eval_status::ok) out.message.clear();
    if (out.status != eval_status::ok) torch_failures::release_device_cache(cfg.device);
}

// The checks before anything is built: a bad architecture or configuration is `invalid`.
bool checked(const nas::architecture& arch, const gpt_measure_config& cfg, gpt_evaluation& out) noexcept {
    try {
        out.arch = arch;
        out.params = nas::count_parameters(arch);  // validates
        check(cfg, arch);
        return true;
    } catch (const std::exception& e) {
        out.status = eval_status::invalid;
        out.message = e.what();
        return false;
    }
}

}  // namespace

std::string measurement_problem(const nas::architecture& arch, const gpt_measure_config& cfg) {
    gpt_evaluation out;
    return checked(arch, cfg, out) ? std::string() : out.message;
}

gpt_evaluation evaluate_gpt(const nas::architecture& arch, const gpt_measure_config& cfg) noexcept {
    const auto start = std::chrono::steady_clock::now();
    gpt_evaluation out;
    if (!checked(arch, cfg, out)) return out;
    guarded(out, [&] { const measurement once(arch, cfg, out, /*keep=*/false); });
    finish(out, cfg, start);
    return out;
}

struct resident_gpt::impl {
    std::unique_ptr<measurement> kept;
    gpt_evaluation first;  // what a re-timing does not change: the architecture, counts, nodes, peak
};

resident_gpt::resident_gpt(nas::architecture arch, gpt_measure_config cfg)
    : arch_(std::move(arch)), cfg_(std::move(cfg)), impl_(std::make_unique<impl>()) {}

resident_gpt::~resident_gpt() = default;

bool resident_gpt::built() const noexcept {
    return impl_->kept != nullptr;
}

gpt_evaluation resident_gpt::time() noexcept {
    const auto start = std::chrono::steady_clock::now();
    gpt_evaluation out;
    if (impl_->kept) {
        out = impl_->first;
        out.prefill = out.decode = out.scenario = std::nullopt;
        out.phases = {};
        guarded(out, [&] { impl_->kept->retime(out); });
    } else {
        if (!checked(arch_, cfg_, out)) return out;
        guarded(out, [&] {
            auto m = std::make_unique<measurement>(arch_, cfg_, out, /*keep=*/true);
            impl_->kept = std::move(m);
        });
        if (out.status == eval_status::ok) impl_->first = out;
    }
    // a failed re-timing (a CUDA error) lets the model go: the next call builds it again
    if (out.status != eval_status::ok) impl_->kept.reset();
    finish(out, cfg_, start);
    return out;
}

}  // namespace fracnas::eval
