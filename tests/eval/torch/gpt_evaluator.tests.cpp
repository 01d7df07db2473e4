// The candidate evaluator on the CPU: measurements come back as data, failures as statuses.
// Speed is not asserted (benchmarks and docs/results/ hold the timings).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <sys/stat.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/torch/evaluator.hpp"

using namespace fracnas;

namespace {

nas::architecture small() {
    return nas::parse_architecture("n_layer=2 d_model=128 d_inner=256,384 n_head=2,4 vocab=1000 context=64");
}

eval::gpt_measure_config quick() {
    eval::gpt_measure_config cfg;
    cfg.device = eval::device_kind::cpu;
    cfg.dtype = eval::dtype_kind::fp32;
    cfg.prefill_tokens = 32;
    cfg.decode_context = 63;
    cfg.warmup = 1;
    cfg.repeats = 4;
    return cfg;
}

// A worker's training on a counting corpus (token i of the train split is i mod 50, of the
// validation split (i x val_step) mod 50): wsd trainings of 64 tokens a step, each keeping its
// state under root (emptied first), the ladder's top at 512 tokens
std::shared_ptr<eval::gpt_training> counting_training(const std::string& root, std::size_t val_step) {
    auto train = std::make_shared<std::vector<std::uint32_t>>(3000), val = std::make_shared<std::vector<std::uint32_t>>(600);
    for (std::size_t i = 0; i < train->size(); ++i) (*train)[i] = static_cast<std::uint32_t>(i % 50);
    for (std::size_t i = 0; i < val->size(); ++i) (*val)[i] = static_cast<std::uint32_t>((i * val_step) % 50);
    auto training = std::make_shared<eval::gpt_training>();
    training->train = train;
    training->val = val;
    training->vocab = 50;
    training->recipe.batch = 2;
    training->recipe.seq_len = 32;
    training->recipe.lr = 3e-3;
    training->recipe.checkpoints = 1;
    training->recipe.warmup_tokens = 64;
    training->recipe.schedule = eval::lr_schedule::wsd;
    REQUIRE(std::system(("rm -rf '" + root + "'").c_str()) == 0);
    training->state_root = root;
    training->final_tokens = 512;
    return training;
}

// The folder of a training's state under root: the architecture's hash and the seed
std::string state_folder(const std::string& root, const nas::architecture& a, std::uint64_t seed) {
    char name[48];
    std::snprintf(name, sizeof name, "/%016llx-s%llu", static_cast<unsigned long long>(nas::hash(a)),
                  static_cast<unsigned long long>(seed));
    return root + name;
}

}  // namespace

TEST_CASE("a CPU evaluation returns counts, latencies and the repeat counts asked for", "[eval][torch]") {
    auto cfg = quick();
    cfg.scenario = true;
    cfg.prompt_tokens = 8;
    cfg.generated_tokens = 4;
    const auto r = eval::evaluate_gpt(small(), cfg);
    INFO(r.message);
    REQUIRE(r.status == eval::eval_status::ok);
    REQUIRE(r.message.empty());
    REQUIRE(r.params.decoder == nas::count_parameters(small()).decoder);
    REQUIRE(r.weight_bytes == 4 * r.params.total);
    REQUIRE(r.device_name == "cpu");
    REQUIRE_FALSE(r.graphs_used);
    for (const auto* s : {&r.prefill, &r.decode}) {
        REQUIRE(s->has_value());
        REQUIRE((*s)->repeats == 4);
        REQUIRE((*s)->min_ms > 0.0);
        REQUIRE((*s)->q1_ms <= (*s)->median_ms);
        REQUIRE((*s)->median_ms <= (*s)->q3_ms);
    }
    REQUIRE(r.scenario.has_value());
    REQUIRE(r.scenario->repeats == 3);  // a generation is long: max(repeats / 5, 3) runs
    REQUIRE(r.wall_seconds > 0.0);
    REQUIRE(r.peak_memory_bytes == 0);  // CPU: no caching-allocator statistics
}

TEST_CASE("only the requested measurements are made", "[eval][torch]") {
    auto cfg = quick();
    cfg.prefill = false;
    const auto r = eval::evaluate_gpt(small(), cfg);
    REQUIRE(r.status == eval::eval_status::ok);
    REQUIRE_FALSE(r.prefill.has_value());
    REQUIRE(r.decode.has_value());
    REQUIRE_FALSE(r.scenario.has_value());
}

