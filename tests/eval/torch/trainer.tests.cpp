// Recipe A on the CPU with a tiny model: the loss falls, a seed reproduces its curve, a
// divergence and an invalid recipe are results. Speed is not asserted (docs/results/ hold it).
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "fracnas/torch/trainer.hpp"

using namespace fracnas;

namespace {

constexpr std::uint32_t vocab = 64;

// A learnable stream: each token is the previous one plus one (mod vocab) with probability 0.9,
// else uniform; an untrained model scores ln(64) = 4.16 nats, a perfect one about 0.6.
std::vector<std::uint32_t> stream(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::uniform_int_distribution<std::uint32_t> any(0, vocab - 1);
    std::vector<std::uint32_t> t(n);
    t[0] = 0;
    for (std::size_t i = 1; i < n; ++i) t[i] = u(rng) < 0.9 ? (t[i - 1] + 1) % vocab : any(rng);
    return t;
}

nas::architecture tiny() {
    return nas::parse_architecture("n_layer=2 d_model=32 d_inner=64,64 n_head=2,2 context=64");
}

eval::train_recipe quick() {
    eval::train_recipe r;
    r.tokens = 8 * 32 * 150;  // 150 steps
    r.batch = 8;
    r.seq_len = 32;
    r.lr = 3e-3;
    r.checkpoints = 3;
    r.val_tokens = 2048;
    return r;
}

const std::vector<std::uint32_t>& train_ids() {
    static const auto t = stream(20000, 1);
    return t;
}
const std::vector<std::uint32_t>& val_ids() {
    static const auto v = stream(4000, 2);
    return v;
}

eval::train_result run(const eval::train_recipe& r, const nas::architecture& arch = tiny()) {
    return eval::train_gpt(arch, vocab, {train_ids().data(), train_ids().size()}, {val_ids().data(), val_ids().size()}, r);
}

// rm -rf through the shell: std::filesystem::remove_all resolved to LibTorch's exported copy
// and crashed in this binary
void remove_tree(const std::string& dir) {
    REQUIRE(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

// A fresh, empty folder's name under /tmp (the trainer creates it).
std::string fresh_dir(const std::string& name) {
    const std::string dir = "/tmp/fracnas-trainer-" + name + "-" + std::to_string(::getpid());
    remove_tree(dir);
    return dir;
}

bool exists(const std::string& path) {
    return std::ifstream(path).good();
}

// Cuts the file to half its size.
void truncate_half(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
    return d;
}

}  // namespace

TEST_CASE("a tiny model trains on the CPU: its training and validation losses fall", "[eval][torch][train]") {
    const auto r = run(quick());
    INFO(r.message);
    REQUIRE(r.status == eval::train_status::ok);
    REQUIRE(r.steps == 150);
    REQUIRE(r.tokens == 150 * 8 * 32);
    REQUIRE(r.loss_curve.size() == 150);
    REQUIRE(r.arch.vocab == vocab);  // the data's vocabulary replaces the architecture's
    REQUIRE(r.loss_curve.front() == Approx(std::log(64.0)).margin(0.3));
    REQUIRE(r.checkpoints.size() == 3);
    REQUIRE(r.checkpoints.back().step == 150);
    for (std::size_t i = 1; i < r.checkpoints.size(); ++i) REQUIRE(r.checkpoints[i].val_loss < r.checkpoints[i - 1].val_loss);
    REQUIRE(r.checkpoints.back().val_loss < 1.2);  // learned the +1 rule: 0.89 measured, 0.73 the floor
    REQUIRE(r.checkpoints.back().val_perplexity == Approx(std::exp(r.checkpoints.back().val_loss)));
    REQUIRE(r.tokens_per_second > 0.0);
    REQUIRE(r.device_name == "cpu");
}

TEST_CASE("a decoupled embedding width trains too", "[eval][torch][train]") {
    auto arch = tiny();
    arch.d_embed = 16;  // table (64, 16), projections 16 -> 32 and 32 -> 16
    const auto r = run(quick(), arch);
    INFO(r.message);
    REQUIRE(r.status == eval::train_status::ok);
    REQUIRE(r.params.embedding == 64ULL * 16 + 64ULL * 32 + 2ULL * 16 * 32 + 16 + 32);
    REQUIRE(r.checkpoints.back().val_loss < r.checkpoints.front().val_loss);
    REQUIRE(r.checkpoints.back().val_loss < 3.0);  // 2.37 measured: slower than e = d (0.89), far below 4.16
}

TEST_CASE("a fixed seed reproduces the loss curve, another seed gives another", "[eval][torch][train]") {
    auto r = quick();
    r.tokens = 8 * 32 * 10;
    const auto a = run(r), b = run(r);
    REQUIRE(a.status == eval::train_status::ok);
    REQUIRE(a.loss_curve == b.loss_curve);
    REQUIRE(a.checkpoints.back().val_loss == b.checkpoints.back().val_loss);
    r.seed = 2;
    REQUIRE(run(r).loss_curve != a.loss_curve);
}

TEST_CASE("a diverging run is reported with the step, not thrown", "[eval][torch][train]") {
    auto r = quick();
    r.lr = 30.0;
    r.clip = 0.0;
    r.warmup_share = 0.0;
    const auto d = run(r);
    REQUIRE(d.status == eval::train_status::diverged);
    REQUIRE_THAT(d.message, Catch::Matchers::StartsWith("training diverged at step "));
    REQUIRE(d.steps < 150);
    REQUIRE(d.loss_curve.size() == d.steps);
}

TEST_CASE("an invalid recipe or data is a result with one sentence", "[eval][torch][train]") {
    auto r = quick();
    r.seq_len = 65;  // beyond the context of 64
    auto x = run(r);
    REQUIRE(x.status == eval::train_status::invalid);
    REQUIRE_THAT(x.message, Catch::Matchers::Contains("the architecture's context (64)"));
    REQUIRE(x.steps == 0);
    r = quick();
    r.tokens = 0;
    REQUIRE(run(r).status == eval::train_status::invalid);
    const std::vector<std::uint32_t> bad = {1, 2, 64, 3};
    const auto y = eval::train_gpt(tiny(), vocab, {train_ids().data(), train_ids().size()}, {bad.data(), bad.size()}, quick());
    REQUIRE(y.status == eval::train_status::invalid);
    REQUIRE_THAT(y.message, Catch::Matchers::Contains("validation tokens scored (4) are fewer than one sequence"));
    const std::vector<std::uint32_t> outside(100, 64);
    const auto z = eval::train_gpt(tiny(), vocab, {outside.data(), outside.size()}, {val_ids().data(), val_ids().size()}, quick());
    REQUIRE(z.status == eval::train_status::invalid);
    REQUIRE_THAT(z.message, Catch::Matchers::Contains("token id 64 is outside the vocabulary of 64"));
}

TEST_CASE("every speed setting trains the same model: the loss curves agree to rounding", "[eval][torch][train]") {
    auto r = quick();
    r.tokens = 8 * 32 * 40;
    const auto fast = run(r);
    r.speed.async = r.speed.fused_adamw = r.speed.fused_loss = r.speed.cuda_graph = false;
    const auto first_loop = run(r);  // recipe A's first loop: torch::optim::AdamW, full logits, a read per step
    REQUIRE(fast.status == eval::train_status::ok);
    REQUIRE(first_loop.status == eval::train_status::ok);
    REQUIRE(fast.loss_curve.front() == Approx(first_loop.loss_curve.front()).epsilon(1e-6));
    REQUIRE(max_difference(fast.loss_curve, first_loop.loss_curve) < 1e-3);
    REQUIRE(fast.checkpoints.back().val_loss == Approx(first_loop.checkpoints.back().val_loss).epsilon(1e-4));
    r.speed.fused_loss = true;  // one change at a time agrees too
    REQUIRE(max_difference(run(r).loss_curve, first_loop.loss_curve) < 1e-3);
    r.speed.fused_loss = false;
    r.speed.fused_dense = true;  // the fused linear layers (fp32 here: no autocast on the CPU)
    REQUIRE(max_difference(run(r).loss_curve, first_loop.loss_curve) < 1e-3);
}

TEST_CASE("the wsd schedule: warm-up in tokens, the peak, a linear decay to the floor at the last step", "[eval][torch][train]") {
    eval::train_recipe r = quick();  // 150 steps of 256 tokens
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 2560;  // 10 steps
    r.decay_share = 0.2;     // the last 30 steps
    REQUIRE(eval::learning_rate(r, 0) == Approx(r.lr / 10));
    REQUIRE(eval::learning_rate(r, 9) == Approx(r.lr));
    REQUIRE(eval::learning_rate(r, 119) == Approx(r.lr));
    REQUIRE(eval::learning_rate(r, 120) < r.lr);
    REQUIRE(eval::learning_rate(r, 149) == Approx(r.lr * r.min_lr_ratio));
    // the rate before the decay does not depend on the budget: what lets a state continue
    auto longer = r;
    longer.tokens *= 4;
    for (std::uint64_t s = 0; s < 120; ++s) REQUIRE(eval::learning_rate(longer, s) == eval::learning_rate(r, s));
    // cosine is recipe A's: 5% warm-up (8 steps), the floor at the last step, the midpoint halfway
    r.schedule = eval::lr_schedule::cosine;
    REQUIRE(eval::learning_rate(r, 7) == Approx(r.lr));
    REQUIRE(eval::learning_rate(r, 149) == Approx(r.lr * r.min_lr_ratio).epsilon(0.01));  // the floor one step later
    REQUIRE(eval::learning_rate(r, 8 + 71) == Approx(r.lr * (r.min_lr_ratio + 1.0) / 2.0).epsilon(0.01));
}

TEST_CASE("epoch sampling reads every non-overlapping window once before any again, random is recipe A's", "[eval][torch][train]") {
    auto r = quick();  // batch 8, windows of 32 + 1 tokens
    r.sampling = eval::window_sampling::epoch;
    const std::size_t size = 32 * 40 + 1;  // exactly 40 windows: 5 steps an epoch
    const auto w = eval::training_windows(r, 12, size);
    REQUIRE(w.size() == 12 * 8);
    for (std::size_t e = 0; e < 2; ++e) {
        std::vector<std::int64_t> epoch(w.begin() + static_cast<std::ptrdiff_t>(e * 40),
                                        w.begin() + static_cast<std::ptrdiff_t>(e * 40 + 40));
        std::sort(epoch.begin(), epoch.end());
        for (std::size_t k = 0; k < 40; ++k) REQUIRE(epoch[k] == static_cast<std::int64_t>(k * 32));
    }
    REQUIRE(!std::equal(w.begin(), w.begin() + 40, w.begin() + 40));  // a new order each epoch
    REQUIRE(eval::training_windows(r, 12, size) == w);                // a function of the seed
    r.seed = 2;
    REQUIRE(eval::training_windows(r, 12, size) != w);
    // the random sampler draws uniform offsets, windows overlapping
    r.sampling = eval::window_sampling::random;
    const auto u = eval::training_windows(r, 12, size);
    REQUIRE(std::any_of(u.begin(), u.end(), [](std::int64_t o) { return o % 32 != 0; }));
    REQUIRE(*std::max_element(u.begin(), u.end()) <= static_cast<std::int64_t>(size) - 33);
    // and epoch sampling trains
    r = quick();
    r.sampling = eval::window_sampling::epoch;
    const auto trained = run(r);
    REQUIRE(trained.status == eval::train_status::ok);
    REQUIRE(trained.checkpoints.back().val_loss < 1.2);
}

TEST_CASE("a stopped training continued from its state gives the uninterrupted loss curve", "[eval][torch][train]") {
    auto r = quick();
    r.tokens = 8 * 32 * 60;
    const auto whole = run(r);
    REQUIRE(whole.status == eval::train_status::ok);
    r.state_dir = fresh_dir("resume");
    r.stop_after_steps = 23;  // mid-way, between two checkpoints (20 and 40)
    const auto part = run(r);
    INFO(part.message);
    REQUIRE(part.status == eval::train_status::stopped);
    REQUIRE(part.steps == 23);
    REQUIRE(exists(r.state_dir + "/latest.pt"));
    r.stop_after_steps = 0;
    const auto rest = run(r);
    INFO(rest.message);
    REQUIRE(rest.status == eval::train_status::ok);
    REQUIRE(rest.resumed_from_step == 23);
    REQUIRE(rest.loss_curve == whole.loss_curve);
    REQUIRE(rest.checkpoints.size() == whole.checkpoints.size());
    for (std::size_t i = 0; i < rest.checkpoints.size(); ++i) {
        REQUIRE(rest.checkpoints[i].step == whole.checkpoints[i].step);
        REQUIRE(rest.checkpoints[i].val_loss == whole.checkpoints[i].val_loss);
        REQUIRE(rest.checkpoints[i].train_loss == whole.checkpoints[i].train_loss);
    }
    // the finished state is the end: the same call again trains nothing more
    const auto again = run(r);
    REQUIRE(again.status == eval::train_status::ok);
    REQUIRE(again.resumed_from_step == 60);
    REQUIRE(again.loss_curve == whole.loss_curve);
    remove_tree(r.state_dir);
}

TEST_CASE("a wsd training continues from its decay start to a larger budget unchanged", "[eval][torch][train]") {
    auto r = quick();
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 8 * 32 * 5;
    r.tokens = 8 * 32 * 80;
    const auto whole = run(r);  // 80 steps, decay over the last 16
    REQUIRE(whole.status == eval::train_status::ok);
    auto small = r;
    small.tokens = 8 * 32 * 40;  // 40 steps, decay from step 32
    small.state_dir = fresh_dir("promote");
    const auto rung = run(small);
    REQUIRE(rung.status == eval::train_status::ok);
    REQUIRE(exists(small.state_dir + "/stable.pt"));
    REQUIRE(rung.checkpoints.back().val_loss < rung.checkpoints.front().val_loss);
    auto big = r;
    big.state_dir = small.state_dir;
    const auto promoted = run(big);
    INFO(promoted.message);
    REQUIRE(promoted.status == eval::train_status::ok);
    REQUIRE(promoted.resumed_from_step == 32);  // latest.pt is in the small run's decay; stable.pt is not
    REQUIRE(promoted.loss_curve == whole.loss_curve);
    REQUIRE(promoted.checkpoints.back().val_loss == whole.checkpoints.back().val_loss);
    // a cosine training does not continue to another budget
    auto cosine = quick();
    cosine.tokens = 8 * 32 * 20;
    cosine.state_dir = fresh_dir("cosine");
    REQUIRE(run(cosine).status == eval::train_status::ok);
    cosine.tokens *= 2;
    const auto refused = run(cosine);
    REQUIRE(refused.status == eval::train_status::invalid);
    REQUIRE_THAT(refused.message, Catch::Matchers::Contains("the cosine schedule depends on the budget"));
    remove_tree(small.state_dir);
    remove_tree(cosine.state_dir);
}

TEST_CASE("smaller budgets on the way give each budget's own wsd training and leave the full one unchanged", "[eval][torch][train]") {
    auto r = quick();
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 8 * 32 * 5;
    r.tokens = 8 * 32 * 60;                                         // decay from step 48
    const std::uint64_t small = 8 * 32 * 20, middle = 8 * 32 * 40;  // decays from steps 16 and 32
    auto fused_sync = eval::no_speed_settings();
    fused_sync.fused_adamw = true;
    for (const auto& speed : {eval::train_speed{}, fused_sync}) {  // the asynchronous step and the synchronous one
        r.speed = speed;
        r.budgets.clear();
        const auto whole = run(r);
        REQUIRE(whole.status == eval::train_status::ok);
        REQUIRE(whole.budgets.empty());
        r.budgets = {middle, small};
        const auto with = run(r);
        INFO(with.message);
        REQUIRE(with.status == eval::train_status::ok);
        REQUIRE(with.loss_curve == whole.loss_curve);  // the branches were put back exactly
        REQUIRE(with.checkpoints.back().val_loss == whole.checkpoints.back().val_loss);
        REQUIRE(with.budgets.size() == 2);
        for (std::size_t i = 0; i < 2; ++i) {
            auto alone = r;
            alone.budgets.clear();
            alone.tokens = i == 0 ? small : middle;
            const auto a = run(alone);
            REQUIRE(a.status == eval::train_status::ok);
            const auto& b = with.budgets[i];
            REQUIRE(b.budget == alone.tokens);
            REQUIRE(b.steps == a.steps);
            REQUIRE(b.tokens == a.tokens);
            REQUIRE(b.val_loss == a.checkpoints.back().val_loss);
            REQUIRE(b.val_perplexity == Approx(std::exp(b.val_loss)));
            const std::size_t start = a.steps - a.steps / 5;
            double mean = 0.0;
            for (std::size_t s = start; s < a.steps; ++s) mean += a.loss_curve[s] / static_cast<double>(a.steps - start);
            REQUIRE(b.train_loss == Approx(mean).epsilon(1e-12));
        }
        REQUIRE(with.budgets[0].val_loss > with.budgets[1].val_loss);
    }
    // stopped between the two decay starts: the first budget's result comes back from the state
    r.speed = {};
    r.budgets = {small, middle};
    const auto whole = run(r);
    r.state_dir = fresh_dir("budgets");
    r.stop_after_steps = 25;
    const auto part = run(r);
    REQUIRE(part.status == eval::train_status::stopped);
    REQUIRE(part.budgets.size() == 1);
    r.stop_after_steps = 0;
    const auto rest = run(r);
    INFO(rest.message);
    REQUIRE(rest.status == eval::train_status::ok);
    REQUIRE(rest.resumed_from_step == 25);
    REQUIRE(rest.loss_curve == whole.loss_curve);
    REQUIRE(rest.budgets.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) REQUIRE(rest.budgets[i].val_loss == whole.budgets[i].val_loss);
    // a budget whose decay start the saved state has passed cannot be measured from it
    auto late = r;
    late.budgets = {8 * 32 * 10};
    late.tokens = 8 * 32 * 70;  // a promotion, from stable.pt at step 48
    const auto refused = run(late);
    REQUIRE(refused.status == eval::train_status::invalid);
    REQUIRE_THAT(refused.message, Catch::Matchers::Contains("the budget 2560 decays from step 8, before the saved state's step 48"));
    remove_tree(r.state_dir);
    // what cannot branch
    auto cosine = quick();
    cosine.budgets = {8 * 32 * 10};
    REQUIRE_THAT(run(cosine).message, Catch::Matchers::Contains("need the wsd schedule"));
    auto over = r;
    over.state_dir.clear();
    over.budgets = {r.tokens + 5};
    REQUIRE_THAT(run(over).message, Catch::Matchers::Contains("fewer steps than the training's 60"));
    auto legacy = over;
    legacy.budgets = {small};
    legacy.speed = eval::no_speed_settings();
    REQUIRE_THAT(run(legacy).message, Catch::Matchers::Contains("need the fused AdamW"));
}

TEST_CASE("bf16 weights with fp32 masters train like fp32 to bf16's rounding, a state and a branch keep the masters",
          "[eval][torch][train]") {
    auto r = quick();  // on the CPU: fp32, or bf16 weights (the setting's own path, as on CUDA)
    const auto fp32 = run(r);
    r.speed.bf16_weights = true;
    const auto bf16 = run(r);
    INFO(bf16.message);
    REQUIRE(bf16.status == eval::train_status::ok);
    REQUIRE(bf16.loss_curve != fp32.loss_curve);                                       // it really rounds
    REQUIRE(bf16.loss_curve.front() == Approx(fp32.loss_curve.front()).margin(0.02));  // ln 64 to bf16's 3 digits
    REQUIRE(max_difference(bf16.loss_curve, fp32.loss_curve) < 0.05);                  // 0.0013 measured
    REQUIRE(bf16.checkpoints.back().val_loss < 1.2);                                   // learned the +1 rule as fp32 did (0.89)
    REQUIRE(bf16.checkpoints.back().val_loss == Approx(fp32.checkpoints.back().val_loss).epsilon(0.02));  // 0.885067 and 0.885062
    r.speed.fused_dense = true;  // the fused linear layers in bf16 (their LibTorch steps on the CPU)
    const auto fused = run(r);
    INFO(fused.message);
    REQUIRE(fused.status == eval::train_status::ok);
    REQUIRE(max_difference(fused.loss_curve, fp32.loss_curve) < 0.05);
    REQUIRE(fused.checkpoints.back().val_loss == Approx(fp32.checkpoints.back().val_loss).epsilon(0.02));
    r.speed.fused_dense = false;
    // stopped and continued: the saved state holds the fp32 masters, not their bf16 rounding
    r.tokens = 8 * 32 * 40;
    const auto whole = run(r);
    r.state_dir = fresh_dir("bf16");
    r.stop_after_steps = 13;
    REQUIRE(run(r).status == eval::train_status::stopped);
    r.stop_after_steps = 0;
    const auto rest = run(r);
    INFO(rest.message);
    REQUIRE(rest.resumed_from_step == 13);
    REQUIRE(rest.loss_curve == whole.loss_curve);
    REQUIRE(rest.checkpoints.back().val_loss == whole.checkpoints.back().val_loss);
    remove_tree(r.state_dir);
    r.state_dir.clear();
    // a budget's branch puts the masters (and so the weights) back exactly
    r.schedule = eval::lr_schedule::wsd;
    r.warmup_tokens = 8 * 32 * 5;
    const auto plain = run(r);
    r.budgets = {8 * 32 * 20};
    const auto with = run(r);
    REQUIRE(with.status == eval::train_status::ok);
    REQUIRE(with.loss_curve == plain.loss_curve);
    REQUIRE(with.budgets.size() == 1);
    // the masters need the fused AdamW
    auto legacy = quick();
    legacy.speed = eval::no_speed_settings();
    legacy.speed.bf16_weights = true;
    REQUIRE_THAT(run(legacy).message, Catch::Matchers::Contains("bf16 weights need the fused AdamW"));
}

TEST_CASE("a corrupt or mismatched state is one sentence, and nothing is trained", "[eval][torch][train]") {
    auto r = quick();
    r.tokens = 8 * 32 * 10;
    r.state_dir = fresh_dir("bad");
    REQUIRE(run(r).status == eval::train_status::ok);
    // another architecture in the same folder
    const auto other = run(r, nas::parse_architecture("n_layer=1 d_model=32 d_inner=64 n_head=2 context=64"));
    REQUIRE(other.status == eval::train_status::invalid);
    REQUIRE_THAT(other.message,
                 Catch::Matchers::Contains("latest.pt cannot continue this training: it holds another training (saved 'arch n_layer=2"));
    REQUIRE(other.steps == 0);
    // another seed is another training too
    auto seeded = r;
    seeded.seed = 2;
    REQUIRE_THAT(run(seeded).message, Catch::Matchers::Contains("seed 1"));
    // a damaged file
    const auto state = r.state_dir + "/latest.pt";
    truncate_half(state);
    const auto cut = run(r);
    REQUIRE(cut.status == eval::train_status::invalid);
    REQUIRE_THAT(cut.message, Catch::Matchers::Contains("latest.pt is not a readable fracnas training state ("));
    REQUIRE(cut.message.find('\n') == std::string::npos);
    std::ofstream(state, std::ios::binary) << "not a state";
    REQUIRE_THAT(run(r).message, Catch::Matchers::Contains("is not a readable fracnas training state"));
    remove_tree(r.state_dir);
}
TEST_CASE("every block option trains: the losses fall, the count is the model's", "[eval][torch][train]") {
    // each option alone on the tiny model, then Llama's block (all but the parallel block)
    const std::string base = "n_layer=2 d_model=32 d_inner=64,64 n_head=4,4 vocab=64 context=64";
    for (const std::string options :
         {" norm=rmsnorm", " mlp=swiglu", " positions=rotary", " n_kv_head=1,2", " block=parallel", " output=untied", " bias=off",
          " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=2,2 output=untied bias=off"}) {
        const auto arch = nas::parse_architecture(base + options);
        const auto r = run(quick(), arch);
        INFO(options << ": " << r.message);
        REQUIRE(r.status == eval::train_status::ok);
        REQUIRE(nas::canonical(r.arch) == nas::canonical(arch));  // the block options kept
        REQUIRE(r.params.total == nas::count_parameters(arch).total);
        REQUIRE(r.loss_curve.front() == Approx(std::log(64.0)).margin(0.3));
        for (std::size_t i = 1; i < r.checkpoints.size(); ++i) REQUIRE(r.checkpoints[i].val_loss < r.checkpoints[i - 1].val_loss);
        REQUIRE(r.checkpoints.back().val_loss < 1.2);  // the +1 rule learned: 0.76 to 0.89 measured, GPT-2's block 0.89
    }
}

TEST_CASE("Llama's block: the loss from the features and the untied table is the logits' loss, and a state continues it",
          "[eval][torch][train]") {
    const auto llama = nas::parse_architecture(
        "n_layer=2 d_model=32 d_inner=64,64 n_head=4,4 context=64 norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=2,1 "
        "output=untied bias=off");
    auto r = quick();
    r.tokens = 8 * 32 * 40;
    const auto fused = run(r, llama);
    auto logits = r;
    logits.speed.fused_loss = false;  // the loss from the full logits, features x lm_head^T
    const auto full = run(logits, llama);
    REQUIRE(fused.status == eval::train_status::ok);
    REQUIRE(full.status == eval::train_status::ok);
    REQUIRE(max_difference(fused.loss_curve, full.loss_curve) < 1e-3);
    REQUIRE(fused.checkpoints.back().val_loss == Approx(full.checkpoints.back().val_loss).epsilon(1e-4));
    // bf16 weights (fp32 masters): the same curve to bf16's rounding
    auto bf16 = r;
    bf16.speed.bf16_weights = true;
    const auto rounded = run(bf16, llama);
    INFO(rounded.message);
    REQUIRE(rounded.status == eval::train_status::ok);
    REQUIRE(max_difference(rounded.loss_curve, fused.loss_curve) < 0.05);
    // stopped and continued: lm_head and every other parameter come back from the state
    r.state_dir = fresh_dir("llama");
    r.stop_after_steps = 17;
    REQUIRE(run(r, llama).status == eval::train_status::stopped);
    r.stop_after_steps = 0;
    const auto rest = run(r, llama);
    INFO(rest.message);
    REQUIRE(rest.resumed_from_step == 17);
    REQUIRE(rest.loss_curve == fused.loss_curve);
    remove_tree(r.state_dir);
}
#endif
