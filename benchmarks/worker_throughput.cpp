// Worker throughput: one long-lived process measures N different GPT-2-small-sized candidates the
// way a search worker does (eval::evaluate_gpt with the search's defaults: 3 warm-up and 10 timed
// runs of the prefill and of the decode step, CUDA graphs), and re-times GPT-2 small every K
// candidates several ways: rebuilt (evaluate_gpt, as every candidate and a search worker's
// reference are measured) and resident (eval::resident_gpt re-timed right after a candidate; a
// second one timed without queueing, each replay launched and timed on its own; a third built
// halfway through the run), followed by a resident probe (3 x 1728, the shape searches find) and
// its ratio to the first resident reference. It reports candidates per second, the split of a candidate's wall time (build,
// warm-up, capture, timing, the rest) and the spread of each series over the run. One JSON line
// per evaluation with --out, with its Unix time (to match a clock log such as nvidia-smi's).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "bench_device.hpp"
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
    std::string architectures;  // a file of canonical architectures, measured in its order
};

const char* const usage_text =
    "usage: worker_throughput [--device cuda|cpu] [--candidates 60] [--reference-every 10]\n"
    "       [--warmup 3] [--repeats 10] [--seed 1] [--out FILE.jsonl] [--architectures FILE]\n"
    "  candidates: 12 layers, d_model 768, each layer's FFN width in 2048..4096 and 8 or 12 heads\n"
    "  (GPT-2 small's size, all different); the reference is GPT-2 small, timed rebuilt and resident;\n"
    "  the probe is n_layer=3 d_model=1728, resident\n"
    "  --architectures: one canonical architecture per line (a search's measured candidates, in\n"
    "  order), measured instead of the generated ones; --candidates caps how many\n";

