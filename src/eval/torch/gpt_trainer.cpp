// Training one GPT candidate with recipe A (trainer.hpp, docs/training.md): the model is the
// evaluator's (gpt_model.hpp), built in fp32 on its device; on CUDA its forward runs under bf16
// autocast, or the model is held in bf16 with fp32 masters for AdamW (train_speed::bf16_weights).
// Everything that fails becomes the result's status and message.
#include "fracnas/torch/trainer.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include <sys/stat.h>

#include "device_kernels.hpp"
#include "failures.hpp"
#include "fracnas/error.hpp"
#include "fused_linear.hpp"
#include "gpt_model.hpp"
#include "graph_runner.hpp"
#include "train_loss.hpp"
#include "train_state.hpp"

namespace fracnas::eval {

const char* to_string(lr_schedule s) {
    return s == lr_schedule::wsd ? "wsd" : "cosine";
}

train_speed no_speed_settings() noexcept {
    train_speed s;
    s.async = s.fused_adamw = s.fused_loss = s.cuda_graph = false;
    return s;
}

namespace {

// the settings' names, in the order the benchmark's ladder turns them on
constexpr std::pair<const char*, bool train_speed::*> speed_names[] = {{"async", &train_speed::async},
                                                                       {"fused_adamw", &train_speed::fused_adamw},
                                                                       {"fused_loss", &train_speed::fused_loss},
                                                                       {"cuda_graph", &train_speed::cuda_graph},
                                                                       {"bf16_weights", &train_speed::bf16_weights},
                                                                       {"flash_attention", &train_speed::flash_attention},
                                                                       {"fused_dense", &train_speed::fused_dense},
                                                                       {"loss_kernel", &train_speed::loss_kernel},
                                                                       {"norm_kernel", &train_speed::norm_kernel},
                                                                       {"adam_kernel", &train_speed::adam_kernel},
                                                                       {"swiglu_kernel", &train_speed::swiglu_kernel},
                                                                       {"residual_fp32", &train_speed::residual_fp32},
                                                                       {"norm_add", &train_speed::norm_add},
                                                                       {"residual_sr", &train_speed::residual_sr},
                                                                       {"gemm_tune", &train_speed::gemm_tune}};

}  // namespace

bool enable_speed_setting(train_speed& speed, const std::string& name) noexcept {
    for (const auto& [n, field] : speed_names)
        if (name == n) {
            speed.*field = true;
            return true;
        }
    return false;
}

std::vector<std::string> speed_setting_names(const train_speed& speed) {
    std::vector<std::string> out;
    for (const auto& [n, field] : speed_names)
        if (speed.*field) out.emplace_back(n);
    return out;
}

std::uint64_t planned_steps(const train_recipe& r) noexcept {
    const std::uint64_t per_step = std::uint64_t{r.batch} * r.seq_len;
    return per_step == 0 ? 1 : std::max<std::uint64_t>(1, r.tokens / per_step);
}

const char* to_string(window_sampling s) {
    return s == window_sampling::epoch ? "epoch" : "random";
}

std::vector<std::int64_t> training_windows(const train_recipe& r, std::uint64_t steps, std::size_t train_size) {
    std::mt19937_64 order(r.seed * 0x9e3779b97f4a7c15ULL + 0x7f4a7c15ULL);
    std::vector<std::int64_t> out(static_cast<std::size_t>(steps) * r.batch);
    const auto T = static_cast<std::int64_t>(r.seq_len);
    if (r.sampling == window_sampling::random) {
        // step s's B offsets are draws s B .. s B + B - 1 of one stream (recipe A's order)
        std::uniform_int_distribution<std::int64_t> offset(0, static_cast<std::int64_t>(train_size) - T - 1);
        for (auto& o : out) o = offset(order);
        return out;
    }
    // every window [kT, kT + T + 1) that fits, in a new Fisher-Yates order each epoch
    std::vector<std::int64_t> windows(static_cast<std::size_t>((static_cast<std::int64_t>(train_size) - 1) / T));
    for (std::size_t k = 0; k < windows.size(); ++k) windows[k] = static_cast<std::int64_t>(k) * T;
    std::size_t next = windows.size();
    for (auto& o : out) {
        if (next == windows.size()) {
            for (std::size_t i = windows.size(); i > 1; --i)
                std::swap(windows[i - 1], windows[std::uniform_int_distribution<std::size_t>(0, i - 1)(order)]);
            next = 0;
        }
        o = windows[next++];
    }
    return out;
}

namespace {

// The first step of wsd's decay (the steps themselves for cosine, which has no stable phase).
std::uint64_t decay_start(const train_recipe& r) noexcept {
    const std::uint64_t steps = planned_steps(r);
    if (r.schedule != lr_schedule::wsd) return steps;
    return steps - static_cast<std::uint64_t>(std::llround(r.decay_share * static_cast<double>(steps)));
}

}  // namespace

double learning_rate(const train_recipe& r, std::uint64_t step) noexcept {
    const std::uint64_t steps = planned_steps(r);
    const double floor = r.lr * r.min_lr_ratio;
    if (r.schedule == lr_schedule::wsd) {
        const std::uint64_t per_step = std::max<std::uint64_t>(1, std::uint64_t{r.batch} * r.seq_len);
        const std::uint64_t warm = std::max<std::uint64_t>(1, (r.warmup_tokens + per_step / 2) / per_step);
        const std::uint64_t start = decay_start(r);
        if (step < warm) return r.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
        if (step < start) return r.lr;
        const double progress = std::min(1.0, static_cast<double>(step - start + 1) / static_cast<double>(steps - start));
        return r.lr - progress * (r.lr - floor);  // linear, the floor at the last step
    }
    // linear warm-up over a share of the steps, then cosine down to the floor at the last step
    const std::uint64_t warm =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(r.warmup_share * static_cast<double>(steps))));
    if (step < warm) return r.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
    const double span = static_cast<double>(std::max<std::uint64_t>(1, steps - warm));
    const double progress = std::min(1.0, static_cast<double>(step - warm) / span);
    const double pi = std::acos(-1.0);
    return floor + 0.5 * (1.0 + std::cos(pi * progress)) * (r.lr - floor);
}

