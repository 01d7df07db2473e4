// Evaluate one candidate architecture: build it in LibTorch on a CPU or a CUDA device, time a
// prefill, a decode step at a fixed context and a generation scenario, read the allocator's
// peak memory, and return everything as data. Nothing escapes: an invalid architecture, an
// out-of-memory and anything LibTorch throws become a result with a status and a message.
// This header holds the plain types only; the measuring is the LibTorch adapter's
// (fracnas/torch/evaluator.hpp, target fracnas_torch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fracnas/eval/latency.hpp"
#include "fracnas/eval/outcome.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

namespace fracnas::eval {

enum class device_kind { cpu, cuda };
enum class dtype_kind { fp32, bf16 };

/// What to measure and how; typical values in the comments (DESIGN section 7).
struct gpt_measure_config {
    device_kind device = device_kind::cpu;
    int cuda_index = 0;                   ///< which visible CUDA device
    dtype_kind dtype = dtype_kind::bf16;  ///< deployment precision on a GPU
    bool prefill = true;                  ///< time a B x T prefill (last-position logits)
    std::uint32_t prefill_batch = 1;      ///< B (1 or 8)
    std::uint32_t prefill_tokens = 1024;  ///< T (<= context)
    bool decode = true;                   ///< time one decode step with a pre-filled KV cache
    std::uint32_t decode_context = 1023;  ///< tokens already in the cache (< context)
    std::uint32_t decode_batch = 1;       ///< B sequences decoded together, each with decode_context cached tokens
    bool scenario = false;                ///< time greedy generation: a P-token prompt's prefill, then G new tokens
    std::uint32_t prompt_tokens = 128, generated_tokens = 128;
    std::uint32_t warmup = 5;    ///< untimed runs before timing
    std::uint32_t repeats = 30;  ///< timed runs (median and IQR reported)
    bool cuda_graphs = true;     ///< replay captured CUDA graphs (prefill, decode, and one per generation step)
    bool flush_l2 = true;        ///< on CUDA, overwrite L2 before each timed run when the weights fit in it
    /// With CUDA graphs, the timed replays are queued behind a spin kernel and run back to back,
    /// so that each timing is the device's alone: the host's launch latency and its jitter (a busy
    /// or preempted host core) stay out. Off, and for eager runs (whose cost is the host's
    /// launches): each run is launched and timed on its own, the launch included.
    bool queue_timed_runs = true;
    bool grad_norm = false;                                     ///< compute the grad-norm proxy (fp32, at initialisation)
    std::uint32_t grad_norm_batch = 4, grad_norm_tokens = 128;  ///< its random token batch (tokens capped at the context)
    std::uint64_t seed = 0;                                     ///< initial weights and random tokens (torch::manual_seed)
    /// The scaled-dot-product-attention kernel: "auto" (PyTorch's dispatcher chooses) or one of
    /// "flash", "efficient", "cudnn", "math" (only that one is allowed; an input it cannot take is
    /// an error result). Applies to every phase of the evaluation.
    std::string attention = "auto";
};

/// How a candidate's evaluation ended: outcome.hpp's vocabulary (an evaluation gives ok,
/// invalid, out_of_memory or error).
using eval_status = outcome_status;

/// One candidate's measurements. Latencies are absent when not requested or when status != ok.
struct gpt_evaluation {
    eval_status status = eval_status::ok;
    std::string message;  ///< empty when ok; one sentence otherwise
    nas::architecture arch;
    nas::parameter_counts params;  ///< valid whenever the architecture is
    std::optional<latency_stats> prefill, decode, scenario;
    /// Training-free proxy: the L2 norm of the gradient of the next-token cross-entropy on random
    /// tokens, at initialisation, over every parameter (Abdelfattah et al. 2021's grad_norm).
    std::optional<double> grad_norm;
    /// The CUDA caching allocator's peak over the measurements, above what the process held when
    /// the evaluation began (a resident reference, cuBLAS's workspaces), without the L2-flush
    /// buffer: the model's own. 0 on CPU.
    std::uint64_t peak_memory_bytes = 0;
    std::uint64_t weight_bytes = 0;  ///< parameters x element size
    double wall_seconds = 0.0;       ///< the whole evaluation: build, warm up, measure
    /// Where wall_seconds went (each phase ends with a device synchronisation, so the split is
    /// the device's too): building the model on the device and its caches, the grad-norm proxy,
    /// untimed runs (the graphs' warm-up and the timer's), graph capture, the timed runs.
    /// The rest of wall_seconds is checks, kernel choice queries and releasing memory.
    struct phase_seconds {
        double build = 0.0, proxy = 0.0, warmup = 0.0, capture = 0.0, timing = 0.0;
    } phases;
    std::string device_name;   ///< e.g. "NVIDIA H200" or "cpu"
    bool graphs_used = false;  ///< the latencies were timed by CUDA-graph replay
    /// The scaled-dot-product-attention kernel PyTorch's dispatcher picks for the prefill (causal,
    /// no mask) and for a decode step (one query, the cached keys) at the measured shapes and
    /// dtype: "flash", "efficient", "cudnn", "math" or "overrideable"; empty when not measured.
    std::string prefill_attention, decode_attention;
    /// The nodes of the captured prefill and decode graphs (what one timed run launches): each
    /// kernel's name where the CUDA runtime knows it, "?" for kernels launched through the driver
    /// (cuBLAS, cuDNN), "memcpy", "memset". Empty when graphs were not used.
    std::vector<std::string> prefill_nodes, decode_nodes;
};

/// The gpt_measure_config::attention values: auto, flash, efficient, cudnn, math.
const std::vector<std::string>& attention_names();
/// Checks a gpt_measure_config::attention value: throws config_error(option) naming the valid
/// ones (attention_names()) for any other.
void check_attention(const std::string& name, const std::string& option);

/// Each latency of `r` over the same latency of `reference` (their medians), where both were
/// measured: the candidate's speed relative to the reference model timed by the same code.
struct latency_ratios {
    std::optional<double> prefill, decode, scenario;
};
latency_ratios ratios(const gpt_evaluation& r, const gpt_evaluation& reference);

}  // namespace fracnas::eval
