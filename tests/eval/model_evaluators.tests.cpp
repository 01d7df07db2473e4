// The device-free evaluators' simulated training (eval/model_evaluators.hpp): what the search's
// CPU tests and dry runs train, and the default that an evaluator which only times answers.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/eval/objectives.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

using namespace fracnas;

TEST_CASE("the latency model's simulated training: lower loss with more parameters and more tokens, a seed's noise, faults as data",
          "[eval]") {
    const nas::architecture small = nas::parse_architecture("n_layer=2 d_model=256 d_inner=1024,1024 n_head=4,4");
    const nas::architecture big = nas::gpt2_small();
    for (const std::uint64_t seed : {1u, 2u}) {
        CAPTURE(seed);
        REQUIRE(eval::simulated_val_loss(small, 5000000, seed) < eval::simulated_val_loss(small, 2500000, seed));
        REQUIRE(eval::simulated_val_loss(big, 5000000, seed) < eval::simulated_val_loss(small, 5000000, seed));
        REQUIRE(eval::simulated_val_loss(big, 5000000, seed) == eval::simulated_val_loss(big, 5000000, seed));
    }
    // the seed moves the loss by a fraction of a percent, the same fraction at every budget
    const double a = eval::simulated_val_loss(big, 1000000, 1), b = eval::simulated_val_loss(big, 1000000, 2);
    REQUIRE(a != b);
    REQUIRE(std::abs(a / b - 1.0) < 0.05);
    REQUIRE(a / b == Approx(eval::simulated_val_loss(big, 9000000, 1) / eval::simulated_val_loss(big, 9000000, 2)));
    // Chinchilla's form without the noise: 1.69 + 406.4 / N^0.34 + 410.7 / D^0.28 within the noise
    const double n = static_cast<double>(nas::count_parameters(big).decoder), d = 1e7;
    REQUIRE(eval::simulated_val_loss(big, 10000000, 3) ==
            Approx(1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28)).epsilon(0.03));

    eval::latency_model_config m;
    m.faults.diverge_on_call = 2;
    eval::latency_model_evaluator model(m);
    const std::string spec = nas::canonical(small);
    const eval::outcome ok = model.train({}, spec, eval::train_task{2500000, 7, 0});
    REQUIRE(ok.status == eval::outcome_status::ok);
    REQUIRE(ok.val_loss == eval::simulated_val_loss(small, 2500000, 7));
    REQUIRE(ok.value == ok.val_perplexity);
    REQUIRE(ok.val_perplexity == Approx(std::exp(ok.val_loss)));
    REQUIRE(ok.tokens_trained == 2500000);
    REQUIRE(ok.tokens_per_second > 0.0);
    REQUIRE(std::isnan(ok.probe_perplexity));  // none asked
    // a probe on the way: the loss the same training would have at the probe's budget
    const eval::outcome probed =
        eval::latency_model_evaluator(eval::latency_model_config{}).train({}, spec, eval::train_task{2500000, 7, 0, 1000000});
    REQUIRE(probed.val_perplexity == ok.val_perplexity);
    REQUIRE(probed.probe_perplexity == Approx(std::exp(eval::simulated_val_loss(small, 1000000, 7))));
    REQUIRE(probed.probe_perplexity > probed.val_perplexity);
    const eval::outcome diverged = model.train({}, spec, eval::train_task{2500000, 7, 0});
    REQUIRE(diverged.status == eval::outcome_status::diverged);
    REQUIRE(std::isnan(diverged.value));
    REQUIRE(model.train({}, "not an architecture", eval::train_task{1000, 1, 0}).status == eval::outcome_status::invalid);
    REQUIRE(model.train({}, spec, eval::train_task{0, 1, 0}).status == eval::outcome_status::invalid);
    // an evaluator that only times says so, as data
    eval::function_evaluator f(eval::make_objective("sphere", 2, 1));
    const eval::outcome refused = f.train({0.5, 0.5}, "", eval::train_task{1000, 1, 0});
    REQUIRE(refused.status == eval::outcome_status::invalid);
    REQUIRE(refused.message == "this evaluator times candidates; it does not train them.");
}

