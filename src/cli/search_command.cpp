// `fracnas search`: options, the ask/evaluate/tell loop over nas::gpt_space, the canonical-hash
// cache, JSON lines, progress and the final report against the reference model. Measuring is
// eval::evaluate_gpt's, searching core's; this file wires them in one process.
#include "cli/search_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "cli/options.hpp"
#include "cli/parse.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_space.hpp"

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

po::options_description search_options() {
    po::options_description o("fracnas search options");
    auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    o.add_options()
        ("help,h", "print this help and exit")
        ("algorithm", text("NAME"), "optimizer preset: soo, direct, direct-l, fda, random (default soo)")
        ("budget", text("N"), "candidates asked at most, cached and infeasible ones included (default 300)")
        ("seed", text("S"), "optimizer seed (default 1)")
        ("device", text("NAME"), "cpu or cuda (default cuda)")
        ("dtype", text("NAME"), "fp32 or bf16 (default: bf16 on cuda, fp32 on cpu)")
        ("latency", text("NAME"), "the latency minimised: decode (one step at --context cached tokens) or prefill (default decode)")
        ("context", text("C"), "tokens in the KV cache for the decode step (default 1023)")
        ("tokens", text("T"), "prefill tokens (default 1024)")
        ("warmup", text("N"), "untimed runs per candidate (default 3)")
        ("repeats", text("N"), "timed runs per candidate (default 10)")
        ("min-params", text("N"), "decoder parameters a candidate needs (default: the reference's, 85056000 for gpt2-small)")
        ("reference", text("NAME"), "the model to beat: gpt2-small or gpt2-medium (default gpt2-small)")
        ("max-layers", text("L"), "search space: deepest model (default 24)")
        ("max-width", text("D"), "search space: widest d_model, a multiple of 64 from 128 (default 2048)")
        ("out", text("FILE"), "one JSON line per candidate (default fracnas_search.jsonl)")
        ("top", text("K"), "best feasible architectures to report (default 5)")
        ("progress-every", text("N"), "a progress line every N candidates (default budget/10)");
    return o;
}

struct candidate {
    std::uint64_t id = 0;
    nas::architecture arch;
    std::uint64_t decoder = 0;
    bool feasible = false, cached = false;
    eval::eval_status status = eval::eval_status::ok;
    double latency_ms = 0.0;  // the minimised latency's median, when measured
    double value = 0.0;       // what the optimizer was told
};

std::string hex(std::uint64_t h) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    return b;
}

std::string json_line(const candidate& c, const eval::gpt_evaluation* r) {
    std::ostringstream o;
    o << std::setprecision(9) << "{\"id\": " << c.id << ", \"architecture\": \"" << nas::canonical(c.arch) << "\", \"hash\": \""
      << hex(nas::hash(c.arch)) << "\", \"decoder_params\": " << c.decoder << ", \"feasible\": " << (c.feasible ? "true" : "false")
      << ", \"cached\": " << (c.cached ? "true" : "false") << ", \"status\": \"" << eval::to_string(c.status) << "\", \"value\": " << c.value;
    if (c.feasible && c.status == eval::eval_status::ok) o << ", \"latency_ms\": " << c.latency_ms;
    if (r != nullptr) {
        if (r->decode) o << ", \"decode_median_ms\": " << r->decode->median_ms << ", \"decode_iqr_ms\": " << r->decode->iqr_ms();
        if (r->prefill) o << ", \"prefill_median_ms\": " << r->prefill->median_ms << ", \"prefill_iqr_ms\": " << r->prefill->iqr_ms();
        o << ", \"peak_memory_bytes\": " << r->peak_memory_bytes << ", \"wall_seconds\": " << r->wall_seconds;
        if (!r->message.empty()) {
            std::string m = r->message;
            std::replace(m.begin(), m.end(), '"', '\'');
            std::replace(m.begin(), m.end(), '\n', ' ');
            o << ", \"message\": \"" << m << "\"";
        }
    }
    o << "}";
    return o.str();
}

}  // namespace