double training_flops_per_token(const nas::architecture& arch, std::uint32_t seq_len) {
    const double matmul_weights = static_cast<double>(nas::count_parameters(arch).decoder + nas::embedding_matmul_weights(arch));
    return 6.0 * matmul_weights + 12.0 * arch.n_layer * static_cast<double>(arch.d_model) * seq_len;
}

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Throws config_error naming the field for a recipe or data that cannot be trained.
void check(const train_recipe& r, const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val) {
    if (r.tokens == 0) throw config_error("tokens", "the training budget must be at least one token.");
    if (r.batch == 0) throw config_error("batch", "the batch must hold at least one sequence.");
    if (r.seq_len == 0 || r.seq_len > arch.context)
        throw config_error("seq-len",
                           "the sequence length must be between 1 and the architecture's context (" + std::to_string(arch.context) + ").");
    if (!(r.lr > 0.0) || !std::isfinite(r.lr)) throw config_error("lr", "the learning rate must be a positive number.");
    if (!(r.min_lr_ratio >= 0.0 && r.min_lr_ratio <= 1.0))
        throw config_error("min-lr-ratio", "the final learning-rate ratio must be between 0 and 1.");
    if (!(r.warmup_share >= 0.0 && r.warmup_share < 1.0)) throw config_error("warmup", "the warm-up share must be at least 0 and below 1.");
    if (!(r.weight_decay >= 0.0) || !(r.clip >= 0.0)) throw config_error("weight-decay", "weight decay and clipping must not be negative.");
    if (r.checkpoints == 0) throw config_error("checkpoints", "at least one validation checkpoint is needed.");
    if (!(r.decay_share >= 0.0 && r.decay_share <= 1.0)) throw config_error("decay", "the decay share must be between 0 and 1.");
    if (r.speed.sync_every == 0) throw config_error("sync-every", "the losses must be read at least every step (sync_every >= 1).");
    if (!r.budgets.empty() && r.schedule != lr_schedule::wsd)
        throw config_error("budgets", "smaller budgets on the way need the wsd schedule (cosine's decay depends on the budget).");
    for (const auto b : r.budgets) {
        train_recipe small = r;
        small.tokens = b;
        if (b < std::uint64_t{r.batch} * r.seq_len || planned_steps(small) >= planned_steps(r))
            throw config_error("budgets", "the budget " + std::to_string(b) + " must be at least one step (" +
                                              std::to_string(std::uint64_t{r.batch} * r.seq_len) +
                                              " tokens) and fewer steps than the training's " + std::to_string(planned_steps(r)) + ".");
    }
    if (!r.budgets.empty() && !r.speed.fused_adamw)
        throw config_error("budgets", "smaller budgets on the way need the fused AdamW (train_speed::fused_adamw), whose state is kept.");
    if (r.speed.bf16_weights && r.bf16 && !r.speed.fused_adamw)
        throw config_error("speed", "bf16 weights need the fused AdamW (train_speed::fused_adamw), which updates their fp32 masters.");
    if (!r.state_dir.empty() && !r.speed.fused_adamw)
        throw config_error("state-dir", "saving a training state needs the fused AdamW (train_speed::fused_adamw).");
    if (vocab == 0) throw config_error("vocab", "the data's vocabulary is empty.");
    const std::size_t need = static_cast<std::size_t>(r.seq_len) + 1;
    if (train.size < need)
        throw config_error("data", "the training split holds " + std::to_string(train.size) + " tokens, fewer than one sequence of " +
                                       std::to_string(need) + ".");
    if (std::min<std::uint64_t>(val.size, r.val_tokens) < need)
        throw config_error("data", "the validation tokens scored (" + std::to_string(std::min<std::uint64_t>(val.size, r.val_tokens)) +
                                       ") are fewer than one sequence of " + std::to_string(need) + ".");
    // read_token_file checks this too, but train_gpt takes any span: on CUDA an id outside the
    // table would be a device-side assert, which leaves the device unusable for the process
    for (const token_span s : {train, val})
        for (std::size_t i = 0; i < s.size; ++i)
            if (s.data[i] >= vocab)
                throw config_error(
                    "data", "token id " + std::to_string(s.data[i]) + " is outside the vocabulary of " + std::to_string(vocab) + ".");
}

// Token ids on the device as int64, the form embedding and cross_entropy take.
torch::Tensor to_device(token_span s, std::size_t n, const torch::Device& device) {
    std::vector<std::int32_t> ids(s.data, s.data + n);
    return torch::from_blob(ids.data(), {static_cast<std::int64_t>(n)}, torch::kInt32).to(device, torch::kInt64);
}

