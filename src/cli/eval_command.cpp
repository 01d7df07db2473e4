// `fracnas eval`: the Boost table of its option schema (eval_options.hpp, which reads every value
// into an eval_request), the checks that need the architecture, and the report (table or JSON).
// The measuring is eval::evaluate_gpt's; this file only parses, checks and prints.
#include "eval_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>
#include <utility>

#include <boost/program_options.hpp>

#include "fracnas/app/json.hpp"
#include "fracnas/cli/eval_options.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "options.hpp"

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

// The Boost table of eval_options(), the one declaration of each option.
po::options_description eval_table() {
    return boost_table("fracnas eval options", eval_options());
}

std::string ms(const eval::latency_stats& s) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(4) << "median " << s.median_ms << " ms  IQR " << s.q1_ms << "-" << s.q3_ms << " ms  (" << s.repeats
      << " repeats)";
    return o.str();
}

// The eval JSON's numbers: 9 significant digits, null when not finite.
std::string num(double v) {
    return app::json_number(v, 9);
}

std::string json_stats(const std::optional<eval::latency_stats>& s) {
    if (!s) return "null";
    std::ostringstream o;
    o << "{\"median_ms\": " << num(s->median_ms) << ", \"q1_ms\": " << num(s->q1_ms) << ", \"q3_ms\": " << num(s->q3_ms)
      << ", \"min_ms\": " << num(s->min_ms) << ", \"max_ms\": " << num(s->max_ms) << ", \"repeats\": " << s->repeats << "}";
    return o.str();
}

std::string json_number(const std::optional<double>& x) {
    return x ? num(*x) : "null";
}

}  // namespace

