// The search worker's evaluator on LibTorch: a job's spec (canonical architecture) measured by
// evaluate_gpt, flattened into an outcome; the reference timed the same way; the device's name and
// UUID for the binding; and a probe after a CUDA error that tells a lost device (sticky error)
// from a failed candidate.
#include "fracnas/torch/evaluator.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <torch/torch.h>

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"

namespace fracnas::eval {

namespace {

std::string uuid_text(const cudaUUID_t& u) {
    const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
    char s[64];
    std::snprintf(s, sizeof s, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
                  b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return s;
}

class gpt_job_evaluator final : public job_evaluator {
public:
    gpt_job_evaluator(const gpt_measure_config& cfg, const nas::architecture& reference, std::uint32_t reference_builds,
                      std::shared_ptr<const gpt_training> training)
        : cfg_(cfg),
          reference_(reference),
          reference_builds_(std::max<std::uint32_t>(1, reference_builds)),
          training_(std::move(training)) {
        if (training_ && (!training_->train || !training_->val || training_->vocab == 0))
            throw config_error("training", "a training worker needs the corpus's training and validation tokens and its vocabulary.");
        if (cfg_.device == device_kind::cuda) {
            const int n = cuda_device_count();
            if (n == 0) throw config_error("--device", "CUDA was requested but LibTorch sees no CUDA device in this process.");
            if (cfg_.cuda_index < 0 || cfg_.cuda_index >= n)
                throw config_error("--device", "CUDA device " + std::to_string(cfg_.cuda_index) + " does not exist; this process sees " +
                                                   std::to_string(n) + ".");
            cudaDeviceProp p{};
            if (cudaGetDeviceProperties(&p, cfg_.cuda_index) == cudaSuccess) {
                binding_ = {"cuda", cfg_.cuda_index, p.name, uuid_text(p.uuid)};
            } else {
                binding_ = {"cuda", cfg_.cuda_index, "cuda device", ""};
            }
        }
    }

    outcome evaluate(const core::point&, const std::string& spec) noexcept override {
        outcome o;
        nas::architecture a;
        if (!parsed(spec, a, o)) return o;
        return measure(a);
    }

    outcome train(const core::point& x, const std::string& spec, const train_task& task) noexcept override {
        if (!training_) return job_evaluator::train(x, spec, task);
        outcome o;
        nas::architecture a;
        if (!parsed(spec, a, o) || lost_earlier(o)) return o;
        train_recipe r = training_->recipe;
        r.tokens = task.tokens;
        r.seed = task.seed;
        r.device = cfg_.device;
        r.cuda_index = cfg_.cuda_index;
        // the probe, a decay branch on the way (wsd); one below a step or not below the budget is not measured
        const std::uint64_t step_tokens = static_cast<std::uint64_t>(r.batch) * static_cast<std::uint64_t>(r.seq_len);
        const bool probe =
            task.probe_tokens >= step_tokens && task.probe_tokens < task.tokens && r.schedule == lr_schedule::wsd && r.speed.fused_adamw;
        if (probe) r.budgets = {task.probe_tokens};
        if (!training_->state_root.empty()) {
            char name[48];
            std::snprintf(name, sizeof name, "/%016llx-s%llu", static_cast<unsigned long long>(nas::hash(a)),
                          static_cast<unsigned long long>(task.seed));
            r.state_dir = training_->state_root + name;
        }
        const train_result t = train_gpt(a, training_->vocab, {training_->train->data(), training_->train->size()},
                                         {training_->val->data(), training_->val->size()}, r);
        if (!r.state_dir.empty()) {
            drop_unneeded_state(r.state_dir, t.status, task.tokens);
            bound_states();
        }
        o.status = t.status;  // one vocabulary
        o.message = t.message;
        o.tokens_trained = t.tokens;
        o.tokens_per_second = t.tokens_per_second;
        o.wall_seconds = t.wall_seconds;
        if (t.status == outcome_status::ok && !t.checkpoints.empty()) {
            o.val_loss = t.checkpoints.back().val_loss;
            o.val_perplexity = o.value = t.checkpoints.back().val_perplexity;
            for (const auto& b : t.budgets)
                if (probe && b.budget == task.probe_tokens) o.probe_perplexity = b.val_perplexity;
        }
        probe_after_error(o);
        return o;
    }

    // What a finished training's state folder keeps (a state of a model is its weights, fp32
    // masters and AdamW moments: about 14 bytes a parameter, twice): latest.pt only serves a killed
    // training, so it goes once the training ended; stable.pt (wsd's decay start) continues the
    // training to a larger budget, so it stays, unless nothing can continue it (the top budget,
    // or a failure, which is never promoted): then the folder goes. A stopped training keeps all.
    void drop_unneeded_state(const std::string& dir, outcome_status status, std::uint64_t tokens) const noexcept {
        if (status == outcome_status::stopped || status == outcome_status::timeout || status == outcome_status::device_lost) return;
        const bool final = status != outcome_status::ok || (training_->final_tokens > 0 && tokens >= training_->final_tokens);
        for (const char* name : {"latest.pt", "latest.pt.tmp", "stable.pt.tmp"}) ::unlink((dir + "/" + name).c_str());
        if (!final) return;
        ::unlink((dir + "/stable.pt").c_str());
        ::rmdir(dir.c_str());  // empty now; a folder with anything else stays
    }

    // With a limit (gpt_training::state_limit_bytes), the folders under state_root of finished
    // trainings waiting for a promotion (stable.pt and no latest.pt) go while all the folders there
    // take more than the limit, the least recently finished (stable.pt's time) first. A folder
    // with latest.pt (a training in progress, perhaps another worker's on a shared folder, or
    // stopped, to be resumed) stays; so does one that is not a training's.
    void bound_states() const noexcept {
        if (training_->state_limit_bytes == 0) return;
        namespace fs = std::filesystem;
        struct folder {
            fs::path path;
            fs::file_time_type finished;
            std::uintmax_t bytes = 0;
        };
        try {
            std::vector<folder> finished;
            std::uintmax_t total = 0;
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(training_->state_root, ec)) {
                if (!e.is_directory(ec)) continue;
                folder f{e.path(), {}, 0};
                bool stable = false, latest = false;
                for (const auto& g : fs::directory_iterator(e.path(), ec)) {
                    if (!g.is_regular_file(ec)) continue;
                    const auto bytes = g.file_size(ec);
                    f.bytes += ec ? 0 : bytes;
                    const std::string name = g.path().filename().string();
                    if (name == "stable.pt") {
                        stable = true;
                        f.finished = g.last_write_time(ec);
                    }
                    latest = latest || name.rfind("latest.pt", 0) == 0;
                }
                total += f.bytes;
                if (stable && !latest) finished.push_back(std::move(f));
            }
            std::sort(finished.begin(), finished.end(), [](const folder& a, const folder& b) {
                return a.finished != b.finished ? a.finished < b.finished : a.path < b.path;
            });
            for (const auto& f : finished) {
                if (total <= training_->state_limit_bytes) break;
                ::unlink((f.path / "stable.pt").string().c_str());
                ::rmdir(f.path.string().c_str());
                total -= std::min(total, f.bytes);
            }
        } catch (...) {  // a folder that cannot be listed keeps what it has: the limit is a bound on a best effort
        }
    }

    outcome time_reference() noexcept override {
        // Rebuilt for every timing, as each candidate is: a model kept resident and re-timed right
        // after a candidate runs slower in about half of its timings on the H200 (by about 10% decode,
        // docs/results/gpu_worker.md), while a rebuilt one is measured in the candidates' own state.
        // Two builds of one model differ by where their weights and buffers land, which moves their
        // timings more than re-timing one build does: a re-timing is the median over
        // reference_builds builds (each its own evaluation), which narrows that part.
        // A process's first timing warms the device and is not kept (reference_timing).
        const bool warm_up = !reference_warmed_;
        reference_warmed_ = true;
        return reference_timing([this] { return measure(reference_); }, reference_builds_, warm_up);
    }

    device_binding binding() const override { return binding_; }

private:
    // spec's architecture into a; false with o invalid (the parser's sentence) when it is none
    static bool parsed(const std::string& spec, nas::architecture& a, outcome& o) noexcept {
        try {
            a = nas::parse_architecture(spec);
            return true;
        } catch (const std::exception& e) {
            o.status = outcome_status::invalid;
            o.message = e.what();
            return false;
        }
    }

    // After a lost device every job is answered device_lost, naming the first failure
    bool lost_earlier(outcome& o) const {
        if (!lost_) return false;
        o.status = outcome_status::device_lost;
        o.message = "the device was lost earlier: " + lost_reason_;
        return true;
    }

    // After a CUDA error, a probe tells a lost device (o becomes device_lost) from a failed job
    void probe_after_error(outcome& o) noexcept {
        if (o.status == outcome_status::error && cfg_.device == device_kind::cuda && !device_usable()) {
            lost_ = true;
            lost_reason_ = o.message;
            o.status = outcome_status::device_lost;
        }
    }

    outcome measure(const nas::architecture& a) noexcept {
        outcome o;
        if (lost_earlier(o)) return o;
        return flatten(evaluate_gpt(a, cfg_));
    }

    // An evaluation as a job's outcome; after a CUDA error, a probe tells a lost device from a
    // failed candidate.
    outcome flatten(const gpt_evaluation& r) noexcept {
        outcome o;
        o.wall_seconds = r.wall_seconds;
        o.peak_memory_bytes = r.peak_memory_bytes;
        o.message = r.message;
        o.status = r.status;  // one vocabulary
        if (r.decode) {
            o.decode_ms = r.decode->median_ms;
            o.decode_iqr_ms = r.decode->iqr_ms();
            o.repeats = static_cast<std::uint32_t>(r.decode->repeats);
        }
        if (r.prefill) {
            o.prefill_ms = r.prefill->median_ms;
            o.prefill_iqr_ms = r.prefill->iqr_ms();
            o.repeats = static_cast<std::uint32_t>(r.prefill->repeats);
        }
        if (o.status == outcome_status::ok) o.value = cfg_.decode ? o.decode_ms : o.prefill_ms;
        probe_after_error(o);
        return o;
    }

    // After a CUDA error: a sticky error makes every later call fail, which a tiny kernel shows.
    bool device_usable() noexcept {
        try {
            c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(cfg_.cuda_index));
            const auto t = torch::ones({8}, torch::TensorOptions().device(torch::kCUDA, static_cast<c10::DeviceIndex>(cfg_.cuda_index)));
            const double s = t.sum().item<double>();
            return s == 8.0 && cudaDeviceSynchronize() == cudaSuccess;
        } catch (...) {
            return false;
        }
    }

    gpt_measure_config cfg_;
    nas::architecture reference_;
    std::uint32_t reference_builds_ = 1;
    bool reference_warmed_ = false;
    std::shared_ptr<const gpt_training> training_;
    device_binding binding_;
    bool lost_ = false;
    std::string lost_reason_;
};

}  // namespace

std::unique_ptr<job_evaluator> make_gpt_job_evaluator(const gpt_measure_config& cfg, const nas::architecture& reference,
                                                      std::uint32_t reference_builds, std::shared_ptr<const gpt_training> training) {
    return std::make_unique<gpt_job_evaluator>(cfg, reference, reference_builds, std::move(training));
}

int cuda_device_count() {
    try {
        return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    } catch (...) {
        return 0;
    }
}

}  // namespace fracnas::eval
