// The option table of `fracnas search`, each option once, built with option.hpp's builders. Reading
// a value (numbers strictly, enum-like names into enums) happens here, once; the command line and
// the config file only hand over the text.
#include "fracnas/app/search_options.hpp"

#include "fracnas/app/parse.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::app {

namespace {

using range = option_range;

// A search option: its name, value name, scope and help (option.hpp's builders fill the rest).
search_option declare(const char* name, const char* value_name, option_scope scope, const std::string& help) {
    search_option o = app::declare<search_option>(name, value_name, help);
    o.scope = scope;
    return o;
}

std::vector<search_option> make_options() {
    using s = option_scope;
    std::vector<search_option> o;
    o.push_back(declare("config", "FILE", s::command_line, "read options from this INI file (key = value lines; # comments)"));

    // the problem (a resume must not change it)
    o.push_back(one_of(declare("algorithm", "NAME", s::problem,
                               "optimizer preset: soo, direct, direct-l, fda, evolution (LiteTransformerSearch's), random"),
                       FRACNAS_FIELD(algorithm), core::preset_names()));
    o.push_back(choice(declare("tree", "NAME", s::problem,
                               "fractal presets: space-aware (cells split on decoded values, one-architecture cells measured once, cells "
                               "below the parameter floor pruned) or plain"),
                       FRACNAS_FIELD(tree)));
    o.push_back(choice(declare("objective", "NAME", s::problem,
                               "constrained (minimise latency with decoder parameters >= the floor) or pareto (one constrained search "
                               "per --levels floor)"),
                       FRACNAS_FIELD(objective)));
    o.push_back(declare("levels", "LIST", s::problem, "pareto: floors as multiples of --min-params"));
    search_config pareto;
    pareto.objective = objective_kind::pareto;
    o.back().default_note = joined(pareto.floors());  // what an empty list means
    o.back().set = [](search_config& c, const std::string& t) {
        c.levels = split_list<double>(t, [](const std::string& x) { return parse_real("--levels", x); });
    };
    o.back().get = [](const search_config& c) { return joined(c.levels); };  // empty: the default floors
    o.push_back(whole_number(declare("budget", "N", s::problem, "candidates asked, cached and infeasible ones included"),
                             FRACNAS_FIELD(budget), range{1, 1e7}));
    o.push_back(whole_number(declare("measurements", "N", s::run,
                                     "also stop once N candidates were sent to workers (cached and infeasible ones not counted); at "
                                     "most --budget"),
                             FRACNAS_FIELD(measurements)));
    o.back().default_note = "0: no such limit";
    o.push_back(whole_number(declare("seed", "S", s::problem, "optimizer seed; pareto floor k uses S + k"), FRACNAS_FIELD(seed)));
    o.push_back(choice(declare("space", "NAME", s::problem, "heterogeneous (per-layer FFN widths and heads) or homogeneous"),
                       FRACNAS_FIELD(space)));
    o.push_back(whole_number(declare("min-layers", "L", s::problem, "shallowest model, 1..--max-layers"), FRACNAS_FIELD(min_layers)));
    o.push_back(whole_number(declare("max-layers", "L", s::problem, "deepest model"), FRACNAS_FIELD(max_layers), range{2, 48}));
    o.push_back(
        whole_number(declare("max-width", "D", s::problem, "widest d_model"), FRACNAS_FIELD(max_width), range{128, 4096, false, 64}));
    o.push_back(real_number(declare("max-ffn-ratio", "X", s::problem, "widest FFN as a multiple of d_model"), FRACNAS_FIELD(max_ffn_ratio),
                            range{2, 16}));
    o.push_back(declare("embed-widths", "LIST", s::problem,
                        "embedding widths e the space may choose (d_embed: token table and tied output of width e, projected to and "
                        "from d_model); 0 is the tied table at d_model"));
    o.back().default_note = "none, e = d_model";
    o.back().set = [](search_config& c, const std::string& t) {
        c.embed_widths = split_list<std::uint32_t>(t, [](const std::string& x) { return parse_whole<std::uint32_t>("--embed-widths", x); });
    };
    o.back().get = [](const search_config& c) { return joined(c.embed_widths); };
    // the block options: one word fixes, two make a coordinate; the reference's by default
    for (const auto& key : nas::block_option_keys()) {
        const auto& words = nas::block_option_words(key);
        const std::string help = key + " of every candidate: " + words[0] + ", " + words[1] + ", or both (a coordinate of the space)";
        o.push_back(declare(key.c_str(), "LIST", s::problem, help));
        o.back().default_note = "the reference's";
        o.back().set = [key](search_config& c, const std::string& t) {
            std::vector<std::string> list = split_list<std::string>(t, [&key](const std::string& w) {
                nas::architecture scratch;
                try {
                    nas::set_block_option(scratch, key, w);
                } catch (const config_error& e) {
                    throw config_error("--" + key, "--" + std::string(e.what()));
                }
                return w;
            });
            if (list.empty() || list.size() > 2 || (list.size() == 2 && list[0] == list[1]))
                throw config_error("--" + key, "--" + key + " takes one or both of " + nas::block_option_words(key)[0] + " and " +
                                                   nas::block_option_words(key)[1] + ".");
            for (auto& [k, given] : c.block_options)
                if (k == key) {
                    given = list;
                    return;
                }
            c.block_options.emplace_back(key, list);
        };
        o.back().get = [key](const search_config& c) { return joined(c.block_words(key)); };  // resolved: what was searched
    }
    o.push_back(declare("kv-heads", "LIST", s::problem,
                        "KV head choices of every layer: c gives the largest divisor of the layer's heads that is <= c, 0 one KV "
                        "head per query head; two or more make a coordinate"));
    o.back().default_note = "the reference's (0 for GPT-2)";
    o.back().set = [](search_config& c, const std::string& t) {
        c.kv_heads = split_list<std::uint32_t>(t, [](const std::string& x) { return parse_whole<std::uint32_t>("--kv-heads", x); });
        if (c.kv_heads.empty()) throw config_error("--kv-heads", "--kv-heads needs at least one choice.");
    };
    o.back().get = [](const search_config& c) { return joined(c.kv_choices()); };
    o.push_back(
        choice(declare("reference", "NAME", s::problem, "the model to beat: " + choice_list<reference_kind>()), FRACNAS_FIELD(reference)));
    o.push_back(whole_number(declare("min-params", "N", s::problem, "decoder-parameter floor"), FRACNAS_FIELD(min_params), range{0, 1e11}));
    const search_config defaults;
    o.back().default_note = "the reference's, " + std::to_string(defaults.decoder_floor()) + " for " + to_string(defaults.reference);
    o.back().get = [](const search_config& c) { return std::to_string(c.decoder_floor()); };  // resolved: what was searched
    o.push_back(whole_number(declare("vocab", "V", s::problem,
                                     "the vocabulary every candidate and the reference are built and timed with; with --train-data it "
                                     "must be the corpus's"),
                             FRACNAS_FIELD(vocab), range{0, 1000000}));
    o.back().default_note = "the corpus's with --train-data, else the reference's (50257)";
    o.push_back(choice(declare("evaluator", "NAME", s::problem,
                               "torch (build and time each candidate in LibTorch) or model (an analytic latency model: tests, dry runs)"),
                       FRACNAS_FIELD(evaluator)));
    o.push_back(choice(declare("latency-model", "NAME", s::problem,
                               "with --evaluator model: analytic, or h200 (the test bed fitted to H200 decode measurements at a "
                               "1,023-token cache)"),
                       FRACNAS_FIELD(latency_model)));
    o.push_back(choice(declare("train-model", "NAME", s::problem,
                               "with --evaluator model and --rungs, the simulated trainings: chinchilla (Chinchilla's loss in "
                               "decoder parameters and tokens), or dlarge (fitted to the trainings measured on D-large, relative to "
                               "GPT-2 small at vocabulary 32768)"),
                       FRACNAS_FIELD(train_model)));
    o.push_back(
        choice(declare("device", "NAME", s::problem, "auto (cuda when a GPU is visible, else cpu), cpu or cuda"), FRACNAS_FIELD(device)));
    o.push_back(choice(declare("dtype", "NAME", s::problem, "auto (bf16 on cuda, fp32 on cpu), fp32 or bf16"), FRACNAS_FIELD(dtype)));
    o.push_back(
        choice(declare("latency", "NAME", s::problem, "the latency minimised: decode (one step at --context cached tokens) or prefill"),
               FRACNAS_FIELD(latency)));
    o.push_back(whole_number(declare("context", "C", s::problem,
                                     "tokens in the KV cache for the decode step (beyond 1,023 every model is built with C + 1 "
                                     "positions)"),
                             FRACNAS_FIELD(context), range{0, 131071}));
    o.push_back(whole_number(declare("tokens", "T", s::problem, "prefill tokens (beyond 1,024 every model is built with T positions)"),
                             FRACNAS_FIELD(tokens), range{1, 131072}));
    o.push_back(whole_number(declare("batch", "B", s::problem, "sequences per decode step (each with C cached tokens) or per prefill"),
                             FRACNAS_FIELD(batch), range{1, 1024}));
    o.push_back(declare("scenarios", "LIST", s::problem,
                        "a serving mix instead of --latency, --context, --tokens and --batch: decode:BxC (B sequences, C cached "
                        "tokens each) and prefill:BxP items, each with :W for a weight other than 1; the objective is the "
                        "weighted mean of the latency ratios to the reference, each scenario timed for both"));
    o.back().default_note = "none: the one scenario of --latency";
    o.back().set = [](search_config& c, const std::string& t) { c.scenarios = split_list<serving_scenario>(t, parse_scenario); };
    o.back().get = [](const search_config& c) {
        std::string text;
        for (const auto& one : c.scenarios) text += (text.empty() ? "" : ",") + to_string(one);
        return text;
    };
    o.push_back(whole_number(declare("warmup", "N", s::problem, "untimed runs per candidate"), FRACNAS_FIELD(warmup), range{0, 1000}));
    o.push_back(whole_number(declare("repeats", "N", s::problem, "timed runs per candidate"), FRACNAS_FIELD(repeats), range{1, 100000}));
    o.push_back(declare("rungs", "LIST", s::problem,
                        "train candidates inside the search: the training budgets in tokens, ascending (a comma list: the rungs of "
                        "the ladder); a candidate faster than the best feasible one trains to the first, and the top 1/--eta of a "
                        "rung go up (docs/training.md, 'Training inside the search')"));
    o.back().default_note = "none: no training, the decoder-parameter floor decides";
    o.back().set = [](search_config& c, const std::string& t) {
        c.rungs = split_list<std::uint64_t>(t, [](const std::string& x) { return parse_count("--rungs", x); });
    };
    o.back().get = [](const search_config& c) { return joined(c.rungs); };
    o.push_back(whole_number(declare("eta", "N", s::problem, "with --rungs: the top 1/N of a rung's results go up a rung"),
                             FRACNAS_FIELD(eta), range{2, 100}));
    o.push_back(whole_number(declare("train-seed", "S", s::problem,
                                     "with --rungs: the seed of every training (candidates and reference); the reference and the best "
                                     "answer also train with S + 1 at the top rung"),
                             FRACNAS_FIELD(train_seed)));
    o.push_back(real_number(declare("max-perplexity-ratio", "X", s::problem,
                                    "with --rungs: a candidate is feasible when its validation perplexity is at most X times the "
                                    "reference's, trained with the same budget and seed"),
                            FRACNAS_FIELD(max_perplexity_ratio), range{1, 10}));
    o.push_back(real_number(declare("trend-probe", "F", s::problem,
                                    "with --rungs: below the top rung each training also measures its perplexity at F x its budget on "
                                    "the way, and a candidate ranks by its ratio at the top rung extrapolated from the trend between "
                                    "the two; 0: by the rung's own ratio"),
                            FRACNAS_FIELD(trend_probe), range{0, 0.75}));
    o.push_back(choice(declare("trend-calibration", "NAME", s::problem,
                               "with --rungs: on (below the top rung, the estimates of the ratio at the top are scaled by how "
                               "far those of the candidates already trained to the top fell short, their geometric mean) or off"),
                       FRACNAS_FIELD(trend_calibration)));
    o.push_back(choice(declare("head-variants", "NAME", s::problem,
                               "with --rungs: shared (a candidate that differs from a trained one only in its head counts is not "
                               "trained: it is told that one's verdict, with its own latency ratio) or trained (each trains)"),
                       FRACNAS_FIELD(head_variants)));

    // how it runs (a resume may change it)
    o.push_back(choice(
        declare("dispatcher", "NAME", s::run, "auto (mpi when started by mpirun/srun with 2+ ranks, else local), local, mpi or dry-run"),
        FRACNAS_FIELD(dispatcher)));
    o.push_back(
        whole_number(declare("reference-every", "N", s::run, "each worker re-times the reference after N candidates; 0: only at start"),
                     FRACNAS_FIELD(reference_every), range{0, 1e9}));
    o.push_back(whole_number(declare("reference-builds", "N", s::run,
                                     "with --evaluator torch, each re-timing builds and times the reference N times and keeps the median"),
                             FRACNAS_FIELD(reference_builds), range{1, 16}));
    o.push_back(whole_number(declare("queued", "N|auto", s::run,
                                     "jobs waiting behind each running one, 0 or 1; auto: 1 when other processes measure and the "
                                     "search times only, 0 with --rungs (a job would wait out a training) or in one process"),
                             FRACNAS_FIELD(queued_per_worker), range{0, transport::dispatch_policy::max_queued_per_worker}));
    o.back().set = [](search_config& c, const std::string& t) {
        if (t == "auto") {
            c.queued_per_worker = std::nullopt;
            return;
        }
        if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
            throw config_error("--queued", "--queued: expected 0, 1 or auto, got '" + t + "'.");
        c.queued_per_worker = parse_whole<std::uint32_t>("--queued", t);
    };
    o.back().get = [](const search_config& c) { return c.queued_per_worker ? std::to_string(*c.queued_per_worker) : std::string("auto"); };
    o.push_back(declare("task-deadline", "SECONDS|auto", s::run,
                        "a task running longer is re-queued on another worker and its worker leaves the pool; auto: 900 s until a task "
                        "has finished, then 10 x the longest task so far, at least 60 s and at most 900"));
    o.back().set = [](search_config& c, const std::string& t) {
        c.adaptive_deadline = t == "auto";
        c.task_deadline = c.adaptive_deadline ? search_config{}.task_deadline : parse_real("--task-deadline", t);
    };
    o.back().get = [](const search_config& c) { return c.adaptive_deadline ? std::string("auto") : decimal(c.task_deadline); };
    o.back().number = [](const search_config& c) { return std::optional<double>(c.task_deadline); };  // auto's first deadline too
    o.back().range = range{0, 1e7, true};
    o.push_back(real_number(declare("join-timeout", "SECONDS", s::run,
                                    "how long MPI start-up may take on every rank (past it a rank ends, and the job with it), and then how "
                                    "long the master waits for every worker's first report"),
                            FRACNAS_FIELD(join_timeout), range{0, 1e7, true}));
    o.push_back(real_number(declare("model-cost-ms", "MS", s::run, "evaluator model: wall time of each evaluation"),
                            FRACNAS_FIELD(model_cost_ms), range{0, 1e7}));
    o.push_back(text(declare("train-data", "DIR", s::run,
                             "with --rungs and --evaluator torch: the corpus the candidates train on (DIR/train.tokens, "
                             "DIR/val.tokens: cmake/dev.sh corpus; docs/data.md)"),
                     FRACNAS_FIELD(train_data)));
    o.push_back(text(declare("train-states", "DIR", s::run,
                             "with --rungs and --evaluator torch: each training's state lives in DIR/<hash>-s<seed>, so that a promoted "
                             "candidate continues its training and a resumed search continues the trainings in flight"),
                     FRACNAS_FIELD(train_states)));
    o.back().default_note = "ARCHIVE.states next to the archive";
    o.push_back(real_number(declare("train-states-limit", "GB", s::run,
                                    "with --rungs and --evaluator torch: the states of finished trainings (kept for their "
                                    "promotions) take at most GB on each worker's --train-states, the least recently finished "
                                    "going first (a promotion whose state went trains from the start, to the same result at more "
                                    "cost); 0: no limit"),
                            FRACNAS_FIELD(train_states_limit), range{0, 1e6}));
    o.push_back(real_number(declare("train-ms-per-mtoken", "MS", s::run,
                                    "with --rungs and --evaluator model: wall time of a simulated training per million tokens"),
                            FRACNAS_FIELD(train_ms_per_mtoken), range{0, 1e7}));
    o.push_back(real_number(declare("train-deadline", "SECONDS", s::run,
                                    "with --rungs: a training may run --task-deadline plus this many seconds per million tokens of its "
                                    "budget before it is re-queued on another worker"),
                            FRACNAS_FIELD(train_deadline_per_mtoken), range{1, 1e6}));
    o.push_back(text(declare("inject", "LIST", s::run,
                             "evaluator model, for tests: faults hang:RANK:CALL:SECONDS, device-lost:RANK:CALL, kill:RANK:CALL, fail:RATE"),
                     FRACNAS_FIELD(inject)));
    o.push_back(whole_number(declare("workers", "N", s::run, "dry run: simulated workers"), FRACNAS_FIELD(dry_run.workers)));
    using transport::cost_kind;
    o.push_back(choice(declare("cost", "NAME", s::run, "dry run: task-cost distribution fixed, uniform, exponential or lognormal"),
                       FRACNAS_FIELD(dry_run.cost),
                       std::vector<cost_kind>{cost_kind::fixed, cost_kind::uniform, cost_kind::exponential, cost_kind::lognormal}));
    o.push_back(real_number(declare("cost-mean", "SECONDS", s::run, "dry run: mean (lognormal: median) task cost"),
                            FRACNAS_FIELD(dry_run.cost_mean_seconds)));
    o.push_back(real_number(declare("cost-spread", "X", s::run, "dry run: uniform relative half-width or lognormal sigma"),
                            FRACNAS_FIELD(dry_run.cost_spread)));
    o.push_back(real_number(declare("train-cost", "SECONDS", s::run, "dry run: mean cost of a training per million tokens of its budget"),
                            FRACNAS_FIELD(dry_run.train_seconds_per_mtoken)));
    o.push_back(
        real_number(declare("failure-rate", "P", s::run, "dry run: probability that a task fails"), FRACNAS_FIELD(dry_run.failure_rate)));
    o.push_back(
        real_number(declare("hang-rate", "P", s::run, "dry run: probability that a task never ends"), FRACNAS_FIELD(dry_run.hang_rate)));
    o.push_back(seconds_or_none(
        declare("time-limit", "SECONDS", s::run, "stop asking after this wall time (a dry run: its simulated time), then drain"),
        FRACNAS_FIELD(time_limit), range{0, 1e9, true}));
    o.push_back(real_number(declare("grace", "SECONDS", s::run,
                                    "after a stop signal or the time limit, wait this long for results in flight (a dry run: simulated)"),
                            FRACNAS_FIELD(grace), range{0, 1e7}));
    o.push_back(real_number(declare("flush-seconds", "SECONDS", s::run,
                                    "flush the archive every this long, results or not: a crash loses at most the answers of the last "
                                    "SECONDS + 0.25 s, which a resumed search asks again; 0: after every result, at a few thousand "
                                    "answers/s"),
                            FRACNAS_FIELD(flush_seconds), range{0, 3600}));
    o.push_back(whole_number(declare("progress-every", "N", s::run, "a progress line every N answers"), FRACNAS_FIELD(progress_every),
                             range{0, 1e7}));
    o.back().default_note = "budget/10";
    o.push_back(whole_number(declare("top", "K", s::run, "best feasible architectures in the report"), FRACNAS_FIELD(top), range{1, 1000}));

    // files and switches: this run's, never archived
    o.push_back(
        file(declare("archive", "FILE", s::command_line, "write the run to this HDF5 archive (refused if it exists, unless --replace)"),
             FRACNAS_FIELD(archive)));
    o.push_back(flag(declare("replace", "", s::command_line, "replace an existing --archive"), FRACNAS_FIELD(replace)));
    o.push_back(file(declare("resume", "FILE", s::command_line, "continue the run of this archive, in it; its configuration applies"),
                     FRACNAS_FIELD(resume)));
    o.push_back(
        file(declare("jsonl", "FILE", s::command_line, "also export every evaluation as a JSON line to FILE (refused if it exists)"),
             FRACNAS_FIELD(jsonl)));
    return o;
}
}  // namespace

const std::vector<search_option>& search_options() {
    static const std::vector<search_option> options = make_options();
    return options;
}

const search_option* find_search_option(const std::string& name) {
    return find_option(search_options(), name);
}

}  // namespace fracnas::app