// bf16 autocast on CUDA for the scope's forward passes; the backward runs outside it. Its cast
// cache is off: each weight is cast once per forward anyway, and a cached cast made before a
// graph capture would be read, stale, by every replay.
class autocast_scope {
public:
    explicit autocast_scope(bool on) : on_(on) {
        if (!on_) return;
        cache_ = at::autocast::is_autocast_cache_enabled();
        at::autocast::set_autocast_cache_enabled(false);
        at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
    }
    ~autocast_scope() {
        if (!on_) return;
        at::autocast::set_autocast_enabled(at::kCUDA, false);
        at::autocast::set_autocast_cache_enabled(cache_);
    }
    autocast_scope(const autocast_scope&) = delete;
    autocast_scope& operator=(const autocast_scope&) = delete;

private:
    bool on_;
    bool cache_ = true;
};

// cuDNN's attention off for the scope (SDPA then takes its flash kernel), as it was after.
class no_cudnn_attention {
public:
    explicit no_cudnn_attention(bool on) : on_(on) {
        if (!on_) return;
        was_ = at::globalContext().userEnabledCuDNNSDP();
        at::globalContext().setSDPUseCuDNN(false);
    }
    ~no_cudnn_attention() {
        if (on_) at::globalContext().setSDPUseCuDNN(was_);
    }
    no_cudnn_attention(const no_cudnn_attention&) = delete;
    no_cudnn_attention& operator=(const no_cudnn_attention&) = delete;

private:
    bool on_;
    bool was_ = true;
};

// Mean next-token cross-entropy of windows x (n, T) against their targets y (n T): with
// fused_loss from the features and the output table (the tied token table, or lm_head) a chunk at a time (train_loss.hpp; with
// loss_kernel its softmax in one kernel's pass), else from the full logits cast to fp32. The
// forward under bf16 autocast when `autocast`.
torch::Tensor next_token_loss(torch_model::Gpt& model, const torch::Tensor& x, const torch::Tensor& y, const train_speed& speed,
                              bool autocast) {
    const auto rows = y.size(0);
    autocast_scope scope(autocast);
    if (speed.fused_loss) {
        const auto h = model->features(x).reshape({rows, -1});  // (n T, e)
        const auto& table = model->output_table();
        const auto vocab = table.size(0);
        return torch_train::linear_cross_entropy(h, table, y, torch_train::loss_chunk_rows(rows, vocab),
                                                 autocast ? at::kBFloat16 : h.scalar_type(), speed.loss_kernel);
    }
    const auto logits = model->forward(x);  // (n, T, vocab)
    return torch::nn::functional::cross_entropy(logits.reshape({rows, -1}).to(torch::kFloat32), y);
}

// Mean next-token cross-entropy (nats) over the non-overlapping windows of `val`.
double validation_loss(torch_model::Gpt& model, const torch::Tensor& val, const train_recipe& r, bool autocast) {
    torch::NoGradGuard no_grad;
    model->eval();
    const std::int64_t T = r.seq_len, windows = (val.size(0) - 1) / T;
    double sum = 0.0;
    for (std::int64_t w0 = 0; w0 < windows; w0 += r.batch) {
        const std::int64_t n = std::min<std::int64_t>(r.batch, windows - w0);
        const auto x = val.narrow(0, w0 * T, n * T).view({n, T});
        const auto y = val.narrow(0, w0 * T + 1, n * T).view({n * T});
        sum += next_token_loss(model, x, y, r.speed, autocast).item<double>() * static_cast<double>(n * T);
    }
    model->train();
    return sum / static_cast<double>(windows * T);
}

// AdamW with two groups (decay on matrices and tables, none on biases and norms) as
// at::_fused_adamw_ computes it, its state kept here so that it can be saved and restored.
class fused_adamw {
public:
    fused_adamw(std::vector<torch::Tensor> decay, std::vector<torch::Tensor> no_decay, const train_recipe& r) : r_(r) {
        groups_[0] = std::move(decay);
        groups_[1] = std::move(no_decay);
        for (const auto& g : groups_)
            for (const auto& p : g) {
                exp_avg.push_back(torch::zeros_like(p));
                exp_avg_sq.push_back(torch::zeros_like(p));
                steps.push_back(torch::zeros({}, p.options().dtype(torch::kFloat32)));
            }
    }
    // lr: a 0-d fp32 tensor on the parameters' device (read there: no host value in a graph)
    void step(const torch::Tensor& lr) {
        std::size_t k = 0;
        for (int g = 0; g < 2; ++g) {
            std::vector<torch::Tensor> p, grad, m, v, s;
            for (const auto& t : groups_[g]) {
                if (t.grad().defined()) {
                    p.push_back(t);
                    grad.push_back(t.grad());
                    m.push_back(exp_avg[k]);
                    v.push_back(exp_avg_sq[k]);
                    s.push_back(steps[k]);
                }
                ++k;
            }
            if (p.empty()) continue;
            at::_foreach_add_(s, 1.0);
            const double wd = g == 0 ? r_.weight_decay : 0.0;
            if (lr.is_cuda())
                at::_fused_adamw_(p, grad, m, v, {}, s, lr, r_.beta1, r_.beta2, wd, r_.adam_eps, false, false);
            else
                at::_fused_adamw_(p, grad, m, v, {}, s, lr.item<double>(), r_.beta1, r_.beta2, wd, r_.adam_eps, false, false);
        }
    }
    // The same step for a model holding bf16 roundings `weights` of the masters this optimiser
    // updates (masters[i]'s weight is weights[i]), from the weights' bf16 gradients, the clip
    // included, by fracnas's kernel (torch_kernels::adamw_bf16)
    void step_bf16_weights(const torch::Tensor& lr, const std::vector<torch::Tensor>& weights, const std::vector<torch::Tensor>& masters,
                           double clip) {
        if (weight_of_.empty()) {  // each updated tensor's place in `masters` (and `weights`), found once
            std::map<const void*, std::size_t> place;
            for (std::size_t i = 0; i < masters.size(); ++i) place[masters[i].unsafeGetTensorImpl()] = i;
            for (const auto& group : groups_)
                for (const auto& t : group) weight_of_.push_back(place.at(t.unsafeGetTensorImpl()));
        }
        std::vector<torch::Tensor> g, p, m, v, w, s;
        std::vector<double> wd;
        std::size_t k = 0;
        for (int group = 0; group < 2; ++group)
            for (const auto& t : groups_[group]) {
                const auto& weight = weights.at(weight_of_[k]);
                if (weight.grad().defined()) {
                    g.push_back(weight.grad());
                    p.push_back(t);
                    w.push_back(weight);
                    m.push_back(exp_avg[k]);
                    v.push_back(exp_avg_sq[k]);
                    s.push_back(steps[k]);
                    wd.push_back(group == 0 ? r_.weight_decay : 0.0);
                }
                ++k;
            }
        if (p.empty()) return;
        at::_foreach_add_(s, 1.0);
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> model;
        for (const auto& x : w) model.push_back(x.detach());
        torch_kernels::adamw_bf16(g, p, m, v, model, s, wd, lr, r_.beta1, r_.beta2, r_.adam_eps, clip);
    }
    std::vector<torch::Tensor> exp_avg, exp_avg_sq, steps;  // parameter order: decay group, then the other

private:
    train_recipe r_;
    std::vector<torch::Tensor> groups_[2];
    std::vector<std::size_t> weight_of_;  // step_bf16_weights: the k-th updated tensor's index in the model's parameters
};