void run_eval(const std::vector<std::string>& args, std::ostream& out) {
    eval_request request;
    const auto parsed =
        parse_or_print_help(args, eval_table(), "eval", "--preset gpt2-small", out, "", request_check(eval_options(), request));
    if (!parsed) return;

    // a preset (and the reference) is built with the positions the measurement needs, as a search
    // builds every model: `--preset llama-3.2-1b --context 4095` is that shape at 4,096 positions
    std::uint32_t needed = std::max(request.tokens.value_or(0), request.context ? *request.context + 1 : 0);
    if (request.measure.scenario) needed = std::max(needed, request.measure.prompt_tokens + request.measure.generated_tokens);
    nas::architecture arch = read_architecture(request.arch, request.preset);
    if (request.preset) arch.context = std::max(arch.context, needed);
    const eval::gpt_measure_config cfg = request.measure_config(arch);
    const std::string dtype = cfg.dtype == eval::dtype_kind::bf16 ? "bf16" : "fp32";

    std::optional<nas::architecture> reference;
    const std::string reference_name = request.reference ? app::to_string(*request.reference) : "";
    if (request.reference) {
        reference = app::reference_architecture(*request.reference);
        // the positions the candidate's measurement reads (its defaults follow its own context)
        std::uint32_t reads = cfg.prefill ? cfg.prefill_tokens : 0;
        if (cfg.decode) reads = std::max(reads, cfg.decode_context + 1);
        if (cfg.scenario) reads = std::max(reads, cfg.prompt_tokens + cfg.generated_tokens);
        reference->context = std::max(reference->context, reads);
        // both refused before either is measured
        if (const auto why = eval::measurement_problem(arch, cfg); !why.empty()) throw config_error("", why);
        eval::gpt_measure_config ref_cfg = cfg;
        ref_cfg.grad_norm = false;
        if (const auto why = eval::measurement_problem(*reference, ref_cfg); !why.empty())
            throw config_error("--reference", "the reference " + reference_name + " cannot be measured with these settings: " + why);
    }

    const auto r = eval::evaluate_gpt(arch, cfg);
    if (r.status == eval::eval_status::invalid) throw config_error("", r.message);
    // the reference, timed by the same code with the same settings, right after the candidate
    std::optional<eval::gpt_evaluation> ref;
    eval::latency_ratios ratio;
    if (reference && r.status == eval::eval_status::ok) {
        eval::gpt_measure_config ref_cfg = cfg;
        ref_cfg.grad_norm = false;
        ref = eval::evaluate_gpt(*reference, ref_cfg);
        if (ref->status == eval::eval_status::invalid)
            throw config_error("--reference",
                               "the reference " + reference_name + " cannot be measured with these settings: " + ref->message);
        if (ref->status != eval::eval_status::ok)
            throw error("the reference " + reference_name + " could not be measured (" + eval::to_string(ref->status) +
                        "): " + ref->message);
        ratio = eval::ratios(r, *ref);
    }
    const std::uint64_t elem = cfg.dtype == eval::dtype_kind::bf16 ? 2 : 4;
    const auto pre = nas::prefill_flops(arch, cfg.prefill_batch, std::max<std::uint32_t>(1, std::min(cfg.prefill_tokens, arch.context)));
    const std::uint64_t cached = std::min(cfg.decode_context, arch.context - 1);
    const auto dec = nas::decode_flops(arch, cfg.decode_batch, cached);
    // bytes one decode step must read: every weight it multiplies by (the output table and, with
    // d_embed, both projections included) and the keys and values of the cached tokens and the new one
    const std::uint64_t decode_bytes = nas::decode_bytes(arch, cfg.decode_batch, cached, elem);
    // what the B sequences' keys and values hold after the step: the serving memory at (B, C + 1)
    const std::uint64_t kv_cache_bytes = cfg.decode_batch * (cached + 1) * nas::kv_bytes_per_token(arch, elem);
    if (request.json) {
        out << std::setprecision(9) << "{\"status\": " << app::json_string(eval::to_string(r.status))
            << ", \"message\": " << app::json_string(r.message) << ", \"architecture\": " << app::json_string(nas::canonical(arch))
            << ", \"hash\": " << app::json_string([&] {
                   char b[19];
                   std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(nas::hash(arch)));
                   return std::string(b);
               }())
            << ", \"device\": " << app::json_string(r.device_name) << ", \"dtype\": " << app::json_string(dtype)
            << ", \"cuda_graphs\": " << (r.graphs_used ? "true" : "false")
            << ", \"prefill_attention\": " << app::json_string(r.prefill_attention)
            << ", \"decode_attention\": " << app::json_string(r.decode_attention) << ", \"decoder_params\": " << r.params.decoder
            << ", \"total_params\": " << r.params.total << ", \"weight_bytes\": " << r.weight_bytes
            << ", \"prefill_batch\": " << cfg.prefill_batch << ", \"prefill_tokens\": " << cfg.prefill_tokens
            << ", \"prefill_flops\": " << pre.total << ", \"decode_batch\": " << cfg.decode_batch
            << ", \"decode_context\": " << cfg.decode_context << ", \"decode_flops\": " << dec.total
            << ", \"decode_bytes\": " << decode_bytes << ", \"kv_cache_bytes\": " << kv_cache_bytes
            << ", \"prefill\": " << json_stats(r.prefill) << ", \"decode\": " << json_stats(r.decode)
            << ", \"scenario\": " << json_stats(r.scenario)
            << ", \"grad_norm\": " << (r.grad_norm ? num(*r.grad_norm) : std::string("null"))
            << ", \"peak_memory_bytes\": " << r.peak_memory_bytes << ", \"wall_seconds\": " << num(r.wall_seconds)
            << ", \"prefill_graph_nodes\": " << r.prefill_nodes.size() << ", \"decode_graph_nodes\": " << r.decode_nodes.size()
            << ", \"phases\": {\"build\": " << num(r.phases.build) << ", \"proxy\": " << num(r.phases.proxy)
            << ", \"warmup\": " << num(r.phases.warmup) << ", \"capture\": " << num(r.phases.capture)
            << ", \"timing\": " << num(r.phases.timing) << "}";
        if (ref)
            out << ", \"reference\": {\"name\": " << app::json_string(reference_name) << ", \"prefill\": " << json_stats(ref->prefill)
                << ", \"decode\": " << json_stats(ref->decode) << ", \"scenario\": " << json_stats(ref->scenario)
                << "}, \"ratio\": {\"prefill\": " << json_number(ratio.prefill) << ", \"decode\": " << json_number(ratio.decode)
                << ", \"scenario\": " << json_number(ratio.scenario) << "}";
        else
            out << ", \"reference\": null, \"ratio\": null";
        out << "}\n";
    } else {
        out << "architecture    " << nas::canonical(arch) << '\n'
            << "device          " << r.device_name << ", " << dtype << (r.graphs_used ? ", CUDA-graph replay" : ", eager") << '\n'
            << "attention       prefill " << (r.prefill_attention.empty() ? "-" : r.prefill_attention) << ", decode "
            << (r.decode_attention.empty() ? "-" : r.decode_attention) << " (SDPA kernels)\n"
            << "parameters      decoder " << r.params.decoder << ", total " << r.params.total << " (" << r.weight_bytes << " bytes)\n";
        if (r.prefill)
            out << "prefill " << cfg.prefill_batch << "x" << cfg.prefill_tokens << "   " << ms(*r.prefill) << ", " << pre.total
                << " FLOPs\n";
        if (r.decode)
            out << "decode " << (cfg.decode_batch > 1 ? std::to_string(cfg.decode_batch) + "x" : std::string()) << "@" << cfg.decode_context
                << "    " << ms(*r.decode) << ", " << dec.total << " FLOPs, " << decode_bytes << " bytes, KV cache " << kv_cache_bytes
                << " bytes\n";
        if (r.scenario) out << "scenario " << cfg.prompt_tokens << "+" << cfg.generated_tokens << "  " << ms(*r.scenario) << '\n';
        if (ref) {
            std::ostringstream line;
            line << "reference       " << reference_name << " timed the same way:" << std::fixed << std::setprecision(3);
            const std::pair<const char*, const std::optional<double>*> parts[] = {
                {"prefill", &ratio.prefill}, {"decode", &ratio.decode}, {"scenario", &ratio.scenario}};
            for (const auto& [name, x] : parts)
                if (*x) line << "  " << name << " x" << **x;
            out << line.str() << " (candidate / reference, medians)\n";
        }
        if (r.graphs_used)
            out << "graph nodes     prefill " << r.prefill_nodes.size() << ", decode " << r.decode_nodes.size()
                << " (launches per timed run)\n";
        if (request.kernels)
            for (const auto* nodes : {&r.prefill_nodes, &r.decode_nodes}) {
                out << (nodes == &r.prefill_nodes ? "prefill nodes:" : "decode nodes:") << '\n';
                for (std::size_t i = 0; i < nodes->size(); ++i) out << "  " << i << "  " << (*nodes)[i] << '\n';
            }
        if (r.grad_norm) out << "grad-norm       " << *r.grad_norm << " (at initialisation, random tokens)\n";
        out << "peak memory     " << r.peak_memory_bytes << " bytes\n"
            << "wall time       " << std::setprecision(4) << r.wall_seconds << " s: build " << r.phases.build << ", proxy "
            << r.phases.proxy << ", warm-up " << r.phases.warmup << ", capture " << r.phases.capture << ", timing " << r.phases.timing
            << "\n"
            << "status          " << eval::to_string(r.status) << (r.message.empty() ? "" : ": " + r.message) << '\n';
    }
    if (r.status != eval::eval_status::ok)
        throw error("the evaluation failed (" + std::string(eval::to_string(r.status)) + "): " + r.message);
}

}  // namespace fracnas::cli
#endif
