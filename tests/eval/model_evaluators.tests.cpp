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