// torch::nn::utils::clip_grad_norm_'s rule (scale by max_norm / (norm + 1e-6) when below one)
// with the norm left on the device.
void clip_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
    std::vector<torch::Tensor> grads;
    for (const auto& p : params)
        if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return;
    const auto total = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads)), 2);
    at::_foreach_mul_(grads, at::clamp_max(at::reciprocal(total + 1e-6) * max_norm, 1.0));
}

// The divergence rule on one more step's loss: non-finite, or the ~10-step mean above the first
// step's loss plus the recipe's margin.
struct divergence_watch {
    double ema = 0.0;
    // the curve's last loss is the newest; true when the run diverged there
    bool check(const std::vector<double>& curve, const train_recipe& r) { return check(curve, curve.size() - 1, r); }
    bool check(const std::vector<double>& curve, std::size_t i, const train_recipe& r) {
        const double l = curve[i];
        ema = i == 0 ? l : 0.9 * ema + 0.1 * l;
        return !std::isfinite(l) || ema > curve.front() + r.divergence_nats;
    }
};

// mkdir -p, with POSIX calls: the process's std::filesystem may resolve to the copy LibTorch
// exports, whose remove_all crashed here (LibTorch 2.11 on Debian 12's libstdc++)
bool make_directories(const std::string& path) {
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i < path.size() && path[i] != '/') continue;
        const std::string prefix = path.substr(0, i);
        if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) return false;
    }
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Where the state goes: latest.pt (every save) and stable.pt (under wsd, the decay start).
std::string state_path(const train_recipe& r, const char* name) {
    return r.state_dir + "/" + name;
}

// Why `s` cannot continue this training ("" when it can).
std::string cannot_continue(const torch_train::saved_state& s, const std::string& id, const train_recipe& r, std::uint64_t steps) {
    if (s.identity != id) {
        // name the first line that differs: the architecture, a split, or the recipe
        std::istringstream a(s.identity), b(id);
        std::string la, lb;
        while (std::getline(a, la) && std::getline(b, lb))
            if (la != lb) return "it holds another training (saved '" + la + "', asked '" + lb + "')";
        return "it holds another training";
    }
    if (s.step > steps) return "it is at step " + std::to_string(s.step) + ", beyond this budget's " + std::to_string(steps) + " steps";
    if (s.budget == r.tokens) return "";
    if (r.schedule != lr_schedule::wsd)
        return "it was saved by a training of " + std::to_string(s.budget) +
               " tokens, and the cosine schedule depends on the budget (--schedule wsd continues to a larger one)";
    train_recipe old = r;
    old.tokens = s.budget;
    if (s.step > decay_start(old) || s.step > decay_start(r))
        return "it was saved in the decay of a " + std::to_string(s.budget) + "-token training, which a training of " +
               std::to_string(r.tokens) + " tokens does not share";
    return "";
}

