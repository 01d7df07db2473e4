// Worker throughput: one long-lived process measures N different GPT-2-small-sized candidates the
// way a search worker does (eval::evaluate_gpt with the search's defaults: 3 warm-up and 10 timed
// runs of the prefill and of the decode step, CUDA graphs), and re-times GPT-2 small every K
// candidates. It reports candidates per second, the split of a candidate's wall time (build,
// warm-up, capture, timing, the rest) and the spread of the reference's decode and prefill medians
// over the run. One JSON line per evaluation with --out.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/evaluator.hpp"

namespace {

using namespace fracnas;
using bench::usage;

struct options {
    eval::device_kind device = eval::device_kind::cuda;
    std::uint32_t candidates = 60, reference_every = 10, warmup = 3, repeats = 10;
    std::uint64_t seed = 1;
    std::string out;
};

const char* const usage_text =
    "usage: worker_throughput [--device cuda|cpu] [--candidates 60] [--reference-every 10]\n"
    "       [--warmup 3] [--repeats 10] [--seed 1] [--out FILE.jsonl]\n"
    "  candidates: 12 layers, d_model 768, each layer's FFN width in 2048..4096 and 8 or 12 heads\n"
    "  (GPT-2 small's size, all different); the reference is GPT-2 small\n";

options parse(int argc, char** argv) {
    options opt;
    bench::for_each_flag(argc, argv, [&](const std::string& flag, const std::string& value) {
        if (flag == "--device") {
            if (value == "cpu") opt.device = eval::device_kind::cpu;
            else if (value == "cuda") opt.device = eval::device_kind::cuda;
            else usage("--device is cpu or cuda, got '" + value + "'");
        } else if (flag == "--candidates") opt.candidates = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--reference-every") opt.reference_every = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--warmup") opt.warmup = bench::to_u32(value, flag, 0, 1000);
        else if (flag == "--repeats") opt.repeats = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--seed") opt.seed = bench::to_u64(value, flag);
        else if (flag == "--out") opt.out = value;
        else usage("unknown option " + flag);
    });
    return opt;
}

nas::architecture candidate(core::rng& r) {
    nas::architecture a = nas::gpt2_small();
    for (auto& w : a.d_inner) w = 2048 + 64 * static_cast<std::uint32_t>(r.uniform() * 33.0);  // 2048..4096
    for (auto& h : a.n_head) h = r.uniform() < 0.5 ? 8 : 12;
    return a;
}

struct phase_sums {
    std::vector<double> wall, build, warmup, capture, timing, rest;
    void add(const eval::gpt_evaluation& e) {
        wall.push_back(e.wall_seconds);
        build.push_back(e.phases.build);
        warmup.push_back(e.phases.warmup);
        capture.push_back(e.phases.capture);
        timing.push_back(e.phases.timing);
        rest.push_back(e.wall_seconds - e.phases.build - e.phases.proxy - e.phases.warmup - e.phases.capture - e.phases.timing);
    }
};

void print_row(const char* name, const std::vector<double>& v, double total_median) {
    const auto s = bench::summarise(v);
    std::printf("  %-8s median %8.4f s  min %8.4f  max %8.4f  (%4.1f%% of the median wall)\n", name, s.median, s.min, s.max,
                100.0 * s.median / total_median);
}

std::string line(const char* kind, std::uint32_t i, const eval::gpt_evaluation& e) {
    char b[1024];
    std::snprintf(b, sizeof b,
                  "{\"kind\": \"%s\", \"index\": %u, \"architecture\": \"%s\", \"status\": \"%s\", \"decode_ms\": %s, "
                  "\"prefill_ms\": %s, \"wall\": %s, \"build\": %s, \"warmup\": %s, \"capture\": %s, \"timing\": %s, "
                  "\"peak_memory_bytes\": %llu}",
                  kind, i, nas::canonical(e.arch).c_str(), eval::to_string(e.status),
                  bench::json_number(e.decode ? e.decode->median_ms : bench::nan_value).c_str(),
                  bench::json_number(e.prefill ? e.prefill->median_ms : bench::nan_value).c_str(),
                  bench::json_number(e.wall_seconds).c_str(), bench::json_number(e.phases.build).c_str(),
                  bench::json_number(e.phases.warmup).c_str(), bench::json_number(e.phases.capture).c_str(),
                  bench::json_number(e.phases.timing).c_str(), static_cast<unsigned long long>(e.peak_memory_bytes));
    return b;
}