void run_search(const std::vector<std::string>& args, std::ostream& out) {
    const auto options = search_options();
    const po::variables_map vm = parse_options(args, options, "search", "--budget 300");
    if (vm.count("help")) {
        out << options;
        return;
    }
    auto get = [&](const char* name, const std::string& fallback) { return vm.count(name) ? vm[name].as<std::string>() : fallback; };
    auto count = [&](const char* name, std::uint64_t fallback, std::uint64_t lo, std::uint64_t hi) {
        if (!vm.count(name)) return fallback;
        const std::string option = std::string("--") + name;
        const auto v = parse_count(option, vm[name].as<std::string>());
        if (v < lo || v > hi)
            throw config_error(option, option + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ".");
        return v;
    };

    const std::string algorithm = get("algorithm", "soo");
    const std::uint64_t budget = count("budget", 300, 1, 10000000);
    const std::uint64_t seed = count("seed", 1, 0, UINT64_MAX);
    eval::gpt_measure_config measure;
    const std::string dtype = read_device_and_dtype(vm, "cuda", measure);
    const std::string latency = get("latency", "decode");
    if (latency != "decode" && latency != "prefill")
        throw config_error("--latency", "unknown latency '" + latency + "'; valid: decode, prefill.");
    const std::string reference_name = get("reference", "gpt2-small");
    const nas::architecture reference = reference_model("--reference", reference_name);

    measure.decode = latency == "decode";
    measure.prefill = latency == "prefill";
    measure.decode_context = static_cast<std::uint32_t>(count("context", 1023, 0, 1023));
    measure.prefill_tokens = static_cast<std::uint32_t>(count("tokens", 1024, 1, 1024));
    measure.warmup = static_cast<std::uint32_t>(count("warmup", 3, 0, 1000));
    measure.repeats = static_cast<std::uint32_t>(count("repeats", 10, 1, 100000));
    const std::uint64_t min_params = count("min-params", nas::count_parameters(reference).decoder, 0, UINT64_MAX);
    nas::gpt_space_config space_cfg;
    space_cfg.n_layer_max = static_cast<std::uint32_t>(count("max-layers", 24, 2, 24));
    space_cfg.d_model_max = static_cast<std::uint32_t>(count("max-width", 2048, 128, 2048));
    if ((space_cfg.d_model_max - space_cfg.d_model_min) % space_cfg.d_model_step != 0)
        throw config_error("--max-width", "--max-width must be a multiple of 64 from 128.");
    const nas::gpt_space space(space_cfg);
    const std::uint64_t top = count("top", 5, 1, 1000);
    const std::uint64_t every = count("progress-every", std::max<std::uint64_t>(1, budget / 10), 1, UINT64_MAX);
    const std::string out_path = get("out", "fracnas_search.jsonl");
    std::ofstream lines(out_path);
    if (!lines) throw config_error("--out", "cannot write '" + out_path + "'.");
    auto optimizer = core::make_optimizer(algorithm, space.dim(), seed, core::stopping{budget});

    const auto start = std::chrono::steady_clock::now();
    auto median_of = [&](const eval::gpt_evaluation& r) {
        return (latency == "decode" ? r.decode : r.prefill)->median_ms;
    };
    const auto ref = eval::evaluate_gpt(reference, measure);
    if (ref.status == eval::eval_status::invalid)  // e.g. --device cuda where LibTorch sees none
        throw config_error("--device", "the reference " + reference_name + " cannot be measured: " + ref.message);
    if (ref.status != eval::eval_status::ok)
        throw error("the reference " + reference_name + " could not be measured: " + ref.message);
    const double ref_ms = median_of(ref);
    out << "search      " << optimizer->name() << " over " << space.dim() << " coordinates, budget " << budget << ", seed " << seed << '\n'
        << "objective   minimise " << latency << " latency subject to decoder parameters >= " << min_params << '\n'
        << "reference   " << reference_name << " on " << ref.device_name << " (" << dtype << "): " << std::fixed
        << std::setprecision(4) << ref_ms << " ms, " << ref.params.decoder << " decoder parameters\n";

    std::map<std::uint64_t, candidate> cache;  // canonical hash -> first measurement
    std::vector<candidate> all;
    std::uint64_t measured = 0, hits = 0, failures = 0;
    while (!optimizer->done()) {
        const auto tasks = optimizer->ask(1);
        if (tasks.empty()) throw error("the optimizer offered no candidate while none was in flight.");
        candidate c;
        c.id = tasks[0].id;
        c.arch = space.decode(tasks[0].x);
        c.decoder = nas::count_parameters(c.arch).decoder;
        c.feasible = c.decoder >= min_params;
        const auto h = nas::hash(c.arch);
        core::result res{c.id, 0.0, core::eval_status::ok};
        eval::gpt_evaluation r;
        const eval::gpt_evaluation* measured_now = nullptr;
        if (const auto it = cache.find(h); it != cache.end()) {
            c.status = it->second.status;
            c.latency_ms = it->second.latency_ms;
            c.value = it->second.value;
            c.cached = true;
            ++hits;
        } else if (!c.feasible) {
            // the proxy is exact and free: an infeasible candidate is never measured; its value
            // is worse than any latency and shrinks with the parameter deficit
            c.value = 1e6 * (2.0 - static_cast<double>(c.decoder) / static_cast<double>(std::max<std::uint64_t>(1, min_params)));
        } else {
            r = eval::evaluate_gpt(c.arch, measure);
            measured_now = &r;
            ++measured;
            c.status = r.status;
            if (r.status == eval::eval_status::ok) {
                c.latency_ms = median_of(r);
                c.value = c.latency_ms;
            }
        }
        if (c.status != eval::eval_status::ok) {
            res.status = core::eval_status::failed;
            ++failures;
        }
        res.value = c.value;
        if (!c.cached) cache.emplace(h, c);
        optimizer->tell({res});
        lines << json_line(c, measured_now) << '\n';
        lines.flush();
        all.push_back(c);
        if (optimizer->told() % every == 0) {
            double best = -1.0;
            for (const auto& x : all)
                if (x.feasible && x.status == eval::eval_status::ok && (best < 0 || x.latency_ms < best)) best = x.latency_ms;
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            out << "progress    " << optimizer->told() << "/" << budget << " candidates, " << measured << " measured, " << hits
                << " cached, " << failures << " failed, best feasible "
                << (best < 0 ? std::string("none") : std::to_string(best) + " ms") << ", " << std::setprecision(1) << elapsed << " s\n"
                << std::setprecision(4);
        }
    }

    std::vector<candidate> feasible;
    for (const auto& [h, c] : cache)
        if (c.feasible && c.status == eval::eval_status::ok) feasible.push_back(c);
    std::sort(feasible.begin(), feasible.end(), [](const candidate& a, const candidate& b) { return a.latency_ms < b.latency_ms; });
    out << "best        " << std::min<std::size_t>(top, feasible.size()) << " of " << feasible.size()
        << " distinct feasible architectures measured (" << latency << " ms, ratio to " << reference_name << "):\n";
    for (std::size_t i = 0; i < feasible.size() && i < top; ++i)
        out << "  " << std::setprecision(4) << feasible[i].latency_ms << " ms  x" << std::setprecision(3)
            << feasible[i].latency_ms / ref_ms << "  " << feasible[i].decoder << " params  " << nas::canonical(feasible[i].arch) << '\n';
    // Pareto front over the measured: more decoder parameters and less latency
    std::vector<candidate> front;
    std::sort(feasible.begin(), feasible.end(), [](const candidate& a, const candidate& b) {
        return a.decoder != b.decoder ? a.decoder > b.decoder : a.latency_ms < b.latency_ms;
    });
    double best_latency = -1.0;
    for (const auto& c : feasible)
        if (best_latency < 0 || c.latency_ms < best_latency) {
            front.push_back(c);
            best_latency = c.latency_ms;
        }
    out << "front       " << front.size() << " architectures (decoder parameters up, latency down):\n";
    for (const auto& c : front)
        out << "  " << c.decoder << " params  " << std::setprecision(4) << c.latency_ms << " ms  n_layer=" << c.arch.n_layer
            << " d_model=" << c.arch.d_model << '\n';
    out << "records     " << out_path << " (" << all.size() << " lines)\n";
}

}  // namespace fracnas::cli
#endif
