// Tests of the training search (search_config::rungs): the books' rule step by step (admission,
// the order of work, verdicts, promotions, second seeds, failures, replay), then whole searches
// with the latency model's simulated trainings in-process and on dry-run workers: the promotions
// follow the rule, the optimizer is told each trained candidate's verdict, failures are data, and
// a run cut at any point resumes without training anything finished again. No device, no HDF5.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "fracnas/app/analysis.hpp"
#include "fracnas/app/search_driver.hpp"
#include "fracnas/app/training_books.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "fracnas/transport/local_dispatcher.hpp"
#include "small_search.hpp"

using namespace fracnas;
using Catch::Matchers::Contains;

namespace {

using testing::small_config;

app::search_config ladder_config(std::vector<std::uint64_t> rungs, std::uint32_t eta) {
    auto c = small_config(50);
    c.rungs = std::move(rungs);
    c.eta = eta;
    c.validate();
    return c;
}

std::uint64_t hash_of(std::uint64_t candidate) {
    return candidate * 7919 + 13;
}

// A training's result as the driver archives it.
storage::search_training_record row(const app::training_order& o, double perplexity,
                                    eval::outcome_status status = eval::outcome_status::ok) {
    eval::outcome out;
    out.status = status;
    if (status == eval::outcome_status::ok) {
        out.val_perplexity = perplexity;
        out.val_loss = std::log(perplexity);
    }
    return app::training_row(o, out);
}

app::training_order take(app::training_books& b) {
    const auto o = b.next();
    REQUIRE(o);
    return *o;
}

}  // namespace

TEST_CASE("training books: the reference first, each candidate's first rung in order, verdicts once the reference is in", "[app][train]") {
    const auto c = ladder_config({100, 300, 900}, 3);
    app::training_books b(c);
    REQUIRE_FALSE(b.next());  // nothing admitted: nothing to train
    REQUIRE(b.admit(1, hash_of(1), "a1", {0.5}, 0.5));
    REQUIRE(b.admit(2, hash_of(2), "a2", {0.25}, 0.4));
    REQUIRE(b.admit(1, hash_of(1), "a1", {0.5}, 0.5));  // the same candidate again: trained already
    const auto ref = take(b);
    REQUIRE(ref.reference);
    REQUIRE(ref.arch == nas::canonical(c.reference_arch()));
    REQUIRE(ref.task.rung == 0);
    REQUIRE(ref.task.tokens == 100);
    REQUIRE(ref.task.seed == c.train_seed);
    const auto first = take(b), second = take(b);
    REQUIRE(first.candidate == 1);
    REQUIRE(first.x == core::point{0.5});
    REQUIRE(second.candidate == 2);
    REQUIRE(second.task.rung == 0);
    REQUIRE_FALSE(b.next());
    REQUIRE(b.in_flight() == 3);

    // a candidate's result before the reference's: no verdict until the reference's
    REQUIRE(b.record(row(first, 30.0)).empty());
    REQUIRE_FALSE(b.verdict(hash_of(1)));
    const auto decided = b.record(row(ref, 30.0));
    REQUIRE(decided == std::vector<std::uint64_t>{hash_of(1)});
    REQUIRE(b.verdict(hash_of(1))->value == Approx(0.5));  // within the bound: the latency ratio
    REQUIRE_FALSE(b.verdict(hash_of(1))->failed);
    // past the bound: the latency ratio plus 10 x how far past
    REQUIRE(b.record(row(second, 33.0)) == std::vector<std::uint64_t>{hash_of(2)});
    REQUIRE(b.verdict(hash_of(2))->value == Approx(0.4 + 10.0 * (1.1 - 1.03)));
    REQUIRE(b.in_flight() == 0);
    REQUIRE(b.results_per_rung() == std::vector<std::size_t>{2, 0, 0});
}

TEST_CASE("training books: ASHA promotes the top 1/eta at once, the reference trained at the new rung first", "[app][train]") {
    const auto c = ladder_config({100, 300, 900}, 3);
    app::training_books b(c);
    for (std::uint64_t k = 1; k <= 3; ++k) REQUIRE(b.admit(k, hash_of(k), "a" + std::to_string(k), {}, 0.3 + 0.1 * double(k)));
    b.record(row(take(b), 30.0));  // the reference
    // candidate 3 is the slowest but the only one within the bound: it ranks first
    const std::map<std::uint64_t, double> perplexity{{1, 33.0}, {2, 32.0}, {3, 30.0}};
    for (int k = 0; k < 3; ++k) {
        const auto o = take(b);
        REQUIRE(o.task.rung == 0);
        b.record(row(o, perplexity.at(o.candidate)));
    }
    // three results at rung 0: the best one goes up, after the reference's rung-1 training
    const auto ref1 = take(b);
    REQUIRE(ref1.reference);
    REQUIRE(ref1.task.rung == 1);
    REQUIRE(ref1.task.tokens == 300);
    const auto up = take(b);
    REQUIRE(up.candidate == 3);
    REQUIRE(up.task.rung == 1);
    REQUIRE(up.x.empty());
    REQUIRE_FALSE(b.next());  // floor(3 / 3) = 1 promoted: no other
    // a fourth result better than all: the top floor(4 / 3) = 1 now holds a candidate not yet
    // promoted, which goes up at once (the rung-1 reference is ordered already)
    REQUIRE(b.admit(4, hash_of(4), "a4", {}, 0.2));
    const auto fourth = take(b);
    REQUIRE(fourth.candidate == 4);
    b.record(row(fourth, 29.0));
    const auto next_up = take(b);
    REQUIRE(next_up.candidate == 4);
    REQUIRE(next_up.task.rung == 1);
    REQUIRE_FALSE(b.next());
    // two more, both worse: floor(6 / 3) = 2, and the top two went up already
    for (std::uint64_t k = 5; k <= 6; ++k) {
        REQUIRE(b.admit(k, hash_of(k), "a" + std::to_string(k), {}, 0.9));
        b.record(row(take(b), 40.0));
    }
    REQUIRE_FALSE(b.next());
    // a seventh within the bound and faster than candidate 3: floor(7 / 3) = 2, and it ranks second
    REQUIRE(b.admit(7, hash_of(7), "a7", {}, 0.5));
    b.record(row(take(b), 30.0));
    const auto seventh = take(b);
    REQUIRE((seventh.candidate == 7 && seventh.task.rung == 1));
    REQUIRE_FALSE(b.next());
    REQUIRE(b.ladder().promoted(3, 0));
    REQUIRE(b.ladder().promoted(4, 0));
    REQUIRE_FALSE(b.ladder().promoted(1, 0));
}

