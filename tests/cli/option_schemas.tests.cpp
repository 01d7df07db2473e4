// The option schemas of `fracnas optimize`, `eval` and `train` seen from the command line: every
// declared option is in the command's --help with its whole help line (range and default
// included), a value out of a declared range and a bad name exit 2 with one sentence naming the
// option; and the eval and train tables keep what every schema keeps (tests/app/option_checks.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "../app/option_checks.hpp"
#include "cli_support.hpp"
#include "fracnas/app/optimize_options.hpp"
#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/cli/eval_options.hpp"
#include "fracnas/cli/train_options.hpp"
#endif

using namespace fracnas;
using Catch::Matchers::Contains;
using test::check_usage_error;
using test::run_cli;

namespace {

// Runs of spaces and line breaks as one space: Boost wraps the help's lines.
std::string flattened(const std::string& text) {
    std::string out;
    for (const char ch : text) {
        const bool space = ch == ' ' || ch == '\n';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : ch;
    }
    return out;
}

// `fracnas COMMAND --help` lists every option of the table, each with its whole help line.
template <class O>
void check_help(const std::string& command, const std::vector<O>& table) {
    const test::outcome o = run_cli({command, "--help"});
    REQUIRE(o.code == 0);
    const std::string help = flattened(o.out);
    for (const auto& spec : table) {
        CAPTURE(spec.name);
        REQUIRE_THAT(help, Contains("--" + spec.name + (spec.is_switch() ? " " : " " + spec.value_name + " ")));
        REQUIRE_THAT(help, Contains(flattened(spec.help_line())));
        const std::string shown = test::options::shown_default(spec);
        if (!shown.empty()) REQUIRE_THAT(help, Contains(flattened("(default " + shown + ")")));
    }
}

// Each declared range's low end minus one (its high end plus one where a whole number's low end
// is 0) and each bad name, given
// alone after `before`, exit 2 with one line naming the option.
template <class O>
void check_refusals(const std::string& command, const std::vector<O>& table, const std::vector<std::string>& before = {}) {
    std::size_t refused = 0;
    for (const auto& spec : table) {
        CAPTURE(spec.name);
        std::vector<std::string> args = {command};
        args.insert(args.end(), before.begin(), before.end());
        args.push_back("--" + spec.name);
        if (spec.range) {
            const auto& r = *spec.range;
            auto outside = args;
            outside.push_back(app::decimal(r.lo >= 1 || !std::isfinite(r.hi) ? r.lo - 1 : r.hi + 1));  // a value of the option's kind
            check_usage_error(outside, "--" + spec.name + " must be ");
            ++refused;
        }
        if (!spec.choices.empty()) {
            auto bad = args;
            bad.push_back("bogus");
            check_usage_error(bad, "--" + spec.name + ": unknown ");
            check_usage_error(bad, spec.choices.back());
            ++refused;
        }
    }
    REQUIRE(refused > 0);
}

}  // namespace

TEST_CASE("fracnas optimize: every declared option in --help, out of range and bad names exit 2", "[cli][options]") {
    check_help("optimize", app::optimize_options());
    check_refusals("optimize", app::optimize_options());
}

