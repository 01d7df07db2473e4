// Training speed of recipe A per engine setting (issue 22): tokens per second and model-FLOP
// utilisation of `fracnas train`'s step for a list of architectures, with the train_speed
// settings turned on one after the other, against the bf16 matrix rate measured in the same run.
// It trains on random tokens (speed does not depend on their values) and asserts nothing.
#include <ATen/cuda/CUDAContext.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <map>

#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/trainer.hpp"

using namespace fracnas;

namespace {

const char* usage_text =
    "usage: train_speed [--arch TEXT;TEXT...] [--device cuda|cpu] [--steps N] [--repeats R] [--batch B] [--seq-len T]\n"
    "                   [--vocab V] [--ladder NAMES] [--gemm N] [--profile SETTING]\n"
    "  --arch     architectures in canonical form, ';'-separated (default: GPT-2 small's shape, 10 x 768, 2 x 1920)\n"
    "  --steps    optimiser steps per run (default 80; the first 16 are not counted)\n"
    "  --repeats  runs per architecture and setting (default 3): median, min and max\n"
    "  --ladder   settings, cumulative, comma-separated, several in one rung joined by '+' (default\n"
    "             baseline,async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,\n"
    "             adam_kernel; also swiglu_kernel, residual_fp32, norm_add, residual_sr)\n"
    "  --gemm     the side of the square bf16 matmul whose rate is the reference (default 8192; 0: skip)\n"
    "  --profile  SETTING: also train the first architecture once with the ladder up to SETTING under the\n"
    "             Kineto profiler and print its GPU kernel time per step by kind (eager settings: no graph)\n";

struct setting {
    std::string name;
    eval::train_speed speed;
};

// Each rung turns on its settings (several joined by '+') on top of the rungs before it.
std::vector<setting> ladder(const std::vector<std::string>& names) {
    std::vector<setting> out;
    auto s = eval::no_speed_settings();
    for (const auto& n : names) {
        std::stringstream parts(n);
        std::string part;
        while (std::getline(parts, part, '+'))
            if (part != "baseline" && !eval::enable_speed_setting(s, part)) bench::usage("unknown --ladder setting '" + part + "'");
        out.push_back({n, s});
    }
    return out;
}

// TFLOP/s of an n x n x n bf16 matmul on the device: 10 warm-ups, then the median of 30 timed with events.
double gemm_tflops(std::int64_t n, const torch::Device& device) {
    const auto o = torch::TensorOptions().dtype(torch::kBFloat16).device(device);
    const auto a = torch::randn({n, n}, o), b = torch::randn({n, n}, o);
    auto c = torch::empty({n, n}, o);
    for (int i = 0; i < 10; ++i) at::mm_out(c, a, b);
    std::vector<double> t;
    for (int i = 0; i < 30; ++i) {
        torch::cuda::synchronize();
        const auto start = bench::clock_type::now();
        for (int k = 0; k < 10; ++k) at::mm_out(c, a, b);
        torch::cuda::synchronize();
        t.push_back(bench::seconds_since(start) / 10.0);
    }
    return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / bench::quantile(t, 0.5) / 1e12;
}

// The kind of a CUDA kernel, from its name.
std::string kernel_kind(const std::string& n) {
    const auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
    if (has("flash") || has("fmha") || has("attention") || has("cudnn")) return "attention";
    if (has("gemm") || has("nvjet") || has("cutlass") || has("xmma") || has("sm90")) return "gemm";
    if (has("adam")) return "adamw";
    if (has("layer_norm") || has("LayerNorm")) return "layer_norm";
    if (has("softmax") || has("Softmax")) return "softmax";
    if (has("reduce") || has("Reduce") || has("norm")) return "reduce";
    if (has("copy") || has("Copy") || has("cast")) return "copy/cast";
    if (has("gelu") || has("GeluCUDA")) return "gelu";
    if (has("elementwise") || has("vectorized") || has("Elementwise") || has("foreach")) return "elementwise";
    if (has("index") || has("gather") || has("scatter") || has("embedding") || has("Embedding")) return "index/gather";
    return "other";
}

// Trains once under the profiler; prints GPU kernel milliseconds per step by kind and the top kernels.
void profile(const nas::architecture& arch, std::uint32_t vocab, const std::vector<std::uint32_t>& train,
             const std::vector<std::uint32_t>& val, eval::train_recipe r) {
    namespace prof = torch::profiler::impl;
    const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    const std::set<prof::ActivityType> activities{prof::ActivityType::CPU, prof::ActivityType::CUDA};
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
    const auto start = bench::clock_type::now();
    const auto res = eval::train_gpt(arch, vocab, {train.data(), train.size()}, {val.data(), val.size()}, r);
    const double wall = bench::seconds_since(start);
    const auto result = torch::autograd::profiler::disableProfiler();
    std::map<std::string, double> by_kind, by_name;
    double total = 0.0;
    for (const auto& e : result->events()) {
        if (e.deviceType() != c10::DeviceType::CUDA) continue;
        const double ms = static_cast<double>(e.durationNs()) / 1e6;
        by_kind[kernel_kind(e.name())] += ms;
        by_name[e.name().substr(0, 90)] += ms;
        total += ms;
    }
    const double steps = static_cast<double>(std::max<std::uint64_t>(res.steps, 1));
    std::printf("profile (%s): %llu steps, wall %.1f ms per step (validation and set-up included), GPU kernels %.2f ms per step\n",
                eval::to_string(res.status), static_cast<unsigned long long>(res.steps), 1e3 * wall / steps, total / steps);
    for (const auto& [kind, ms] : by_kind)
        std::printf("  %-14s %8.3f ms per step  %5.1f%%\n", kind.c_str(), ms / steps, 100.0 * ms / total);
    std::vector<std::pair<double, std::string>> top;
    for (const auto& [name, ms] : by_name) top.emplace_back(ms, name);
    std::sort(top.rbegin(), top.rend());
    for (std::size_t i = 0; i < std::min<std::size_t>(top.size(), 40); ++i)
        std::printf("  %8.3f ms  %s\n", top[i].first / steps, top[i].second.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> archs = {
        "n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 "
        "n_head=12,12,12,12,12,12,12,12,12,12,12,12",
        "n_layer=10 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12",
        "n_layer=2 d_model=1920 d_inner=7232,7232 n_head=30,30"};
    std::string device_name = torch::cuda::is_available() ? "cuda" : "cpu";
    std::uint64_t steps = 80, repeats = 3, gemm = 8192;
    std::uint32_t batch = 32, seq_len = 512, vocab = 32768;
    std::vector<std::string> names = {"baseline",     "async",       "fused_adamw", "fused_loss",  "cuda_graph",
                                      "bf16_weights", "loss_kernel", "norm_kernel", "fused_dense", "adam_kernel"};
    std::string profile_setting;
    std::vector<setting> settings;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--help" || a == "-h") bench::usage("help");
            if (i + 1 >= argc) bench::usage(a + " needs a value");
            const std::string v = argv[++i];
            if (a == "--arch") {
                archs.clear();
                std::stringstream in(v);
                std::string part;
                while (std::getline(in, part, ';'))
                    if (!part.empty()) archs.push_back(part);
            } else if (a == "--device") {
                device_name = v;
            } else if (a == "--steps") {
                steps = bench::to_u64(v, a, 20);
            } else if (a == "--repeats") {
                repeats = bench::to_u64(v, a, 1);
            } else if (a == "--batch") {
                batch = bench::to_u32(v, a, 1, 4096);
            } else if (a == "--seq-len") {
                seq_len = bench::to_u32(v, a, 1, 1 << 16);
            } else if (a == "--vocab") {
                vocab = bench::to_u32(v, a, 8, 1 << 20);
            } else if (a == "--ladder") {
                names = bench::split(v);
            } else if (a == "--profile") {
                profile_setting = v;
            } else if (a == "--gemm") {
                gemm = bench::to_u64(v, a, 0);
            } else {
                bench::usage("unknown option " + a);
            }
        }
        if (device_name != "cuda" && device_name != "cpu") bench::usage("--device is cuda or cpu");
        settings = ladder(names);
    } catch (const std::exception& e) {
        return bench::usage_exit_code("train_speed", e, usage_text);
    }
    bench::print_header(argc, argv);
    const bool cuda = device_name == "cuda";
    std::printf("device: %s | LibTorch %s\n", cuda ? at::cuda::getDeviceProperties(0)->name : "cpu", TORCH_VERSION);
    const double matrix_rate = cuda && gemm > 0 ? gemm_tflops(static_cast<std::int64_t>(gemm), torch::Device(torch::kCUDA, 0)) : 0.0;
    if (matrix_rate > 0.0)
        std::printf("bf16 matmul %llu^3: %.1f TFLOP/s (median of 30 x 10)\n", static_cast<unsigned long long>(gemm), matrix_rate);