TEST_CASE("training books: the best feasible answer at the top, its second seed and the reference's, the mean decides", "[app][train]") {
    for (const bool second_holds : {true, false}) {
        INFO("second seed within the bound: " << second_holds);
        const auto c = ladder_config({100, 400}, 2);
        app::training_books b(c);
        REQUIRE(b.admit(1, hash_of(1), "a1", {}, 0.6));
        REQUIRE(b.admit(2, hash_of(2), "a2", {}, 0.7));
        b.record(row(take(b), 30.0));
        b.record(row(take(b), 30.3));  // candidate 1, ratio 1.01
        b.record(row(take(b), 35.0));  // candidate 2, past the bound
        const auto ref_top = take(b);
        REQUIRE((ref_top.reference && ref_top.task.rung == 1));
        const auto top = take(b);
        REQUIRE((top.candidate == 1 && top.task.rung == 1));
        REQUIRE_FALSE(b.best());
        b.record(row(ref_top, 20.0));
        b.record(row(top, 20.4));  // ratio 1.02: feasible
        REQUIRE(b.best());
        REQUIRE(b.best()->candidate == 1);
        REQUIRE(b.best()->perplexity_ratios.size() == 1);
        REQUIRE(b.best()->perplexity_ratios[0] == Approx(1.02));
        // the answer trains again with the second seed, the reference first
        const auto ref2 = take(b), mine2 = take(b);
        REQUIRE((ref2.reference && ref2.task.rung == 1 && ref2.task.seed == c.train_seed + 1 && ref2.task.tokens == 400));
        REQUIRE((mine2.candidate == 1 && mine2.task.rung == 1 && mine2.task.seed == c.train_seed + 1));
        REQUIRE_FALSE(b.next());
        // nothing slower than the answer is trained any more; faster is
        REQUIRE_FALSE(b.admit(3, hash_of(3), "a3", {}, 0.6));
        REQUIRE(b.admit(4, hash_of(4), "a4", {}, 0.5));
        b.record(row(ref2, 21.0));
        b.record(row(mine2, second_holds ? 21.2 : 22.0));  // mean of 1.02 and 1.0095, or of 1.02 and 1.0476
        if (second_holds) {
            REQUIRE(b.best()->perplexity_ratios.size() == 2);
            REQUIRE(b.best()->perplexity_ratios[1] == Approx(21.2 / 21.0));
        } else {
            REQUIRE_FALSE(b.best());  // the mean is past 1.03: no answer yet
            REQUIRE(b.admit(3, hash_of(3), "a3", {}, 0.6));
        }
    }
}

TEST_CASE("extrapolated_ratio carries a ratio's change per factor of budget on to the top budget", "[app][train]") {
    // 0.9 at 8 M, 1.0 at 16 M: x1/0.9 per doubling, two doublings to 64 M
    REQUIRE(app::extrapolated_ratio(1.0, 16e6, 0.9, 8e6, 64e6) == Approx(1.0 / 0.81));
    // a falling ratio falls on: 1.0 at 100, 0.95 at 300, one more factor of 3 to 900
    REQUIRE(app::extrapolated_ratio(0.95, 300, 1.0, 100, 900) == Approx(0.95 * 0.95));
    // a flat trend, or the top budget itself: the ratio
    REQUIRE(app::extrapolated_ratio(0.97, 16e6, 0.97, 8e6, 71.5e6) == Approx(0.97));
    REQUIRE(app::extrapolated_ratio(1.2, 16e6, 0.9, 8e6, 16e6) == Approx(1.2));
    // no trend defined: the ratio as it is
    REQUIRE(app::extrapolated_ratio(1.1, 16e6, 0.9, 16e6, 64e6) == 1.1);  // no smaller budget
    REQUIRE(app::extrapolated_ratio(1.1, 16e6, 0.9, 32e6, 64e6) == 1.1);
    REQUIRE(app::extrapolated_ratio(1.1, 16e6, 0.0, 8e6, 64e6) == 1.1);
    REQUIRE(app::extrapolated_ratio(1.1, 16e6, 0.9, 8e6, 8e6) == 1.1);  // a top below the budget
}

TEST_CASE("search_config: each rung below the top probes at --trend-probe of its budget, where a promoted training can measure it",
          "[app][train]") {
    auto c = ladder_config({16000000, 64000000}, 3);
    REQUIRE(c.probe_tokens(0) == 8000000);
    REQUIRE(c.probe_tokens(1) == 0);  // the top rung: measured, not extrapolated
    REQUIRE(c.train_task(0, c.train_seed).probe_tokens == 8000000);
    REQUIRE(c.train_task(1, c.train_seed + 1).probe_tokens == 0);
    c = ladder_config({10000000, 15000000, 30000000, 90000000}, 2);
    REQUIRE(c.probe_tokens(0) == 5000000);
    REQUIRE(c.probe_tokens(1) == 0);  // 7.5 M: before the rung beneath, where the promoted training starts
    REQUIRE(c.probe_tokens(2) == 15000000);
    REQUIRE(c.probe_tokens(3) == 0);
    c.trend_probe = 0.0;
    REQUIRE(c.probe_tokens(0) == 0);
    REQUIRE(c.train_task(0, c.train_seed).probe_tokens == 0);
}

TEST_CASE("search_config: --vocab builds the reference and the space's models with that vocabulary, the floor unchanged", "[app]") {
    auto c = small_config(10);
    REQUIRE(c.vocab == 0);
    REQUIRE(c.model_vocab() == 50257);  // GPT-2's
    REQUIRE(c.reference_arch().vocab == 50257);
    const std::uint64_t floor = c.decoder_floor();
    c.vocab = 32768;
    REQUIRE(c.reference_arch().vocab == 32768);
    REQUIRE(c.reference_arch().n_layer == 12);
    REQUIRE(c.space_config().vocab == 32768);
    REQUIRE(c.decoder_floor() == floor);  // decoder parameters do not count the vocabulary
    c.reference = app::reference_kind::gpt2_medium;
    REQUIRE(c.reference_arch().vocab == 32768);
    REQUIRE(c.reference_arch().n_layer == 24);
}

