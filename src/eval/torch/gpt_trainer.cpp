// Training one GPT candidate with recipe A (trainer.hpp, docs/training.md): the model is the
// evaluator's (gpt_model.hpp), built in fp32 on its device; on CUDA its forward runs under bf16
// autocast. Everything that fails becomes the result's status and message.
#include "fracnas/torch/trainer.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>
#include <string>

#include "fracnas/error.hpp"
#include "failures.hpp"
#include "gpt_model.hpp"

namespace fracnas::eval {

const char* to_string(train_status s) {
    switch (s) {
        case train_status::ok: return "ok";
        case train_status::invalid: return "invalid";
        case train_status::out_of_memory: return "out_of_memory";
        case train_status::diverged: return "diverged";
        case train_status::error: return "error";
    }
    return "error";
}

std::uint64_t planned_steps(const train_recipe& r) noexcept {
    const std::uint64_t per_step = std::uint64_t{r.batch} * r.seq_len;
    return per_step == 0 ? 1 : std::max<std::uint64_t>(1, r.tokens / per_step);
}

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Throws config_error naming the field for a recipe or data that cannot be trained.
void check(const train_recipe& r, const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val) {
    if (r.tokens == 0) throw config_error("tokens", "the training budget must be at least one token.");
    if (r.batch == 0) throw config_error("batch", "the batch must hold at least one sequence.");
    if (r.seq_len == 0 || r.seq_len > arch.context)
        throw config_error("seq-len", "the sequence length must be between 1 and the architecture's context (" +
                                          std::to_string(arch.context) + ").");
    if (!(r.lr > 0.0) || !std::isfinite(r.lr)) throw config_error("lr", "the learning rate must be a positive number.");
    if (!(r.min_lr_ratio >= 0.0 && r.min_lr_ratio <= 1.0))
        throw config_error("min-lr-ratio", "the final learning-rate ratio must be between 0 and 1.");
    if (!(r.warmup_share >= 0.0 && r.warmup_share < 1.0))
        throw config_error("warmup", "the warm-up share must be at least 0 and below 1.");
    if (!(r.weight_decay >= 0.0) || !(r.clip >= 0.0)) throw config_error("weight-decay", "weight decay and clipping must not be negative.");
    if (r.checkpoints == 0) throw config_error("checkpoints", "at least one validation checkpoint is needed.");
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
                throw config_error("data", "token id " + std::to_string(s.data[i]) + " is outside the vocabulary of " +
                                               std::to_string(vocab) + ".");
}

// Token ids on the device as int64, the form embedding and cross_entropy take.
torch::Tensor to_device(token_span s, std::size_t n, const torch::Device& device) {
    std::vector<std::int32_t> ids(s.data, s.data + n);
    return torch::from_blob(ids.data(), {static_cast<std::int64_t>(n)}, torch::kInt32).to(device, torch::kInt64);
}

// bf16 autocast on CUDA for the scope's forward passes; the backward runs outside it.
class autocast_scope {
public:
    explicit autocast_scope(bool on) : on_(on) {
        if (!on_) return;
        at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
    }
    ~autocast_scope() {
        if (!on_) return;
        at::autocast::set_autocast_enabled(at::kCUDA, false);
        at::autocast::clear_cache();
    }
    autocast_scope(const autocast_scope&) = delete;
    autocast_scope& operator=(const autocast_scope&) = delete;

private:
    bool on_;
};

// Linear warm-up over `warm` steps, then cosine from lr down to lr x min_lr_ratio at the last step.
double lr_at(std::uint64_t step, std::uint64_t steps, std::uint64_t warm, const train_recipe& r) {
    if (step < warm) return r.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
    const double span = static_cast<double>(std::max<std::uint64_t>(1, steps - warm));
    const double progress = std::min(1.0, static_cast<double>(step - warm) / span);
    const double floor = r.lr * r.min_lr_ratio;
    const double pi = std::acos(-1.0);
    return floor + 0.5 * (1.0 + std::cos(pi * progress)) * (r.lr - floor);
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
        const auto y = val.narrow(0, w0 * T + 1, n * T).view({n, T});
        torch::Tensor logits;
        {
            autocast_scope scope(autocast);
            logits = model->forward(x);
        }
        sum += torch::nn::functional::cross_entropy(logits.reshape({n * T, -1}).to(torch::kFloat32), y.reshape({n * T}),
                                                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
    }
    model->train();
    return sum / static_cast<double>(windows * T);
}

void train_into(train_result& out, const nas::architecture& arch, std::uint32_t vocab, token_span train, token_span val,
                const train_recipe& r) {
    out.arch = arch;
    out.arch.vocab = vocab;
    out.params = nas::count_parameters(out.arch);
    check(r, out.arch, vocab, train, val);
    const bool cuda = r.device == device_kind::cuda;
    if (cuda && !torch::cuda::is_available()) throw config_error("device", "CUDA was requested but LibTorch sees no CUDA device.");
    const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(r.cuda_index)) : torch::Device(torch::kCPU);
    std::optional<c10::cuda::CUDAGuard> guard;
    if (cuda) {
        guard.emplace(device.index());
        out.device_name = at::cuda::getDeviceProperties(device.index())->name;
    } else {
        out.device_name = "cpu";
    }
    const bool autocast = cuda && r.bf16;