    // random tokens: enough for every window, a validation split of one sequence
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::uint32_t> id(0, vocab - 1);
    std::vector<std::uint32_t> train(std::max<std::size_t>(1 << 22, std::size_t{2} * batch * seq_len)), val(seq_len + 1);
    for (auto& t : train) t = id(rng);
    for (auto& t : val) t = id(rng);
    // recipe A's optimiser and batch, one validation window at the end (not timed)
    const auto recipe = [&](const eval::train_speed& speed) {
        eval::train_recipe r;
        r.tokens = steps * batch * seq_len;
        r.batch = batch;
        r.seq_len = seq_len;
        r.checkpoints = 1;
        r.val_tokens = seq_len + 1;
        r.device = cuda ? eval::device_kind::cuda : eval::device_kind::cpu;
        r.speed = speed;
        return r;
    };
    if (!profile_setting.empty()) {
        std::vector<std::string> upto;
        for (const auto& n : names) {
            upto.push_back(n);
            if (n == profile_setting) break;
        }
        auto arch = nas::parse_architecture(archs.front());
        arch.vocab = vocab;
        const auto r = recipe(ladder(upto).back().speed);
        profile(arch, vocab, train, val, r);
    }
    std::printf("%-44s %-12s %14s %14s %14s %10s %10s\n", "architecture", "setting", "tokens/s med", "min", "max", "TFLOP/s", "of matmul");
    for (const auto& text : archs) {
        auto arch = nas::parse_architecture(text);
        arch.vocab = vocab;
        const double flops = eval::training_flops_per_token(arch, seq_len);
        for (const auto& s : settings) {
            const auto r = recipe(s.speed);
            std::vector<double> rate;
            std::string failure;
            for (std::uint64_t k = 0; k < repeats; ++k) {
                const auto res = eval::train_gpt(arch, vocab, {train.data(), train.size()}, {val.data(), val.size()}, r);
                if (res.status != eval::train_status::ok) {
                    failure = std::string(eval::to_string(res.status)) + ": " + res.message;
                    break;
                }
                rate.push_back(res.steady_tokens_per_second);
                if (!res.engine_note.empty() && k == 0)
                    std::printf("  note (%s, %s): %s\n", text.c_str(), s.name.c_str(), res.engine_note.c_str());
            }
            if (!failure.empty()) {
                std::printf("%-44s %-12s failed (%s)\n", text.c_str(), s.name.c_str(), failure.c_str());
                continue;
            }
            const auto sum = bench::summarise(rate);
            const double tflops = sum.median * flops / 1e12;
            std::printf("%-44s %-12s %14.0f %14.0f %14.0f %10.1f %9.1f%%\n", text.c_str(), s.name.c_str(), sum.median, sum.min, sum.max,
                        tflops, matrix_rate > 0.0 ? 100.0 * tflops / matrix_rate : 0.0);
            std::fflush(stdout);
        }
        std::printf("  (model FLOPs per token %.4g: 6 x matmul weights + 12 x layers x d_model x seq_len)\n", flops);
    }
    return 0;
}
