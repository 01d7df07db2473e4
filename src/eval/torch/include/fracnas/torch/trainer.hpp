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

/// The learning-rate schedule after the linear warm-up. cosine: recipe A's, down to min_lr_ratio x
/// lr (reached one step after the last); it depends on the budget, so a training cannot continue
/// to a larger one.
/// wsd (warm-up, stable, decay): the peak rate until the last decay_share of the budget's steps,
/// then linear down to min_lr_ratio x lr; its warm-up is warmup_tokens long whatever the budget,
/// so a state saved in the stable phase continues to any larger budget unchanged.
enum class lr_schedule { cosine, wsd };
const char* to_string(lr_schedule s);

/// Where a step's windows start. random: recipe A's, uniform offsets drawn from the seed (a
/// window may overlap another and a token be seen twice before others once). epoch: the
/// non-overlapping windows of the split in a seeded random order, each once, then in a new order:
/// a budget up to one epoch repeats no token.
enum class window_sampling { random, epoch };
const char* to_string(window_sampling s);

/// How fast a step runs, not what it computes: every setting gives the same training up to the
/// rounding of floating-point sums (docs/training.md, "Speed"). All on by default; the
/// benchmark (benchmarks/train_speed.cpp) turns them on one after the other.
struct train_speed {
    /// No host synchronisation per step: the windows are drawn on the device from offsets
    /// precomputed from the seed, and the losses are read back every sync_every steps (the
    /// divergence check runs then, on every step's loss). Off: recipe A's first loop, which read
    /// each step's loss at once.
    bool async = true;
    /// at::_fused_adamw_ and a global-norm clip with no host synchronisation; off: torch::optim::AdamW
    /// and torch::nn::utils::clip_grad_norm_ (which reads the norm back).
    bool fused_adamw = true;
    /// The loss from features and the tied table a chunk of rows at a time (train_loss.hpp); off:
    /// the full logits, cast to fp32, then cross_entropy.
    bool fused_loss = true;
    /// On CUDA, with async and fused_adamw: the whole step (windows, forward, backward, clip,
    /// AdamW) captured once into a CUDA graph and replayed; the first steps run eagerly.
    bool cuda_graph = true;
    /// With a bf16 recipe (train_recipe::bf16) and fused_adamw: the model's weights, activations
    /// and gradients in bf16, AdamW updating fp32 master weights (the parameters as drawn; the
    /// gradients cast up, the masters rounded into the model after each step), instead of bf16
    /// autocast over fp32 weights: no casts per forward. With a bf16 residual stream (without
    /// residual_fp32) it rounds more than autocast: 1.6% higher perplexity on D at 10 M tokens over
    /// five seeds (docs/results/training.md). Off in these defaults; the CLI's "all" turns it on
    /// with residual_sr and the kernels below for a bf16 dtype.
    /// The saved state holds the fp32 masters, as the autocast training's holds its weights.
    bool bf16_weights = false;
    /// On CUDA: the training's attention by SDPA's flash kernel, cuDNN's turned off for the
    /// training's duration (LibTorch prefers cuDNN's on the H200). The same attention, 2-3% slower
    /// there (docs/results/training.md): off, and not in the CLI's "all".
    bool flash_attention = false;
    /// With bf16 weights (or fp32 on the CPU; not under autocast, whose casts it would skip): the
    /// linear layers' element-wise work in cuBLASLt epilogues: the bias gradients formed by the
    /// weight gradients' GEMMs, the MLP's GELU by its first GEMM, the residual adds by the
    /// projections (eval/torch/fused_train.hpp). The same gradients to rounding, fewer kernels;
    /// off here, in the CLI's "all" with a bf16 dtype (it acts with bf16 weights on the GPU).
    bool fused_dense = false;
    /// On CUDA with fused_loss and a bf16 recipe: each chunk's log-softmax, loss and logits
    /// gradient in one pass of a kernel of fracnas's own over the bf16 logits (compiled at run time
    /// by NVRTC; eval/torch/device_kernels.hpp) instead of LibTorch's cast, log-softmax, exp and
    /// scatter. Where NVRTC is missing, LibTorch's operators (the result's engine_note says so).
    /// Off in these defaults (the CPU's fp32 does not use it), on in the CLI's "all" with a bf16 dtype.
    bool loss_kernel = false;
    /// On CUDA with bf16 weights: the training's LayerNorms by kernels of fracnas's own (forward and
    /// input gradient a warp a row, the weight gradients summed in a fixed order) instead of LibTorch's;
    /// where NVRTC is missing, LibTorch's (the engine_note says so); RMSNorms by LibTorch's fused
    /// kernel (at::_fused_rms_norm, one pass forward and one backward) instead of its operators. In
    /// the CLI's "all" with bf16.
    bool norm_kernel = false;
    /// On CUDA with bf16 weights: AdamW's step by a kernel of fracnas's own, each element's bf16
    /// gradient, fp32 master, moments and bf16 weight read and written once (the clip's norm summed
    /// in a fixed order first), instead of LibTorch's casts, clip, fused AdamW and copies; where
    /// NVRTC is missing, LibTorch's (the engine_note says so). In the CLI's "all" with bf16.
    bool adam_kernel = false;
    /// On CUDA with a bf16 recipe: the Llama block's SwiGLU product and its gradient by kernels of
    /// fracnas's own, one pass each over the MLP's first projection output, instead of LibTorch's
    /// silu, mul and their backward (and the concatenation of the two halves' gradients); the same
    /// values to rounding. Where NVRTC is missing, LibTorch's (the engine_note says so). In the
    /// CLI's "all" with bf16. (The RMSNorm of that block takes LibTorch's fused kernel, forward and
    /// backward, with norm_kernel.)
    bool swiglu_kernel = false;
    /// With bf16 weights: the residual stream in fp32, as autocast keeps it (the embeddings' sum,
    /// each block's adds and the LayerNorms' inputs, each LayerNorm's output rounded to bf16;
    /// with norm_kernel and fused_dense fracnas's kernels take the fp32 input and add the layers'
    /// outputs to it), where bf16 weights alone round it to bf16 at every add. Not in the CLI's
    /// "all" (residual_sr is, faster with the same results).
    bool residual_fp32 = false;
    /// With bf16 weights: each block's residual adds in the LayerNorm after them (a kernel's pass
    /// with norm_kernel: the stream read, the layer's bf16 output added, the sum written and
    /// normalised), the attention's projection and the MLP writing their outputs alone instead of
    /// adding them to the stream in their GEMMs. A bf16 layer output is rounded before the add, as
    /// autocast rounds it. Not in the CLI's "all" (docs/results/training.md says what it measured).
    bool norm_add = false;
    /// With bf16 weights and a bf16 stream (without residual_fp32): norm_add, the stream's sums
    /// rounded to bf16 stochastically (unbiased: updates below the stream's step are kept on
    /// average, where rounding to nearest loses them), in the forward and in the stream's gradient
    /// (LayerNorm's backward), at every width, by fracnas's kernels (where NVRTC is missing,
    /// LibTorch's LayerNorms round to nearest and the engine_note says so). The random bits are a hash of the value, its place and a
    /// salt drawn from the seed: the same bits every run. In the CLI's "all" with bf16: autocast's
    /// results within seed noise (docs/results/training.md), faster than the fp32 stream.
    bool residual_sr = false;
    /// On CUDA with fused_dense: each of the linear layers' GEMM shapes takes the fastest of up to
    /// eight of cuBLASLt's heuristic algorithms, timed once when first met outside the graph's
    /// capture (eval/torch/fused_linear.hpp), instead of the heuristic's first. The same GEMMs to
    /// rounding; the choice can differ between processes where two algorithms are within 3%. Not
    /// in the CLI's "all".
    bool gemm_tune = false;
    std::uint32_t sync_every = 64;  ///< with async: steps between reads of the losses
};