TEST_CASE("training books: below the top rung a candidate ranks by its ratio extrapolated from its probe, or from the rung beneath",
          "[app][train]") {
    // A fast candidate that learns fast early (ratio 0.85 at its probe, 0.95 at its rung) against a
    // slower one whose ratio holds (0.97 at both): extrapolated to the top rung, four times the
    // first rung's budget, the first is past the bound and the second is not.
    for (const double probe_share : {0.5, 0.0}) {
        INFO("trend probe " << probe_share);
        auto c = ladder_config({1000, 2000, 4000}, 2);
        c.trend_probe = probe_share;
        app::training_books b(c);
        REQUIRE(b.admit(1, hash_of(1), "fast", {}, 0.3));
        REQUIRE(b.admit(2, hash_of(2), "steady", {}, 0.6));
        const auto with_probe = [](const app::training_order& o, double perplexity, double probe) {
            auto r = row(o, perplexity);
            r.probe_perplexity = o.task.probe_tokens > 0 ? probe : eval::outcome::none;
            return r;
        };
        const auto ref = take(b), fast = take(b), steady = take(b);
        REQUIRE(ref.task.probe_tokens == (probe_share > 0.0 ? 500 : 0));
        REQUIRE(fast.task.probe_tokens == ref.task.probe_tokens);
        b.record(with_probe(ref, 100.0, 200.0));
        b.record(with_probe(fast, 95.0, 170.0));
        b.record(with_probe(steady, 97.0, 194.0));
        // x(0.95 / 0.85) per halving of the budget, two doublings to the top
        const double fast_top = 0.95 * std::pow(0.95 / 0.85, 2.0);
        if (probe_share > 0.0) {
            REQUIRE(*b.top_ratio_estimate(1, 0) == Approx(fast_top));
            REQUIRE(b.verdict(hash_of(1))->value == Approx(0.3 + 10.0 * (fast_top - 1.03)));
            REQUIRE(*b.top_ratio_estimate(2, 0) == Approx(0.97));
        } else {
            REQUIRE(*b.top_ratio_estimate(1, 0) == Approx(0.95));  // the rung's own ratio
            REQUIRE(b.verdict(hash_of(1))->value == Approx(0.3));
        }
        REQUIRE(b.verdict(hash_of(2))->value == Approx(0.6));
        // floor(2 / 2) = 1 goes up: by the trend the steady one, by the rung's ratio the fast one
        REQUIRE(take(b).reference);
        const auto up = take(b);
        REQUIRE(up.task.rung == 1);
        REQUIRE(up.candidate == (probe_share > 0.0 ? 2u : 1u));
        REQUIRE_FALSE(b.next());
    }
    // a rung whose probe is not measured (NaN) takes the trend from the rung beneath
    auto c = ladder_config({1000, 3000, 9000}, 2);
    app::training_books b(c);
    REQUIRE(b.admit(1, hash_of(1), "a1", {}, 0.5));
    REQUIRE(b.admit(2, hash_of(2), "a2", {}, 0.9));
    b.record(row(take(b), 100.0));  // the reference, no probe measured
    const auto one = take(b), two = take(b);
    b.record(row(one, 90.0));
    b.record(row(two, 99.0));
    REQUIRE(*b.top_ratio_estimate(1, 0) == Approx(0.9));  // neither a probe nor a rung beneath: the ratio
    const auto ref1 = take(b), up = take(b);
    REQUIRE((ref1.reference && ref1.task.rung == 1 && up.candidate == 1 && up.task.rung == 1));
    REQUIRE(ref1.task.probe_tokens == 1500);
    b.record(row(ref1, 50.0));
    b.record(row(up, 50.0));  // 0.9 at 1,000 tokens, 1.0 at 3,000: x1/0.9 per factor of 3, once more to 9,000
    REQUIRE(*b.top_ratio_estimate(1, 1) == Approx(1.0 / 0.9));
    REQUIRE_FALSE(b.top_ratio_estimate(2, 1));  // not trained there
    REQUIRE_FALSE(b.top_ratio_estimate(7, 0));  // not a candidate
}

TEST_CASE("training books: the top rung's results calibrate the estimates below it, and re-rank the rung", "[app][train]") {
    for (const auto calibration : {app::on_off::on, app::on_off::off}) {
        const bool on = calibration == app::on_off::on;
        INFO("trend calibration " << app::to_string(calibration));
        auto c = ladder_config({100, 300}, 2);
        c.trend_probe = 0.0;  // each rung's own ratio is its estimate: the calibration alone scales it
        c.trend_calibration = calibration;
        app::training_books b(c);
        REQUIRE(b.admit(1, hash_of(1), "a1", {}, 0.3));
        REQUIRE(b.admit(2, hash_of(2), "a2", {}, 0.9));
        const auto ref = take(b), one = take(b), two = take(b);
        b.record(row(ref, 100.0));
        b.record(row(one, 102.0));  // 1.02: within the bound, the fastest
        b.record(row(two, 100.0));
        REQUIRE(b.verdict(hash_of(2))->value == Approx(0.9));
        REQUIRE(b.calibration_at(0).from == 0);
        REQUIRE(b.calibration_at(0).factor == 1.0);
        // floor(2 / 2) = 1 goes up: candidate 1, measured at the top 6% worse than rung 0 said
        const auto ref1 = take(b), up = take(b);
        REQUIRE((ref1.reference && up.candidate == 1 && up.task.rung == 1));
        b.record(row(ref1, 50.0));
        b.record(row(up, 54.0));
        const double factor = on ? 1.08 / 1.02 : 1.0;
        REQUIRE(b.calibration_at(0).factor == Approx(factor));
        REQUIRE(b.calibration_at(0).from == (on ? 1u : 0u));
        REQUIRE(b.calibration_at(1).factor == 1.0);  // the top rung is measured, not estimated
        REQUIRE(*b.top_ratio_estimate(2, 0) == Approx(1.0 * factor));
        REQUIRE(*b.trend_estimate(2, 0) == Approx(1.0));  // the trend's own, before the calibration
        REQUIRE_FALSE(b.trend_estimate(9, 0));
        REQUIRE(*b.top_ratio_estimate(1, 1) == Approx(1.08));
        REQUIRE(b.verdict(hash_of(2))->value == Approx(0.9));  // told once, before the calibration
        REQUIRE_FALSE(b.best());                               // 1.08 at the top: past the bound
        REQUIRE_FALSE(b.next());                               // candidate 1 still ranks first at rung 0 (0.8 against 1.19 calibrated)
        // a third candidate: calibrated, 0.98 points past the bound and is told so, yet it ranks
        // before candidate 1 (1.02 x 1.059, re-ranked): the best of the rung's 3 is one not promoted
        REQUIRE(b.admit(3, hash_of(3), "a3", {}, 0.6));
        const auto three = take(b);
        b.record(row(three, 98.0));
        REQUIRE(b.verdict(hash_of(3))->value == Approx(0.6 + 10.0 * std::max(0.0, 0.98 * factor - 1.03)));
        if (on) {
            const auto next = take(b);
            REQUIRE((next.candidate == 3 && next.task.rung == 1));
            const auto ranked = b.ladder().results(0);
            REQUIRE(ranked.size() == 3);
            REQUIRE(ranked[0].id == 3);
            REQUIRE(ranked[0].value == Approx(0.6 + 10.0 * (0.98 * factor - 1.03)));
            REQUIRE(ranked[1].id == 1);
            REQUIRE(ranked[1].value == Approx(0.3 + 10.0 * (1.02 * factor - 1.03)));
            REQUIRE(ranked[2].id == 2);
        } else {
            REQUIRE_FALSE(b.next());  // candidate 1 (0.3) still ranks first, and it went up already
        }
    }
}

