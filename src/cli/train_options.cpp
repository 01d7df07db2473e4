// The option table of `fracnas train`, each option once, built with option.hpp's builders, and the
// recipe a request resolves to (device, dtype, --speed all) with the rules that tie options together.
#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/cli/train_options.hpp"

#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::cli {

namespace {

using o_t = train_option;
using app::option_range;

// batch, sequence length, checkpoints: at most 1,000,000, far past any training here
const option_range count_range{1, 1e6};

std::vector<train_option> make_options() {
    using app::declare;
    using app::device_choice;
    using app::dtype_choice;
    std::vector<train_option> o;
    o.push_back(app::text(declare<o_t>("arch", "TEXT", "the architecture, canonical form (its vocab is replaced by the data's)"),
                          FRACNAS_FIELD(arch)));
    o.push_back(
        app::choice(declare<o_t>("preset", "NAME", "a reference model instead of --arch: " + app::choice_list<app::reference_kind>()),
                    FRACNAS_FIELD(preset)));
    o.push_back(
        app::text(declare<o_t>("from", "ARCHIVE",
                               "instead of --arch: train the --top best feasible architectures a search measured in ARCHIVE (lowest "
                               "latency ratio, as analyze lists them), one after the other, each result written back to its "
                               "'trainings' table"),
                  FRACNAS_FIELD(from)));
    o.push_back(app::whole_number(declare<o_t>("top", "K", "with --from: how many"), FRACNAS_FIELD(top), option_range{1, app::unbounded}));
    o.back().default_note = "3";
    o.push_back(app::text(
        declare<o_t>("data", "DIR", "the prepared corpus: DIR/train.tokens and DIR/val.tokens (cmake/dev.sh corpus; docs/data.md)"),
        FRACNAS_FIELD(data)));
    o.push_back(app::whole_number(declare<o_t>("tokens", "N", "training tokens"), FRACNAS_FIELD(recipe.tokens)));
    o.push_back(app::whole_number(declare<o_t>("batch", "B", "sequences per step"), FRACNAS_FIELD(recipe.batch), count_range));
    o.push_back(app::whole_number(declare<o_t>("seq-len", "T", "tokens per sequence"), FRACNAS_FIELD(recipe.seq_len), count_range));
    o.push_back(app::real_number(declare<o_t>("lr", "X", "peak learning rate"), FRACNAS_FIELD(recipe.lr)));
    o.push_back(app::real_number(declare<o_t>("min-lr-ratio", "X", "the cosine decays to lr x this"), FRACNAS_FIELD(recipe.min_lr_ratio)));
    o.push_back(app::real_number(declare<o_t>("warmup", "X", "share of the steps in linear warm-up"), FRACNAS_FIELD(recipe.warmup_share)));
    o.push_back(app::real_number(declare<o_t>("weight-decay", "X", "AdamW weight decay on matrices and embeddings"),
                                 FRACNAS_FIELD(recipe.weight_decay)));
    o.push_back(app::real_number(declare<o_t>("clip", "X", "gradient-norm clip, 0 for none"), FRACNAS_FIELD(recipe.clip)));
    o.push_back(app::choice(declare<o_t>("schedule", "NAME",
                                         "cosine (recipe A: warm-up, cosine to the floor at the last step) or wsd (warm-up, constant, "
                                         "linear decay over the last --decay share: continues to a larger budget)"),
                            FRACNAS_FIELD(recipe.schedule),
                            std::vector<eval::lr_schedule>{eval::lr_schedule::cosine, eval::lr_schedule::wsd}));
    o.push_back(app::choice(declare<o_t>("sampling", "NAME",
                                         "random (recipe A: uniform window offsets) or epoch (the non-overlapping windows in a seeded "
                                         "order, each once per epoch: a budget up to one epoch repeats no token)"),
                            FRACNAS_FIELD(recipe.sampling),
                            std::vector<eval::window_sampling>{eval::window_sampling::random, eval::window_sampling::epoch}));
    o.push_back(
        app::real_number(declare<o_t>("decay", "X", "with wsd: share of the steps in the final decay"), FRACNAS_FIELD(recipe.decay_share)));
    o.push_back(app::whole_number(declare<o_t>("warmup-tokens", "N", "with wsd: warm-up length in tokens, whatever the budget"),
                                  FRACNAS_FIELD(recipe.warmup_tokens)));
    o.push_back(
        app::text(declare<o_t>("state-dir", "DIR",
                               "save the training state in DIR (latest.pt; stable.pt at wsd's decay start) and continue from it "
                               "when DIR holds one of this training: a killed run resumes, a wsd run continues to a larger --tokens"),
                  FRACNAS_FIELD(recipe.state_dir)));
    o.push_back(app::whole_number(declare<o_t>("save-every", "N", "with --state-dir: steps between saved states"),
                                  FRACNAS_FIELD(recipe.save_every)));
    o.back().default_note = "only at the end and at wsd's decay start";
    o.push_back(declare<o_t>("budgets", "LIST",
                             "with wsd: smaller budgets (a comma list of token counts) measured on the way by the same training: at each "
                             "one's decay start the state is kept, its decay run and validated, then the training goes on "
                             "(docs/training.md, 'Budgets on the way')"));
    o.back().set = [](train_request& r, const std::string& t) {
        r.recipe.budgets = app::split_list<std::uint64_t>(t, [](const std::string& x) { return app::parse_count("--budgets", x); });
        if (r.recipe.budgets.empty()) throw config_error("--budgets", "give at least one token count.");
    };
    o.back().get = [](const train_request& r) { return app::joined(r.recipe.budgets); };
    o.push_back(declare<o_t>(
        "speed", "LIST",
        "the engine's speed settings turned on (docs/training.md, 'Speed'): all (async, fused_adamw, fused_loss, cuda_graph, and with "
        "--dtype bf16 bf16 weights with fp32 masters and a bf16 residual stream rounded stochastically, which trains as autocast does, "
        "and fracnas's own kernels compiled at run time by NVRTC: bf16_weights, residual_sr, loss_kernel, norm_kernel, adam_kernel, "
        "swiglu_kernel, fused_dense), none (recipe A's first loop), or a comma list of those (bf16_weights alone rounds the stream to "
        "nearest: faster, 1.6% higher perplexity on D), and flash_attention (SDPA's flash kernel instead of cuDNN's, slower on the "
        "H200), residual_fp32 (the stream in fp32, as autocast keeps it), norm_add (each block's residual adds in the LayerNorm after "
        "them; residual_sr implies it) and gemm_tune (with fused_dense: each GEMM shape's algorithm timed among cuBLASLt's "
        "candidates); the training is the same up to rounding"));
    o.back().set = [](train_request& r, const std::string& t) {
        const bool all = t == "all";
        eval::train_speed speed = all ? eval::train_speed{} : eval::no_speed_settings();
        if (!all && t != "none")
            for (const auto& name : app::split_list<std::string>(t, [](const std::string& x) { return x; }))
                if (!eval::enable_speed_setting(speed, name))
                    throw config_error("--speed",
                                       "unknown speed setting '" + name +
                                           "': all, none, or a comma list of async, fused_adamw, fused_loss, cuda_graph, bf16_weights, "
                                           "flash_attention, fused_dense, loss_kernel, norm_kernel, adam_kernel, swiglu_kernel, "
                                           "residual_fp32, norm_add, residual_sr, gemm_tune.");
        r.speed_all = all;
        r.recipe.speed = speed;
    };
    o.back().get = [](const train_request& r) {
        const auto names = eval::speed_setting_names(r.recipe.speed);
        return r.speed_all ? std::string("all") : names.empty() ? std::string("none") : app::joined(names);
    };
    o.push_back(app::whole_number(declare<o_t>("stop-after-steps", "N",
                                               "stop after N steps in all (status stopped, exit 0), saving the state when --state-dir is "
                                               "given: the same command continues it"),
                                  FRACNAS_FIELD(recipe.stop_after_steps)));
    o.back().default_note = "0: never";
    o.push_back(
        app::whole_number(declare<o_t>("seed", "S", "initialisation and the order of training windows"), FRACNAS_FIELD(recipe.seed)));
    o.push_back(app::whole_number(declare<o_t>("checkpoints", "N", "validation evaluations, evenly spaced in tokens"),
                                  FRACNAS_FIELD(recipe.checkpoints), count_range));
    o.push_back(app::whole_number(declare<o_t>("val-tokens", "N", "validation tokens scored, the split's first"),
                                  FRACNAS_FIELD(recipe.val_tokens)));
    o.push_back(app::choice(declare<o_t>("device", "NAME", "cpu or cuda"), FRACNAS_FIELD(device),
                            std::vector<device_choice>{device_choice::cpu, device_choice::cuda}));
    o.back().default_note = "cuda when LibTorch sees one, else cpu";
    o.push_back(app::whole_number(declare<o_t>("cuda-index", "N", "which visible CUDA device"), FRACNAS_FIELD(recipe.cuda_index)));
    o.push_back(app::choice(declare<o_t>("dtype", "NAME",
                                         "bf16 (cuda only: with --speed all bf16 weights, fp32 masters and residual stream; without "
                                         "bf16_weights autocast over fp32 weights) or fp32"),
                            FRACNAS_FIELD(dtype), std::vector<dtype_choice>{dtype_choice::fp32, dtype_choice::bf16}));
    o.back().default_note = "bf16 on cuda, fp32 on cpu";
    o.push_back(app::flag(declare<o_t>("json", "", "print one JSON object instead of the table"), FRACNAS_FIELD(json)));
    return o;
}

}  // namespace

