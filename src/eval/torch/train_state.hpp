// The saved state of a training (docs/training.md, "Resuming"): what a killed or promoted
// training continues from. One file per state, written whole to a temporary name and renamed.
// Private to src/eval/torch/; it saves and checks, it does not train.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fracnas/torch/trainer.hpp"

namespace fracnas::eval::torch_train {

/// Everything a training needs to continue exactly: the tensors (model parameters by name, the
/// optimiser's moments and step counts in parameter order) and what was measured so far. The
/// data position is the step: the windows of step s are the seed's stream, drawn step by step,
/// and nothing else is random after initialisation.
struct saved_state {
    std::string identity;            ///< identity(): what must match to continue
    std::uint64_t budget = 0;        ///< the token budget of the training that saved it
    std::uint64_t step = 0;          ///< steps done
    double training_seconds = 0.0;   ///< summed over the processes that trained it
    std::vector<double> loss_curve;  ///< one per step done
    std::vector<train_checkpoint> checkpoints;
    std::vector<budget_result> budgets;                        ///< smaller budgets measured on the way (train_recipe::budgets)
    std::vector<std::pair<std::string, torch::Tensor>> model;  ///< named parameters
    std::vector<torch::Tensor> exp_avg, exp_avg_sq, steps;     ///< AdamW's state, parameter order
};

/// The text that two trainings must share for one to continue the other: the architecture (with
/// the data's vocabulary), a fingerprint of both token splits, and every recipe field but the
/// budget, the checkpoint count, the state folder and the speed settings.
std::string identity(const nas::architecture& arch, token_span train, token_span val, const train_recipe& r);

/// Writes `s` to `path` (through path + ".tmp", then a rename). Throws config_error naming the
/// path when it cannot be written.
void save_state(const saved_state& s, const std::string& path);

/// Reads the state at `path`; nullopt when there is no such file. Throws config_error with one
/// sentence naming the file when it exists but is not a complete fracnas training state.
std::optional<saved_state> load_state(const std::string& path, const torch::Device& device);

}  // namespace fracnas::eval::torch_train