TEST_CASE("the D-large test bed: GPT-2 small's measured perplexities, shallow-wide models ahead at 16 M tokens and behind at one epoch",
          "[eval]") {
    const auto at = [](const char* text) {
        nas::architecture a = nas::parse_architecture(text);
        a.vocab = 32768;
        return a;
    };
    nas::architecture reference = nas::gpt2_small();
    reference.vocab = 32768;
    constexpr std::uint64_t epoch = 71499776, rung = 16000000;
    // the mean over seeds of log(ppl / the reference's ppl with the same seed), and its spread
    const auto mean_log_ratio = [&](const nas::architecture& a, std::uint64_t tokens) {
        double sum = 0.0;
        for (std::uint64_t seed = 1; seed <= 40; ++seed)
            sum += eval::dlarge_val_loss(a, tokens, seed) - eval::dlarge_val_loss(reference, tokens, seed);
        return sum / 40.0;
    };
    double sum = 0.0, squares = 0.0;
    for (std::uint64_t seed = 1; seed <= 400; ++seed) {
        const double l = eval::dlarge_val_loss(reference, epoch, seed);
        sum += l;
        squares += l * l;
    }
    const double mean = sum / 400.0, spread = std::sqrt(squares / 400.0 - mean * mean);
    // GPT-2 small measured on D-large at one epoch: perplexity 27.58 (log 3.3170), five trainings
    REQUIRE(mean == Approx(3.316959).margin(0.003));
    REQUIRE(spread == Approx(0.01).margin(0.002));  // a seed's noise: about the H200's 1% seed to seed
    REQUIRE(eval::dlarge_val_loss(reference, 8000000, 1) == Approx(5.122855).margin(0.05));
    REQUIRE(eval::dlarge_val_loss(reference, epoch, 3) == eval::dlarge_val_loss(reference, epoch, 3));
    // a budget between two measured ones: between their losses
    REQUIRE(eval::dlarge_val_loss(reference, 30000000, 1) < eval::dlarge_val_loss(reference, rung, 1));
    REQUIRE(eval::dlarge_val_loss(reference, 30000000, 1) > eval::dlarge_val_loss(reference, epoch, 1));
    // measured on D-large: 2 x 1536 x 0.918 of the reference at 16 M tokens; 1 x 2560 x 0.885 at
    // 16 M and x 1.411 at one epoch; 10 x 768 x 1.003 at one epoch
    const auto two_wide = at("n_layer=2 d_model=1536 d_inner=6144,6144 n_head=12,12");
    const auto one_wide = at("n_layer=1 d_model=2560 d_inner=10240 n_head=20");
    const auto ten_deep =
        at("n_layer=10 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12");
    REQUIRE(mean_log_ratio(two_wide, rung) < std::log(0.97));
    REQUIRE(mean_log_ratio(two_wide, epoch) > std::log(1.10));
    REQUIRE(mean_log_ratio(one_wide, rung) < std::log(0.95));
    REQUIRE(mean_log_ratio(one_wide, epoch) > std::log(1.30));
    REQUIRE(std::abs(mean_log_ratio(ten_deep, epoch)) < std::log(1.02));
    // a narrow embedding costs perplexity (measured: 4 x 768 with d_embed 384 x 1.18 of d_embed 768 at 16 M)
    auto narrow = at("n_layer=4 d_model=768 d_inner=3072,3072,3072,3072 n_head=12,12,12,12");
    const double full = mean_log_ratio(narrow, rung);
    narrow.d_embed = 384;
    REQUIRE(mean_log_ratio(narrow, rung) > full + std::log(1.05));

    // the evaluator reports it when configured so, its probe from the same training
    eval::latency_model_config m;
    m.training = eval::simulated_training::dlarge;
    const eval::outcome o = eval::latency_model_evaluator(m).train({}, nas::canonical(two_wide), eval::train_task{epoch, 5, 0, rung});
    REQUIRE(o.status == eval::outcome_status::ok);
    REQUIRE(o.val_loss == eval::dlarge_val_loss(two_wide, epoch, 5));
    REQUIRE(o.probe_perplexity == Approx(std::exp(eval::dlarge_val_loss(two_wide, rung, 5))));
}