TEST_CASE("training books: a head variant of a trained candidate takes its verdict with its own latency ratio, untrained", "[app][train]") {
    const std::string a = "n_layer=2 d_model=256 d_inner=1024,1024 n_head=4,4", b = "n_layer=2 d_model=256 d_inner=1024,1024 n_head=8,4",
                      b2 = "n_layer=2 d_model=256 d_inner=1024,1024 n_head=8,8",
                      other = "n_layer=2 d_model=256 d_inner=1024,768 n_head=4,4";
    const auto h = [](const std::string& arch) { return nas::hash(nas::parse_architecture(arch)); };
    for (const auto mode : {app::head_variants_kind::shared, app::head_variants_kind::trained}) {
        const bool shared = mode == app::head_variants_kind::shared;
        INFO("head variants " << app::to_string(mode));
        auto c = ladder_config({100, 300}, 3);
        c.head_variants = mode;
        app::training_books books(c);
        REQUIRE(books.admit(1, h(a), nas::canonical(nas::parse_architecture(a)), {}, 0.5));
        REQUIRE(books.admit(2, h(b), nas::canonical(nas::parse_architecture(b)), {}, 0.45));         // heads only: a variant of 1
        REQUIRE(books.admit(3, h(other), nas::canonical(nas::parse_architecture(other)), {}, 0.4));  // another FFN width: its own
        REQUIRE(books.sibling(h(b)) == (shared ? std::optional<std::uint64_t>(1) : std::nullopt));
        REQUIRE_FALSE(books.sibling(h(other)));
        REQUIRE_FALSE(books.verdict(h(b)));
        std::vector<app::training_order> orders;
        while (const auto o = books.next()) orders.push_back(*o);
        REQUIRE(orders.size() == (shared ? 3u : 4u));  // the reference, 1, (2,) 3
        std::vector<std::uint64_t> told;
        for (const auto& o : orders) {
            const double perplexity = o.reference ? 100.0 : o.candidate == 1 ? 110.0 : 101.0;  // 1: 10% past the reference
            const auto d = books.record(row(o, perplexity));
            told.insert(told.end(), d.begin(), d.end());
        }
        // 1's verdict made its variant's known too, in the same call
        REQUIRE(std::count(told.begin(), told.end(), h(b)) == 1);
        REQUIRE(books.verdict(h(a))->value == Approx(0.5 + 10.0 * (1.1 - 1.03)));
        if (shared)
            REQUIRE(books.verdict(h(b))->value == Approx(0.45 + 10.0 * (1.1 - 1.03)));  // 1's excess, its own latency
        else
            REQUIRE(books.verdict(h(b))->value == Approx(0.45));  // trained: 1.01, within the bound
        // a later variant of 1 is told at once; with a failed sibling, a failure
        REQUIRE(books.admit(4, h(b2), nas::canonical(nas::parse_architecture(b2)), {}, 0.3));
        if (shared) {
            REQUIRE(books.verdict(h(b2))->value == Approx(0.3 + 10.0 * (1.1 - 1.03)));
            REQUIRE(books.results_per_rung()[0] == 2);  // 1 and 3 trained, no variant
        }
    }
    // a failed sibling: its variants fail with it
    auto c = ladder_config({100, 300}, 3);
    app::training_books f(c);
    REQUIRE(f.admit(1, h(a), nas::canonical(nas::parse_architecture(a)), {}, 0.5));
    REQUIRE(f.admit(2, h(b), nas::canonical(nas::parse_architecture(b)), {}, 0.45));
    f.record(row(take(f), 100.0));
    const auto d = f.record(row(take(f), 0.0, eval::outcome_status::out_of_memory));
    REQUIRE(d == std::vector<std::uint64_t>{h(a), h(b)});
    REQUIRE(f.verdict(h(b))->failed);
    REQUIRE_FALSE(f.next());
}

TEST_CASE("training books: a failed training is a failed verdict and never promoted, a lost one is trained again", "[app][train]") {
    const auto c = ladder_config({100, 300}, 2);
    app::training_books b(c);
    for (std::uint64_t k = 1; k <= 2; ++k) REQUIRE(b.admit(k, hash_of(k), "a" + std::to_string(k), {}, 0.5));
    b.record(row(take(b), 30.0));
    const auto one = take(b), two = take(b);
    REQUIRE(b.record(row(one, 0.0, eval::outcome_status::diverged)) == std::vector<std::uint64_t>{hash_of(1)});
    REQUIRE(b.verdict(hash_of(1))->failed);
    // a timeout says nothing of the candidate: the same training is ordered again
    REQUIRE(b.record(row(two, 0.0, eval::outcome_status::timeout)).empty());
    REQUIRE_FALSE(b.verdict(hash_of(2)));
    const auto again = take(b);
    REQUIRE((again.candidate == 2 && again.task.rung == 0));
    b.record(row(again, 40.0));
    // two results at rung 0, floor(2 / 2) = 1: the only success goes up, the failure never does
    REQUIRE(take(b).reference);
    REQUIRE(take(b).candidate == 2);
    REQUIRE_FALSE(b.next());
}

TEST_CASE("training books: a reference that cannot train ends the search with one sentence", "[app][train]") {
    const auto c = ladder_config({100, 300}, 2);
    app::training_books b(c);
    REQUIRE(b.admit(1, hash_of(1), "a1", {}, 0.5));
    const auto ref = take(b);
    auto r = row(ref, 0.0, eval::outcome_status::out_of_memory);
    r.message = "CUDA out of memory.";
    b.record(r);
    REQUIRE_THROWS_WITH(b.next(), Contains("the reference") && Contains("failed to train at rung 0 (100 tokens, seed 1)") &&
                                      Contains("out_of_memory, CUDA out of memory."));
}