#ifdef FRACNAS_HAVE_TORCH
TEST_CASE("fracnas eval: its schema, every declared option in --help, out of range and bad names exit 2", "[cli][options]") {
    test::options::check_table(cli::eval_options());
    check_help("eval", cli::eval_options());
    check_refusals("eval", cli::eval_options());
    // what a request resolves to: the architecture's context fills the unset token counts
    cli::eval_request r;
    nas::architecture a = nas::gpt2_small();
    a.context = 64;
    REQUIRE(r.measure_config(a).prefill_tokens == 64);
    REQUIRE(r.measure_config(a).decode_context == 63);
    REQUIRE(r.measure_config(a).dtype == eval::dtype_kind::fp32);  // cpu by default, so fp32
    for (const auto& [name, text] : {std::pair{"tokens", "16"}, std::pair{"context", "9"}, std::pair{"device", "cuda"}})
        app::find_option(cli::eval_options(), name)->set(r, text);
    app::find_option(cli::eval_options(), "eager")->set(r, "");
    const eval::gpt_measure_config m = r.measure_config(a);
    REQUIRE(m.prefill_tokens == 16);
    REQUIRE(m.decode_context == 9);
    REQUIRE(m.device == eval::device_kind::cuda);
    REQUIRE(m.dtype == eval::dtype_kind::bf16);  // auto: bf16 on cuda
    REQUIRE_FALSE(m.cuda_graphs);
    check_usage_error({"eval", "--preset", "gpt2-small", "--dtype", "auto"}, "--dtype: unknown dtype 'auto'; valid: fp32, bf16.");
    check_usage_error({"eval", "--preset", "gpt2-small", "--attention", "fast"},
                      "--attention: unknown attention 'fast'; valid: auto, flash, efficient, cudnn, math.");
    check_usage_error({"eval", "--preset", "gpt2-small", "--cuda-index", "99999999999"}, "--cuda-index is too large.");
}

TEST_CASE("fracnas train: its schema, every declared option in --help, out of range and bad names exit 2", "[cli][options]") {
    test::options::check_table(cli::train_options());
    check_help("train", cli::train_options());
    check_refusals("train", cli::train_options(), {"--from", "nowhere.h5"});  // --top goes with --from
    // the defaults are recipe A's with the CLI's budget
    const cli::train_request defaults;
    REQUIRE(defaults.recipe.tokens == cli::default_train_tokens);
    REQUIRE(app::find_option(cli::train_options(), "tokens")->help_line() == "training tokens (default 20000000)");
    REQUIRE(app::find_option(cli::train_options(), "lr")->help_line() == "peak learning rate (default 0.0006)");
    // --speed all resolves with the dtype; a list is taken as it is
    cli::train_request r;
    eval::train_recipe cpu = r.resolved_recipe(false);
    REQUIRE(cpu.device == eval::device_kind::cpu);
    REQUIRE_FALSE(cpu.bf16);
    REQUIRE_FALSE(cpu.speed.bf16_weights);
    eval::train_recipe gpu = r.resolved_recipe(true);
    REQUIRE(gpu.device == eval::device_kind::cuda);
    REQUIRE(gpu.bf16);
    REQUIRE((gpu.speed.bf16_weights && gpu.speed.residual_sr && gpu.speed.fused_dense && gpu.speed.swiglu_kernel));
    REQUIRE_FALSE(cpu.speed.swiglu_kernel);
    REQUIRE_FALSE(gpu.speed.residual_fp32);
    app::find_option(cli::train_options(), "speed")->set(r, "fused_loss,async");
    REQUIRE(eval::speed_setting_names(r.resolved_recipe(true).speed) == std::vector<std::string>{"async", "fused_loss"});
    // each setting named alone turns on that one, and is recorded by the same name
    for (const std::string name :
         {"async", "fused_adamw", "fused_loss", "cuda_graph", "bf16_weights", "flash_attention", "fused_dense", "loss_kernel",
          "norm_kernel", "adam_kernel", "swiglu_kernel", "residual_fp32", "norm_add", "residual_sr", "gemm_tune"}) {
        CAPTURE(name);
        auto speed = eval::no_speed_settings();
        REQUIRE(eval::enable_speed_setting(speed, name));
        REQUIRE(eval::speed_setting_names(speed) == std::vector<std::string>{name});
    }
    auto none = eval::no_speed_settings();
    REQUIRE_FALSE(eval::enable_speed_setting(none, "swiglu"));
    app::find_option(cli::train_options(), "save-every")->set(r, "5");
    REQUIRE_THROWS_WITH(r.resolved_recipe(false), "--save-every goes with --state-dir.");
    check_usage_error({"train", "--preset", "gpt2-small", "--sampling", "shuffled"},
                      "--sampling: unknown sampling 'shuffled'; valid: random, epoch.");
    check_usage_error({"train", "--preset", "gpt2-small", "--budgets", "1024,-1"},
                      "--budgets: expected a non-negative whole number, got '-1'.");
}
#endif