/// Every setting of train_speed off: recipe A's first loop.
train_speed no_speed_settings() noexcept;

/// Turns on the setting named (async, fused_adamw, fused_loss, cuda_graph, bf16_weights,
/// flash_attention, fused_dense, loss_kernel, norm_kernel, adam_kernel, swiglu_kernel, residual_fp32, norm_add, residual_sr, gemm_tune);
/// false when there is no such setting. The one list of names for the CLI's --speed and the benchmark's ladder.
bool enable_speed_setting(train_speed& speed, const std::string& name) noexcept;

/// The names of the settings turned on, in enable_speed_setting's order (a result's record of
/// how it was trained; empty: recipe A's first loop).
std::vector<std::string> speed_setting_names(const train_speed& speed);

/// Recipe A (docs/training.md): AdamW, linear warm-up then cosine decay to min_lr_ratio x lr,
/// gradient clipping by global norm, bf16 autocast on CUDA (fp32 master weights), random
/// windows of seq_len + 1 tokens from the training split, a fixed budget of training tokens.
/// The defaults are the recipe; the CLI exposes them for small runs and tests.
struct train_recipe {
    std::uint64_t tokens = 0;     ///< training tokens (steps = tokens / (batch x seq_len), at least 1)
    std::uint32_t batch = 32;     ///< sequences per step
    std::uint32_t seq_len = 512;  ///< tokens per sequence (<= the architecture's context)
    double lr = 6e-4;             ///< peak learning rate
    double min_lr_ratio = 0.1;    ///< the cosine ends at lr x this
    double warmup_share = 0.05;   ///< share of the steps in linear warm-up (at least one step)
    double weight_decay = 0.1;    ///< AdamW's, on matrices and embeddings; none on biases and norms
    double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8;
    double clip = 1.0;                    ///< global gradient-norm clip (0: none)
    std::uint64_t seed = 1;               ///< initialisation and the order of training windows
    std::uint32_t checkpoints = 4;        ///< validation evaluations, evenly spaced in tokens; the last at the end
    std::uint64_t val_tokens = 1u << 20;  ///< validation tokens scored each time (the split's first; fewer if it is smaller)
    device_kind device = device_kind::cpu;
    int cuda_index = 0;
    bool bf16 = true;  ///< bf16 autocast on CUDA (ignored on the CPU: fp32), or bf16 weights on either with train_speed::bf16_weights
    /// Divergence: a non-finite loss, or a smoothed training loss above the initial loss plus
    /// this many nats, ends the run with status diverged.
    double divergence_nats = 2.0;
    lr_schedule schedule = lr_schedule::cosine;
    window_sampling sampling = window_sampling::random;
    double decay_share = 0.2;                ///< wsd: share of the budget's steps in the final decay
    std::uint64_t warmup_tokens = 1u << 20;  ///< wsd: warm-up length in tokens (cosine uses warmup_share)
    /// Resumable training (docs/training.md, "Resuming"): a folder where the state (model,
    /// optimiser, data position, RNG, what was measured so far) is saved, and from which a
    /// training with the same architecture, data and recipe continues. Empty: nothing saved.
    std::string state_dir;
    std::uint64_t save_every = 0;  ///< with state_dir: steps between saved states (0: only the end and, under wsd, the decay start)
    /// Stop after this many steps in all (0: never), saving the state when state_dir is set, as
    /// a job whose time is up: status stopped, and the same call again continues.
    std::uint64_t stop_after_steps = 0;
    /// With wsd: smaller budgets (training tokens, each below `tokens`) measured on the way by
    /// the same training, as promotion through states would (docs/training.md, "Budgets on the
    /// way"). At a budget's decay start the model and optimiser are kept, its decay is run and
    /// validated, then they are put back and the training goes on at the peak rate: each one's
    /// result is that of a wsd training of that budget, for the extra cost of its decay steps.
    /// Needs fused_adamw.
    std::vector<std::uint64_t> budgets;
    train_speed speed;
};