TEST_CASE("training books: the rows of a run, replayed into fresh books, give the same ladder, answer and orders", "[app][train]") {
    const auto c = ladder_config({100, 300, 900}, 3);
    app::training_books live(c);
    core::rng draw(5);
    std::vector<storage::search_training_record> rows;
    std::map<std::uint64_t, double> latency;
    std::vector<app::training_order> running;
    std::uint64_t next_candidate = 0;
    for (int step = 0; step < 400; ++step) {
        // two workers: while one is free, give it the next training, or admit a new candidate
        // (once the answer is fast, few are: at most 100 are drawn for one free worker)
        for (int draws = 0; running.size() < 2 && draws < 100;) {
            if (const auto o = live.next()) {
                running.push_back(*o);
                continue;
            }
            const std::uint64_t k = next_candidate++;
            latency[k] = 0.2 + draw.uniform();
            live.admit(k, hash_of(k), "a" + std::to_string(k), {}, latency[k]);
            ++draws;
        }
        if (running.empty()) break;
        // one of them ends: the older or the newer
        const std::size_t i = running.size() == 2 && draw.uniform() < 0.5 ? 1 : 0;
        const auto o = running[i];
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        const double size = o.reference ? 1.0 : 0.97 + 0.1 * latency.at(o.candidate);
        const double perplexity = 30.0 * size * (1.0 + 0.01 * draw.uniform()) * (1.0 + 100.0 / double(o.task.tokens));
        const auto status = draw.uniform() < 0.05 && !o.reference ? eval::outcome_status::diverged : eval::outcome_status::ok;
        rows.push_back(row(o, perplexity, status));
        live.record(rows.back());
    }
    for (const auto& o : running) {  // the last two in
        rows.push_back(row(o, 30.0));
        live.record(rows.back());
    }
    REQUIRE(live.in_flight() == 0);
    app::training_books replayed(c);
    for (const auto& r : rows) {
        if (!r.reference) replayed.enrol(r.candidate, r.hash, r.arch, {}, latency.at(r.candidate));
        replayed.record(r);
    }
    REQUIRE(replayed.results_per_rung() == live.results_per_rung());
    REQUIRE(live.results_per_rung()[2] > 0);  // the test reached the top rung
    REQUIRE(static_cast<bool>(replayed.best()) == static_cast<bool>(live.best()));
    if (live.best()) REQUIRE(replayed.best()->candidate == live.best()->candidate);
    for (std::size_t rung = 0; rung < 3; ++rung) {
        const auto a = live.ladder().results(rung), b = replayed.ladder().results(rung);
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i].id == b[i].id);
    }
    // what they order next is the same
    for (int k = 0; k < 20; ++k) {
        const auto a = live.next(), b = replayed.next();
        REQUIRE(static_cast<bool>(a) == static_cast<bool>(b));
        if (!a) break;
        REQUIRE(std::tie(a->reference, a->candidate, a->task.rung, a->task.seed) ==
                std::tie(b->reference, b->candidate, b->task.rung, b->task.seed));
    }
}

