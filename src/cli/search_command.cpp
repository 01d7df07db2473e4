// `fracnas search`: options, the ask/evaluate/tell loop over nas::gpt_space, the canonical-hash
// cache, JSON lines, progress and the final report against the reference model. Measuring is
// eval::evaluate_gpt's, searching core's; this file wires them in one process.
#include "cli/search_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <chrono>
#include <cmath>
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
        ("objective", text("NAME"), "constrained (minimise latency subject to decoder parameters >= --min-params) or pareto "
                                    "(one constrained search per --levels floor, sharing the budget and the cache; default constrained)")
        ("levels", text("LIST"), "pareto: decoder-parameter floors as multiples of --min-params (default 0.5,0.75,1,1.5,2)")
        ("budget", text("N"), "candidates asked at most, cached and infeasible ones included (default 300)")
        ("seed", text("S"), "optimizer seed (default 1; pareto floor k uses S + k)")
        ("space", text("NAME"), "heterogeneous (per-layer FFN widths and heads) or homogeneous (every layer alike, 4 coordinates; default heterogeneous)")
        ("device", text("NAME"), "cpu or cuda (default cuda)")
        ("dtype", text("NAME"), "fp32 or bf16 (default: bf16 on cuda, fp32 on cpu)")
        ("latency", text("NAME"), "the latency minimised: decode (one step at --context cached tokens) or prefill (default decode)")
        ("context", text("C"), "tokens in the KV cache for the decode step (default 1023)")
        ("tokens", text("T"), "prefill tokens (default 1024)")
        ("warmup", text("N"), "untimed runs per candidate (default 3)")
        ("repeats", text("N"), "timed runs per candidate (default 10)")
        ("min-params", text("N"), "decoder parameters a candidate needs (default: the reference's, 85056000 for gpt2-small)")
        ("reference", text("NAME"), "the model to beat: gpt2-small or gpt2-medium (default gpt2-small)")
        ("reference-every", text("N"), "re-time the reference after every N measured candidates; 0: only at the start (default 50)")
        ("max-layers", text("L"), "search space: deepest model (default 24)")
        ("max-width", text("D"), "search space: widest d_model, a multiple of 64 from 128 (default 2048)")
        ("out", text("FILE"), "one JSON line per candidate (default fracnas_search.jsonl)")
        ("top", text("K"), "best feasible architectures to report (default 5)")
        ("progress-every", text("N"), "a progress line every N candidates (default budget/10)");
    return o;
}

// One candidate as asked, and how it was answered.
struct candidate {
    std::uint64_t id = 0;
    std::size_t phase = 0;
    std::uint64_t floor = 0;  // the decoder parameters this phase requires
    nas::architecture arch;
    std::uint64_t decoder = 0;
    bool feasible = false, cached = false, measured = false;
    eval::eval_status status = eval::eval_status::ok;
    double latency_ms = 0.0;    // the minimised latency's median, when measured
    double reference_ms = 0.0;  // the reference's latest timing when the candidate was measured
    double value = 0.0;         // what the optimizer was told
};

std::string hex(std::uint64_t h) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    return b;
}

std::string json_line(const candidate& c, const eval::gpt_evaluation* r) {
    std::ostringstream o;
    o << std::setprecision(9) << "{\"id\": " << c.id << ", \"phase\": " << c.phase << ", \"min_params\": " << c.floor
      << ", \"architecture\": \"" << nas::canonical(c.arch) << "\", \"hash\": \"" << hex(nas::hash(c.arch))
      << "\", \"decoder_params\": " << c.decoder << ", \"feasible\": " << (c.feasible ? "true" : "false")
      << ", \"cached\": " << (c.cached ? "true" : "false") << ", \"status\": \"" << eval::to_string(c.status) << "\", \"value\": " << c.value;
    if (c.measured && c.status == eval::eval_status::ok)
        o << ", \"latency_ms\": " << c.latency_ms << ", \"reference_ms\": " << c.reference_ms << ", \"ratio\": " << c.latency_ms / c.reference_ms;
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

std::vector<double> parse_levels(const std::string& text) {
    std::vector<double> levels;
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        const double v = parse_real("--levels", item);
        if (!(v > 0.0) || v > 1000.0) throw config_error("--levels", "--levels: each floor multiple must be in (0, 1000], not " + item + ".");
        levels.push_back(v);
    }
    if (levels.empty()) throw config_error("--levels", "--levels needs at least one floor multiple, e.g. 0.5,1,2.");
    return levels;
}

