// `fracnas train`: options, the prepared corpus, and the report (table or JSON). The training
// is eval::train_gpt's; this file only parses, reads the token files, checks and prints.
#include "train_command.hpp"

#ifdef FRACNAS_HAVE_TORCH
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "options.hpp"
#include "parse.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"
#include "fracnas/torch/evaluator.hpp"
#include "fracnas/torch/trainer.hpp"

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
    o.add_options()
        ("help,h", "print this help and exit")
        ("arch", text("TEXT"), "the architecture, canonical form (its vocab is replaced by the data's)")
        ("preset", text("NAME"), "a reference model instead of --arch: gpt2-small, gpt2-medium")
        ("data", text("DIR"), "the prepared corpus: DIR/train.tokens and DIR/val.tokens (cmake/dev.sh corpus; docs/data.md)")
        ("tokens", text("N"), ("training tokens (default " + dflt(default_train_tokens) + ")").c_str())
        ("batch", text("B"), ("sequences per step (default " + dflt(a.batch) + ")").c_str())
        ("seq-len", text("T"), ("tokens per sequence (default " + dflt(a.seq_len) + ")").c_str())
        ("lr", text("X"), ("peak learning rate (default " + dflt(a.lr) + ")").c_str())
        ("min-lr-ratio", text("X"), ("the cosine decays to lr x this (default " + dflt(a.min_lr_ratio) + ")").c_str())
        ("warmup", text("X"), ("share of the steps in linear warm-up (default " + dflt(a.warmup_share) + ")").c_str())
        ("weight-decay", text("X"), ("AdamW weight decay on matrices and embeddings (default " + dflt(a.weight_decay) + ")").c_str())
        ("clip", text("X"), ("gradient-norm clip, 0 for none (default " + dflt(a.clip) + ")").c_str())
        ("seed", text("S"), "initialisation and the order of training windows (default 1)")
        ("checkpoints", text("N"), ("validation evaluations, evenly spaced in tokens (default " + dflt(a.checkpoints) + ")").c_str())
        ("val-tokens", text("N"), ("validation tokens scored, the split's first (default " + dflt(a.val_tokens) + ")").c_str())
        ("device", text("NAME"), "cpu or cuda (default: cuda when LibTorch sees one, else cpu)")
        ("cuda-index", text("N"), "which visible CUDA device (default 0)")
        ("dtype", text("NAME"), "bf16 (autocast over fp32 weights; cuda only) or fp32 (default: bf16 on cuda, fp32 on cpu)")
        ("json", "print one JSON object instead of the table");
    return o;
}

}  // namespace

