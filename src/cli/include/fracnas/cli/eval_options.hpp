// The option schema of `fracnas eval`: each option declared once (option.hpp's record: name,
// value, help, range, default, how its text is read into cli::eval_request), and the request it
// fills. The Boost table, the help with ranges and defaults, the range checks and the parsing are
// derived from it (src/cli/eval_command.cpp). Standard library and app only; the measuring is
// LibTorch's (eval::evaluate_gpt), which checks what depends on the architecture.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fracnas/app/option.hpp"
#include "fracnas/app/search_config.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::cli {

/// What a `fracnas eval` command line asks, its values read and range-checked; the defaults are
/// those of an eval without options.
struct eval_request {
    std::optional<std::string> arch;                         ///< --arch: the canonical text
    std::optional<app::reference_kind> preset;               ///< --preset: a reference model instead of --arch
    app::device_choice device = app::device_choice::cpu;     ///< cpu | cuda
    app::dtype_choice dtype = app::dtype_choice::automatic;  ///< fp32 | bf16; auto: bf16 on cuda, fp32 on cpu
    /// What to measure and how (prefill, decode, scenario, grad-norm, batch, repeats, attention,
    /// ...): device and dtype are resolved from the two above, the prefill tokens and the decode
    /// context from the two below, by measure_config().
    eval::gpt_measure_config measure;
    std::optional<std::uint32_t> tokens;           ///< prefill tokens per sequence; unset: the architecture's context
    std::optional<std::uint32_t> context;          ///< cached tokens of the decode step; unset: the context - 1
    std::optional<app::reference_kind> reference;  ///< also time this model the same way and report the ratios
    bool eager = false;                            ///< on cuda, eager execution instead of CUDA-graph replay
    bool no_flush = false;                         ///< on cuda, no L2 overwrite between timed runs
    bool kernels = false;                          ///< list the nodes of the captured graphs
    bool json = false;                             ///< one JSON object instead of the table

    /// The measurement settings for `arch`: measure with the device, dtype, graph and flush
    /// settings resolved and the token counts defaulted from arch's context.
    eval::gpt_measure_config measure_config(const nas::architecture& arch) const;
};

using eval_option = app::option<eval_request>;

/// Every option of `fracnas eval` (but --help), in the order of its help.
const std::vector<eval_option>& eval_options();

}  // namespace fracnas::cli