void train_into(train_result& out, const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val,
                const train_recipe& r) {
    out.arch = arch;
    out.arch.vocab = vocab;
    out.params = nas::count_parameters(out.arch);
    check(r, out.arch, vocab, train, val);
    const bool cuda = r.device == device_kind::cuda;
    if (cuda && !torch::cuda::is_available()) throw config_error("device", "CUDA was requested but LibTorch sees no CUDA device.");
    const torch::Device device =
        cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(r.cuda_index)) : torch::Device(torch::kCPU);
    std::optional<c10::cuda::CUDAGuard> guard;
    if (cuda) {
        guard.emplace(device.index());
        out.device_name = at::cuda::getDeviceProperties(device.index())->name;
    } else {
        out.device_name = "cpu";
    }
    const train_speed& speed = r.speed;
    const bool bf16_weights = speed.bf16_weights && r.bf16;  // else autocast on CUDA, fp32 on the CPU
    const bool autocast = cuda && r.bf16 && !bf16_weights;
    const no_cudnn_attention flash(cuda && speed.flash_attention);
    const torch_fused::tuning_scope tuned(cuda && speed.fused_dense && speed.gemm_tune);
    bool use_graph = cuda && speed.cuda_graph && speed.async && speed.fused_adamw;
    // the loss kernel compiled now, before any capture; where it cannot run, LibTorch's operators
    bool adam_kernel = cuda && bf16_weights && speed.adam_kernel;
    if (cuda && r.bf16 &&
        ((speed.fused_loss && speed.loss_kernel) || speed.swiglu_kernel ||
         (bf16_weights && (speed.norm_kernel || speed.adam_kernel || speed.residual_fp32 || speed.norm_add || speed.residual_sr)))) {
        std::string why;
        if (!torch_kernels::available(device.index(), &why)) {
            out.engine_note =
                "fracnas's kernels are not available (" + why.substr(0, why.find('\n')) + "); LibTorch's operators ran in their place.";
            adam_kernel = false;
        }
    }
    const std::uint64_t per_step = std::uint64_t{r.batch} * r.seq_len;
    const std::uint64_t steps = planned_steps(r);

    // a state to continue from, checked before anything is built
    const std::string id = torch_train::identity(out.arch, train, val, r);
    std::optional<torch_train::saved_state> resume;
    if (!r.state_dir.empty()) {
        if (!make_directories(r.state_dir)) throw config_error("state-dir", "cannot create the state folder " + r.state_dir + ".");
        std::string why;
        for (const char* name : {"latest.pt", "stable.pt"}) {
            auto s = torch_train::load_state(state_path(r, name), device);
            if (!s) continue;
            const auto reason = cannot_continue(*s, id, r, steps);
            if (reason.empty()) {
                resume = std::move(s);
                break;
            }
            if (why.empty()) why = state_path(r, name) + " cannot continue this training: " + reason + ".";
        }
        if (!resume && !why.empty()) throw config_error("state-dir", why);
    }

    torch::manual_seed(r.seed);  // the initialisation, on every device's generator
    torch_model::Gpt model(out.arch, torch::TensorOptions().device(device).dtype(torch::kFloat32));
    model->train();
    const auto all_params = model->parameters();
    // bf16 weights: AdamW steps fp32 masters (the parameters as drawn), the model holds their
    // rounding; `updated` is what AdamW steps, in the model's parameter order either way
    std::vector<torch::Tensor> masters;
    if (bf16_weights) {
        torch::NoGradGuard no_grad;
        for (const auto& p : all_params) masters.push_back(p.detach().clone());
        model->to(torch::kBFloat16);
    }
    model->use_fused_dense(speed.fused_dense);
    model->use_norm_kernel(speed.norm_kernel);
    model->use_swiglu_kernel(cuda && r.bf16 && speed.swiglu_kernel);
    model->use_fp32_residual(bf16_weights && speed.residual_fp32);
    // a bf16 stream rounded stochastically: a salt from the seed, never 0 (0 rounds to nearest)
    const bool stochastic = bf16_weights && speed.residual_sr && !speed.residual_fp32;
    model->use_norm_add(bf16_weights && (speed.norm_add || speed.residual_sr),
                        stochastic ? (static_cast<std::uint32_t>(r.seed) * 0x9e3779b9u + 0x7f4a7c15u) | 1u : 0u);
    const std::vector<torch::Tensor>& updated = bf16_weights ? masters : all_params;
    // the model's bf16 weights from the masters (after each AdamW step and each restore)
    const auto round_into_model = [&] {
        if (!bf16_weights) return;
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> weights;
        for (const auto& p : all_params) weights.push_back(p.detach());
        at::_foreach_copy_(weights, masters);
    };
    std::vector<torch::Tensor> decay, no_decay;
    for (const auto& p : updated) (p.dim() >= 2 ? decay : no_decay).push_back(p);

    std::optional<fused_adamw> fused;
    std::optional<torch::optim::AdamW> legacy;
    if (speed.fused_adamw) {
        fused.emplace(decay, no_decay, r);
    } else {
        torch::optim::AdamWOptions options(r.lr);
        options.betas({r.beta1, r.beta2}).eps(r.adam_eps).weight_decay(r.weight_decay);
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(options));
        auto no_decay_options = std::make_unique<torch::optim::AdamWOptions>(options);
        no_decay_options->weight_decay(0.0);
        groups.emplace_back(no_decay, std::move(no_decay_options));
        legacy.emplace(std::move(groups), options);
    }

    std::uint64_t first = 0;
    double earlier_seconds = 0.0;
    divergence_watch watch;
    if (resume) {
        torch::NoGradGuard no_grad;
        const auto named = model->named_parameters();
        std::map<std::string, std::size_t> index;  // a name's place in all_params (and masters)
        for (std::size_t i = 0; i < named.size(); ++i) index[named[i].key()] = i;
        if (resume->model.size() != named.size() || resume->exp_avg.size() != fused->exp_avg.size())
            throw config_error("state-dir", "the saved state does not fit the model it names.");
        for (const auto& [name, value] : resume->model) {
            const auto* p = named.find(name);
            if (p == nullptr || !p->sizes().equals(value.sizes()))
                throw config_error("state-dir", "the saved state's parameter " + name + " does not fit the model.");
            (bf16_weights ? masters[index.at(name)] : *p).copy_(value);
        }
        round_into_model();
        for (std::size_t i = 0; i < fused->exp_avg.size(); ++i) {
            if (!fused->exp_avg[i].sizes().equals(resume->exp_avg[i].sizes()) ||
                !fused->exp_avg_sq[i].sizes().equals(resume->exp_avg_sq[i].sizes()) || resume->steps[i].numel() != 1)
                throw config_error("state-dir", "the saved state's optimiser moments do not fit the model.");
            fused->exp_avg[i].copy_(resume->exp_avg[i]);
            fused->exp_avg_sq[i].copy_(resume->exp_avg_sq[i]);
            fused->steps[i].copy_(resume->steps[i]);
        }
        first = resume->step;
        earlier_seconds = resume->training_seconds;
        out.loss_curve = resume->loss_curve;
        for (const auto& c : resume->checkpoints)
            if (c.step <= first) out.checkpoints.push_back(c);
        for (std::size_t i = 0; i < out.loss_curve.size(); ++i) watch.check(out.loss_curve, i, r);  // the smoothed loss as it was
        out.budgets = resume->budgets;
        out.resumed_from_step = first;
        out.steps = first;
        out.tokens = first * per_step;
        resume.reset();
    }

    // the smaller budgets still to measure, by decay start: each branches off there (run_branch)
    struct pending_budget {
        train_recipe recipe;
        std::uint64_t start, steps;
    };
    std::vector<pending_budget> pending;
    {
        auto budgets = r.budgets;
        std::sort(budgets.begin(), budgets.end());
        budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
        for (const auto b : budgets) {
            if (std::any_of(out.budgets.begin(), out.budgets.end(), [b](const budget_result& d) { return d.budget == b; })) continue;
            train_recipe small = r;
            small.tokens = b;
            small.budgets.clear();
            const std::uint64_t start = decay_start(small);
            if (start < first)
                throw config_error("budgets", "the budget " + std::to_string(b) + " decays from step " + std::to_string(start) +
                                                  ", before the saved state's step " + std::to_string(first) +
                                                  ": it cannot be measured from that state.");
            pending.push_back({small, start, planned_steps(small)});
        }
    }

    // on CUDA the whole training runs on one side stream, where the graph is captured
    if (cuda) torch::cuda::synchronize(device.index());
    std::optional<c10::cuda::CUDAStreamGuard> on_side_stream;
    if (cuda) on_side_stream.emplace(torch_graphs::capture_stream());

    const torch::Tensor train_ids = to_device(train, train.size, device);
    const torch::Tensor val_ids = to_device(val, std::min<std::uint64_t>(val.size, r.val_tokens), device);
    const std::int64_t B = r.batch, T = r.seq_len;
    const auto offsets = training_windows(r, steps, train.size);
    const auto window = torch::arange(T + 1, torch::TensorOptions().dtype(torch::kInt64));
    std::vector<float> lrs(static_cast<std::size_t>(steps));
    for (std::uint64_t s = 0; s < steps; ++s) lrs[s] = static_cast<float>(learning_rate(r, s));
    // the device's copies for the asynchronous step: offsets (steps, B), rates, losses, the step
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
    torch::Tensor offsets_dev, lr_dev, loss_dev, step_dev, window_dev;
    if (speed.async) {
        offsets_dev =
            torch::from_blob(const_cast<std::int64_t*>(offsets.data()), {static_cast<std::int64_t>(steps), B}, torch::kInt64).to(device);
        lr_dev = torch::from_blob(lrs.data(), {static_cast<std::int64_t>(steps)}, torch::kFloat32).to(device);
        loss_dev = torch::zeros({static_cast<std::int64_t>(steps)}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
        step_dev = torch::full({1}, static_cast<std::int64_t>(first), i64);
        window_dev = window.to(device).unsqueeze(0);  // (1, T + 1)
    }

    // one optimiser step; the same operations eagerly and under capture
    const auto forward_backward = [&](const torch::Tensor& x, const torch::Tensor& y) {
        for (auto& p : all_params) p.mutable_grad() = torch::Tensor();  // set to none: the backward allocates them
        const auto loss = next_token_loss(model, x, y, speed, autocast);
        loss.backward();
        return loss;
    };
    // the clip and the fused AdamW on what it updates; with bf16 weights the masters take the
    // model's gradients cast to fp32 first, and the model their rounding after (or all of it in
    // one pass of fracnas's kernel)
    const auto fused_update = [&](const torch::Tensor& lr) {
        if (adam_kernel) {
            fused->step_bf16_weights(lr, all_params, masters, r.clip);
            return;
        }
        if (bf16_weights)
            for (std::size_t i = 0; i < masters.size(); ++i) {
                const auto& g = all_params[i].grad();
                masters[i].mutable_grad() = g.defined() ? g.to(torch::kFloat32) : torch::Tensor();
            }
        if (r.clip > 0.0) clip_on_device(updated, r.clip);
        fused->step(lr);
        round_into_model();
    };
    const auto async_step = [&] {
        const auto starts = offsets_dev.index_select(0, step_dev).view({B, 1});                          // (B, 1)
        const auto rows = train_ids.index_select(0, (starts + window_dev).view({-1})).view({B, T + 1});  // (B, T + 1)
        const auto loss = forward_backward(rows.narrow(1, 0, T), rows.narrow(1, 1, T).reshape({B * T}));
        fused_update(lr_dev.index_select(0, step_dev).squeeze());
        loss_dev.index_copy_(0, step_dev, loss.detach().view({1}));
        step_dev.add_(1);
    };
    const auto sync_step = [&](std::uint64_t step) {
        const auto idx =
            (torch::from_blob(const_cast<std::int64_t*>(offsets.data()) + step * static_cast<std::uint64_t>(B), {B, 1}, torch::kInt64) +
             window)
                .to(device);  // (B, T + 1)
        const auto rows = train_ids.index_select(0, idx.reshape({-1})).view({B, T + 1});
        const auto loss = forward_backward(rows.narrow(1, 0, T), rows.narrow(1, 1, T).reshape({B * T}));
        if (fused) {
            fused_update(torch::full({}, lrs[step], torch::TensorOptions().dtype(torch::kFloat32).device(device)));
        } else {
            for (auto& g : legacy->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lrs[step]);
            if (r.clip > 0.0) torch::nn::utils::clip_grad_norm_(all_params, r.clip);
            legacy->step();
        }
        return loss.item<double>();  // synchronises
    };

    const auto save = [&](const char* name, std::uint64_t done, double seconds) {
        torch_train::saved_state s;
        s.identity = id;
        s.budget = r.tokens;
        s.step = done;
        s.training_seconds = seconds;
        s.loss_curve = out.loss_curve;
        s.checkpoints = out.checkpoints;
        s.budgets = out.budgets;
        std::size_t k = 0;  // the masters when the model holds bf16 weights
        for (const auto& p : model->named_parameters()) s.model.emplace_back(p.key(), updated[k++]);
        s.exp_avg = fused->exp_avg;
        s.exp_avg_sq = fused->exp_avg_sq;
        s.steps = fused->steps;
        torch_train::save_state(s, state_path(r, name));
    };

    std::unique_ptr<at::cuda::CUDAGraph> graph;
    const std::uint64_t eager_steps = 3;  // before the capture: lazy initialisation, cuBLAS workspaces
    const auto start = clock_type::now();
    double paused = 0.0;  // validation, saving and the budgets' decays, not this training
    const auto training_time = [&] { return since(start) - paused; };

    // A smaller budget's decay from its decay start, where the training stands now (step_dev and
    // the windows are the step's): the model and AdamW's state are kept, the budget's rates put in
    // the steps' places, its steps run (replayed when the graph is captured) and validated, then
    // everything is put back as it was.
    const auto run_branch = [&](const pending_budget& b) {
        const auto t0 = clock_type::now();
        if (cuda) torch::cuda::synchronize(device.index());
        const double before = earlier_seconds + training_time();
        std::vector<torch::Tensor> kept;
        {
            torch::NoGradGuard no_grad;
            for (const auto& p : updated) kept.push_back(p.detach().clone());
            for (const auto* group : {&fused->exp_avg, &fused->exp_avg_sq, &fused->steps})
                for (const auto& t : *group) kept.push_back(t.clone());
        }
        const auto n = static_cast<std::int64_t>(b.steps - b.start);
        std::vector<float> rates(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) rates[static_cast<std::size_t>(i)] = static_cast<float>(learning_rate(b.recipe, b.start + i));
        std::vector<double> losses;
        torch::Tensor main_rates;  // a copy: on the CPU lr_dev is lrs' own memory (to() returned it)
        if (speed.async) {
            main_rates = lr_dev.narrow(0, static_cast<std::int64_t>(b.start), n).clone();
            lr_dev.narrow(0, static_cast<std::int64_t>(b.start), n).copy_(torch::from_blob(rates.data(), {n}, torch::kFloat32));
            for (std::int64_t i = 0; i < n; ++i) graph ? graph->replay() : async_step();
            const auto values = loss_dev.narrow(0, static_cast<std::int64_t>(b.start), n).to(torch::kCPU, torch::kFloat64);
            losses.assign(values.data_ptr<double>(), values.data_ptr<double>() + n);
        } else {
            std::vector<float> kept_rates(lrs.begin() + static_cast<std::ptrdiff_t>(b.start),
                                          lrs.begin() + static_cast<std::ptrdiff_t>(b.start + n));
            std::copy(rates.begin(), rates.end(), lrs.begin() + static_cast<std::ptrdiff_t>(b.start));
            for (std::int64_t i = 0; i < n; ++i) losses.push_back(sync_step(b.start + i));
            std::copy(kept_rates.begin(), kept_rates.end(), lrs.begin() + static_cast<std::ptrdiff_t>(b.start));
        }
        if (cuda) torch::cuda::synchronize(device.index());
        budget_result d;
        d.budget = b.recipe.tokens;
        d.steps = b.steps;
        d.tokens = b.steps * per_step;
        d.seconds = before + since(t0);
        for (const double l : losses) d.train_loss += l / static_cast<double>(n);
        d.val_loss = validation_loss(model, val_ids, r, autocast);
        d.val_perplexity = std::exp(d.val_loss);
        out.budgets.push_back(d);
        {
            torch::NoGradGuard no_grad;
            std::size_t k = 0;
            for (auto& p : updated) p.detach().copy_(kept[k++]);
            for (auto* group : {&fused->exp_avg, &fused->exp_avg_sq, &fused->steps})
                for (auto& t : *group) t.copy_(kept[k++]);
        }
        round_into_model();
        if (speed.async) {
            lr_dev.narrow(0, static_cast<std::int64_t>(b.start), n).copy_(main_rates);
            step_dev.fill_(static_cast<std::int64_t>(b.start));
        }
        paused += since(t0);
    };
    std::size_t next_branch = 0;
    double steady_start = -1.0;
    std::uint64_t steady_from = 0, read_upto = first;
    const auto checkpoint_step = [&](std::uint64_t c) { return (c * steps + r.checkpoints - 1) / r.checkpoints; };
    std::uint64_t next_checkpoint = 1;
    while (next_checkpoint <= r.checkpoints && checkpoint_step(next_checkpoint) <= first) ++next_checkpoint;
    const std::uint64_t branch = decay_start(r);

    // reads the losses of steps [read_upto, upto) and applies the divergence rule; false when it stopped the run
    const auto take_losses = [&](std::uint64_t upto, const std::vector<double>& values) {
        for (std::uint64_t s = read_upto; s < upto; ++s) {
            out.loss_curve.push_back(values[s - read_upto]);
            if (watch.check(out.loss_curve, r)) {
                out.status = train_status::diverged;
                out.steps = s + 1;
                out.tokens = out.steps * per_step;
                out.message = "training diverged at step " + std::to_string(s + 1) + " (loss " + std::to_string(out.loss_curve.back()) +
                              ", first step " + std::to_string(out.loss_curve.front()) + ").";
                return false;
            }
        }
        read_upto = upto;
        out.steps = upto;
        out.tokens = upto * per_step;
        return true;
    };

    for (std::uint64_t step = first; step < steps; ++step) {
        while (next_branch < pending.size() && pending[next_branch].start == step) run_branch(pending[next_branch++]);
        double l = 0.0;
        if (!speed.async) {
            l = sync_step(step);
        } else if (use_graph && step >= first + eager_steps) {
            if (!graph) {
                c10::cuda::CUDACachingAllocator::emptyCache();  // the eager steps' blocks are not the graph's pool
                graph = std::make_unique<at::cuda::CUDAGraph>();
                graph->capture_begin();
                try {
                    async_step();  // recorded, not run: the replay below runs it
                    graph->capture_end();
                } catch (const std::exception& e) {
                    // an operation that cannot be captured: close the capture, run the steps eagerly
                    try {
                        graph->capture_end();
                    } catch (...) {
                    }
                    graph.reset();
                    use_graph = false;
                    (void)cudaGetLastError();
                    const std::string what = e.what();
                    out.engine_note = "the CUDA graph capture failed (" + what.substr(0, what.find('\n')) + "); the steps ran eagerly.";
                }
            }
            if (graph)
                graph->replay();
            else
                async_step();
        } else {
            async_step();
        }
        const std::uint64_t done = step + 1;
        const bool at_checkpoint = next_checkpoint <= r.checkpoints && done == checkpoint_step(next_checkpoint);
        const bool at_stop = r.stop_after_steps > 0 && done == r.stop_after_steps && done < steps;
        const bool at_save = !r.state_dir.empty() && (done == steps || at_stop || (done == branch && done > first) ||
                                                      (r.save_every > 0 && done % r.save_every == 0));
        const bool at_steady = steady_start < 0.0 && done >= first + 16;
        if (!speed.async) {
            if (!take_losses(done, {l})) break;
        } else if (at_checkpoint || at_save || at_stop || at_steady || done == steps || (done - first) % speed.sync_every == 0) {
            const auto values = loss_dev.narrow(0, static_cast<std::int64_t>(read_upto), static_cast<std::int64_t>(done - read_upto))
                                    .to(torch::kCPU, torch::kFloat64);
            if (!take_losses(done, std::vector<double>(values.data_ptr<double>(), values.data_ptr<double>() + values.numel()))) break;
        }
        if (at_steady) {
            steady_start = training_time();
            steady_from = done;
        }
        if (at_checkpoint) {
            const auto t0 = clock_type::now();
            train_checkpoint c;
            const std::uint64_t since_step = out.checkpoints.empty() ? 0 : out.checkpoints.back().step;
            c.step = done;
            c.tokens = done * per_step;
            double sum = 0.0;
            for (std::uint64_t s = since_step; s < done; ++s) sum += out.loss_curve[s];
            c.train_loss = sum / static_cast<double>(done - since_step);
            c.val_loss = validation_loss(model, val_ids, r, autocast);
            c.val_perplexity = std::exp(c.val_loss);
            c.seconds = earlier_seconds + since(start);
            out.checkpoints.push_back(c);
            while (next_checkpoint <= r.checkpoints && checkpoint_step(next_checkpoint) <= done) ++next_checkpoint;
            paused += since(t0);
        }
        if (at_save) {
            const auto t0 = clock_type::now();
            if (cuda) torch::cuda::synchronize(device.index());
            const double seconds = earlier_seconds + training_time();
            if (done == branch && r.schedule == lr_schedule::wsd) save("stable.pt", done, seconds);
            save("latest.pt", done, seconds);
            paused += since(t0);
        }
        if (at_stop) {
            out.status = train_status::stopped;
            out.message = "stopped after step " + std::to_string(done) + " of " + std::to_string(steps) +
                          (r.state_dir.empty() ? " (no state saved)." : "; its state is in " + state_path(r, "latest.pt") + ".");
            break;
        }
    }
    if (cuda) torch::cuda::synchronize(device.index());
    const double trained = training_time();
    const std::uint64_t new_tokens = (out.steps - first) * per_step;
    out.tokens_per_second = trained > 0.0 ? static_cast<double>(new_tokens) / trained : 0.0;
    if (steady_start >= 0.0 && out.steps > steady_from && trained > steady_start)
        out.steady_tokens_per_second = static_cast<double>((out.steps - steady_from) * per_step) / (trained - steady_start);
}

}  // namespace

void check_training(const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val, const train_recipe& recipe) {
    auto a = arch;
    a.vocab = vocab;
    nas::validate(a);
    check(recipe, a, vocab, train, val);
}

train_result train_gpt(const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val,
                       const train_recipe& recipe) noexcept {
    train_result out;
    const auto start = clock_type::now();
    try {
        train_into(out, arch, vocab, train, val, recipe);
    } catch (...) {
        torch_failures::record<train_status>(
            out, torch_failures::current("out of host memory while training.", "an unknown exception stopped the training."));
    }
    if (out.status != train_status::ok && out.status != train_status::diverged) torch_failures::release_device_cache(recipe.device);
    out.wall_seconds = since(start);
    return out;
}

}  // namespace fracnas::eval
