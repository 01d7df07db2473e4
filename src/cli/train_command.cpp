// `fracnas train`: the Boost table of its option schema (train_options.hpp, which reads every value
// into a train_request), the prepared corpus, and the report (table or JSON). The training is
// eval::train_gpt's; this file only parses, reads the token files, checks and prints.
#include "train_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "fracnas/app/analysis.hpp"
#include "fracnas/app/json.hpp"
#include "fracnas/app/search_driver.hpp"
#include "fracnas/cli/train_options.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "fracnas/torch/trainer.hpp"
#include "options.hpp"
#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#include "fracnas/storage/archive.hpp"
#endif

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

// The Boost table of train_options(), the one declaration of each option.
po::options_description train_table() {
    return boost_table("fracnas train options (the defaults are recipe A, docs/training.md)", train_options());
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

// The k best feasible architectures a search measured in the archive: analyze's "best"
// (app::best_feasible: lowest latency ratio first, one per architecture).
std::vector<nas::architecture> top_of_archive(const std::string& path, std::uint64_t k) {
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
    train_request request;
    const auto parsed = parse_or_print_help(args, train_table(), "train", "--preset gpt2-small --data DIR", out, "",
                                            request_check(train_options(), request));
    if (!parsed) return;
    std::vector<nas::architecture> archs;
    const std::optional<std::string>& archive = request.from;
    if (archive) {
        if (request.arch || request.preset) throw config_error("--from", "give --from or one of --arch and --preset, not both.");
    } else {
        if (request.top) throw config_error("--top", "--top goes with --from.");
    }
    std::string restored;  // what --from's check did to the archive: an end that a failed write cut, restored
    if (archive) {
#ifdef FRACNAS_HAVE_HDF5
        // held, unwritable or damaged archives refused, and a cut end restored, before it is read
        restored = hdf5::check_appendable(*archive, "--from");
#endif
        archs = top_of_archive(*archive, request.top.value_or(3));
    } else
        archs.push_back(read_architecture(request.arch, request.preset));
    if (!request.data) throw config_error("--data", "give the prepared corpus directory (cmake/dev.sh corpus writes one; docs/data.md).");
    const eval::train_recipe recipe = request.resolved_recipe(eval::torch_cuda_available());
    const std::string dtype = recipe.bf16 ? "bf16" : "fp32";

    const std::string dir = *request.data;
    const auto corpus = data::read_corpus(dir, "--data");
    const auto& train = corpus.train;
    const auto& val = corpus.val;
    const std::uint32_t vocab = corpus.vocab;

    const std::uint64_t scored = std::min<std::uint64_t>(val.tokens.size(), recipe.val_tokens);
    if (archive) {
        // every cheap check before the first training: a refused run trains nothing and appends nothing
        for (const auto& arch : archs) try {
                eval::check_training(arch, vocab, {train.tokens.data(), train.tokens.size()}, {val.tokens.data(), val.tokens.size()},
                                     recipe);
            } catch (const config_error& e) {  // the trainer names its recipe fields, the options' names without "--"
                const std::string field = e.field();
                throw config_error(field.empty() || field.rfind("--", 0) == 0 ? field : "--" + field, e.what());
            }
    }
    // said once, before the trainings (JSON's lines are the trainings': the note goes to stderr)
    if (!restored.empty()) (request.json ? std::cerr : out) << "restored        " << restored << '\n';
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
        report(out, r, recipe, dir, train.tokens.size(), scored, vocab, dtype, request.json);
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
