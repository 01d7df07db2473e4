// The option table of `fracnas eval`, each option once, built with option.hpp's builders, and the
// measurement settings a request resolves to.
#include "fracnas/cli/eval_options.hpp"

#include <algorithm>

#include "fracnas/error.hpp"

namespace fracnas::cli {

namespace {

using o_t = eval_option;
using app::option_range;

// The u32 counts: at most 1e8, far past any model's context or any timing run.
const option_range count_range{0, 1e8};

// --measure: the measurements a comma list names, in this order.
const std::vector<std::string> measurements = {"prefill", "decode", "scenario", "grad-norm"};

// The flag of measurement i, in a const or a mutable configuration.
template <class M>
auto* measured(M& m, std::size_t i) {
    decltype(&m.prefill) flags[] = {&m.prefill, &m.decode, &m.scenario, &m.grad_norm};
    return flags[i];
}

std::vector<eval_option> make_options() {
    using app::declare;
    using app::device_choice;
    using app::dtype_choice;
    std::vector<eval_option> o;
    o.push_back(
        app::text(declare<o_t>("arch", "TEXT", "the architecture, canonical form: \"n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4\""),
                  FRACNAS_FIELD(arch)));
    o.push_back(
        app::choice(declare<o_t>("preset", "NAME", "a reference model instead of --arch: " + app::choice_list<app::reference_kind>()),
                    FRACNAS_FIELD(preset)));
    o.push_back(app::choice(declare<o_t>("device", "NAME", "cpu or cuda"), FRACNAS_FIELD(device),
                            std::vector<device_choice>{device_choice::cpu, device_choice::cuda}));
    o.push_back(app::whole_number(declare<o_t>("cuda-index", "N", "which visible CUDA device"), FRACNAS_FIELD(measure.cuda_index)));
    o.push_back(app::choice(declare<o_t>("dtype", "NAME", "fp32 or bf16"), FRACNAS_FIELD(dtype),
                            std::vector<dtype_choice>{dtype_choice::fp32, dtype_choice::bf16}));
    o.back().default_note = "bf16 on cuda, fp32 on cpu";
    o.push_back(declare<o_t>("measure", "LIST", "comma list of prefill, decode, scenario, grad-norm"));
    o.back().choices = measurements;
    o.back().set = [](eval_request& r, const std::string& t) {
        eval::gpt_measure_config m = r.measure;  // set only once the whole list is read
        for (std::size_t i = 0; i < measurements.size(); ++i) *measured(m, i) = false;
        for (const auto& item : app::split_list<std::string>(t, [](const std::string& x) { return x; })) {
            const auto at = std::find(measurements.begin(), measurements.end(), item);
            if (at == measurements.end())
                throw config_error("--measure", "unknown measurement '" + item + "'; valid: prefill, decode, scenario, grad-norm.");
            *measured(m, static_cast<std::size_t>(at - measurements.begin())) = true;
        }
        if (!m.prefill && !m.decode && !m.scenario && !m.grad_norm)
            throw config_error("--measure", "--measure names no measurement; valid: prefill, decode, scenario, grad-norm.");
        r.measure = m;
    };
    o.back().get = [](const eval_request& r) {
        std::vector<std::string> on;
        for (std::size_t i = 0; i < measurements.size(); ++i)
            if (*measured(r.measure, i)) on.push_back(measurements[i]);
        return app::joined(on);
    };
    o.push_back(app::whole_number(declare<o_t>("batch", "B", "sequences per prefill and per decode step"),
                                  FRACNAS_FIELD(measure.prefill_batch), count_range));
    o.push_back(app::whole_number(declare<o_t>("tokens", "T", "prefill tokens per sequence"), FRACNAS_FIELD(tokens), count_range));
    o.back().default_note = "the architecture's context";
    o.push_back(
        app::whole_number(declare<o_t>("context", "C", "tokens in the KV cache for the decode step"), FRACNAS_FIELD(context), count_range));
    o.back().default_note = "the architecture's context - 1";
    o.push_back(
        app::whole_number(declare<o_t>("prompt", "P", "scenario prompt tokens"), FRACNAS_FIELD(measure.prompt_tokens), count_range));
    o.push_back(app::whole_number(declare<o_t>("generate", "G", "scenario generated tokens"), FRACNAS_FIELD(measure.generated_tokens),
                                  count_range));
    o.push_back(app::whole_number(declare<o_t>("warmup", "N", "untimed runs before timing"), FRACNAS_FIELD(measure.warmup), count_range));
    o.push_back(app::whole_number(declare<o_t>("repeats", "N", "timed runs; median and IQR are reported"), FRACNAS_FIELD(measure.repeats),
                                  count_range));
    o.push_back(app::choice(declare<o_t>("reference", "NAME",
                                         "also time a reference model (" + app::choice_list<app::reference_kind>() +
                                             ") with the same settings and report each latency's ratio to it"),
                            FRACNAS_FIELD(reference)));
    o.push_back(app::one_of(
        declare<o_t>("attention", "NAME", "scaled-dot-product-attention kernel: auto (PyTorch chooses), flash, efficient, cudnn, math"),
        FRACNAS_FIELD(measure.attention), eval::attention_names()));
    o.push_back(app::flag(declare<o_t>("eager", "", "on cuda, time eager execution instead of CUDA-graph replay"), FRACNAS_FIELD(eager)));
    o.push_back(app::flag(declare<o_t>("no-flush", "", "on cuda, do not overwrite L2 between timed runs"), FRACNAS_FIELD(no_flush)));
    o.push_back(app::flag(
        declare<o_t>("kernels", "", "on cuda with graphs, also list what the captured prefill and decode graphs launch, node by node"),
        FRACNAS_FIELD(kernels)));
    o.push_back(app::flag(declare<o_t>("json", "", "print one JSON object instead of the table"), FRACNAS_FIELD(json)));
    return o;
}

}  // namespace

eval::gpt_measure_config eval_request::measure_config(const nas::architecture& a) const {
    eval::gpt_measure_config m = measure;
    m.device = app::resolve_device(device, false);  // eval has no auto: cpu or cuda as given
    m.dtype = app::resolve_dtype(dtype, m.device);
    m.prefill_tokens = tokens.value_or(a.context);
    m.decode_context = context.value_or(a.context - 1);
    m.decode_batch = m.prefill_batch;  // --batch: both
    m.cuda_graphs = !eager;
    m.flush_l2 = !no_flush;
    return m;
}

const std::vector<eval_option>& eval_options() {
    static const std::vector<eval_option> options = make_options();
    return options;
}

}  // namespace fracnas::cli
