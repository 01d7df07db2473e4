// Tests of the option schema of `fracnas search`: what is derived from it agrees with it (to_ini
// writes every option a config file may set and reads back through it, problem_keys, the range
// checks of validate and the help's ranges, defaults and enum values), and an enum-like value is
// refused when read, naming the option and every valid value. The command line's side:
// tests/cli/search.tests.cpp.
#include <catch2/catch.hpp>

#include <iomanip>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "fracnas/app/search_options.hpp"
#include "fracnas/error.hpp"
#include "option_checks.hpp"
#include "search_samples.hpp"

using namespace fracnas;
using Catch::Matchers::Contains;

namespace {

// The configuration the settings make, each read by its option of the schema.
app::search_config read_settings(const std::map<std::string, std::string>& settings) {
    app::search_config c;
    for (const auto& [key, value] : settings) {
        const auto* o = app::find_search_option(key);
        REQUIRE(o != nullptr);
        o->set(c, value);
    }
    return c;
}

std::string decimal(double v) {
    std::ostringstream o;
    o << std::setprecision(17) << v;
    return o.str();
}

}  // namespace

TEST_CASE("search options: each declared once, and to_ini and problem_keys list exactly the schema's", "[app][search][options]") {
    std::set<std::string> names, archived, problem;
    std::vector<std::string> problem_in_order;
    for (const auto& o : app::search_options()) {
        CAPTURE(o.name);
        REQUIRE(names.insert(o.name).second);
        REQUIRE(app::find_search_option(o.name) == &o);
        REQUIRE(!o.help.empty());
        // what a config file may set is archived and read back; this run's files and switches are not
        REQUIRE(static_cast<bool>(o.get) == o.config_file());
        REQUIRE((o.config_file() ? static_cast<bool>(o.set) : true));
        if (o.config_file()) archived.insert(o.name);
        if (o.scope == app::option_scope::problem) problem_in_order.push_back(o.name);
    }
    REQUIRE(app::find_search_option("help") == nullptr);  // the Boost table's own
    REQUIRE(app::find_search_option("bugdet") == nullptr);

    const std::string ini = app::search_config{}.to_ini();
    const auto pairs = app::ini_pairs(ini);
    std::set<std::string> written;
    for (const auto& [key, value] : pairs) REQUIRE(written.insert(key).second);  // each key once
    REQUIRE(written == archived);
    REQUIRE(app::search_config::problem_keys() == problem_in_order);
    // the problem's keys come first, under the heading that says a resume keeps them
    REQUIRE(pairs.size() > problem_in_order.size());
    for (std::size_t i = 0; i < problem_in_order.size(); ++i) REQUIRE(pairs[i].first == problem_in_order[i]);
    REQUIRE_THAT(ini.substr(0, ini.find('\n')), Contains("a resume must not change these"));
    REQUIRE(ini.find("# how it runs\n" + pairs[problem_in_order.size()].first + " = ") != std::string::npos);
}

TEST_CASE("search options: every option a config file may set reads back what to_ini writes", "[app][search][options]") {
    const app::search_config defaults;
    const auto pareto = test::pareto_sample(), constrained = test::constrained_sample(), mix = test::mix_sample();
    for (const auto& o : app::search_options()) {
        if (!o.config_file()) continue;
        CAPTURE(o.name);
        // the samples set every such option, and between them to something other than its default
        REQUIRE(pareto.count(o.name) == 1);
        REQUIRE(constrained.count(o.name) == 1);
        REQUIRE(mix.count(o.name) == 1);
        REQUIRE((pareto.at(o.name) != o.get(defaults) || constrained.at(o.name) != o.get(defaults) || mix.at(o.name) != o.get(defaults)));
    }
    for (const auto& sample : {pareto, constrained, mix}) {
        const app::search_config c = read_settings(sample);
        REQUIRE_NOTHROW(c.validate());
        for (const auto& [key, value] : sample) {
            CAPTURE(key);
            REQUIRE(app::find_search_option(key)->get(c) == value);  // written back as it was given
        }
        // and what to_ini writes makes the same configuration again
        std::map<std::string, std::string> again;
        for (const auto& [key, value] : app::ini_pairs(c.to_ini())) again[key] = value;
        REQUIRE(again == sample);
        REQUIRE(read_settings(again).to_ini() == c.to_ini());
    }
    std::map<std::string, std::string> plain;
    for (const auto& [key, value] : app::ini_pairs(defaults.to_ini())) plain[key] = value;
    REQUIRE(read_settings(plain).to_ini() == defaults.to_ini());
}