namespace {

// A training search on the latency model's simulated trainings (Chinchilla's form in decoder
// parameters and tokens): 60 candidates of the small space, the floor at half the reference's
// decoder parameters (so that some candidates train past the bound), three rungs.
app::search_config training_search(std::uint64_t budget) {
    auto c = small_config(budget);
    c.rungs = {1000000, 3000000, 9000000};
    c.eta = 3;
    c.min_params = nas::count_parameters(c.reference_arch()).decoder / 2;
    c.validate();
    return c;
}

eval::latency_model_config simulated(const app::search_config& c, double failure_rate = 0.0, double train_ms_per_mtoken = 0.0) {
    eval::latency_model_config m;
    m.train_ms_per_mtoken = train_ms_per_mtoken;
    m.reference = c.reference_arch();
    m.faults.failure_rate = failure_rate;
    m.faults.seed = 11;
    return m;
}

// Every append in order, as (table, index): a prefix of it is what a flush could have left.
class ordered_sink final : public storage::archive_sink {
public:
    enum class table { evaluation, event, worker, worker_event, session, training };
    void append(const storage::evaluation_record& r) override { add(table::evaluation, c_.evaluations, r); }
    void append(const storage::event_record& r) override { add(table::event, c_.events, r); }
    void append(const storage::worker_record& r) override { add(table::worker, c_.workers, r); }
    void append(const storage::worker_event_record& r) override { add(table::worker_event, c_.worker_events, r); }
    void append(const storage::session_record& r) override { add(table::session, c_.sessions, r); }
    void append(const storage::search_training_record& r) override { add(table::training, c_.search_trainings, r); }
    void flush() override {}
    std::uint32_t session() const override { return session_; }
    void set_session(std::uint32_t s) { session_ = s; }
    const storage::archive_contents& contents() const { return c_; }
    std::size_t appends() const { return order_.size(); }
    // What the first n appends hold.
    storage::archive_contents prefix(std::size_t n) const {
        storage::archive_contents p;
        p.header = c_.header;
        std::map<table, std::size_t> count;
        for (std::size_t i = 0; i < n; ++i) ++count[order_[i]];
        auto cut = [&](auto v, table t) {
            v.resize(count[t]);
            return v;
        };
        p.evaluations = cut(c_.evaluations, table::evaluation);
        p.events = cut(c_.events, table::event);
        p.workers = cut(c_.workers, table::worker);
        p.worker_events = cut(c_.worker_events, table::worker_event);
        p.sessions = cut(c_.sessions, table::session);
        p.search_trainings = cut(c_.search_trainings, table::training);
        return p;
    }

private:
    template <class V, class R>
    void add(table t, V& v, const R& r) {
        v.push_back(r);
        order_.push_back(t);
    }
    storage::archive_contents c_;
    std::vector<table> order_;
    std::uint32_t session_ = 0;
};

storage::archive_contents run_training(const app::search_config& c, ordered_sink& sink, const storage::archive_contents* resume = nullptr,
                                       double failure_rate = 0.0, std::size_t dry_workers = 0, double train_ms_per_mtoken = 0.0) {
    eval::latency_model_evaluator model(simulated(c, failure_rate, train_ms_per_mtoken));
    app::search_driver driver(c);
    if (resume) driver.replay(*resume);
    std::ostringstream progress;
    if (dry_workers > 0) {
        transport::dry_run_config d;
        d.workers = dry_workers;
        d.cost = transport::cost_kind::lognormal;
        d.cost_spread = 0.5;
        transport::dry_run_dispatcher dispatch(model, d, c.policy());
        driver.run(dispatch, sink, progress, {});
    } else {
        transport::local_dispatcher dispatch(model, c.policy(true), "test");
        driver.run(dispatch, sink, progress, {});
    }
    return driver.contents();
}

using training_key = std::tuple<bool, std::uint64_t, std::uint32_t, std::uint64_t>;  // reference, hash, rung, seed

training_key key_of(const storage::search_training_record& t) {
    return {t.reference, t.hash, t.rung, t.seed};
}

// The rule of training_books.hpp, checked on a finished run's archive alone; returns how many
// asks were told a head variant's verdict.
std::size_t check_training_run(const storage::archive_contents& a, const app::search_config& c) {
    // every ask told once
    std::map<std::pair<std::uint32_t, std::uint64_t>, const storage::event_record*> tells;
    for (const auto& e : a.events)
        if (e.what == storage::event_record::kind::tell) REQUIRE(tells.emplace(std::make_pair(e.phase, e.first), &e).second);
    REQUIRE(tells.size() == c.budget);
    std::map<std::uint64_t, const storage::evaluation_record*> by_id, measured_by_hash;
    for (const auto& r : a.evaluations) {
        by_id[r.id] = &r;
        if (!r.cached && r.feasible) measured_by_hash[r.hash] = &r;
    }
    // no training ran twice (a training re-queued after a timeout may end twice: not here)
    std::set<training_key> seen;
    std::map<std::pair<std::uint32_t, std::uint64_t>, double> reference;
    for (const auto& t : a.search_trainings) {
        REQUIRE(seen.insert(key_of(t)).second);
        REQUIRE(t.budget == c.rungs.at(t.rung));
        if (t.reference && t.status == eval::outcome_status::ok) reference[{t.rung, t.seed}] = t.val_perplexity;
    }
    std::map<std::uint32_t, const storage::search_training_record*> reference_rows;  // train_seed's, ok
    std::map<std::pair<std::uint64_t, std::uint32_t>, double> ratios;                // (candidate, rung) -> train_seed's ratio
    for (const auto& t : a.search_trainings)
        if (t.reference && t.status == eval::outcome_status::ok && t.seed == c.train_seed) reference_rows[t.rung] = &t;
    for (const auto& t : a.search_trainings)
        if (!t.reference && t.status == eval::outcome_status::ok && t.seed == c.train_seed)
            ratios[{t.candidate, t.rung}] = t.val_perplexity / reference.at({t.rung, t.seed});
    const std::uint32_t top = static_cast<std::uint32_t>(c.rungs.size() - 1);
    std::size_t probed = 0;
    // the perplexity ratio a candidate ranks by: below the top rung, the trend from the probe (or
    // the rung beneath) to the rung, carried on as a power law of the budget to the top rung
    const auto ranked_ratio = [&](const storage::search_training_record& t) {
        const double ratio = ratios.at({t.candidate, t.rung});
        if (t.rung == top || c.trend_probe <= 0.0) return ratio;
        double earlier = 0.0, earlier_budget = 0.0;
        const auto* ref = reference_rows.at(t.rung);
        if (t.probe_budget > 0 && std::isfinite(t.probe_perplexity) && ref->probe_budget == t.probe_budget &&
            std::isfinite(ref->probe_perplexity)) {
            earlier = t.probe_perplexity / ref->probe_perplexity;
            earlier_budget = static_cast<double>(t.probe_budget);
        } else if (t.rung > 0 && ratios.count({t.candidate, t.rung - 1})) {
            earlier = ratios.at({t.candidate, t.rung - 1});
            earlier_budget = static_cast<double>(c.rungs[t.rung - 1]);
        } else {
            return ratio;
        }
        const double b = static_cast<double>(t.budget), top_budget = static_cast<double>(c.rungs[top]);
        return ratio * std::exp(std::log(ratio / earlier) * std::log(top_budget / b) / std::log(b / earlier_budget));
    };
    // the calibration of rung k below the top from the top rung's rows that `in` lets count: the
    // geometric mean of measured / estimated over the candidates measured there (with the
    // reference's top result counted too), each estimated from its own row at rung k
    const auto* const first_row = a.search_trainings.data();
    const auto calibration = [&](std::uint32_t k, const auto& in) {
        if (c.trend_calibration != app::on_off::on) return 1.0;
        const auto ref_top = reference_rows.find(top);
        if (ref_top == reference_rows.end() || !in(*ref_top->second)) return 1.0;
        double log_sum = 0.0;
        std::size_t n = 0;
        for (const auto& t : a.search_trainings) {
            if (t.reference || t.rung != top || t.seed != c.train_seed || t.status != eval::outcome_status::ok || !in(t)) continue;
            for (const auto& u : a.search_trainings)
                if (!u.reference && u.candidate == t.candidate && u.rung == k && u.seed == c.train_seed &&
                    u.status == eval::outcome_status::ok) {
                    log_sum += std::log(ratios.at({t.candidate, top}) / ranked_ratio(u));
                    ++n;
                }
        }
        return n > 0 ? std::exp(log_sum / static_cast<double>(n)) : 1.0;
    };
    // the value a row ranks by, with rung k's calibration from the top rows `in` lets count
    const auto value_with = [&](const storage::search_training_record& t, const auto& in) {
        const double estimate = t.rung == top ? ranked_ratio(t) : ranked_ratio(t) * calibration(t.rung, in);
        return by_id.at(t.candidate)->ratio + 10.0 * std::max(0.0, estimate - c.max_perplexity_ratio);
    };
    // at the first rung, the verdict told: the calibration of the rows recorded before the one that
    // settled it (the candidate's, or the reference's at that rung when it came later)
    const auto told_value = [&](const storage::search_training_record& t) {
        std::ptrdiff_t settled = &t - first_row;
        for (const auto& u : a.search_trainings)
            if (u.reference && u.rung == t.rung && u.seed == t.seed && u.status == eval::outcome_status::ok)
                settled = std::max(settled, &u - first_row);
        return value_with(t, [&](const storage::search_training_record& u) { return &u - first_row < settled; });
    };
    for (const auto& t : a.search_trainings) {
        // below the top rung each training of train_seed measured its probe, the reference's too
        const bool probe = t.seed == c.train_seed && c.probe_tokens(t.rung) > 0;
        REQUIRE(t.probe_budget == (probe ? c.probe_tokens(t.rung) : 0));
        if (t.status == eval::outcome_status::ok) REQUIRE(std::isfinite(t.probe_perplexity) == probe);
        if (probe && t.status == eval::outcome_status::ok) ++probed;
    }
    REQUIRE((c.trend_probe > 0.0) == (probed > 0));
    std::size_t promoted = 0, past_bound = 0, failed = 0;
    for (const auto& t : a.search_trainings) {
        if (t.reference) continue;
        const auto& m = *by_id.at(t.candidate);
        REQUIRE_FALSE(m.cached);
        REQUIRE(m.hash == t.hash);
        REQUIRE(m.arch == t.arch);
        if (t.seed != c.train_seed) continue;
        // the reference trained at every rung a candidate reached, with the same seed
        REQUIRE(reference.count({t.rung, t.seed}) == 1);
        if (t.status != eval::outcome_status::ok) {
            ++failed;
            REQUIRE(t.rung == 0);  // a failure is never promoted (the model evaluator fails at random, any rung)
        }
        if (t.rung == 0) {
            // the optimizer was told the verdict at the first rung: every ask of this architecture
            for (const auto& r : a.evaluations) {
                if (r.hash != t.hash || !r.feasible) continue;
                const auto& tell = *tells.at({r.phase, r.task});
                if (t.status != eval::outcome_status::ok) {
                    REQUIRE(tell.failed == 1);
                } else {
                    REQUIRE(tell.failed == 0);
                    REQUIRE(tell.value == Approx(told_value(t)).epsilon(1e-12));
                    if (told_value(t) > m.ratio) ++past_bound;
                }
            }
            continue;
        }
        // promoted: when it was sent, its result one rung down was in the top 1/eta of that rung's
        // results in by then
        ++promoted;
        const storage::search_training_record* below = nullptr;
        std::vector<const storage::search_training_record*> rung_results;
        for (const auto& u : a.search_trainings) {
            if (u.reference || u.seed != c.train_seed || u.rung + 1 != t.rung || u.ended > t.dispatched) continue;
            rung_results.push_back(&u);
            if (u.candidate == t.candidate) below = &u;
        }
        REQUIRE(below != nullptr);
        REQUIRE(below->status == eval::outcome_status::ok);
        // ranked with the calibration of the top rows in by then
        const auto by_then = [&](const storage::search_training_record& u) { return u.ended <= t.dispatched; };
        const auto value = [&](const storage::search_training_record& u) { return value_with(u, by_then); };
        std::size_t better = 0;
        for (const auto* u : rung_results)
            if (u->status == eval::outcome_status::ok &&
                (value(*u) < value(*below) || (value(*u) == value(*below) && u->candidate < below->candidate)))
                ++better;
        INFO("candidate " << t.candidate << " promoted to rung " << t.rung << " ranked " << better << " of " << rung_results.size());
        REQUIRE(better < rung_results.size() / c.eta);
    }
    REQUIRE(promoted > 0);
    (void)failed;
    (void)past_bound;
    // with head variants shared, no two trained candidates differ in their heads only, and an ask
    // of an untrained architecture whose shape a trained one has was told its latency ratio (not
    // admitted: no faster than the best feasible then) or that sibling's verdict with its own
    // latency ratio
    const auto shape_of = [](const std::string& arch) {
        auto x = nas::parse_architecture(arch);
        x.n_head.assign(x.n_head.size(), 1);
        return nas::hash(x);
    };
    std::map<std::uint64_t, const storage::search_training_record*> trained_shape;  // shape -> rung-0 row
    std::set<std::uint64_t> trained_hash;
    for (const auto& t : a.search_trainings)
        if (!t.reference && t.rung == 0 && t.seed == c.train_seed) {
            const bool first = trained_shape.emplace(shape_of(t.arch), &t).second;
            if (c.head_variants == app::head_variants_kind::shared) REQUIRE(first);
            trained_hash.insert(t.hash);
        }
    std::size_t variants = 0;
    for (const auto& r : a.evaluations) {
        if (!r.feasible || trained_hash.count(r.hash) || !std::isfinite(r.ratio) || r.out.status != eval::outcome_status::ok) continue;
        const auto sib = trained_shape.find(shape_of(r.arch));
        if (sib == trained_shape.end() || c.head_variants != app::head_variants_kind::shared) continue;
        const auto& tell = *tells.at({r.phase, r.task});
        if (tell.failed == 0 && tell.value == r.ratio) continue;  // not admitted
        const auto& t = *sib->second;
        INFO("head variant " << r.arch << " of " << t.arch);
        if (t.status != eval::outcome_status::ok) {
            REQUIRE(tell.failed == 1);
        } else {
            REQUIRE(tell.failed == 0);
            REQUIRE(tell.value == Approx(told_value(t) - by_id.at(t.candidate)->ratio + r.ratio).epsilon(1e-12));
        }
        ++variants;
    }
    return variants;
}

}  // namespace

