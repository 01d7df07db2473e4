// Validation and derived values of the search configuration, and its INI form (archived, and
// compared on resume), both derived from the option schema (search_options.hpp) where an option
// alone decides. Field names in errors are the command-line options.
#include "fracnas/app/search_config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "fracnas/app/search_options.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/nas/gpt_space.hpp"

namespace fracnas::app {

namespace {

void require(bool ok, const char* option, const std::string& message) {
    if (!ok) throw config_error(option, std::string(option) + " " + message);
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, sep)) parts.push_back(part);
    return parts;
}

std::uint64_t to_count(const std::string& text) {
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        throw config_error("--inject", "--inject wants whole numbers, got '" + text + "'.");
    return std::stoull(text);
}

}  // namespace

void search_config::validate() const {
    // the enum-like options were checked when read; the algorithm is a name that a struct filled
    // in code may get wrong, so it is checked again as the option would
    search_config scratch;
    find_search_option("algorithm")->set(scratch, algorithm);
    // the ranges the schema declares (--budget, --max-layers, ...), in its order, then the rules
    // that involve more than one number or another form
    for (const auto& o : search_options()) o.check_range(*this);
    const bool pareto = objective == objective_kind::pareto;
    if (!pareto) require(levels.empty(), "--levels", "applies to --objective pareto only.");
    for (double l : levels) require(l > 0.0 && l <= 1000.0, "--levels", "floor multiples must be in (0, 1000].");
    require(floors().size() <= budget, "--levels", "has more floors than the budget has candidates; each floor needs one.");
    require(measurements <= budget, "--measurements",
            "is more than --budget (" + std::to_string(budget) + "), which caps every answer, measured or not; raise --budget.");
    require(measurements == 0 || !pareto, "--measurements",
            "applies to --objective constrained only (a Pareto search splits --budget over its floors).");
    require(seed <= UINT64_MAX - 1000, "--seed", "is too large.");
    require(min_layers >= 1 && min_layers <= max_layers, "--min-layers",
            "must be in 1..--max-layers (" + std::to_string(max_layers) + ").");
    for (std::size_t i = 0; i < embed_widths.size(); ++i) {
        require(embed_widths[i] == 0 || (embed_widths[i] >= 64 && embed_widths[i] <= 4096), "--embed-widths",
                "lists " + std::to_string(embed_widths[i]) + "; each width must be 0 (the tied table) or in 64..4096.");
        for (std::size_t j = 0; j < i; ++j)
            require(embed_widths[j] != embed_widths[i], "--embed-widths", "lists " + std::to_string(embed_widths[i]) + " twice.");
    }
    if (!scenarios.empty()) {
        require(latency == latency_kind::decode && context == 1023 && tokens == 1024 && batch == 1, "--scenarios",
                "replaces --latency, --context, --tokens and --batch; leave those at their defaults.");
        require(scenarios.size() <= 16, "--scenarios", "lists more than 16 scenarios.");
        for (std::size_t i = 0; i < scenarios.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                require(scenarios[j].latency != scenarios[i].latency || scenarios[j].batch != scenarios[i].batch ||
                            scenarios[j].tokens != scenarios[i].tokens,
                        "--scenarios", "lists " + to_string(scenarios[i]) + " twice; give one scenario one weight.");
        require(latency_model != latency_model_kind::h200, "--scenarios", "needs the analytic latency model or the torch evaluator.");
    }
    const bool model = evaluator == evaluator_kind::model;
    if (latency_model == latency_model_kind::h200) {
        require(model, "--latency-model", "applies to --evaluator model only.");
        require(latency == latency_kind::decode && context == 1023 && batch == 1, "--latency-model",
                "h200 models one decode step at a 1,023-token cache and batch 1 only (--latency decode --context 1023 --batch 1).");
    }

    if (trains()) {
        require(rungs.size() <= 16, "--rungs", "lists more than 16 budgets.");
        for (std::size_t i = 0; i < rungs.size(); ++i) {
            require(rungs[i] >= 1 && rungs[i] <= 1000000000000ULL, "--rungs",
                    "lists " + std::to_string(rungs[i]) + " tokens; each budget must be in 1..1e12.");
            require(i == 0 || rungs[i] > rungs[i - 1], "--rungs", "must list budgets in ascending order, each larger than the one before.");
        }
        require(objective == objective_kind::constrained, "--rungs", "applies to --objective constrained only.");
        require(model || !train_data.empty(), "--train-data",
                "is needed with --rungs and --evaluator torch: the corpus folder the candidates train on (cmake/dev.sh corpus).");
    } else {
        require(train_data.empty(), "--train-data", "applies with --rungs only.");
        require(train_states.empty(), "--train-states", "applies with --rungs only.");
        require(train_states_limit == 0.0, "--train-states-limit", "applies with --rungs only.");
        require(train_ms_per_mtoken == 0.0, "--train-ms-per-mtoken", "applies with --rungs only.");
    }
    require(train_seed <= UINT64_MAX - 1, "--train-seed", "is too large.");
    require(train_ms_per_mtoken == 0.0 || model, "--train-ms-per-mtoken", "applies to --evaluator model only.");
    require(train_model == train_model_kind::chinchilla || (model && trains()), "--train-model",
            "applies to --evaluator model with --rungs only.");
    require(model_cost_ms == 0.0 || model, "--model-cost-ms", "applies to --evaluator model only.");
    require(inject.empty() || model, "--inject", "applies to --evaluator model only.");
    (void)faults_for(0);  // parses inject
    if (dispatcher == dispatcher_kind::dry_run) {
        require(model, "--evaluator", "must be model for a dry run (nothing is measured).");
        try {
            dry_run.validate();
        } catch (const config_error& e) {
            const std::string f = e.field();
            const char* option = f == "workers"                    ? "--workers"
                                 : f == "cost"                     ? "--cost"
                                 : f == "cost_mean_seconds"        ? "--cost-mean"
                                 : f == "cost_spread"              ? "--cost-spread"
                                 : f == "failure_rate"             ? "--failure-rate"
                                 : f == "train_seconds_per_mtoken" ? "--train-cost"
                                                                   : "--hang-rate";
            throw config_error(option, std::string(option) + ": " + e.what());
        }
    }
    require(!(replace && archive.empty()), "--replace", "needs --archive.");
    require(resume.empty() || archive.empty(), "--resume", "continues its own archive; do not give --archive too.");
    require(resume.empty() || !replace, "--replace", "cannot be used with --resume.");
    try {
        (void)nas::gpt_space(space_config());  // the block options' grids and choices, as the search builds them
    } catch (const config_error& e) {
        const std::string field = e.field() == "kv_heads" ? "--kv-heads" : e.field() == "d_inner" ? "--max-ffn-ratio" : "--" + e.field();
        throw config_error(field, "the search space: " + std::string(e.what()));
    }
}

std::vector<double> search_config::floors() const {
    if (objective != objective_kind::pareto) return {1.0};
    return levels.empty() ? std::vector<double>{0.5, 0.75, 1.0, 1.5, 2.0} : levels;
}

std::uint64_t search_config::decoder_floor() const {
    return min_params > 0 ? min_params : nas::count_parameters(reference_arch()).decoder;
}

std::uint64_t search_config::phase_floor(std::size_t phase) const {
    return static_cast<std::uint64_t>(std::llround(floors().at(phase) * static_cast<double>(decoder_floor())));
}

std::uint64_t search_config::phase_budget(std::size_t phase) const {
    const std::uint64_t n = floors().size();
    return budget / n + (phase == 0 ? budget % n : 0);
}

std::string to_string(const serving_scenario& s) {
    return std::string(to_string(s.latency)) + ":" + std::to_string(s.batch) + "x" + std::to_string(s.tokens) +
           (s.weight == 1.0 ? std::string() : ":" + decimal(s.weight));
}

serving_scenario parse_scenario(const std::string& text) {
    const auto bad = [&text](const std::string& why) {
        return config_error("--scenarios", "--scenarios: '" + text + "' is not a scenario (" + why +
                                               "); write decode:BxC or prefill:BxP, with :W for a weight other than 1.");
    };
    const std::vector<std::string> parts = split(text, ':');
    if (parts.size() < 2 || parts.size() > 3) throw bad("two or three parts separated by ':'");
    serving_scenario s;
    if (parts[0] == "decode")
        s.latency = latency_kind::decode;
    else if (parts[0] == "prefill")
        s.latency = latency_kind::prefill;
    else
        throw bad("the kind is decode or prefill");
    const std::vector<std::string> shape = split(parts[1], 'x');
    if (shape.size() != 2) throw bad("the shape is B x tokens");
    const auto whole = [&bad](const std::string& t, std::uint64_t lo, std::uint64_t hi, const char* what) {
        std::uint64_t v = 0;
        try {
            v = parse_count("--scenarios", t);
        } catch (const config_error&) {
            throw bad(std::string(what) + " is a whole number");
        }
        if (v < lo || v > hi) throw bad(std::string(what) + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
        return static_cast<std::uint32_t>(v);
    };
    s.batch = whole(shape[0], 1, 1024, "the batch");
    s.tokens = s.latency == latency_kind::decode ? whole(shape[1], 0, 131071, "the cached tokens")
                                                 : whole(shape[1], 1, 131072, "the prompt tokens");
    if (parts.size() == 3) {
        try {
            s.weight = parse_real("--scenarios", parts[2]);
        } catch (const config_error&) {
            throw bad("the weight is a number");
        }
        if (!(s.weight > 0.0) || !(s.weight <= 1e6)) throw bad("the weight must be in (0, 1e6]");
    }
    return s;
}

std::vector<serving_scenario> search_config::serving_scenarios() const {
    if (!scenarios.empty()) return scenarios;
    return {serving_scenario{latency, batch, latency == latency_kind::decode ? context : tokens, 1.0}};
}

search_config search_config::for_scenario(const serving_scenario& s) const {
    search_config one = *this;
    one.scenarios.clear();
    one.latency = s.latency;
    (s.latency == latency_kind::decode ? one.context : one.tokens) = s.tokens;
    one.batch = s.batch;
    return one;
}

nas::architecture reference_architecture(reference_kind r) {
    switch (r) {
        case reference_kind::gpt2_small:
            return nas::gpt2_small();
        case reference_kind::gpt2_medium:
            return nas::gpt2_medium();
        case reference_kind::gpt2_large:
            return nas::gpt2_large();
        case reference_kind::gpt2_xl:
            return nas::gpt2_xl();
        case reference_kind::smollm2_135m:
            return nas::smollm2_135m();
        case reference_kind::smollm2_360m:
            return nas::smollm2_360m();
        case reference_kind::llama_3_2_1b:
            return nas::llama_3_2_1b();
    }
    throw config_error("reference", "unknown reference model.");
}

nas::architecture search_config::reference_arch() const {
    nas::architecture a = reference_architecture(reference);
    a.vocab = model_vocab();
    a.context = model_context();
    return a;
}

std::uint32_t search_config::model_context() const {
    std::uint32_t positions = reference_architecture(reference).context;
    for (const auto& s : serving_scenarios()) positions = std::max(positions, s.latency == latency_kind::decode ? s.tokens + 1 : s.tokens);
    return positions;
}

std::uint32_t search_config::model_vocab() const {
    return vocab > 0 ? vocab : reference_architecture(reference).vocab;
}

nas::gpt_space_config search_config::space_config() const {
    nas::gpt_space_config c;
    c.homogeneous = space == space_kind::homogeneous;
    c.n_layer_min = min_layers;
    c.n_layer_max = max_layers;
    c.d_model_max = max_width;
    c.d_inner_max_ratio = max_ffn_ratio;
    c.embed_widths = embed_widths;
    c.vocab = model_vocab();
    c.context = model_context();
    for (const auto& key : nas::block_option_keys()) c.block_options.emplace_back(key, block_words(key));
    c.kv_heads = kv_choices();
    return c;
}

std::vector<std::string> search_config::block_words(const std::string& key) const {
    for (const auto& [k, words] : block_options)
        if (k == key) return words;
    return {nas::block_option(reference_arch(), key)};
}

std::vector<std::uint32_t> search_config::kv_choices() const {
    if (!kv_heads.empty()) return kv_heads;
    const nas::architecture r = reference_arch();
    const std::uint32_t kv = nas::kv_heads(r, 0);
    return {kv == r.n_head[0] ? 0u : kv};
}

eval::device_kind resolve_device(device_choice d, bool cuda_visible) {
    const bool cuda = d == device_choice::cuda || (d == device_choice::automatic && cuda_visible);
    return cuda ? eval::device_kind::cuda : eval::device_kind::cpu;
}

eval::dtype_kind resolve_dtype(dtype_choice d, eval::device_kind device) {
    const bool bf16 = d == dtype_choice::bf16 || (d == dtype_choice::automatic && device == eval::device_kind::cuda);
    return bf16 ? eval::dtype_kind::bf16 : eval::dtype_kind::fp32;
}

eval::device_kind search_config::resolved_device(int visible_gpus) const {
    return resolve_device(device, visible_gpus > 0);
}

eval::gpt_measure_config search_config::measure_config(eval::device_kind resolved) const {
    eval::gpt_measure_config m;
    m.device = resolved;
    m.dtype = resolve_dtype(dtype, resolved);
    m.decode = latency == latency_kind::decode;
    m.prefill = latency == latency_kind::prefill;
    m.decode_context = context;
    m.prefill_tokens = tokens;
    m.decode_batch = m.prefill_batch = batch;
    m.warmup = warmup;
    m.repeats = repeats;
    m.seed = seed;
    return m;
}

transport::dispatch_policy search_config::policy(bool in_process) const {
    transport::dispatch_policy p;
    p.queued_per_worker = queued_per_worker ? *queued_per_worker : (in_process || trains() ? 0 : 1);
    p.task_deadline_seconds = task_deadline;
    p.adaptive_deadline = adaptive_deadline;
    p.calibrate_every = reference_every;
    return p;
}

eval::train_task search_config::train_task(std::uint32_t rung, std::uint64_t task_seed) const {
    eval::train_task t;
    t.tokens = rungs.at(rung);
    t.seed = task_seed;
    t.rung = rung;
    if (task_seed == train_seed) t.probe_tokens = probe_tokens(rung);
    return t;
}

std::uint64_t search_config::probe_tokens(std::uint32_t rung) const {
    if (trend_probe <= 0.0 || rung + 1 >= rungs.size()) return 0;
    const auto p = static_cast<std::uint64_t>(std::llround(trend_probe * static_cast<double>(rungs.at(rung))));
    if (p == 0 || p >= rungs.at(rung) || (rung > 0 && p < rungs.at(rung - 1))) return 0;
    return p;
}

double search_config::train_deadline(std::uint64_t budget_tokens) const {
    return task_deadline + train_deadline_per_mtoken * static_cast<double>(budget_tokens) * 1e-6;
}

eval::fault_plan search_config::faults_for(int rank) const {
    eval::fault_plan plan;
    plan.seed = seed;
    for (const auto& item : split(inject, ',')) {
        if (item.empty()) continue;
        const auto f = split(item, ':');
        if (f[0] == "hang" && f.size() == 4) {
            if (to_count(f[1]) == static_cast<std::uint64_t>(rank)) {
                plan.hang_on_call = to_count(f[2]);
                plan.hang_seconds = static_cast<double>(to_count(f[3]));
            }
        } else if (f[0] == "device-lost" && f.size() == 3) {
            if (to_count(f[1]) == static_cast<std::uint64_t>(rank)) plan.device_lost_on_call = to_count(f[2]);
        } else if (f[0] == "kill" && f.size() == 3) {
            if (to_count(f[1]) == static_cast<std::uint64_t>(rank)) plan.die_on_call = to_count(f[2]);
        } else if (f[0] == "fail" && f.size() == 2) {
            char* end = nullptr;
            plan.failure_rate = std::strtod(f[1].c_str(), &end);
            if (end == f[1].c_str() || *end != '\0' || !(plan.failure_rate >= 0.0 && plan.failure_rate <= 1.0))
                throw config_error("--inject", "--inject fail:RATE wants a rate in [0, 1], got '" + f[1] + "'.");
        } else {
            throw config_error("--inject", "--inject: unknown fault '" + item +
                                               "'; valid: hang:RANK:CALL:SECONDS, device-lost:RANK:CALL, kill:RANK:CALL, fail:RATE.");
        }
    }
    return plan;
}

std::string search_config::to_ini() const {
    std::string problem = "# fracnas search: the problem (a resume must not change these)\n", run = "# how it runs\n";
    for (const auto& o : search_options())
        if (o.config_file()) (o.scope == option_scope::problem ? problem : run) += o.name + " = " + o.get(*this) + "\n";
    return problem + run;
}

const std::vector<std::string>& search_config::problem_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const auto& o : search_options())
            if (o.scope == option_scope::problem) k.push_back(o.name);
        return k;
    }();
    return keys;
}

const std::vector<std::pair<std::string, std::string>>& earlier_archive_defaults() {
    static const std::vector<std::pair<std::string, std::string>> defaults = {
        {"tree", "plain"}, {"latency-model", "analytic"}, {"trend-probe", "0"}, {"trend-calibration", "off"}, {"head-variants", "trained"},
        {"vocab", "0"}};
    return defaults;
}

std::vector<std::pair<std::string, std::string>> ini_pairs(const std::string& ini) {
    std::vector<std::pair<std::string, std::string>> out;
    auto trim = [](std::string s) {
        const auto a = s.find_first_not_of(" \t\r");
        const auto b = s.find_last_not_of(" \t\r");
        return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    for (const auto& line : split(ini, '\n')) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') continue;
        const auto eq = t.find('=');
        if (eq == std::string::npos) continue;
        out.emplace_back(trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
    }
    return out;
}

}  // namespace fracnas::app
