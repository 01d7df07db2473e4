// Training one GPT candidate in LibTorch with one fixed recipe (issue 12): the short-training
// fidelity that checks the decoder-parameter proxy. Standard types only (no LibTorch include):
// callers link fracnas_torch, the one target that defines these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

namespace fracnas::eval {

/// Recipe A (docs/training.md): AdamW, linear warm-up then cosine decay to min_lr_ratio x lr,
/// gradient clipping by global norm, bf16 autocast on CUDA (fp32 master weights), random
/// windows of seq_len + 1 tokens from the training split, a fixed budget of training tokens.
/// The defaults are the recipe; the CLI exposes them for small runs and tests.
struct train_recipe {
    std::uint64_t tokens = 0;             ///< training tokens (steps = tokens / (batch x seq_len), at least 1)
    std::uint32_t batch = 32;             ///< sequences per step
    std::uint32_t seq_len = 512;          ///< tokens per sequence (<= the architecture's context)
    double lr = 6e-4;                     ///< peak learning rate
    double min_lr_ratio = 0.1;            ///< the cosine ends at lr x this
    double warmup_share = 0.05;           ///< share of the steps in linear warm-up (at least one step)
    double weight_decay = 0.1;            ///< AdamW's, on matrices and embeddings; none on biases and norms
    double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8;
    double clip = 1.0;                    ///< global gradient-norm clip (0: none)
    std::uint64_t seed = 1;               ///< initialisation and the order of training windows
    std::uint32_t checkpoints = 4;        ///< validation evaluations, evenly spaced in tokens; the last at the end
    std::uint64_t val_tokens = 1u << 20;  ///< validation tokens scored each time (the split's first; fewer if it is smaller)
    device_kind device = device_kind::cpu;
    int cuda_index = 0;
    bool bf16 = true;                     ///< bf16 autocast on CUDA (ignored on the CPU: fp32)
    /// Divergence: a non-finite loss, or a smoothed training loss above the initial loss plus
    /// this many nats, ends the run with status diverged.
    double divergence_nats = 2.0;
};

/// A contiguous run of token ids (each < vocab), not owned.
struct token_span {
    const std::uint32_t* data = nullptr;
    std::size_t size = 0;
};

struct train_checkpoint {
    std::uint64_t step = 0, tokens = 0;   ///< after this many steps and training tokens
    double train_loss = 0.0;              ///< mean training loss over the steps since the previous checkpoint
    double val_loss = 0.0;                ///< mean cross-entropy on the validation tokens, nats per token
    double val_perplexity = 0.0;          ///< exp(val_loss)
    double seconds = 0.0;                 ///< wall time since training began (validation included)
};

enum class train_status { ok, invalid, out_of_memory, diverged, error };
const char* to_string(train_status s);

struct train_result {
    train_status status = train_status::ok;
    std::string message;                  ///< empty when ok; one sentence otherwise
    nas::architecture arch;               ///< as trained: vocab is the data's
    nas::parameter_counts params;
    std::uint64_t steps = 0, tokens = 0;  ///< done (fewer than planned when it failed)
    std::vector<double> loss_curve;       ///< training loss of every step
    std::vector<train_checkpoint> checkpoints;
    double tokens_per_second = 0.0;       ///< training tokens over training time (validation excluded)
    double wall_seconds = 0.0;
    std::string device_name;
};

/// The optimiser steps a recipe takes: tokens / (batch x seq_len), at least 1.
std::uint64_t planned_steps(const train_recipe& r) noexcept;

/// Trains `arch` with its vocab replaced by `vocab` (the tokenizer's) on `train`, scoring
/// `val`. Never throws: an invalid recipe or architecture, an out-of-memory, a divergence and any
/// other failure are in the result's status and message, with what was done until then.
train_result train_gpt(const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val,
                       const train_recipe& recipe) noexcept;

}  // namespace fracnas::eval