TEST_CASE("the grad-norm proxy: positive, reproducible for a seed, absent unless asked", "[eval][torch]") {
    auto cfg = quick();
    cfg.prefill = cfg.decode = false;
    REQUIRE_FALSE(eval::evaluate_gpt(small(), cfg).grad_norm.has_value());
    cfg.grad_norm = true;
    const auto a = eval::evaluate_gpt(small(), cfg);
    INFO(a.message);
    REQUIRE(a.status == eval::eval_status::ok);
    REQUIRE(a.grad_norm.has_value());
    REQUIRE(*a.grad_norm > 0.0);
    REQUIRE(eval::evaluate_gpt(small(), cfg).grad_norm == a.grad_norm);  // same seed, same weights and tokens
    cfg.seed = 1;
    REQUIRE(eval::evaluate_gpt(small(), cfg).grad_norm != a.grad_norm);
}

TEST_CASE("a resident model is built and timed once, then timed again without a rebuild", "[eval][torch]") {
    auto cfg = quick();
    cfg.scenario = true;
    cfg.prompt_tokens = 8;
    cfg.generated_tokens = 4;
    cfg.grad_norm = true;
    eval::resident_gpt m(small(), cfg);
    REQUIRE_FALSE(m.built());
    const auto first = m.time();
    INFO(first.message);
    REQUIRE(first.status == eval::eval_status::ok);
    REQUIRE(m.built());
    REQUIRE(first.phases.build > 0.0);
    REQUIRE(first.grad_norm.has_value());
    for (int i = 0; i < 2; ++i) {
        const auto again = m.time();
        INFO(again.message);
        REQUIRE(again.status == eval::eval_status::ok);
        REQUIRE(again.params.total == first.params.total);
        REQUIRE(again.grad_norm == first.grad_norm);  // the same model: the first call's proxy
        REQUIRE(again.phases.build == 0.0);           // nothing built, nothing captured
        REQUIRE(again.phases.capture == 0.0);
        REQUIRE(again.phases.timing > 0.0);
        REQUIRE(again.decode.has_value());
        REQUIRE(again.decode->repeats == 4);
        REQUIRE(again.prefill.has_value());
        REQUIRE(again.scenario.has_value());
        REQUIRE(again.scenario->repeats == 3);
        REQUIRE(again.decode->median_ms > 0.0);
    }
    nas::architecture bad = small();
    bad.n_head[0] = 3;
    eval::resident_gpt broken(bad, cfg);
    static_assert(noexcept(broken.time()), "a failure is a result, never an exception");
    const eval::gpt_evaluation r = broken.time();
    REQUIRE(r.status == eval::eval_status::invalid);
    REQUIRE_FALSE(broken.built());
    REQUIRE_FALSE(r.decode.has_value());
}

TEST_CASE("a worker's reference timing is the median over its builds, with every build's timed runs", "[eval][torch]") {
    const auto cfg = quick();
    for (std::uint32_t builds : {1u, 2u, 3u}) {
        CAPTURE(builds);
        const auto worker = eval::make_gpt_job_evaluator(cfg, small(), builds);
        const auto r = worker->time_reference();
        INFO(r.message);
        REQUIRE(r.status == eval::outcome_status::ok);
        REQUIRE(r.repeats == builds * cfg.repeats);
        REQUIRE(r.reference_ms == r.value);
        REQUIRE(r.value == r.decode_ms);  // decode is the searched latency when both are timed
        REQUIRE(r.decode_ms > 0.0);
        REQUIRE(r.prefill_ms > 0.0);
        REQUIRE(r.wall_seconds > 0.0);
        // a candidate is still measured once
        const auto c = worker->evaluate({}, nas::canonical(small()));
        REQUIRE(c.status == eval::outcome_status::ok);
        REQUIRE(c.repeats == cfg.repeats);
        REQUIRE(std::isnan(c.reference_ms));
    }
    // a failing reference comes back as its failure, not as a median of nothing
    const auto bad = eval::make_gpt_job_evaluator(
        cfg, nas::parse_architecture("n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=16"), 3);
    REQUIRE(bad->time_reference().status == eval::outcome_status::invalid);
}