eval::train_recipe train_request::recipe_a() {
    eval::train_recipe r;
    r.tokens = default_train_tokens;
    return r;
}

eval::train_recipe train_request::resolved_recipe(bool cuda_visible) const {
    eval::train_recipe r = recipe;
    r.device = app::resolve_device(device, cuda_visible);
    if (r.device == eval::device_kind::cpu && dtype == app::dtype_choice::bf16)
        throw config_error("--dtype", "bf16 autocast is for cuda; on the cpu the model trains in fp32.");
    r.bf16 = app::resolve_dtype(dtype, r.device) == eval::dtype_kind::bf16;
    // all (the default) with a bf16 dtype: bf16 weights with fp32 masters and a bf16 residual
    // stream rounded stochastically, and fracnas's kernels: within seed noise of autocast on D
    // (docs/results/training.md). The fp32 stream (residual_fp32) and the stream rounded to
    // nearest (bf16_weights alone: 1.6% higher perplexity there) are asked for by name
    auto& s = r.speed;
    if (speed_all)
        s.loss_kernel = s.bf16_weights = s.residual_sr = s.norm_kernel = s.adam_kernel = s.swiglu_kernel = s.fused_dense = r.bf16;
    if (s.bf16_weights && !r.bf16) throw config_error("--speed", "bf16_weights trains bf16 weights: it needs --dtype bf16 (on cuda).");
    if (s.bf16_weights && !s.fused_adamw)
        throw config_error("--speed", "bf16_weights needs fused_adamw, which updates the fp32 master weights.");
    if (s.residual_sr && s.residual_fp32)
        throw config_error("--speed", "residual_sr rounds a bf16 residual stream: it does not go with residual_fp32.");
    // a setting that would act on nothing is refused, not recorded as if it had run
    if (s.gemm_tune && !s.fused_dense) throw config_error("--speed", "gemm_tune times the GEMMs of fused_dense: it needs fused_dense.");
    if (s.swiglu_kernel && !r.bf16)
        throw config_error("--speed", "swiglu_kernel runs on bf16 activations: it needs --dtype bf16 (on cuda).");
    if (s.loss_kernel && (!r.bf16 || !s.fused_loss))
        throw config_error("--speed", "loss_kernel runs on the bf16 logits of fused_loss: it needs fused_loss and --dtype bf16 (on cuda).");
    for (const auto& [on, name] :
         {std::pair{s.norm_kernel, "norm_kernel"}, std::pair{s.adam_kernel, "adam_kernel"}, std::pair{s.residual_fp32, "residual_fp32"},
          std::pair{s.norm_add, "norm_add"}, std::pair{s.residual_sr, "residual_sr"}})
        if (on && !s.bf16_weights)
            throw config_error("--speed", std::string(name) + " acts on bf16 weights: it needs bf16_weights (and --dtype bf16, on cuda).");
    if (r.save_every > 0 && r.state_dir.empty()) throw config_error("--save-every", "--save-every goes with --state-dir.");
    return r;
}

const std::vector<train_option>& train_options() {
    static const std::vector<train_option> options = make_options();
    return options;
}

}  // namespace fracnas::cli
#endif