void run_train(const std::vector<std::string>& args, std::ostream& out) {
    const auto options = train_options();
    const po::variables_map vm = parse_options(args, options, "train", "--preset gpt2-small --data DIR");
    if (vm.count("help")) {
        out << options;
        return;
    }
    auto get = [&](const char* name) { return option_text(vm, name); };
    const nas::architecture arch = read_architecture(vm);
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
            if (n == 0 || n > 1000000) throw config_error(std::string("--") + name, "the value " + *v + " must be between 1 and 1,000,000.");
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

    const std::string dir = *get("data");
    const auto train = data::read_token_file(dir + "/train.tokens", "--data");
    const auto val = data::read_token_file(dir + "/val.tokens", "--data");
    if (train.header.vocab_size != val.header.vocab_size)
        throw config_error("--data", dir + ": train.tokens and val.tokens disagree on the vocabulary (" +
                                         std::to_string(train.header.vocab_size) + " and " + std::to_string(val.header.vocab_size) + ").");
    const std::uint32_t vocab = train.header.vocab_size;

    const auto r = eval::train_gpt(arch, vocab, {train.tokens.data(), train.tokens.size()}, {val.tokens.data(), val.tokens.size()}, recipe);
    if (r.status == eval::train_status::invalid) throw config_error("", r.message);
    const std::uint64_t scored = std::min<std::uint64_t>(val.tokens.size(), recipe.val_tokens);
    const std::uint64_t steps_planned = std::max<std::uint64_t>(1, recipe.tokens / (std::uint64_t{recipe.batch} * recipe.seq_len));
    if (vm.count("json")) {
        out << std::setprecision(9) << "{\"status\": " << json_quoted(eval::to_string(r.status)) << ", \"message\": " << json_quoted(r.message)
            << ", \"architecture\": " << json_quoted(nas::canonical(r.arch)) << ", \"decoder_params\": " << r.params.decoder
            << ", \"total_params\": " << r.params.total << ", \"data\": " << json_quoted(dir) << ", \"vocab\": " << vocab
            << ", \"train_tokens_available\": " << train.tokens.size() << ", \"val_tokens_scored\": " << scored
            << ", \"device\": " << json_quoted(r.device_name) << ", \"dtype\": " << json_quoted(dtype)
            << ", \"recipe\": {\"tokens\": " << recipe.tokens << ", \"batch\": " << recipe.batch << ", \"seq_len\": " << recipe.seq_len
            << ", \"lr\": " << recipe.lr << ", \"min_lr_ratio\": " << recipe.min_lr_ratio << ", \"warmup\": " << recipe.warmup_share
            << ", \"weight_decay\": " << recipe.weight_decay << ", \"clip\": " << recipe.clip << ", \"seed\": " << recipe.seed
            << "}, \"steps\": " << r.steps << ", \"tokens\": " << r.tokens << ", \"tokens_per_second\": " << r.tokens_per_second
            << ", \"wall_seconds\": " << r.wall_seconds << ", \"checkpoints\": [";
        for (std::size_t i = 0; i < r.checkpoints.size(); ++i) {
            const auto& c = r.checkpoints[i];
            out << (i ? ", " : "") << "{\"step\": " << c.step << ", \"tokens\": " << c.tokens << ", \"train_loss\": " << c.train_loss
                << ", \"val_loss\": " << c.val_loss << ", \"val_perplexity\": " << c.val_perplexity << ", \"seconds\": " << c.seconds << "}";
        }
        out << "], \"final_val_perplexity\": ";
        if (r.status == eval::train_status::ok && !r.checkpoints.empty()) out << r.checkpoints.back().val_perplexity;
        else out << "null";
        out << "}\n";
    } else {
        out << "architecture    " << nas::canonical(r.arch) << '\n'
            << "parameters      decoder " << r.params.decoder << ", total " << r.params.total << '\n'
            << "data            " << dir << ": " << train.tokens.size() << " training tokens, " << scored
            << " validation tokens scored, vocab " << vocab << '\n'
            << "recipe          " << recipe.tokens << " tokens, " << recipe.batch << " x " << recipe.seq_len << " per step ("
            << steps_planned << " steps), AdamW lr " << recipe.lr << " (warm-up " << recipe.warmup_share << ", cosine to x"
            << recipe.min_lr_ratio << "), weight decay " << recipe.weight_decay << ", clip " << recipe.clip << ", seed "
            << recipe.seed << '\n'
            << "device          " << r.device_name << ", " << (recipe.device == eval::device_kind::cuda && recipe.bf16 ? "bf16 autocast" : "fp32") << '\n'
            << "checkpoint      step      tokens  train loss  val loss  val ppl  seconds\n";
        for (const auto& c : r.checkpoints) {
            char line[160];
            std::snprintf(line, sizeof line, "                %6llu  %10llu  %10.4f  %8.4f  %7.2f  %7.1f\n",
                          static_cast<unsigned long long>(c.step), static_cast<unsigned long long>(c.tokens), c.train_loss,
                          c.val_loss, c.val_perplexity, c.seconds);
            out << line;
        }
        out << std::fixed << std::setprecision(0) << "throughput      " << r.tokens_per_second << " tokens/s (training steps only)\n"
            << std::setprecision(2) << "wall time       " << r.wall_seconds << " s\n"
            << "status          " << eval::to_string(r.status) << (r.message.empty() ? "" : ": " + r.message) << '\n';
    }
    if (r.status != eval::train_status::ok)
        throw error("the training failed (" + std::string(eval::to_string(r.status)) + "): " + r.message);
}

}  // namespace fracnas::cli
#endif
