// `fracnas train`: options, the prepared corpus, and the report (table or JSON). The training
// is eval::train_gpt's; this file only parses, reads the token files, checks and prints.
#include "train_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "fracnas/app/analysis.hpp"
#include "fracnas/app/json.hpp"
#include "fracnas/app/search_driver.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "fracnas/torch/trainer.hpp"
#include "options.hpp"
#include "parse.hpp"
#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#include "fracnas/storage/archive.hpp"
#endif

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

po::options_description train_options() {
    const eval::train_recipe a;
    po::options_description o("fracnas train options (the defaults are recipe A, docs/training.md)");
    auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    auto dflt = [](auto v) {
        std::ostringstream s;
        s << v;
        return s.str();
    };
    o.add_options()("help,h", "print this help and exit")("arch", text("TEXT"),
                                                          "the architecture, canonical form (its vocab is replaced by the data's)")(
        "preset", text("NAME"), "a reference model instead of --arch: gpt2-small, gpt2-medium")(
        "from", text("ARCHIVE"),
        "instead of --arch: train the --top best feasible architectures a search measured in ARCHIVE (lowest latency ratio, as analyze "
        "lists them), one after the other, each result written back to its 'trainings' table")("top", text("K"),
                                                                                               "with --from: how many (default 3)")(
        "data", text("DIR"), "the prepared corpus: DIR/train.tokens and DIR/val.tokens (cmake/dev.sh corpus; docs/data.md)")(
        "tokens", text("N"), ("training tokens (default " + dflt(default_train_tokens) + ")").c_str())(
        "batch", text("B"), ("sequences per step (default " + dflt(a.batch) + ")").c_str())(
        "seq-len", text("T"), ("tokens per sequence (default " + dflt(a.seq_len) + ")").c_str())(
        "lr", text("X"), ("peak learning rate (default " + dflt(a.lr) + ")").c_str())(
        "min-lr-ratio", text("X"), ("the cosine decays to lr x this (default " + dflt(a.min_lr_ratio) + ")").c_str())(
        "warmup", text("X"), ("share of the steps in linear warm-up (default " + dflt(a.warmup_share) + ")").c_str())(
        "weight-decay", text("X"), ("AdamW weight decay on matrices and embeddings (default " + dflt(a.weight_decay) + ")").c_str())(
        "clip", text("X"), ("gradient-norm clip, 0 for none (default " + dflt(a.clip) + ")").c_str())(
        "schedule", text("NAME"),
        "cosine (recipe A: warm-up, cosine to the floor at the last step) or wsd (warm-up, constant, linear decay over the last --decay "
        "share: continues to a larger budget) (default cosine)")(
        "sampling", text("NAME"),
        "random (recipe A: uniform window offsets) or epoch (the non-overlapping windows in a seeded order, each once per epoch: a budget "
        "up to one epoch repeats no token) (default random)")(
        "decay", text("X"), ("with wsd: share of the steps in the final decay (default " + dflt(a.decay_share) + ")").c_str())(
        "warmup-tokens", text("N"),
        ("with wsd: warm-up length in tokens, whatever the budget (default " + dflt(a.warmup_tokens) + ")").c_str())(
        "state-dir", text("DIR"),
        "save the training state in DIR (latest.pt; stable.pt at wsd's decay start) and continue from it when DIR holds one of this "
        "training: a killed run resumes, a wsd run continues to a larger --tokens")(
        "save-every", text("N"), "with --state-dir: steps between saved states (default: only at the end and at wsd's decay start)")(
        "budgets", text("LIST"),
        "with wsd: smaller budgets (a comma list of token counts) measured on the way by the same training: at each one's decay start the "
        "state is kept, its decay run and validated, then the training goes on (docs/training.md, 'Budgets on the way')")(
        "speed", text("LIST"),
        "the engine's speed settings turned on (docs/training.md, 'Speed'): all (default: async, fused_adamw, fused_loss, cuda_graph, and "
        "with --dtype bf16 bf16 weights with fp32 masters and an fp32 residual stream, as autocast keeps it, and fracnas's own kernels "
        "compiled at run time by NVRTC: bf16_weights, residual_fp32, loss_kernel, norm_kernel, adam_kernel, fused_dense), none (recipe "
        "A's first loop), or a comma list of those (bf16_weights without residual_fp32: faster, 1.6% higher perplexity on D), and "
        "flash_attention (SDPA's flash kernel instead of cuDNN's, slower on the H200), norm_add (each block's residual adds in the "
        "LayerNorm "
        "after them), residual_sr (with a bf16 stream: norm_add with the stream's sums rounded stochastically) and gemm_tune (with "
        "fused_dense: each GEMM shape's algorithm timed among cuBLASLt's candidates); the training is the same up to rounding")(
        "stop-after-steps", text("N"),
        "stop after N steps in all (status stopped, exit 0), saving the state when --state-dir is given: the same command continues it")(
        "seed", text("S"), "initialisation and the order of training windows (default 1)")(
        "checkpoints", text("N"), ("validation evaluations, evenly spaced in tokens (default " + dflt(a.checkpoints) + ")").c_str())(
        "val-tokens", text("N"), ("validation tokens scored, the split's first (default " + dflt(a.val_tokens) + ")").c_str())(
        "device", text("NAME"), "cpu or cuda (default: cuda when LibTorch sees one, else cpu)")("cuda-index", text("N"),
                                                                                                "which visible CUDA device (default 0)")(
        "dtype", text("NAME"),
        "bf16 (cuda only: with --speed all bf16 weights, fp32 masters and residual stream; without bf16_weights autocast over fp32 "
        "weights) or fp32 (default: bf16 on cuda, fp32 on cpu)")("json", "print one JSON object instead of the table");
    return o;
}

