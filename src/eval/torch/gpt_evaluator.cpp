// The candidate evaluator: build the GPT, warm up, time prefill / decode / generation with CUDA
// events (or a steady clock on the CPU), optionally through CUDA-graph replay with L2 flushed,
// and read the caching allocator's peak. Every exception stops here and becomes a status.
#include "fracnas/torch/evaluator.hpp"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/torch.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <vector>
#include <sstream>

#include "fracnas/error.hpp"
#include "gpt_model.hpp"
#include "graph_runner.hpp"

namespace fracnas::eval {

const char* to_string(eval_status s) {
    switch (s) {
        case eval_status::ok: return "ok";
        case eval_status::invalid: return "invalid";
        case eval_status::out_of_memory: return "out_of_memory";
        case eval_status::error: return "error";
    }
    return "?";
}

namespace {

using torch_model::Gpt;
using torch_graphs::graph_runner;
using torch_graphs::phase_timer;
constexpr std::int64_t l2_flush_bytes = 256LL << 20;  // several times any current GPU's L2
constexpr std::uint64_t l2_fit_bytes = 64ULL << 20;   // weights this small may stay in L2 between runs
constexpr auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);  // allocator stats: all pools

// Times `run` (warmup untimed runs, then repeats timed ones) and returns milliseconds; the wall
// time of both goes into the evaluation's phases.
struct timer {
    bool cuda;
    torch::Tensor flush;  // defined when L2 must be overwritten before each timed run
    gpt_evaluation::phase_seconds* phases;