/// A contiguous run of token ids (each < vocab), not owned.
struct token_span {
    const std::uint32_t* data = nullptr;
    std::size_t size = 0;
};

struct train_checkpoint {
    std::uint64_t step = 0, tokens = 0;  ///< after this many steps and training tokens
    double train_loss = 0.0;             ///< mean training loss over the steps since the previous checkpoint
    double val_loss = 0.0;               ///< mean cross-entropy on the validation tokens, nats per token
    double val_perplexity = 0.0;         ///< exp(val_loss)
    double seconds = 0.0;                ///< wall time since training began (validation included)
};

/// A smaller budget of train_recipe::budgets, measured on the way.
struct budget_result {
    std::uint64_t budget = 0;             ///< as asked, in tokens
    std::uint64_t steps = 0, tokens = 0;  ///< its steps (planned_steps at that budget) and tokens trained
    double train_loss = 0.0;              ///< mean training loss over its decay steps
    double val_loss = 0.0;                ///< at its last step, nats per token
    double val_perplexity = 0.0;          ///< exp(val_loss)
    double seconds = 0.0;                 ///< training seconds up to its decay start plus its decay's (validation excluded)
};

/// How a training ended: outcome.hpp's vocabulary (a training gives ok, invalid, out_of_memory,
/// diverged, error, or stopped: ended by stop_after_steps before its budget, its state saved when
/// state_dir is set).
using train_status = outcome_status;

