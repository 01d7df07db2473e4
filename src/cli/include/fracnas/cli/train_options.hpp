// The option schema of `fracnas train` (only in builds with LibTorch): each option declared once
// (option.hpp's record: name, value, help, range, default, how its text is read into
// cli::train_request), and the request it fills. The Boost table, the help with ranges and
// defaults, the range checks and the parsing are derived from it (src/cli/train_command.cpp). The
// recipe's own rules (a learning rate > 0, a decay share in [0, 1], ...) are the trainer's
// (eval::check_training), which names the option too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fracnas/app/option.hpp"
#include "fracnas/app/search_config.hpp"
#include "fracnas/torch/trainer.hpp"

namespace fracnas::cli {

/// Recipe A's training budget when --tokens is not given.
inline constexpr std::uint64_t default_train_tokens = 20'000'000;

/// What a `fracnas train` command line asks, its values read and range-checked; the defaults are
/// those of a training without options (recipe A, docs/training.md).
struct train_request {
    std::optional<std::string> arch;            ///< --arch: the canonical text (its vocab is replaced by the data's)
    std::optional<app::reference_kind> preset;  ///< --preset: a reference model instead of --arch
    std::optional<std::string> from;            ///< --from: a search's archive whose best architectures are trained
    std::optional<std::uint64_t> top;           ///< with --from: how many, >= 1; unset: 3
    std::optional<std::string> data;            ///< the prepared corpus folder (train.tokens, val.tokens)
    /// Recipe A with default_train_tokens; device, bf16 and the kernels of --speed all are set by
    /// recipe() from the three settings below.
    eval::train_recipe recipe = recipe_a();
    app::device_choice device = app::device_choice::automatic;  ///< cpu | cuda; auto: cuda when LibTorch sees one
    app::dtype_choice dtype = app::dtype_choice::automatic;     ///< fp32 | bf16; auto: bf16 on cuda, fp32 on cpu
    /// --speed all (the default): recipe.speed's defaults, and with a bf16 dtype bf16 weights with
    /// fp32 masters and residual stream and fracnas's kernels; false: recipe.speed as listed.
    bool speed_all = true;
    bool json = false;  ///< one JSON object instead of the table

    /// The recipe with its device and dtype resolved (cuda_visible: whether LibTorch sees a CUDA
    /// device) and --speed all's settings for that dtype. Throws config_error naming the option
    /// for what no option alone refuses: bf16 on the cpu, speed settings that need others or would
    /// act on nothing, --save-every without --state-dir.
    eval::train_recipe resolved_recipe(bool cuda_visible) const;
    /// Recipe A with the CLI's default budget.
    static eval::train_recipe recipe_a();
};

using train_option = app::option<train_request>;

/// Every option of `fracnas train` (but --help), in the order of its help.
const std::vector<train_option>& train_options();

}  // namespace fracnas::cli