TEST_CASE("a training search in-process: the promotions follow the rule, the optimizer is told each verdict, the answer has two seeds",
          "[app][train]") {
    const auto c = training_search(60);
    ordered_sink sink;
    const auto a = run_training(c, sink);
    const std::size_t variants = check_training_run(a, c);
    REQUIRE(variants > 0);  // some asks were head variants of a trained candidate
    // what the driver reported is what it wrote
    REQUIRE(sink.contents().search_trainings.size() == a.search_trainings.size());
    // the answer: within the bound at the top rung with both seeds, its reference trained with both
    app::training_books books(c);
    app::replay_trainings(books, a);
    REQUIRE(books.best());
    REQUIRE(books.best()->perplexity_ratios.size() == 2);
    REQUIRE((books.best()->perplexity_ratios[0] + books.best()->perplexity_ratios[1]) / 2.0 <= c.max_perplexity_ratio);
    // no faster candidate was feasible at the top rung with its first seed
    std::ostringstream report;
    app::print_report(a, c, report);
    INFO(report.str());
    REQUIRE_THAT(report.str(), Contains("answer      latency x") && Contains("(seed 2)"));
    // the report counts every ask of an untrained head variant, whatever it was told
    std::set<std::uint64_t> trained_hashes, trained_shapes;
    for (const auto& t : a.search_trainings)
        if (!t.reference) {
            trained_hashes.insert(t.hash);
            auto x = nas::parse_architecture(t.arch);
            x.n_head.assign(x.n_head.size(), 1);
            trained_shapes.insert(nas::hash(x));
        }
    std::size_t variant_asks = 0;
    for (const auto& r : a.evaluations) {
        if (!r.feasible || trained_hashes.count(r.hash) || !std::isfinite(r.ratio)) continue;
        auto x = nas::parse_architecture(r.arch);
        x.n_head.assign(x.n_head.size(), 1);
        variant_asks += trained_shapes.count(nas::hash(x));
    }
    REQUIRE(variant_asks >= variants);
    REQUIRE_THAT(report.str(), Contains("variants    " + std::to_string(variant_asks) + " ask"));
    // a candidate the search trained past the bound at its first rung was told more than its latency ratio
    std::size_t penalised = 0;
    std::map<std::uint64_t, double> ratio_of;
    for (const auto& r : a.evaluations) ratio_of[r.id] = r.ratio;
    for (const auto& e : a.events)
        if (e.what == storage::event_record::kind::tell && e.failed == 0 && e.value < 1000.0) {
            for (const auto& r : a.evaluations)
                if (r.phase == e.phase && r.task == e.first && std::isfinite(r.ratio) && e.value > r.ratio + 1e-12) ++penalised;
        }
    REQUIRE(penalised > 0);
}

TEST_CASE("a training search whose trainings fail at random records each failure as data and goes on", "[app][train]") {
    const auto c = training_search(60);
    ordered_sink sink;
    const auto a = run_training(c, sink, nullptr, 0.1);
    std::size_t failed = 0;
    for (const auto& t : a.search_trainings) failed += t.status != eval::outcome_status::ok ? 1 : 0;
    REQUIRE(failed > 0);
    // the random failures hit timings too, whose candidates are told a failure and never trained;
    // the reference's own trainings do not fail here (a failed one ends the search: tested on the books)
    for (const auto& t : a.search_trainings)
        if (t.reference) REQUIRE(t.status == eval::outcome_status::ok);
}