struct train_result {
    train_status status = train_status::ok;
    std::string message;     ///< empty when ok; one sentence otherwise
    nas::architecture arch;  ///< as trained: vocab is the data's
    nas::parameter_counts params;
    std::uint64_t steps = 0, tokens = 0;  ///< done (fewer than planned when it failed)
    std::vector<double> loss_curve;       ///< training loss of every step
    std::vector<train_checkpoint> checkpoints;
    std::vector<budget_result> budgets;  ///< the recipe's smaller budgets reached, smallest first
    double tokens_per_second = 0.0;      ///< training tokens over training time (validation and the budgets' decays excluded)
    /// Tokens per second after the first sync point at or past step 16 (warm-up and graph
    /// capture excluded); 0 when the run was shorter.
    double steady_tokens_per_second = 0.0;
    std::uint64_t resumed_from_step = 0;  ///< the step of the state it continued from (0: from initialisation)
    std::string engine_note;              ///< empty, or why a speed setting could not be used (the CUDA graph's capture failed)
    double wall_seconds = 0.0;
    std::string device_name;
};

/// The optimiser steps a recipe takes: tokens / (batch x seq_len), at least 1.
std::uint64_t planned_steps(const train_recipe& r) noexcept;

/// The first token of every window of `steps` steps (steps x batch offsets into a split of
/// `train_size` tokens, step by step): a function of the seed and the sampling alone, so a
/// resumed training reads what the uninterrupted one read.
std::vector<std::int64_t> training_windows(const train_recipe& r, std::uint64_t steps, std::size_t train_size);

/// The learning rate of step `step` (from 0) of a recipe's planned steps.
double learning_rate(const train_recipe& r, std::uint64_t step) noexcept;

/// Model FLOPs per training token (PaLM's convention, as nanoGPT and llm.c count MFU): 6 x the
/// weights of every matrix product (the decoder's, the tied output table and the d_embed
/// projections) + 12 x n_layer x d_model x seq_len for the attention scores and values,
/// forward and backward, the causal half not discounted. Validates arch (config_error).
double training_flops_per_token(const nas::architecture& arch, std::uint32_t seq_len);

/// Throws config_error naming the field when `recipe` or the data cannot train `arch` (its vocab
/// replaced by `vocab`): the checks train_gpt makes before building anything, for a caller that
/// must refuse a whole list of trainings before the first one (fracnas train --from).
void check_training(const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val, const train_recipe& recipe);

/// Trains `arch` with its vocab replaced by `vocab` (the tokenizer's) on `train`, scoring
/// `val`. Never throws: an invalid recipe or architecture, an out-of-memory, a divergence and any
/// other failure are in the result's status and message, with what was done until then.
train_result train_gpt(const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val,
                       const train_recipe& recipe) noexcept;

}  // namespace fracnas::eval