    torch::manual_seed(r.seed);  // the initialisation, on every device's generator
    torch_model::Gpt model(out.arch, torch::TensorOptions().device(device).dtype(torch::kFloat32));
    model->train();
    std::vector<torch::Tensor> decay, no_decay;
    for (const auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
    torch::optim::AdamWOptions options(r.lr);
    options.betas({r.beta1, r.beta2}).eps(r.adam_eps).weight_decay(r.weight_decay);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(options));
    auto no_decay_options = std::make_unique<torch::optim::AdamWOptions>(options);
    no_decay_options->weight_decay(0.0);
    groups.emplace_back(no_decay, std::move(no_decay_options));
    torch::optim::AdamW optimizer(std::move(groups), options);

    const torch::Tensor train_ids = to_device(train, train.size, device);
    const torch::Tensor val_ids = to_device(val, std::min<std::uint64_t>(val.size, r.val_tokens), device);
    const std::int64_t B = r.batch, T = r.seq_len;
    const std::uint64_t per_step = static_cast<std::uint64_t>(B) * static_cast<std::uint64_t>(T);
    const std::uint64_t steps = planned_steps(r);
    const std::uint64_t warm = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(r.warmup_share * static_cast<double>(steps))));
    std::mt19937_64 order(r.seed * 0x9e3779b97f4a7c15ULL + 0x7f4a7c15ULL);
    std::uniform_int_distribution<std::int64_t> offset(0, static_cast<std::int64_t>(train.size) - T - 1);
    const auto window = torch::arange(T + 1, torch::TensorOptions().dtype(torch::kInt64));

    const auto start = clock_type::now();
    double training_seconds = 0.0, ema = 0.0, since_checkpoint = 0.0;
    std::uint64_t in_checkpoint = 0, next_checkpoint = 1;
    const auto checkpoint_step = [&](std::uint64_t c) { return (c * steps + r.checkpoints - 1) / r.checkpoints; };
    for (std::uint64_t step = 0; step < steps; ++step) {
        const auto t0 = clock_type::now();
        const double lr = lr_at(step, steps, warm, r);
        for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
        std::vector<std::int64_t> starts(static_cast<std::size_t>(B));
        for (auto& s : starts) s = offset(order);
        const auto idx = (torch::tensor(starts, torch::kInt64).unsqueeze(1) + window).to(device);  // (B, T + 1)
        const auto rows = train_ids.index_select(0, idx.reshape({-1})).view({B, T + 1});
        const auto x = rows.narrow(1, 0, T), y = rows.narrow(1, 1, T);
        torch::Tensor logits;
        {
            autocast_scope scope(autocast);
            logits = model->forward(x);
        }
        const auto loss = torch::nn::functional::cross_entropy(logits.reshape({B * T, -1}).to(torch::kFloat32), y.reshape({B * T}));
        optimizer.zero_grad();
        loss.backward();
        if (r.clip > 0.0) torch::nn::utils::clip_grad_norm_(model->parameters(), r.clip);
        optimizer.step();
        const double l = loss.item<double>();  // synchronises: the step's time is complete
        training_seconds += since(t0);
        out.loss_curve.push_back(l);
        out.steps = step + 1;
        out.tokens = out.steps * per_step;
        since_checkpoint += l;
        ++in_checkpoint;
        ema = step == 0 ? l : 0.9 * ema + 0.1 * l;
        if (!std::isfinite(l) || ema > out.loss_curve.front() + r.divergence_nats) {
            out.status = train_status::diverged;
            out.message = "training diverged at step " + std::to_string(step + 1) + " (loss " + std::to_string(l) +
                          ", first step " + std::to_string(out.loss_curve.front()) + ").";
            break;
        }
        if (step + 1 == checkpoint_step(next_checkpoint)) {
            train_checkpoint c;
            c.step = out.steps;
            c.tokens = out.tokens;
            c.train_loss = since_checkpoint / static_cast<double>(in_checkpoint);
            c.val_loss = validation_loss(model, val_ids, r, autocast);
            c.val_perplexity = std::exp(c.val_loss);
            c.seconds = since(start);
            out.checkpoints.push_back(c);
            since_checkpoint = 0.0;
            in_checkpoint = 0;
            while (next_checkpoint <= r.checkpoints && checkpoint_step(next_checkpoint) <= step + 1) ++next_checkpoint;
        }
    }
    out.tokens_per_second = training_seconds > 0.0 ? static_cast<double>(out.tokens) / training_seconds : 0.0;
}

}  // namespace

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