// The recipe in one line (the table's "recipe" line; with the corpus, the archive's record).
std::string recipe_text(const eval::train_recipe& r) {
    std::ostringstream o;
    o << r.tokens << " tokens, " << r.batch << " x " << r.seq_len << " per step (" << eval::planned_steps(r) << " steps), AdamW lr "
      << r.lr;
    if (r.schedule == eval::lr_schedule::cosine)
        o << " (warm-up " << r.warmup_share << ", cosine to x" << r.min_lr_ratio;
    else
        o << " (linear decay to x" << r.min_lr_ratio;
    o << "), weight decay " << r.weight_decay << ", clip " << r.clip << ", seed " << r.seed;
    if (r.sampling == eval::window_sampling::epoch) o << ", epoch sampling";
    if (r.schedule == eval::lr_schedule::wsd)
        o << ", schedule wsd (warm-up " << r.warmup_tokens << " tokens, decay " << r.decay_share << ")";
    return o.str();
}

void report(std::ostream& out, const eval::train_result& r, const eval::train_recipe& recipe, const std::string& dir,
            std::size_t train_tokens, std::uint64_t scored, std::uint32_t vocab, const std::string& dtype, bool json) {
    if (json) {
        const auto num = [](double v) { return app::json_number(v, 9); };  // null for a diverged run's NaN
        out << "{\"status\": " << app::json_string(eval::to_string(r.status)) << ", \"message\": " << app::json_string(r.message)
            << ", \"architecture\": " << app::json_string(nas::canonical(r.arch)) << ", \"decoder_params\": " << r.params.decoder
            << ", \"total_params\": " << r.params.total << ", \"data\": " << app::json_string(dir) << ", \"vocab\": " << vocab
            << ", \"train_tokens_available\": " << train_tokens << ", \"val_tokens_scored\": " << scored
            << ", \"device\": " << app::json_string(r.device_name) << ", \"dtype\": " << app::json_string(dtype)
            << ", \"recipe\": {\"tokens\": " << recipe.tokens << ", \"batch\": " << recipe.batch << ", \"seq_len\": " << recipe.seq_len
            << ", \"lr\": " << num(recipe.lr) << ", \"min_lr_ratio\": " << num(recipe.min_lr_ratio)
            << ", \"warmup\": " << num(recipe.warmup_share) << ", \"weight_decay\": " << num(recipe.weight_decay)
            << ", \"clip\": " << num(recipe.clip) << ", \"seed\": " << recipe.seed
            << ", \"schedule\": " << app::json_string(eval::to_string(recipe.schedule))
            << ", \"sampling\": " << app::json_string(eval::to_string(recipe.sampling)) << ", \"decay\": " << num(recipe.decay_share)
            << ", \"warmup_tokens\": " << recipe.warmup_tokens << ", \"speed\": [";
        const auto speed = eval::speed_setting_names(recipe.speed);
        for (std::size_t i = 0; i < speed.size(); ++i) out << (i ? ", " : "") << app::json_string(speed[i]);
        out << "]}, \"resumed_from_step\": " << r.resumed_from_step << ", \"steps\": " << r.steps << ", \"tokens\": " << r.tokens
            << ", \"tokens_per_second\": " << num(r.tokens_per_second)
            << ", \"steady_tokens_per_second\": " << num(r.steady_tokens_per_second)
            << ", \"engine_note\": " << app::json_string(r.engine_note) << ", \"wall_seconds\": " << num(r.wall_seconds)
            << ", \"checkpoints\": [";
        for (std::size_t i = 0; i < r.checkpoints.size(); ++i) {
            const auto& c = r.checkpoints[i];
            out << (i ? ", " : "") << "{\"step\": " << c.step << ", \"tokens\": " << c.tokens << ", \"train_loss\": " << num(c.train_loss)
                << ", \"val_loss\": " << num(c.val_loss) << ", \"val_perplexity\": " << num(c.val_perplexity)
                << ", \"seconds\": " << num(c.seconds) << "}";
        }
        out << "], \"budgets\": [";
        for (std::size_t i = 0; i < r.budgets.size(); ++i) {
            const auto& b = r.budgets[i];
            out << (i ? ", " : "") << "{\"budget\": " << b.budget << ", \"steps\": " << b.steps << ", \"tokens\": " << b.tokens
                << ", \"train_loss\": " << num(b.train_loss) << ", \"val_loss\": " << num(b.val_loss)
                << ", \"val_perplexity\": " << num(b.val_perplexity) << ", \"seconds\": " << num(b.seconds) << "}";
        }
        out << "], \"final_val_perplexity\": ";
        if (r.status == eval::train_status::ok && !r.checkpoints.empty())
            out << num(r.checkpoints.back().val_perplexity);
        else
            out << "null";
        out << "}\n";
        return;
    }
    out << "architecture    " << nas::canonical(r.arch) << '\n'
        << "parameters      decoder " << r.params.decoder << ", total " << r.params.total << '\n'
        << "data            " << dir << ": " << train_tokens << " training tokens, " << scored << " validation tokens scored, vocab "
        << vocab << '\n'
        << "recipe          " << recipe_text(recipe) << '\n'
        << "device          " << r.device_name << ", "
        << (recipe.device == eval::device_kind::cuda && recipe.bf16 ? "bf16 autocast" : "fp32") << '\n'
        << "checkpoint      step      tokens  train loss  val loss  val ppl  seconds\n";
    const auto row = [&out](std::uint64_t step, std::uint64_t tokens, double train_loss, double val_loss, double ppl, double seconds) {
        char line[160];
        std::snprintf(line, sizeof line, "                %6llu  %10llu  %10.4f  %8.4f  %7.2f  %7.1f\n",
                      static_cast<unsigned long long>(step), static_cast<unsigned long long>(tokens), train_loss, val_loss, ppl, seconds);
        out << line;
    };
    for (const auto& c : r.checkpoints) row(c.step, c.tokens, c.train_loss, c.val_loss, c.val_perplexity, c.seconds);
    if (!r.budgets.empty()) out << "budget          step      tokens  decay loss  val loss  val ppl  seconds\n";
    for (const auto& b : r.budgets) row(b.steps, b.tokens, b.train_loss, b.val_loss, b.val_perplexity, b.seconds);
    if (r.resumed_from_step > 0) out << "resumed         from step " << r.resumed_from_step << " (its saved state)\n";
    out << std::fixed << std::setprecision(0) << "throughput      " << r.tokens_per_second << " tokens/s (training steps only; "
        << r.steady_tokens_per_second << " after the first steps)\n"
        << std::setprecision(2) << "wall time       " << r.wall_seconds << " s\n"
        << "status          " << eval::to_string(r.status) << (r.message.empty() ? "" : ": " + r.message) << '\n';
    out.unsetf(std::ios::floatfield);
    out << std::setprecision(6);
}