options parse(int argc, char** argv) {
    options opt;
    bench::for_each_flag(argc, argv, [&](const std::string& flag, const std::string& value) {
        if (flag == "--device")
            opt.device = bench::device_flag(value);
        else if (flag == "--candidates")
            opt.candidates = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--reference-every")
            opt.reference_every = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--warmup")
            opt.warmup = bench::to_u32(value, flag, 0, 1000);
        else if (flag == "--repeats")
            opt.repeats = bench::to_u32(value, flag, 1, 100000);
        else if (flag == "--seed")
            opt.seed = bench::to_u64(value, flag);
        else if (flag == "--out")
            opt.out = value;
        else if (flag == "--architectures")
            opt.architectures = value;
        else
            usage("unknown option " + flag);
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

// The decode and prefill medians of a series of timings (or their ratios).
struct series {
    std::vector<double> decode, prefill;
    void add(const eval::gpt_evaluation& e) {
        if (e.decode) decode.push_back(e.decode->median_ms);
        if (e.prefill) prefill.push_back(e.prefill->median_ms);
    }
};

void print_row(const char* name, const std::vector<double>& v, double total_median) {
    const auto s = bench::summarise(v);
    std::printf("  %-8s median %8.4f s  min %8.4f  max %8.4f  (%4.1f%% of the median wall)\n", name, s.median, s.min, s.max,
                100.0 * s.median / total_median);
}

std::string line(const char* kind, std::uint32_t i, const eval::gpt_evaluation& e) {
    const double unix_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    char b[1024];
    std::snprintf(b, sizeof b,
                  "{\"kind\": \"%s\", \"index\": %u, \"unix_time\": %.3f, \"architecture\": \"%s\", \"status\": \"%s\", "
                  "\"decode_ms\": %s, \"decode_iqr_ms\": %s, \"decode_min_ms\": %s, "
                  "\"prefill_ms\": %s, \"wall\": %s, \"build\": %s, \"warmup\": %s, \"capture\": %s, \"timing\": %s, "
                  "\"peak_memory_bytes\": %llu}",
                  kind, i, unix_time, nas::canonical(e.arch).c_str(), eval::to_string(e.status),
                  bench::json_number(e.decode ? e.decode->median_ms : bench::nan_value).c_str(),
                  bench::json_number(e.decode ? e.decode->iqr_ms() : bench::nan_value).c_str(),
                  bench::json_number(e.decode ? e.decode->min_ms : bench::nan_value).c_str(),
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
    std::vector<nas::architecture> listed;
    if (!opt.architectures.empty()) {
        std::ifstream in(opt.architectures);
        if (!in) throw std::runtime_error("cannot read " + opt.architectures);
        for (std::string text; std::getline(in, text);)
            if (!text.empty()) listed.push_back(nas::parse_architecture(text));
        if (listed.empty()) throw std::runtime_error(opt.architectures + " lists no architecture");
    }
    const std::uint32_t count =
        listed.empty() ? opt.candidates : std::min<std::uint32_t>(opt.candidates, static_cast<std::uint32_t>(listed.size()));
    const auto start = bench::clock_type::now();
    const auto first = eval::evaluate_gpt(reference, cfg);  // the process's first: CUDA context, cuBLAS, kernels loaded
    std::printf("first evaluation (the reference, process start-up included): %.3f s, status %s\n", first.wall_seconds,
                eval::to_string(first.status));
    if (out) out << line("first", 0, first) << '\n';
    auto launched_cfg = cfg;
    launched_cfg.queue_timed_runs = false;
    eval::resident_gpt resident(reference, cfg), launched(reference, launched_cfg),
        probe(nas::parse_architecture("n_layer=3 d_model=1728 d_inner=5184,5184,5184 n_head=27,27,27"), cfg);
    for (auto* m : {&resident, &launched, &probe}) {
        const auto built = m->time();  // the build's own timing is not kept (the device's start-up)
        if (built.status != eval::eval_status::ok) throw std::runtime_error("a resident model failed: " + built.message);
    }
    phase_sums cand;
    series rebuilt, kept, kept_launched, kept_late, probed, ratio;
    // a third resident reference, built once half the candidates have been through the
    // allocator's pool: whether where a build lands (a fresh pool or a used one) shows
    std::unique_ptr<eval::resident_gpt> late;
    std::uint32_t failed = 0;
    const auto loop = bench::clock_type::now();
    for (std::uint32_t i = 0; i < count; ++i) {
        if (i % opt.reference_every == 0) {
            // the resident first, right after a candidate (where a search worker re-times its reference)
            const auto res = resident.time();
            kept.add(res);
            if (out) out << line("resident", i, res) << '\n';
            const auto ref = eval::evaluate_gpt(reference, cfg);
            rebuilt.add(ref);
            if (out) out << line("reference", i, ref) << '\n';
            if (i >= count / 2 && !late) {
                late = std::make_unique<eval::resident_gpt>(reference, cfg);
                late->time();
            }
            if (late) {
                const auto lt = late->time();
                kept_late.add(lt);
                if (out) out << line("resident_built_late", i, lt) << '\n';
            }
            const auto la = launched.time();
            kept_launched.add(la);
            if (out) out << line("resident_launch_timed", i, la) << '\n';
            const auto pr = probe.time();
            probed.add(pr);
            if (out) out << line("probe", i, pr) << '\n';
            if (pr.decode && res.decode) ratio.decode.push_back(pr.decode->median_ms / res.decode->median_ms);
            if (pr.prefill && res.prefill) ratio.prefill.push_back(pr.prefill->median_ms / res.prefill->median_ms);
        }
        const auto e = eval::evaluate_gpt(listed.empty() ? candidate(r) : listed[i], cfg);
        if (e.status != eval::eval_status::ok) {
            ++failed;
            std::fprintf(stderr, "candidate %u: %s: %s\n", i, eval::to_string(e.status), e.message.c_str());
        }
        cand.add(e);
        if (out) out << line("candidate", i, e) << '\n';
    }
    const double loop_s = bench::seconds_since(loop);
    const auto wall = bench::summarise(cand.wall);
    std::printf("device %s, %u candidates (%u failed) and %zu reference timings in %.2f s (%.2f s in all)\n", first.device_name.c_str(),
                count, failed, rebuilt.decode.size(), loop_s, bench::seconds_since(start));
    std::printf("candidates per second: %.3f from the median wall, %.3f over the loop (references included)\n", 1.0 / wall.median,
                static_cast<double>(count + rebuilt.decode.size()) / loop_s);
    std::printf("wall time of one candidate:\n");
    print_row("wall", cand.wall, wall.median);
    print_row("build", cand.build, wall.median);
    print_row("warm-up", cand.warmup, wall.median);
    print_row("capture", cand.capture, wall.median);
    print_row("timing", cand.timing, wall.median);
    print_row("rest", cand.rest, wall.median);
    std::printf("spread of each series over the run ((max - min) / median; the standard deviation over the median):\n");
    using named_series = std::pair<const char*, const series&>;
    using named_values = std::pair<const char*, const std::vector<double>&>;
    for (const auto& [name, sr] : {named_series{"reference, rebuilt", rebuilt},
                                   {"reference, resident", kept},
                                   {"ref., launch timed", kept_launched},
                                   {"ref., built late", kept_late},
                                   {"probe, resident", probed},
                                   {"probe / reference", ratio}})
        for (const auto& [phase, v] : {named_values{"decode", sr.decode}, {"prefill", sr.prefill}}) {
            if (v.size() < 2) continue;
            const auto s = bench::summarise(v);
            std::printf("  %-20s %-7s %3zu timings: median %.4f, min %.4f, max %.4f, spread %.2f%%, stdev %.2f%%\n", name, phase, v.size(),
                        s.median, s.min, s.max, 100.0 * (s.max - s.min) / s.median, 100.0 * s.stdev / s.median);
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