TEST_CASE("a worker's training task trains the job's architecture, a promoted one continues its own state", "[eval][torch][train]") {
    // a counting corpus: token i is i mod 50
    const std::string root = std::string(FRACNAS_TEST_TMP) + "/worker_states";
    const auto training = counting_training(root, 1);
    const auto arch = nas::parse_architecture("n_layer=1 d_model=32 d_inner=64 n_head=2 vocab=50 context=64");
    const auto worker = eval::make_gpt_job_evaluator(quick(), small(), 1, training);
    const auto first = worker->train({}, nas::canonical(arch), eval::train_task{256, 3, 0});
    INFO(first.message);
    REQUIRE(first.status == eval::outcome_status::ok);
    REQUIRE(first.tokens_trained == 256);
    REQUIRE(std::isfinite(first.val_loss));
    REQUIRE(first.val_perplexity == Approx(std::exp(first.val_loss)));
    REQUIRE(first.value == first.val_perplexity);
    REQUIRE(first.tokens_per_second > 0.0);
    REQUIRE(std::isnan(first.decode_ms));
    // its state, named by the architecture's hash and the seed
    const std::string folder = state_folder(root, arch, 3);
    struct stat st {};
    REQUIRE(::stat(folder.c_str(), &st) == 0);
    // a finished training keeps what continues it (wsd's decay start), not what resumes it
    REQUIRE(::stat((folder + "/stable.pt").c_str(), &st) == 0);
    REQUIRE(::stat((folder + "/latest.pt").c_str(), &st) != 0);
    // promoted to 512 tokens: it continues, and ends where a training of 512 from the start ends
    const auto promoted = worker->train({}, nas::canonical(arch), eval::train_task{512, 3, 1});
    INFO(promoted.message);
    REQUIRE(promoted.status == eval::outcome_status::ok);
    REQUIRE(promoted.tokens_trained == 512);
    // 512 is the ladder's top (final_tokens): nothing continues it, and its folder is gone
    REQUIRE(::stat(folder.c_str(), &st) != 0);
    auto fresh_training = std::make_shared<eval::gpt_training>(*training);
    fresh_training->state_root.clear();
    const auto fresh =
        eval::make_gpt_job_evaluator(quick(), small(), 1, fresh_training)->train({}, nas::canonical(arch), eval::train_task{512, 3, 1});
    REQUIRE(fresh.status == eval::outcome_status::ok);
    REQUIRE(promoted.val_loss == Approx(fresh.val_loss).epsilon(1e-6));
    // another seed, another training
    const auto other = worker->train({}, nas::canonical(arch), eval::train_task{256, 4, 0});
    REQUIRE(other.status == eval::outcome_status::ok);
    REQUIRE(other.val_loss != first.val_loss);
    REQUIRE(std::isnan(other.probe_perplexity));  // none asked
    // a probe on the way: the perplexity a training to the probe's budget reaches, from the same
    // training, which still ends where it would have without it (a promoted one too: 512 from 256)
    const auto probed = worker->train({}, nas::canonical(arch), eval::train_task{256, 5, 0, 128});
    INFO(probed.message);
    REQUIRE(probed.status == eval::outcome_status::ok);
    const auto fresh_worker = eval::make_gpt_job_evaluator(quick(), small(), 1, fresh_training);
    const auto to_probe = fresh_worker->train({}, nas::canonical(arch), eval::train_task{128, 5, 0});
    REQUIRE(probed.probe_perplexity == Approx(to_probe.val_perplexity).epsilon(1e-6));
    REQUIRE(probed.val_loss == Approx(fresh_worker->train({}, nas::canonical(arch), eval::train_task{256, 5, 0}).val_loss).epsilon(1e-6));
    const auto probed_up = worker->train({}, nas::canonical(arch), eval::train_task{512, 5, 1, 384});
    REQUIRE(probed_up.status == eval::outcome_status::ok);
    REQUIRE(probed_up.probe_perplexity ==
            Approx(fresh_worker->train({}, nas::canonical(arch), eval::train_task{384, 5, 0}).val_perplexity).epsilon(1e-6));
    // a probe below one step (64 tokens here) is not measured, and the training goes on
    const auto tiny = fresh_worker->train({}, nas::canonical(arch), eval::train_task{256, 6, 0, 32});
    REQUIRE(tiny.status == eval::outcome_status::ok);
    REQUIRE(std::isnan(tiny.probe_perplexity));
    // failures are data: an architecture that is not one, a recipe it cannot take
    REQUIRE(worker->train({}, "not an architecture", eval::train_task{256, 3, 0}).status == eval::outcome_status::invalid);
    const auto too_long = eval::make_gpt_job_evaluator(quick(), small(), 1, training)
                              ->train({}, "n_layer=1 d_model=32 d_inner=64 n_head=2 vocab=50 context=16", eval::train_task{256, 3, 0});
    REQUIRE(too_long.status == eval::outcome_status::invalid);
    REQUIRE_FALSE(too_long.message.empty());
    // a worker built without a corpus only times
    REQUIRE(eval::make_gpt_job_evaluator(quick(), small())->train({}, nas::canonical(arch), eval::train_task{256, 3, 0}).status ==
            eval::outcome_status::invalid);
    REQUIRE(std::system(("rm -rf '" + root + "'").c_str()) == 0);
}