TEST_CASE("search options: validate checks the ranges the schema declares, and the help shows them", "[app][search][options]") {
    // a search where every option applies: the latency model (--model-cost-ms) and a training
    // search (--train-ms-per-mtoken)
    app::search_config base;
    base.evaluator = app::evaluator_kind::model;
    base.rungs = {1000};
    REQUIRE_NOTHROW(base.validate());
    std::size_t ranged = 0;
    for (const auto& o : app::search_options()) {
        if (!o.range) continue;
        ++ranged;
        CAPTURE(o.name);
        const std::string rule = test::options::range_error("--" + o.name, *o.range);
        REQUIRE_THAT(o.help_line(), Contains(app::range_text(*o.range)));
        for (const double inside : test::options::values_inside(*o.range)) {
            app::search_config c = base;
            o.set(c, decimal(inside));
            REQUIRE_NOTHROW(c.validate());
        }
        for (const double v : test::options::values_outside(*o.range)) {
            CAPTURE(v);
            app::search_config c = base;
            try {
                o.set(c, decimal(v));
            } catch (const config_error&) {
                continue;  // not a value of this option's kind ("-1" for a whole number)
            }
            try {
                c.validate();
                FAIL("validate accepted " << decimal(v));
            } catch (const config_error& e) {
                REQUIRE(e.field() == "--" + o.name);
                REQUIRE(std::string(e.what()) == rule);
            }
        }
    }
    // the rules that are not a closed interval, as the help and the errors say them
    const auto help_of = [](const char* name) { return app::find_search_option(name)->help_line(); };
    REQUIRE_THAT(help_of("max-width"), Contains("widest d_model, a multiple of 64 in 128..4096 (default "));
    REQUIRE_THAT(help_of("join-timeout"), Contains(", in (0, 10000000] (default "));
    REQUIRE_THAT(help_of("task-deadline"), Contains(", in (0, 10000000] (default auto)"));
    REQUIRE_THAT(help_of("time-limit"), Contains(", in (0, 1000000000] (default none)"));
    for (const auto& [option, value, error] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"max-width", "1000", "--max-width must be a multiple of 64 in 128..4096."},
             {"join-timeout", "0", "--join-timeout must be in (0, 10000000]."},
             {"task-deadline", "-3", "--task-deadline must be in (0, 10000000]."},
             {"time-limit", "2e9", "--time-limit must be in (0, 1000000000]."}}) {
        CAPTURE(option, value);
        app::search_config c = base;
        app::find_search_option(option)->set(c, value);
        REQUIRE_THROWS_WITH(c.validate(), error);
    }
    {  // auto's first deadline is checked as a number too, and none is no time limit
        app::search_config c = base;
        app::find_search_option("task-deadline")->set(c, "auto");
        app::find_search_option("time-limit")->set(c, "none");
        REQUIRE_NOTHROW(c.validate());
        c.task_deadline = 0.0;
        REQUIRE_THROWS_WITH(c.validate(), "--task-deadline must be in (0, 10000000].");
    }
    REQUIRE(ranged >= 20);  // --budget, --max-layers, --context, --tokens, --grace, --flush-seconds, ...
}

TEST_CASE("search options: an enum-like value is read once, and a bad one names the option and every valid value",
          "[app][search][options]") {
    std::size_t enums = 0;
    for (const auto& o : app::search_options()) {
        if (o.choices.empty()) continue;
        ++enums;
        CAPTURE(o.name);
        std::string valid;
        for (const auto& name : o.choices) {
            valid += (valid.empty() ? "" : ", ") + name;
            REQUIRE_THAT(o.help_line(), Contains(name));  // the help names every value
            app::search_config c;
            o.set(c, name);
            REQUIRE(o.get(c) == name);
        }
        app::search_config c;
        const std::string before = c.to_ini();
        try {
            o.set(c, "bogus");
            FAIL("--" << o.name << " accepted 'bogus'");
        } catch (const config_error& e) {
            REQUIRE(e.field() == "--" + o.name);
            REQUIRE(std::string(e.what()) == "unknown " + o.name + " 'bogus'; valid: " + valid + ".");
        }
        REQUIRE(c.to_ini() == before);  // nothing set
    }
    // algorithm, tree, objective, space, reference, evaluator, latency-model, train-model, device, dtype,
    // latency, trend-calibration, head-variants, dispatcher, cost
    REQUIRE(enums == 15);
    REQUIRE(app::to_string(app::dispatcher_kind::dry_run) == std::string("dry-run"));
    REQUIRE(app::parse_choice<app::tree_kind>("--tree", "space-aware") == app::tree_kind::space_aware);
}

TEST_CASE("search options: the help shows each default as the default configuration writes it", "[app][search][options]") {
    const app::search_config defaults;
    for (const auto& o : app::search_options()) {
        CAPTURE(o.name);
        const std::string shown = !o.default_note.empty() ? o.default_note : o.get ? o.get(defaults) : std::string();
        if (shown.empty())
            REQUIRE_THAT(o.help_line(), !Contains("(default"));
        else
            REQUIRE(o.help_line().substr(o.help_line().size() - shown.size() - 11) == " (default " + shown + ")");
    }
    // a note that names a value names the default configuration's
    REQUIRE_THAT(app::find_search_option("min-params")->help_line(), Contains(std::to_string(defaults.decoder_floor())));
}

TEST_CASE("search options: --queued auto queues one job where other processes time the search, none with --rungs or in one process",
          "[app][search][options]") {
    const app::search_config timing;  // the default: auto
    REQUIRE_FALSE(timing.queued_per_worker.has_value());
    REQUIRE(timing.policy().queued_per_worker == 1);      // MPI ranks or the dry run's simulated workers
    REQUIRE(timing.policy(true).queued_per_worker == 0);  // the master measures between its own asks
    const app::search_config training = read_settings({{"rungs", "1000000,2000000"}});
    REQUIRE(training.policy().queued_per_worker == 0);  // a queued job would wait out a training
    REQUIRE(training.policy(true).queued_per_worker == 0);
    for (const std::uint32_t n : {0u, 1u}) {  // a number is kept everywhere
        const app::search_config c = read_settings({{"queued", std::to_string(n)}, {"rungs", "1000000"}});
        REQUIRE(c.policy().queued_per_worker == n);
        REQUIRE(c.policy(true).queued_per_worker == n);
        REQUIRE_THAT(c.to_ini(), Contains("\nqueued = " + std::to_string(n) + "\n"));
    }
    // the archive keeps the word, so that a resumed run resolves it the same way
    REQUIRE_THAT(timing.to_ini(), Contains("\nqueued = auto\n"));
    REQUIRE_THROWS_WITH(read_settings({{"queued", "some"}}), "--queued: expected 0, 1 or auto, got 'some'.");
    REQUIRE_THROWS_WITH(read_settings({{"queued", "-1"}}), "--queued: expected 0, 1 or auto, got '-1'.");
}