    std::vector<double> time(const std::function<void()>& run, std::uint32_t warmup, std::uint32_t repeats) const {
        {
            phase_timer p(cuda, phases->warmup);
            for (std::uint32_t i = 0; i < warmup; ++i) run();
        }
        phase_timer p(cuda, phases->timing);
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
};

// The SDPA backend PyTorch's dispatcher chooses for these inputs (at::_fused_sdp_choice, the
// function scaled_dot_product_attention itself consults).
std::string sdpa_backend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
    switch (at::_fused_sdp_choice(q, k, v, {}, 0.0, causal)) {
        case 0: return "math";
        case 1: return "flash";
        case 2: return "efficient";
        case 3: return "cudnn";
        case 4: return "overrideable";
        default: return "none";
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
    if (cfg.decode && cfg.decode_context >= a.context)
        throw config_error("decode_context", "the decode context must be below the model's context of " +
                                                 std::to_string(a.context) + ".");
    if (cfg.scenario && (cfg.prompt_tokens == 0 || cfg.prompt_tokens + cfg.generated_tokens > a.context))
        throw config_error("scenario", "prompt + generated tokens must fit in the context of " +
                                           std::to_string(a.context) + ", with a prompt of at least 1.");
}

void measure(const nas::architecture& arch, const gpt_measure_config& cfg, gpt_evaluation& out) {
    const bool cuda = cfg.device == device_kind::cuda;
    if (cuda && !torch::cuda::is_available())
        throw config_error("device", "CUDA was requested but LibTorch sees no CUDA device.");
    const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cfg.cuda_index))
                                      : torch::Device(torch::kCPU);
    const auto dtype = cfg.dtype == dtype_kind::bf16 ? torch::kBFloat16 : torch::kFloat32;
    std::optional<c10::cuda::CUDAGuard> guard;
    if (cuda) {
        guard.emplace(device.index());
        at::globalContext().lazyInitDevice(at::kCUDA);  // the caching allocator's statistics exist from here on
        out.device_name = at::cuda::getDeviceProperties(device.index())->name;
    } else {
        out.device_name = "cpu";
    }
    out.weight_bytes = out.params.total * (dtype == torch::kBFloat16 ? 2 : 4);
    // the grad-norm proxy builds the model in fp32 (then casts it where it is); else it is built in dtype
    const std::uint64_t build_bytes = cfg.grad_norm ? out.params.total * 4 : out.weight_bytes;
    if (!cuda) {
        const std::uint64_t available = host_available_bytes();
        if (build_bytes > available)
            throw does_not_fit("the model needs " + gib(build_bytes) + " of host memory; " + gib(available) + " is available.");
    }
    if (cuda) {
        std::size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            // memory the caching allocator holds but does not use is free for this model too
            const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
            const auto cached = stats.reserved_bytes[aggregate].current - stats.allocated_bytes[aggregate].current;
            const std::uint64_t usable = free_bytes + static_cast<std::uint64_t>(std::max<std::int64_t>(cached, 0));
            if (build_bytes > usable)
                throw does_not_fit("the weights need " + gib(build_bytes) + " of device memory; " + gib(usable) + " of " +
                                   gib(total_bytes) + " is free.");
        }
    }
    const attention_choice attention(cfg.attention);
    auto& phases = out.phases;
    torch::manual_seed(cfg.seed);
    Gpt model{nullptr};
    {
        // built and drawn where it runs: no host copy of the weights
        phase_timer p(cuda, phases.build);
        model = Gpt(arch, torch::TensorOptions().device(device).dtype(cfg.grad_norm ? torch::kFloat32 : dtype));
        model->eval();
    }
    if (cfg.grad_norm) {
        phase_timer proxy_time(cuda, phases.proxy);
        // before inference mode and the dtype cast: fp32 gradients of the initial weights
        const std::int64_t tokens = std::min<std::int64_t>(cfg.grad_norm_tokens, arch.context);  // capped at the context
        if (tokens < 2 || cfg.grad_norm_batch == 0)
            throw config_error("grad_norm", "the grad-norm batch needs at least 1 sequence of 2 tokens.");
        const auto idx = torch::randint(0, arch.vocab, {static_cast<std::int64_t>(cfg.grad_norm_batch), tokens},
                                        torch::TensorOptions().dtype(torch::kLong).device(device));
        const auto logits = model->forward(idx.narrow(1, 0, tokens - 1));  // (B, T-1, V)
        const auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                               idx.narrow(1, 1, tokens - 1).reshape({-1}));
        loss.backward();
        double sum = 0.0;
        for (const auto& p : model->parameters())
            if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
        out.grad_norm = std::sqrt(sum);
        model->zero_grad(/*set_to_none=*/true);
    }
    c10::InferenceMode inference;
    if (cfg.grad_norm && dtype != torch::kFloat32) {
        phase_timer p(cuda, phases.build);
        model->to(dtype);  // on the device
    }
    auto allocated_now = [&] {
        return c10::cuda::CUDACachingAllocator::getDeviceStats(device.index()).allocated_bytes[aggregate].current;
    };
    timer t{cuda, {}, &phases};
    std::int64_t scaffolding = 0;  // bytes of the L2-flush buffer, held through every measurement
    if (cuda && cfg.flush_l2 && out.weight_bytes <= l2_fit_bytes) {
        const std::int64_t before = allocated_now();
        t.flush = torch::empty({l2_flush_bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(device));
        scaffolding = allocated_now() - before;
    }
    // after the first allocation (the allocator starts lazily): the weights stay counted; the
    // flush buffer is subtracted from the peak below, so that the peak is the model's own
    if (cuda) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
    const bool graphs = cuda && cfg.cuda_graphs;
    out.graphs_used = graphs;
    const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
    const auto cache_opts = torch::TensorOptions().dtype(dtype).device(device);
    graph_runner prefill_graph, decode_graph, scenario_graphs;

    {
        // which attention kernel each phase gets, at its shapes and strides (layer 0): queries,
        // keys and values are views of the fused projection's output, cached ones of the cache
        const std::int64_t nh = arch.n_head[0], C = arch.d_model, hs = C / nh;
        const auto opts = torch::TensorOptions().dtype(dtype).device(device);
        auto heads = [&](const torch::Tensor& qkv, std::int64_t i) {
            return qkv.narrow(2, i * C, C).view({qkv.size(0), qkv.size(1), nh, hs}).transpose(1, 2);
        };
        if (cfg.prefill) {
            const auto qkv = torch::empty({cfg.prefill_batch, cfg.prefill_tokens, 3 * C}, opts);
            out.prefill_attention = sdpa_backend(heads(qkv, 0), heads(qkv, 1), heads(qkv, 2), true);
        }
        if (cfg.decode) {
            const auto qkv = torch::empty({1, 1, 3 * C}, opts);
            const torch_model::layer_cache cache{torch::empty({1, static_cast<std::int64_t>(arch.context), 2, C}, opts)};
            const auto n = static_cast<std::int64_t>(cfg.decode_context) + 1;
            out.decode_attention = sdpa_backend(heads(qkv, 0), cache.keys(nh, n), cache.values(nh, n), false);
        }
    }
    if (cfg.prefill) {
        const auto idx = torch::randint(0, arch.vocab, {cfg.prefill_batch, cfg.prefill_tokens}, long_opts);
        auto cache = model->make_cache(cfg.prefill_batch, cache_opts);
        auto step = [&] { model->forward_cached(idx, cache, 0, /*last_only=*/true); };
        out.prefill = summarise(t.time(prefill_graph.wrap({step}, graphs, phases.warmup, phases.capture), cfg.warmup, cfg.repeats));
        out.prefill_nodes = prefill_graph.nodes();
    }
    if (cfg.decode) {
        auto cache = model->make_cache(1, cache_opts);
        if (cfg.decode_context > 0) {
            phase_timer p(cuda, phases.warmup);  // the cache's prefill
            model->forward_cached(torch::randint(0, arch.vocab, {1, cfg.decode_context}, long_opts), cache, 0, true);
        }
        const auto token = torch::randint(0, arch.vocab, {1, 1}, long_opts);
        const std::int64_t pos = cfg.decode_context;
        auto step = [&] { model->forward_cached(token, cache, pos); };
        out.decode = summarise(t.time(decode_graph.wrap({step}, graphs, phases.warmup, phases.capture), cfg.warmup, cfg.repeats));
        out.decode_nodes = decode_graph.nodes();
    }
    if (cfg.scenario) {
        // Greedy generation of G new tokens: the prompt's prefill gives the first, then G - 1
        // decode steps at positions P .. P + G - 2 each feed the last token back. Under graphs
        // every step is its own graph (positions differ), replayed in order; the token stays in
        // one fixed buffer.
        const auto prompt = torch::randint(0, arch.vocab, {1, cfg.prompt_tokens}, long_opts);
        auto cache = model->make_cache(1, cache_opts);
        auto next = torch::zeros({1, 1}, long_opts);
        std::vector<std::function<void()>> steps;
        if (cfg.generated_tokens > 0)
            steps.emplace_back([&] { next.copy_(model->forward_cached(prompt, cache, 0, true).argmax(-1)); });
        else
            steps.emplace_back([&] { model->forward_cached(prompt, cache, 0, true); });
        for (std::uint32_t g = 1; g < cfg.generated_tokens; ++g) {
            const std::int64_t pos = cfg.prompt_tokens + g - 1;
            steps.emplace_back([&, pos] { next.copy_(model->forward_cached(next, cache, pos).argmax(-1)); });
        }
        out.scenario = summarise(t.time(scenario_graphs.wrap(std::move(steps), graphs, phases.warmup, phases.capture), std::min<std::uint32_t>(cfg.warmup, 2),
                                        std::max<std::uint32_t>(cfg.repeats / 5, 3)));
    }
    if (cuda) {
        torch::cuda::synchronize();
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
        out.peak_memory_bytes = static_cast<std::uint64_t>(stats.allocated_bytes[aggregate].peak - scaffolding);
    }
}

}  // namespace