TEST_CASE("a worker with a state limit removes the least recently finished trainings' states, never one in progress",
          "[eval][torch][train]") {
    const std::string root = std::string(FRACNAS_TEST_TMP) + "/limited_states";
    const auto training = counting_training(root, 7);
    const auto arch = nas::parse_architecture("n_layer=1 d_model=32 d_inner=64 n_head=2 vocab=50 context=64");
    const auto folder = [&](std::uint64_t seed) { return state_folder(root, arch, seed); };
    const auto exists = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0;
    };
    // one finished training's state, without a limit
    const auto first =
        eval::make_gpt_job_evaluator(quick(), small(), 1, training)->train({}, nas::canonical(arch), eval::train_task{256, 3, 0});
    REQUIRE(first.status == eval::outcome_status::ok);
    struct stat st {};
    REQUIRE(::stat((folder(3) + "/stable.pt").c_str(), &st) == 0);
    const auto one = static_cast<std::uint64_t>(st.st_size);
    // room for one and a half: the second finished training makes two, and the older goes
    auto limited = std::make_shared<eval::gpt_training>(*training);
    limited->state_limit_bytes = one + one / 2;
    const auto worker = eval::make_gpt_job_evaluator(quick(), small(), 1, limited);
    REQUIRE(worker->train({}, nas::canonical(arch), eval::train_task{256, 4, 0}).status == eval::outcome_status::ok);
    REQUIRE_FALSE(exists(folder(3)));
    REQUIRE(exists(folder(4) + "/stable.pt"));
    // the promotion whose state went trains from the start, to the same result
    const auto promoted = worker->train({}, nas::canonical(arch), eval::train_task{512, 3, 1});
    REQUIRE(promoted.status == eval::outcome_status::ok);
    auto stateless = std::make_shared<eval::gpt_training>(*training);
    stateless->state_root.clear();
    const auto fresh =
        eval::make_gpt_job_evaluator(quick(), small(), 1, stateless)->train({}, nas::canonical(arch), eval::train_task{512, 3, 1});
    REQUIRE(promoted.val_loss == Approx(fresh.val_loss).epsilon(1e-6));
    // a training in progress or stopped (its latest.pt) and a folder that is no training's stay,
    // however far past the limit; the finished ones go, the one just finished too
    const std::string running = root + "/0000000000000001-s1", other = root + "/notes";
    REQUIRE(std::system(("mkdir -p '" + running + "' '" + other + "' && head -c " + std::to_string(3 * one) + " /dev/zero > '" + running +
                         "/latest.pt' && head -c " + std::to_string(3 * one) + " /dev/zero > '" + other + "/x'")
                            .c_str()) == 0);
    REQUIRE(worker->train({}, nas::canonical(arch), eval::train_task{256, 5, 0}).status == eval::outcome_status::ok);
    REQUIRE_FALSE(exists(folder(4)));
    REQUIRE_FALSE(exists(folder(5)));
    REQUIRE(exists(running + "/latest.pt"));
    REQUIRE(exists(other + "/x"));
    REQUIRE(std::system(("rm -rf '" + root + "'").c_str()) == 0);
}

TEST_CASE("invalid architectures and requests are results, not exceptions", "[eval][torch]") {
    nas::architecture bad = small();
    bad.n_head[1] = 3;
    const auto quick_cfg = quick();
    static_assert(noexcept(eval::evaluate_gpt(bad, quick_cfg)), "a failure is a result, never an exception");
    eval::gpt_evaluation r = eval::evaluate_gpt(bad, quick_cfg);
    REQUIRE(r.status == eval::eval_status::invalid);
    REQUIRE_THAT(r.message, Catch::Contains("n_head[1] = 3 does not divide d_model = 128"));
    REQUIRE_FALSE(r.decode.has_value());

    auto cfg = quick();
    cfg.decode_context = 64;  // the cache holds at most context - 1 tokens before the new one
    r = eval::evaluate_gpt(small(), cfg);
    REQUIRE(r.status == eval::eval_status::invalid);
    REQUIRE_THAT(r.message, Catch::Contains("below the model's context of 64"));

    if (!torch::cuda::is_available()) {
        cfg = quick();
        cfg.device = eval::device_kind::cuda;
        r = eval::evaluate_gpt(small(), cfg);
        REQUIRE(r.status == eval::eval_status::invalid);
        REQUIRE_THAT(r.message, Catch::Contains("no CUDA device"));
    }
}
#endif