// --speed: all, none, or the settings named (the others off).
eval::train_speed parse_speed(const std::string& text) {
    if (text == "all") return {};
    auto s = eval::no_speed_settings();
    if (text == "none") return s;
    std::stringstream in(text);
    std::string name;
    while (std::getline(in, name, ','))
        if (!eval::enable_speed_setting(s, name))
            throw config_error("--speed",
                               "unknown speed setting '" + name +
                                   "': all, none, or a comma list of async, fused_adamw, fused_loss, cuda_graph, bf16_weights, "
                                   "flash_attention, fused_dense, loss_kernel, norm_kernel, adam_kernel, residual_fp32, norm_add, "
                                   "residual_sr, gemm_tune.");
    return s;
}

// The k best feasible architectures a search measured in the archive: analyze's "best"
// (app::best_feasible: lowest latency ratio first, one per architecture).
std::vector<nas::architecture> top_of_archive(const std::string& path, std::uint64_t k) {
    if (k == 0) throw config_error("--top", "--top must be at least 1.");
#ifdef FRACNAS_HAVE_HDF5
    const auto best = app::best_feasible(hdf5::read_archive(path), static_cast<std::size_t>(k));
    if (best.empty()) throw config_error("--from", "archive '" + path + "' holds no measured feasible architecture to train.");
    std::vector<nas::architecture> archs;
    for (const auto& r : best) archs.push_back(nas::parse_architecture(r.arch));
    return archs;
#else
    (void)path;
    throw config_error("--from", "--from needs a build with HDF5.");
#endif
}

}  // namespace