gpt_evaluation evaluate_gpt(const nas::architecture& arch, const gpt_measure_config& cfg) noexcept {
    const auto start = std::chrono::steady_clock::now();
    gpt_evaluation out;
    try {
        out.arch = arch;
        out.params = nas::count_parameters(arch);  // validates
        check(cfg, arch);
    } catch (const std::exception& e) {
        out.status = eval_status::invalid;
        out.message = e.what();
        return out;
    }
    try {
        measure(arch, cfg, out);
    } catch (const does_not_fit& e) {
        out.status = eval_status::out_of_memory;
        out.message = e.what();
    } catch (const c10::OutOfMemoryError& e) {
        out.status = eval_status::out_of_memory;
        out.message = "out of memory: " + std::string(e.what_without_backtrace());
    } catch (const c10::Error& e) {
        out.status = eval_status::error;
        out.message = e.what_without_backtrace();
    } catch (const config_error& e) {
        out.status = eval_status::invalid;
        out.message = e.what();
    } catch (const std::bad_alloc&) {
        out.status = eval_status::out_of_memory;
        out.message = "out of host memory while building or running the model.";
    } catch (const std::exception& e) {
        out.status = eval_status::error;
        out.message = e.what();
    } catch (...) {
        out.status = eval_status::error;
        out.message = "an unknown exception stopped the evaluation.";
    }
    if (out.status != eval_status::ok) {
        out.prefill = out.decode = out.scenario = std::nullopt;
        out.grad_norm = std::nullopt;
    }
    out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (out.status == eval_status::ok) out.message.clear();
    // The allocator keeps its pool for the next candidate; after a failure it is emptied, so that
    // an out-of-memory leaves the device as the next candidate expects to find it.
    if (out.status != eval_status::ok) {
        try {
            if (cfg.device == device_kind::cuda && torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::emptyCache();
        } catch (...) {
        }
    }
    return out;
}

}  // namespace fracnas::eval