TEST_CASE("a training search on 16 dry-run workers: the same rule with many trainings in flight", "[app][train]") {
    auto c = training_search(120);
    c.dispatcher = app::dispatcher_kind::dry_run;
    ordered_sink sink;
    const auto a = run_training(c, sink, nullptr, 0.0, 16);
    check_training_run(a, c);
}

TEST_CASE("a training search cut at any point resumes without training anything finished again", "[app][train][resume]") {
    const auto c = training_search(40);
    ordered_sink whole_sink;
    const auto whole = run_training(c, whole_sink);
    const std::size_t n = whole_sink.appends();
    for (std::size_t cut : {n / 10, n / 4, n / 3, n / 2, 2 * n / 3, 9 * n / 10}) {
        INFO("cut after " << cut << " of " << n << " appends");
        const auto part = whole_sink.prefix(cut);
        ordered_sink resumed_sink;
        resumed_sink.set_session(1);
        const auto done = run_training(c, resumed_sink, &part);
        check_training_run(done, c);
        // every training the cut archive held is kept and none is run again
        std::set<training_key> before;
        for (const auto& t : part.search_trainings) before.insert(key_of(t));
        for (const auto& t : resumed_sink.contents().search_trainings) REQUIRE(before.count(key_of(t)) == 0);
        REQUIRE(done.search_trainings.size() >= part.search_trainings.size());
    }
}

TEST_CASE("analyze counts a training search's trainings in each worker's busy time", "[app][train]") {
    const auto c = training_search(30);
    ordered_sink sink;
    // simulated trainings of 2, 6 and 18 ms
    const auto a = run_training(c, sink, nullptr, 0.0, 0, 2.0);
    REQUIRE(!a.search_trainings.empty());
    double trained_seconds = 0.0, measured_seconds = 0.0;
    for (const auto& t : a.search_trainings) trained_seconds += t.ended - t.started;
    for (const auto& r : a.evaluations)
        if (!r.cached && r.feasible && r.worker >= 0) measured_seconds += r.ended - r.started;
    REQUIRE(trained_seconds > 0.002 * static_cast<double>(a.search_trainings.size()));
    const auto report = app::analyse(a, "in memory", app::analysis_options{});
    REQUIRE(report.workers.size() == 1);
    REQUIRE(report.workers[0].trained == a.search_trainings.size());
    REQUIRE(report.workers[0].busy_seconds == Approx(trained_seconds + measured_seconds));
}

TEST_CASE("analyze prints a training search's ladder and answer from the archive, as the search printed them", "[app][train]") {
    const auto c = training_search(60);
    ordered_sink sink;
    auto a = run_training(c, sink);
    a.header.config = c.to_ini();  // what the archive's header holds
    std::ostringstream at_end;
    app::print_report(a, c, at_end);
    const auto report = app::analyse(a, "in memory", app::analysis_options{});
    REQUIRE_THAT(report.training_report,
                 Contains("trainings   " + std::to_string(a.search_trainings.size()) + " (rungs 1000000,3000000,9000000"));
    REQUIRE_THAT(report.training_report, Contains("answer      latency x"));
    REQUIRE_THAT(at_end.str(), Contains(report.training_report));
    std::ostringstream printed;
    app::print_analysis(report, app::analysis_options{}, printed);
    REQUIRE_THAT(printed.str(), Contains(report.training_report));
    // the ladder's rows with their ratios, in the JSON and a CSV of their own
    REQUIRE(report.ladder.size() == a.search_trainings.size());
    std::map<std::pair<std::uint32_t, std::uint64_t>, double> reference;
    for (const auto& t : a.search_trainings)
        if (t.reference) reference[{t.rung, t.seed}] = t.val_perplexity;
    std::size_t candidates = 0;
    for (const auto& l : report.ladder) {
        REQUIRE(l.perplexity_ratio == Approx(l.row.val_perplexity / reference.at({l.row.rung, l.row.seed})));
        if (l.row.reference) {
            REQUIRE(std::isnan(l.latency_ratio));
            continue;
        }
        ++candidates;
        for (const auto& r : a.evaluations)
            if (r.id == l.row.candidate) REQUIRE(l.latency_ratio == r.ratio);
    }
    REQUIRE(candidates > 0);
    const std::string json = app::to_json(report, app::analysis_options{});
    std::size_t rows = 0;
    for (auto at = json.find("\"perplexity_ratio\": "); at != std::string::npos; at = json.find("\"perplexity_ratio\": ", at + 1)) ++rows;
    REQUIRE(rows == a.search_trainings.size());
    const std::string prefix = std::string(FRACNAS_TEST_TMP) + "/ladder_csv/";
    app::write_csv(report, a, prefix);
    std::ifstream csv(prefix + "search_trainings.csv");
    std::string line;
    std::size_t lines = 0;
    while (std::getline(csv, line)) ++lines;
    REQUIRE(lines == a.search_trainings.size() + 1);  // and the header
    // a search that did not train has none
    auto plain = a;
    plain.search_trainings.clear();
    plain.header.config = small_config(60).to_ini();
    REQUIRE(app::analyse(plain, "in memory", app::analysis_options{}).training_report.empty());
}

TEST_CASE("head variants: the same widths cut into other heads share a shape, other KV widths do not", "[app][train]") {
    const std::string base = "n_layer=2 d_model=768 d_inner=3072,3072 ";
    const auto shape = [&](const std::string& heads) { return app::shape_hash(base + heads).value(); };
    REQUIRE(shape("n_head=12,12") == shape("n_head=6,24"));  // GPT-2's block: heads alone
    // grouped: 12 heads sharing 4 KV heads and 6 sharing 2 both keep keys 256 wide
    REQUIRE(shape("n_head=12,12 n_kv_head=4,4") == shape("n_head=6,6 n_kv_head=2,2"));
    REQUIRE(shape("n_head=12,12 n_kv_head=4,4") != shape("n_head=12,12 n_kv_head=2,2"));  // keys 256 and 128 wide
    REQUIRE(shape("n_head=12,12 n_kv_head=4,4") != shape("n_head=12,12"));
    REQUIRE(shape("n_head=12,12 n_kv_head=12,4") == shape("n_head=6,12 n_kv_head=6,4"));  // layer by layer
    REQUIRE(nas::count_parameters(nas::parse_architecture(base + "n_head=12,12 n_kv_head=4,4")).total ==
            nas::count_parameters(nas::parse_architecture(base + "n_head=6,6 n_kv_head=2,2")).total);
    REQUIRE_FALSE(app::shape_hash("n_layer=2 d_model=768").has_value());
}