void run_train(const std::vector<std::string>& args, std::ostream& out) {
    const auto parsed = parse_or_print_help(args, train_options(), "train", "--preset gpt2-small --data DIR", out);
    if (!parsed) return;
    const po::variables_map& vm = *parsed;
    auto get = [&](const char* name) { return option_text(vm, name); };
    std::vector<nas::architecture> archs;
    const std::string* archive = get("from");
    if (archive) {
        if (vm.count("arch") || vm.count("preset")) throw config_error("--from", "give --from or one of --arch and --preset, not both.");
        archs = top_of_archive(*archive, get("top") ? parse_count("--top", *get("top")) : 3);
    } else {
        if (vm.count("top")) throw config_error("--top", "--top goes with --from.");
        archs.push_back(read_architecture(vm));
    }
    if (!get("data")) throw config_error("--data", "give the prepared corpus directory (cmake/dev.sh corpus writes one; docs/data.md).");

    eval::train_recipe recipe;
    recipe.tokens = default_train_tokens;
    eval::gpt_measure_config device;
    const std::string dtype = read_device_and_dtype(vm, eval::torch_cuda_available() ? "cuda" : "cpu", device);
    if (device.device == eval::device_kind::cpu && dtype == "bf16")
        throw config_error("--dtype", "bf16 autocast is for cuda; on the cpu the model trains in fp32.");
    recipe.device = device.device;
    recipe.bf16 = dtype == "bf16";
    if (const auto* v = get("cuda-index")) recipe.cuda_index = static_cast<int>(parse_count("--cuda-index", *v));
    auto u32 = [&](const char* name, std::uint32_t& field) {
        if (const auto* v = get(name)) {
            const auto n = parse_count(std::string("--") + name, *v);
            if (n == 0 || n > 1000000)
                throw config_error(std::string("--") + name, "the value " + *v + " must be between 1 and 1,000,000.");
            field = static_cast<std::uint32_t>(n);
        }
    };
    auto real = [&](const char* name, double& field) {
        if (const auto* v = get(name)) field = parse_real(std::string("--") + name, *v);
    };
    if (const auto* v = get("tokens")) recipe.tokens = parse_count("--tokens", *v);
    if (const auto* v = get("seed")) recipe.seed = parse_count("--seed", *v);
    if (const auto* v = get("val-tokens")) recipe.val_tokens = parse_count("--val-tokens", *v);
    u32("batch", recipe.batch);
    u32("seq-len", recipe.seq_len);
    u32("checkpoints", recipe.checkpoints);
    real("lr", recipe.lr);
    real("min-lr-ratio", recipe.min_lr_ratio);
    real("warmup", recipe.warmup_share);
    real("weight-decay", recipe.weight_decay);
    real("clip", recipe.clip);
    real("decay", recipe.decay_share);
    if (const auto* v = get("warmup-tokens")) recipe.warmup_tokens = parse_count("--warmup-tokens", *v);
    if (const auto* v = get("schedule")) {
        if (*v == "cosine")
            recipe.schedule = eval::lr_schedule::cosine;
        else if (*v == "wsd")
            recipe.schedule = eval::lr_schedule::wsd;
        else
            throw config_error("--schedule", "unknown schedule '" + *v + "': cosine or wsd.");
    }
    if (const auto* v = get("sampling")) {
        if (*v == "random")
            recipe.sampling = eval::window_sampling::random;
        else if (*v == "epoch")
            recipe.sampling = eval::window_sampling::epoch;
        else
            throw config_error("--sampling", "unknown sampling '" + *v + "': random or epoch.");
    }
    if (const auto* v = get("budgets")) {
        std::stringstream in(*v);
        std::string item;
        while (std::getline(in, item, ',')) recipe.budgets.push_back(parse_count("--budgets", item));
        if (recipe.budgets.empty()) throw config_error("--budgets", "give at least one token count.");
    }
    if (const auto* v = get("state-dir")) recipe.state_dir = *v;
    const auto* speed = get("speed");
    if (speed) recipe.speed = parse_speed(*speed);
    // all (the default) with a bf16 dtype: bf16 weights with fp32 masters and an fp32 residual
    // stream, and fracnas's kernels; within seed noise of autocast on D with five seeds, 14% more
    // tokens/s (docs/results/training.md, "AdamW's kernel and the fp32 residual stream"). bf16
    // weights with a bf16 stream, faster still, are asked for by name (1.6% higher perplexity there)
    if (!speed || *speed == "all") {
        auto& s = recipe.speed;
        s.loss_kernel = s.bf16_weights = s.residual_fp32 = s.norm_kernel = s.adam_kernel = s.fused_dense = recipe.bf16;
    }
    if (recipe.speed.bf16_weights && !recipe.bf16)
        throw config_error("--speed", "bf16_weights trains bf16 weights: it needs --dtype bf16 (on cuda).");
    if (recipe.speed.bf16_weights && !recipe.speed.fused_adamw)
        throw config_error("--speed", "bf16_weights needs fused_adamw, which updates the fp32 master weights.");
    if (recipe.speed.residual_sr && recipe.speed.residual_fp32)
        throw config_error("--speed", "residual_sr rounds a bf16 residual stream: it does not go with residual_fp32.");
    // a setting that would act on nothing is refused, not recorded as if it had run
    if (recipe.speed.gemm_tune && !recipe.speed.fused_dense)
        throw config_error("--speed", "gemm_tune times the GEMMs of fused_dense: it needs fused_dense.");
    if (recipe.speed.loss_kernel && (!recipe.bf16 || !recipe.speed.fused_loss))
        throw config_error("--speed", "loss_kernel runs on the bf16 logits of fused_loss: it needs fused_loss and --dtype bf16 (on cuda).");
    for (const auto& [on, name] : {std::pair{recipe.speed.norm_kernel, "norm_kernel"}, std::pair{recipe.speed.adam_kernel, "adam_kernel"},
                                   std::pair{recipe.speed.residual_fp32, "residual_fp32"}, std::pair{recipe.speed.norm_add, "norm_add"},
                                   std::pair{recipe.speed.residual_sr, "residual_sr"}})
        if (on && !recipe.speed.bf16_weights)
            throw config_error("--speed", std::string(name) + " acts on bf16 weights: it needs bf16_weights (and --dtype bf16, on cuda).");
    if (const auto* v = get("stop-after-steps")) recipe.stop_after_steps = parse_count("--stop-after-steps", *v);
    if (const auto* v = get("save-every")) {
        if (!get("state-dir")) throw config_error("--save-every", "--save-every goes with --state-dir.");
        recipe.save_every = parse_count("--save-every", *v);
    }

    const std::string dir = *get("data");
    const auto train = data::read_token_file(dir + "/train.tokens", "--data");
    const auto val = data::read_token_file(dir + "/val.tokens", "--data");
    if (train.header.vocab_size != val.header.vocab_size)
        throw config_error("--data", dir + ": train.tokens and val.tokens disagree on the vocabulary (" +
                                         std::to_string(train.header.vocab_size) + " and " + std::to_string(val.header.vocab_size) + ").");
    const std::uint32_t vocab = train.header.vocab_size;

    const std::uint64_t scored = std::min<std::uint64_t>(val.tokens.size(), recipe.val_tokens);
    if (archive) {
        // every cheap check before the first training: a refused run trains nothing and appends nothing
#ifdef FRACNAS_HAVE_HDF5
        hdf5::check_appendable(*archive, "--from");
#endif
        for (const auto& arch : archs) try {
                eval::check_training(arch, vocab, {train.tokens.data(), train.tokens.size()}, {val.tokens.data(), val.tokens.size()},
                                     recipe);
            } catch (const config_error& e) {  // the trainer names its recipe fields, the options' names without "--"
                const std::string field = e.field();
                throw config_error(field.empty() || field.rfind("--", 0) == 0 ? field : "--" + field, e.what());
            }
    }
    std::size_t failed = 0;
    std::string last_failure;
    for (const auto& arch : archs) {
        const std::string started = app::utc_now();
        eval::train_recipe each = recipe;
        if (archive && !recipe.state_dir.empty()) {  // one state folder per architecture, named by its hash
            char name[20];
            std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(nas::hash(arch)));
            each.state_dir += std::string("/") + name;
        }
        const auto r =
            eval::train_gpt(arch, vocab, {train.tokens.data(), train.tokens.size()}, {val.tokens.data(), val.tokens.size()}, each);
        if (r.status == eval::train_status::invalid && !archive) throw config_error("", r.message);
        report(out, r, recipe, dir, train.tokens.size(), scored, vocab, dtype, vm.count("json") > 0);
#ifdef FRACNAS_HAVE_HDF5
        if (archive) {
            storage::training_record t;
            t.arch = nas::canonical(arch);  // as the search measured it (the vocabulary it timed)
            t.hash = nas::hash(arch);
            t.status = eval::to_string(r.status);
            t.message = r.message;
            t.tokens = r.tokens;
            t.steps = r.steps;
            if (r.status == eval::train_status::ok && !r.checkpoints.empty()) {
                t.val_loss = r.checkpoints.back().val_loss;
                t.val_perplexity = r.checkpoints.back().val_perplexity;
            }
            t.tokens_per_second = r.tokens_per_second;
            t.wall_seconds = r.wall_seconds;
            t.recipe = recipe_text(recipe) + "; data " + dir + ", vocab " + std::to_string(vocab);
            t.device = r.device_name;
            t.started = started;
            hdf5::append_training(*archive, t);
        }
#endif
        if (r.status != eval::train_status::ok && r.status != eval::train_status::stopped) {
            ++failed;
            last_failure = "(" + std::string(eval::to_string(r.status)) + "): " + r.message;
        }
    }
    if (failed == 1 && archs.size() == 1) throw error("the training failed " + last_failure);
    if (failed > 0)
        throw error(std::to_string(failed) + " of " + std::to_string(archs.size()) + " trainings failed; the last " + last_failure);
}

}  // namespace fracnas::cli
#endif