// The measured candidates no other dominates: more decoder parameters and less latency.
std::vector<candidate> pareto_front(std::vector<candidate> measured) {
    std::sort(measured.begin(), measured.end(), [](const candidate& a, const candidate& b) {
        return a.decoder != b.decoder ? a.decoder > b.decoder : a.latency_ms < b.latency_ms;
    });
    std::vector<candidate> front;
    for (const auto& c : measured)
        if (front.empty() || c.latency_ms < front.back().latency_ms) front.push_back(c);
    return front;
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
    const std::uint64_t seed = count("seed", 1, 0, UINT64_MAX - 1000);
    const std::string objective = get("objective", "constrained");
    if (objective != "constrained" && objective != "pareto")
        throw config_error("--objective", "unknown objective '" + objective + "'; valid: constrained, pareto.");
    const bool pareto = objective == "pareto";
    if (!pareto && vm.count("levels")) throw config_error("--levels", "--levels applies to --objective pareto only.");
    const std::vector<double> levels = pareto ? parse_levels(get("levels", "0.5,0.75,1,1.5,2")) : std::vector<double>{1.0};
    if (levels.size() > budget)
        throw config_error("--levels", "--levels has " + std::to_string(levels.size()) + " floors but the budget is " +
                                           std::to_string(budget) + " candidates; each floor needs at least one.");
    eval::gpt_measure_config measure;
    const std::string dtype = read_device_and_dtype(vm, "cuda", measure);
    const std::string latency = get("latency", "decode");
    if (latency != "decode" && latency != "prefill")
        throw config_error("--latency", "unknown latency '" + latency + "'; valid: decode, prefill.");
    const std::string reference_name = get("reference", "gpt2-small");
    const nas::architecture reference = reference_model("--reference", reference_name);
    const std::uint64_t reference_every = count("reference-every", 50, 0, UINT64_MAX);

    measure.decode = latency == "decode";
    measure.prefill = latency == "prefill";
    measure.decode_context = static_cast<std::uint32_t>(count("context", 1023, 0, 1023));
    measure.prefill_tokens = static_cast<std::uint32_t>(count("tokens", 1024, 1, 1024));
    measure.warmup = static_cast<std::uint32_t>(count("warmup", 3, 0, 1000));
    measure.repeats = static_cast<std::uint32_t>(count("repeats", 10, 1, 100000));
    const std::uint64_t min_params = count("min-params", nas::count_parameters(reference).decoder, 0, UINT64_MAX / 1000);
    nas::gpt_space_config space_cfg;
    const std::string space_name = get("space", "heterogeneous");
    if (space_name != "heterogeneous" && space_name != "homogeneous")
        throw config_error("--space", "unknown space '" + space_name + "'; valid: heterogeneous, homogeneous.");
    space_cfg.homogeneous = space_name == "homogeneous";
    space_cfg.n_layer_max = static_cast<std::uint32_t>(count("max-layers", 24, 2, 24));
    space_cfg.d_model_max = static_cast<std::uint32_t>(count("max-width", 2048, 128, 2048));
    if ((space_cfg.d_model_max - space_cfg.d_model_min) % space_cfg.d_model_step != 0)
        throw config_error("--max-width", "--max-width must be a multiple of 64 from 128.");
    const nas::gpt_space space(space_cfg);
    const std::uint64_t top = count("top", 5, 1, 1000);
    const std::uint64_t every = count("progress-every", std::max<std::uint64_t>(1, budget / 10), 1, UINT64_MAX);
    const std::string out_path = get("out", "fracnas_search.jsonl");
    const auto probe = core::make_optimizer(algorithm, space.dim(), seed, core::stopping{1});  // a bad name fails before any measurement
    std::ofstream lines(out_path);
    if (!lines) throw config_error("--out", "cannot write '" + out_path + "'.");

    const auto start = std::chrono::steady_clock::now();
    auto median_of = [&](const eval::gpt_evaluation& r) {
        return (latency == "decode" ? r.decode : r.prefill)->median_ms;
    };
    std::vector<double> reference_times;  // every timing of the reference, in order
    auto time_reference = [&]() {
        const auto ref = eval::evaluate_gpt(reference, measure);
        if (ref.status == eval::eval_status::invalid)  // e.g. --device cuda where LibTorch sees none
            throw config_error("--device", "the reference " + reference_name + " cannot be measured: " + ref.message);
        if (ref.status != eval::eval_status::ok)
            throw error("the reference " + reference_name + " could not be measured: " + ref.message);
        reference_times.push_back(median_of(ref));
        return ref;
    };
    auto floor_of = [&](std::size_t phase) {  // the decoder parameters phase `phase` requires
        return static_cast<std::uint64_t>(std::llround(levels[phase] * static_cast<double>(min_params)));
    };
    const auto ref = time_reference();
    out << "search      " << probe->name() << " over the "
        << space_name << " space (" << space.dim() << " coordinates), budget " << budget << ", seed " << seed << '\n';
    if (pareto) {
        out << "objective   pareto by floors: minimise " << latency << " latency subject to decoder parameters >=";
        for (std::size_t phase = 0; phase < levels.size(); ++phase) out << ' ' << floor_of(phase);
        out << " in turn, " << budget / levels.size() << "+ candidates each\n";
    } else {
        out << "objective   minimise " << latency << " latency subject to decoder parameters >= " << min_params << '\n';
    }
    out << "reference   " << reference_name << " on " << ref.device_name << " (" << dtype << "): " << std::fixed
        << std::setprecision(4) << reference_times.back() << " ms, " << ref.params.decoder << " decoder parameters"
        << (reference_every > 0 ? ", re-timed every " + std::to_string(reference_every) + " measurements" : std::string()) << '\n';

    std::map<std::uint64_t, candidate> cache;  // canonical hash -> its measurement
    std::uint64_t measured = 0, hits = 0, failures = 0, since_reference = 0, told = 0;
    for (std::size_t phase = 0; phase < levels.size(); ++phase) {
        const std::uint64_t floor = floor_of(phase);
        const std::uint64_t phase_budget = budget / levels.size() + (phase < budget % levels.size() ? 1 : 0);
        auto optimizer = core::make_optimizer(algorithm, space.dim(), seed + phase, core::stopping{phase_budget});
        while (!optimizer->done()) {
            const auto tasks = optimizer->ask(1);
            if (tasks.empty()) throw error("the optimizer offered no candidate while none was in flight.");
            candidate c;
            c.id = told;
            c.phase = phase;
            c.floor = floor;
            c.arch = space.decode(tasks[0].x);
            c.decoder = nas::count_parameters(c.arch).decoder;
            c.feasible = c.decoder >= floor;
            const auto h = nas::hash(c.arch);
            core::result res{tasks[0].id, 0.0, core::eval_status::ok};
            eval::gpt_evaluation r;
            const eval::gpt_evaluation* measured_now = nullptr;
            if (!c.feasible) {
                // the proxy is exact and free: an infeasible candidate is never measured; its value
                // is worse than any latency and shrinks with the parameter deficit
                c.value = 1e6 * (2.0 - static_cast<double>(c.decoder) / static_cast<double>(std::max<std::uint64_t>(1, floor)));
            } else if (const auto it = cache.find(h); it != cache.end()) {
                c.measured = c.cached = true;
                c.status = it->second.status;
                c.latency_ms = it->second.latency_ms;
                c.reference_ms = it->second.reference_ms;
                c.value = c.latency_ms;
                ++hits;
            } else {
                if (reference_every > 0 && since_reference >= reference_every) {
                    time_reference();
                    since_reference = 0;
                    out << "reference   re-timed after " << measured << " measurements: " << std::setprecision(4)
                        << reference_times.back() << " ms\n";
                }
                r = eval::evaluate_gpt(c.arch, measure);
                measured_now = &r;
                c.measured = true;
                ++measured;
                ++since_reference;
                c.status = r.status;
                c.reference_ms = reference_times.back();
                if (r.status == eval::eval_status::ok) {
                    c.latency_ms = median_of(r);
                    c.value = c.latency_ms;
                }
                cache.emplace(h, c);
            }
            if (c.status != eval::eval_status::ok) {
                res.status = core::eval_status::failed;
                if (!c.cached) ++failures;
            }
            res.value = c.value;
            optimizer->tell({res});
            lines << json_line(c, measured_now) << '\n';
            lines.flush();
            if (++told % every == 0) {
                std::vector<candidate> ok;  // pareto: the front so far; constrained: the best feasible
                for (const auto& [key, x] : cache)
                    if (x.status == eval::eval_status::ok && (pareto || x.decoder >= min_params)) ok.push_back(x);
                std::string best = "none";
                if (pareto)
                    best = std::to_string(pareto_front(ok).size()) + " on the front";
                else if (!ok.empty())
                    best = std::to_string(std::min_element(ok.begin(), ok.end(), [](const candidate& a, const candidate& b) {
                                              return a.latency_ms < b.latency_ms;
                                          })->latency_ms) + " ms";
                const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                out << "progress    " << told << "/" << budget << " candidates, " << measured << " measured, " << hits << " cached, "
                    << failures << " failed, " << (pareto ? "" : "best feasible ") << best << ", " << std::setprecision(1) << elapsed << " s\n"
                    << std::setprecision(4);
            }
        }
    }

    // every distinct architecture measured successfully
    std::vector<candidate> ok;
    for (const auto& [h, c] : cache)
        if (c.status == eval::eval_status::ok) ok.push_back(c);
    auto by_latency = [](const candidate& a, const candidate& b) { return a.latency_ms < b.latency_ms; };
    auto row = [&](const candidate& c) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(4) << c.latency_ms << " ms  x" << std::setprecision(3) << c.latency_ms / c.reference_ms
          << "  " << c.decoder << " params  " << nas::canonical(c.arch);
        return o.str();
    };
    for (std::size_t phase = 0; phase < levels.size(); ++phase) {
        const std::uint64_t floor = floor_of(phase);
        std::vector<candidate> feasible;
        for (const auto& c : ok)
            if (c.decoder >= floor) feasible.push_back(c);
        std::sort(feasible.begin(), feasible.end(), by_latency);
        const std::size_t shown = pareto ? std::min<std::size_t>(1, feasible.size()) : std::min<std::size_t>(top, feasible.size());
        out << "best        " << shown << " of " << feasible.size() << " distinct architectures measured with decoder parameters >= "
            << floor << " (" << latency << " ms, ratio to " << reference_name << "):\n";
        for (std::size_t i = 0; i < shown; ++i) out << "  " << row(feasible[i]) << '\n';
    }
    std::vector<candidate> eligible;  // constrained: the front of the feasible; pareto: of all measured
    for (const auto& c : ok)
        if (pareto || c.decoder >= min_params) eligible.push_back(c);
    const auto front = pareto_front(eligible);
    out << "front       " << front.size() << " architectures (decoder parameters up, latency down):\n";
    for (const auto& c : front) out << "  " << row(c) << '\n';
    const auto spread = eval::summarise(reference_times);
    out << "reference   " << reference_times.size() << " timing" << (reference_times.size() == 1 ? "" : "s") << " of " << reference_name
        << ": median " << std::setprecision(4) << spread.median_ms << " ms, range " << spread.min_ms << "-" << spread.max_ms << " ms\n";
    out << "records     " << out_path << " (" << told << " lines)\n";
}

}  // namespace fracnas::cli
#endif
