// `fracnas eval`: options, the measurement request, and the report (table or JSON). The
// measuring is eval::evaluate_gpt's; this file only parses, checks and prints.
#include "eval_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <cstdio>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>
#include <utility>

#include <boost/program_options.hpp>

#include "fracnas/app/json.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "options.hpp"
#include "parse.hpp"

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

po::options_description eval_options() {
    po::options_description o("fracnas eval options");
    auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    o.add_options()("help,h", "print this help and exit")(
        "arch", text("TEXT"), "the architecture, canonical form: \"n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4\"")(
        "preset", text("NAME"), "a reference model instead of --arch: gpt2-small, gpt2-medium")(
        "device", text("NAME"), "cpu or cuda (default cpu)")("cuda-index", text("N"), "which visible CUDA device (default 0)")(
        "dtype", text("NAME"), "fp32 or bf16 (default: bf16 on cuda, fp32 on cpu)")(
        "measure", text("LIST"), "comma list of prefill, decode, scenario, grad-norm (default prefill,decode)")(
        "batch", text("B"), "prefill batch (default 1)")("tokens", text("T"), "prefill tokens per sequence (default: the context, 1024)")(
        "context", text("C"), "tokens in the KV cache for the decode step (default: context - 1)")(
        "prompt", text("P"), "scenario prompt tokens (default 128)")("generate", text("G"), "scenario generated tokens (default 128)")(
        "warmup", text("N"), "untimed runs before timing (default 5)")("repeats", text("N"),
                                                                       "timed runs; median and IQR are reported (default 30)")(
        "reference", text("NAME"), "also time gpt2-small or gpt2-medium with the same settings and report each latency's ratio to it")(
        "attention", text("NAME"), "scaled-dot-product-attention kernel: auto (PyTorch chooses; default), flash, efficient, cudnn, math")(
        "eager", "on cuda, time eager execution instead of CUDA-graph replay")("no-flush",
                                                                               "on cuda, do not overwrite L2 between timed runs")(
        "kernels", "on cuda with graphs, also list what the captured prefill and decode graphs launch, node by node")(
        "json", "print one JSON object instead of the table");
    return o;
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
    const auto parsed = parse_or_print_help(args, eval_options(), "eval", "--preset gpt2-small", out);
    if (!parsed) return;
    const po::variables_map& vm = *parsed;
    auto get = [&](const char* name) { return option_text(vm, name); };

    const nas::architecture arch = read_architecture(vm);
    eval::gpt_measure_config cfg;
    const std::string dtype = read_device_and_dtype(vm, "cpu", cfg);
    if (const auto* v = get("cuda-index")) cfg.cuda_index = static_cast<int>(parse_count("--cuda-index", *v));
    cfg.prefill = cfg.decode = cfg.scenario = false;
    std::string list = get("measure") ? *get("measure") : "prefill,decode";
    std::stringstream items(list);
    std::string item;
    while (std::getline(items, item, ',')) {
        if (item == "prefill")
            cfg.prefill = true;
        else if (item == "decode")
            cfg.decode = true;
        else if (item == "scenario")
            cfg.scenario = true;
        else if (item == "grad-norm")
            cfg.grad_norm = true;
        else
            throw config_error("--measure", "unknown measurement '" + item + "'; valid: prefill, decode, scenario, grad-norm.");
    }
    if (!cfg.prefill && !cfg.decode && !cfg.scenario && !cfg.grad_norm)
        throw config_error("--measure", "--measure names no measurement; valid: prefill, decode, scenario, grad-norm.");
    cfg.prefill_tokens = arch.context;
    cfg.decode_context = arch.context - 1;
    auto u32 = [&](const char* name, std::uint32_t& field) {
        if (const auto* v = get(name)) {
            const auto n = parse_count(std::string("--") + name, *v);
            if (n > 100000000) throw config_error(std::string("--") + name, "the value " + *v + " is too large.");
            field = static_cast<std::uint32_t>(n);
        }
    };
    u32("batch", cfg.prefill_batch);
    u32("tokens", cfg.prefill_tokens);
    u32("context", cfg.decode_context);
    u32("prompt", cfg.prompt_tokens);
    u32("generate", cfg.generated_tokens);
    u32("warmup", cfg.warmup);
    u32("repeats", cfg.repeats);
    cfg.cuda_graphs = vm.count("eager") == 0;
    cfg.flush_l2 = vm.count("no-flush") == 0;
    if (const auto* v = get("attention")) {
        eval::check_attention(*v, "--attention");
        cfg.attention = *v;
    }

    std::optional<nas::architecture> reference;
    if (const auto* name = get("reference")) {
        reference = reference_model("--reference", *name);
        // both refused before either is measured
        if (const auto why = eval::measurement_problem(arch, cfg); !why.empty()) throw config_error("", why);
        eval::gpt_measure_config ref_cfg = cfg;
        ref_cfg.grad_norm = false;
        if (const auto why = eval::measurement_problem(*reference, ref_cfg); !why.empty())
            throw config_error("--reference", "the reference " + *name + " cannot be measured with these settings: " + why);
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
                               "the reference " + *get("reference") + " cannot be measured with these settings: " + ref->message);
        if (ref->status != eval::eval_status::ok)
            throw error("the reference " + *get("reference") + " could not be measured (" + eval::to_string(ref->status) +
                        "): " + ref->message);
        ratio = eval::ratios(r, *ref);
    }
    const std::uint64_t elem = cfg.dtype == eval::dtype_kind::bf16 ? 2 : 4;
    const auto pre = nas::prefill_flops(arch, cfg.prefill_batch, std::max<std::uint32_t>(1, std::min(cfg.prefill_tokens, arch.context)));
    const auto dec = nas::decode_flops(arch, 1, std::min(cfg.decode_context, arch.context - 1));
    // bytes one decode step must read: every weight it multiplies by (the tied output table and,
    // with d_embed, both projections included) and the keys and values of the cached tokens and
    // the new one
    const std::uint64_t decode_bytes = (r.params.decoder + nas::embedding_matmul_weights(arch)) * elem +
                                       2ULL * arch.n_layer * (cfg.decode_context + 1ULL) * arch.d_model * elem;
    if (vm.count("json")) {
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
            << ", \"prefill_flops\": " << pre.total << ", \"decode_context\": " << cfg.decode_context << ", \"decode_flops\": " << dec.total
            << ", \"decode_bytes\": " << decode_bytes << ", \"prefill\": " << json_stats(r.prefill)
            << ", \"decode\": " << json_stats(r.decode) << ", \"scenario\": " << json_stats(r.scenario)
            << ", \"grad_norm\": " << (r.grad_norm ? num(*r.grad_norm) : std::string("null"))
            << ", \"peak_memory_bytes\": " << r.peak_memory_bytes << ", \"wall_seconds\": " << num(r.wall_seconds)
            << ", \"prefill_graph_nodes\": " << r.prefill_nodes.size() << ", \"decode_graph_nodes\": " << r.decode_nodes.size()
            << ", \"phases\": {\"build\": " << num(r.phases.build) << ", \"proxy\": " << num(r.phases.proxy)
            << ", \"warmup\": " << num(r.phases.warmup) << ", \"capture\": " << num(r.phases.capture)
            << ", \"timing\": " << num(r.phases.timing) << "}";
        if (ref)
            out << ", \"reference\": {\"name\": " << app::json_string(*get("reference")) << ", \"prefill\": " << json_stats(ref->prefill)
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
            out << "decode @" << cfg.decode_context << "    " << ms(*r.decode) << ", " << dec.total << " FLOPs, " << decode_bytes
                << " bytes\n";
        if (r.scenario) out << "scenario " << cfg.prompt_tokens << "+" << cfg.generated_tokens << "  " << ms(*r.scenario) << '\n';
        if (ref) {
            std::ostringstream line;
            line << "reference       " << *get("reference") << " timed the same way:" << std::fixed << std::setprecision(3);
            const std::pair<const char*, const std::optional<double>*> parts[] = {
                {"prefill", &ratio.prefill}, {"decode", &ratio.decode}, {"scenario", &ratio.scenario}};
            for (const auto& [name, x] : parts)
                if (*x) line << "  " << name << " x" << **x;
            out << line.str() << " (candidate / reference, medians)\n";
        }
        if (r.graphs_used)
            out << "graph nodes     prefill " << r.prefill_nodes.size() << ", decode " << r.decode_nodes.size()
                << " (launches per timed run)\n";
        if (vm.count("kernels"))
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