int run(const options& opt) {
    eval::gpt_measure_config cfg;
    cfg.device = opt.device;
    cfg.dtype = opt.device == eval::device_kind::cuda ? eval::dtype_kind::bf16 : eval::dtype_kind::fp32;
    cfg.warmup = opt.warmup;
    cfg.repeats = opt.repeats;
    std::ofstream out;
    if (!opt.out.empty()) {
        out.open(opt.out);
        if (!out) throw std::runtime_error("cannot write " + opt.out);
    }
    const auto reference = nas::gpt2_small();
    core::rng r(opt.seed);
    const auto start = bench::clock_type::now();
    const auto first = eval::evaluate_gpt(reference, cfg);  // the process's first: CUDA context, cuBLAS, kernels loaded
    std::printf("first evaluation (the reference, process start-up included): %.3f s, status %s\n", first.wall_seconds,
                eval::to_string(first.status));
    if (out) out << line("first", 0, first) << '\n';
    phase_sums cand;
    std::vector<double> ref_decode, ref_prefill;
    std::uint32_t failed = 0;
    const auto loop = bench::clock_type::now();
    for (std::uint32_t i = 0; i < opt.candidates; ++i) {
        if (i % opt.reference_every == 0) {
            const auto ref = eval::evaluate_gpt(reference, cfg);
            if (ref.decode) ref_decode.push_back(ref.decode->median_ms);
            if (ref.prefill) ref_prefill.push_back(ref.prefill->median_ms);
            if (out) out << line("reference", i, ref) << '\n';
        }
        const auto e = eval::evaluate_gpt(candidate(r), cfg);
        if (e.status != eval::eval_status::ok) {
            ++failed;
            std::fprintf(stderr, "candidate %u: %s: %s\n", i, eval::to_string(e.status), e.message.c_str());
        }
        cand.add(e);
        if (out) out << line("candidate", i, e) << '\n';
    }
    const double loop_s = bench::seconds_since(loop);
    const auto wall = bench::summarise(cand.wall);
    std::printf("device %s, %u candidates (%u failed) and %zu reference timings in %.2f s (%.2f s in all)\n",
                first.device_name.c_str(), opt.candidates, failed, ref_decode.size(), loop_s, bench::seconds_since(start));
    std::printf("candidates per second: %.3f from the median wall, %.3f over the loop (references included)\n",
                1.0 / wall.median, static_cast<double>(opt.candidates + ref_decode.size()) / loop_s);
    std::printf("wall time of one candidate:\n");
    print_row("wall", cand.wall, wall.median);
    print_row("build", cand.build, wall.median);
    print_row("warm-up", cand.warmup, wall.median);
    print_row("capture", cand.capture, wall.median);
    print_row("timing", cand.timing, wall.median);
    print_row("rest", cand.rest, wall.median);
    for (const auto& [name, v] : {std::pair<const char*, const std::vector<double>&>{"decode", ref_decode}, {"prefill", ref_prefill}}) {
        const auto s = bench::summarise(v);
        std::printf("reference %s median over %zu timings: %.4f ms, min %.4f, max %.4f, (max - min) / median %.2f%%\n", name,
                    v.size(), s.median, s.min, s.max, 100.0 * (s.max - s.min) / s.median);
    }
    return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse(argc, argv);
    } catch (const std::exception& e) {
        return bench::usage_exit_code("worker_throughput", e, usage_text);
    }
    try {
        bench::print_header(argc, argv);
        return run(opt);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "worker_throughput: %s\n", e.what());
        return 1;
    }
}
