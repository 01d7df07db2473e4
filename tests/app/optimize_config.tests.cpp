// Tests of app::optimize_config: the defaults, every validate() error (field = the option, message
// names the problem), the fractal overrides (read by their options into core's enums), and what
// the run derives from the config. It runs no optimizer; the schema as a whole is checked in
// optimize_options.tests.cpp, the command line that fills the struct in tests/cli/.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "fracnas/app/optimize_config.hpp"
#include "fracnas/app/optimize_options.hpp"
#include "fracnas/error.hpp"

using Catch::Matchers::Contains;
using fracnas::config_error;
using fracnas::app::optimize_config;

namespace {

// Runs validate() and returns the error it throws; fails the test when it throws none.
config_error validate_error(const optimize_config& c) {
    try {
        c.validate();
    } catch (const config_error& e) {
        return e;
    }
    FAIL("validate() accepted an invalid config");
    return config_error("", "");
}

// Reads text through the option `name` of the schema and returns the error it throws.
config_error read_error(const std::string& name, const std::string& text) {
    optimize_config c;
    try {
        fracnas::app::find_optimize_option(name)->set(c, text);
    } catch (const config_error& e) {
        return e;
    }
    FAIL("--" << name << " accepted '" << text << "'");
    return config_error("", "");
}

}  // namespace

TEST_CASE("the default config is the embedded default job and is valid", "[app]") {
    const optimize_config c;
    CHECK(c.function == "rastrigin");
    CHECK(c.dim == 10);
    CHECK(c.algorithm == "soo");
    CHECK(c.budget == 10000);
    CHECK(c.seed == 1);
    CHECK(c.outstanding == 1);
    CHECK_NOTHROW(c.validate());
    CHECK(c.progress_interval() == 1000);
    CHECK(c.objective_name() == "rastrigin");
    CHECK_FALSE(c.has_overrides());
}

TEST_CASE("validate names the option and the problem", "[app]") {
    optimize_config c;
    SECTION("unknown function lists the valid names") {
        c.function = "cube";
        const auto e = validate_error(c);
        CHECK(e.field() == "--function");
        CHECK_THAT(e.what(), Contains("unknown function 'cube'") && Contains("sphere") && Contains("schwefel"));
    }
    SECTION("dim 0") {
        c.dim = 0;
        const auto e = validate_error(c);
        CHECK(e.field() == "--dim");
        CHECK(std::string(e.what()) == "--dim must be in 1..10000.");
    }
    SECTION("dim too large") {
        c.dim = 10001;
        CHECK(validate_error(c).field() == "--dim");
    }
    SECTION("unknown algorithm lists the presets") {
        c.algorithm = "cmaes";
        const auto e = validate_error(c);
        CHECK(e.field() == "--algorithm");
        CHECK_THAT(e.what(), Contains("unknown algorithm 'cmaes'") && Contains("soo, direct, direct-l, fda, evolution, random"));
    }
    SECTION("budget 0") {
        c.budget = 0;
        const auto e = validate_error(c);
        CHECK(e.field() == "--budget");
        CHECK_THAT(e.what(), Contains("at least 1"));
    }
    SECTION("outstanding 0") {
        c.outstanding = 0;
        CHECK(validate_error(c).field() == "--outstanding");
    }
    SECTION("time limit not positive") {
        c.time_limit = 0.0;
        CHECK(validate_error(c).field() == "--time-limit");
        c.time_limit = std::numeric_limits<double>::quiet_NaN();
        CHECK(validate_error(c).field() == "--time-limit");
    }
    SECTION("target not finite") {
        c.target = std::numeric_limits<double>::infinity();
        CHECK(validate_error(c).field() == "--target");
    }
    SECTION("negative noise") {
        c.noise = -0.5;
        const auto e = validate_error(c);
        CHECK(e.field() == "--noise");
        CHECK(std::string(e.what()) == "--noise must be at least 0.");
    }
    SECTION("failure rate above 1") {
        c.failure_rate = 1.5;
        const auto e = validate_error(c);
        CHECK(e.field() == "--failure-rate");
        CHECK(std::string(e.what()) == "--failure-rate must be in 0..1.");
    }
    SECTION("progress every 0") {
        c.progress_every = 0;
        const auto e = validate_error(c);
        CHECK(e.field() == "--progress-every");
        CHECK_THAT(e.what(), Contains("--quiet"));
    }
}

TEST_CASE("validate checks the fractal overrides with the preset", "[app]") {
    optimize_config c;
    // the overrides are core's enums: a name is read (and a bad one refused) by its option
    SECTION("unknown geometry lists the valid names") {
        const auto e = read_error("geometry", "cube");
        CHECK(e.field() == "--geometry");
        CHECK_THAT(e.what(), Contains("unknown geometry 'cube'") && Contains("k-section, direct, bisection, hypersphere"));
    }
    SECTION("unknown search, sampler, scoring, exploitation") {
        for (const char* name : {"search", "sampler", "scoring", "exploitation"}) {
            CAPTURE(name);
            CHECK(read_error(name, "x").field() == std::string("--") + name);
        }
    }
    SECTION("numbers out of range map to their options") {
        c.sections = 1;
        CHECK(validate_error(c).field() == "--sections");
        c.sections.reset();
        c.max_depth = 0;
        CHECK(validate_error(c).field() == "--max-depth");
        c.max_depth.reset();
        c.samples_per_cell = 0;
        CHECK(validate_error(c).field() == "--samples-per-cell");
    }
    SECTION("a combination core rejects") {
        c.search = fracnas::core::search_kind::direct;  // soo's k-section geometry cannot run DIRECT's search
        const auto e = validate_error(c);
        CHECK(e.field() == "--search");
        CHECK_THAT(e.what(), Contains("direct geometry"));
    }
    SECTION("bisection in a high dimension") {
        c.geometry = fracnas::core::geometry_kind::bisection;
        c.dim = 40;
        CHECK(validate_error(c).field() == "--geometry");
    }
    SECTION("overrides do not apply to random") {
        c.algorithm = "random";
        CHECK_NOTHROW(c.validate());
        c.max_depth = 5;
        const auto e = validate_error(c);
        CHECK(e.field() == "--algorithm");
        CHECK_THAT(e.what(), Contains("'random' is not a fractal algorithm"));
    }
    SECTION("valid overrides reach the fractal configuration") {
        c.geometry = fracnas::core::geometry_kind::bisection;
        c.search = fracnas::core::search_kind::best_first;
        c.sampler = fracnas::core::sampler_kind::latin_hypercube;
        c.samples_per_cell = 3;
        c.max_depth = 7;
        c.dim = 4;
        CHECK_NOTHROW(c.validate());
        CHECK(c.has_overrides());
        const auto cfg = c.fractal();
        CHECK(cfg.geometry == fracnas::core::geometry_kind::bisection);
        CHECK(cfg.search == fracnas::core::search_kind::best_first);
        CHECK(cfg.sampler == fracnas::core::sampler_kind::latin_hypercube);
        CHECK(cfg.samples_per_cell == 3);
        CHECK(cfg.max_depth == 7);
        CHECK(cfg.scoring == fracnas::core::scoring_kind::best);  // the preset's, untouched
    }
}

TEST_CASE("the config derives the objective, the stopping rules and the progress interval", "[app]") {
    optimize_config c;
    c.function = "sphere";
    c.budget = 5;
    CHECK(c.progress_interval() == 1);
    c.progress_every = 7;
    CHECK(c.progress_interval() == 7);

    c.noise = 0.2;
    CHECK(c.objective_name() == "noisy:sphere");
    c.failure_rate = 0.3;
    CHECK(c.objective_name() == "failing:noisy:sphere");
    const auto options = c.objective_options();
    CHECK(options.noise_sigma == 0.2);
    CHECK(options.failure_probability == 0.3);

    c.target = 1e-3;
    c.time_limit = 12.5;
    const auto stop = c.stopping(2.0);
    CHECK(stop.budget == 5);
    CHECK(stop.target == Approx(2.001));
    CHECK(optimize_config{}.stopping(0.0).target == -std::numeric_limits<double>::infinity());
}

TEST_CASE("option_for_field maps core and eval fields to options", "[app]") {
    using fracnas::app::option_for_field;
    CHECK(option_for_field("objective.name") == "--function");
    CHECK(option_for_field("objective.dim") == "--dim");
    CHECK(option_for_field("objective_options.noise_sigma") == "--noise");
    CHECK(option_for_field("objective_options.failure_probability") == "--failure-rate");
    CHECK(option_for_field("max_depth") == "--max-depth");
    CHECK(option_for_field("samples_per_cell") == "--samples-per-cell");
    CHECK(option_for_field("wall_seconds") == "--time-limit");
    CHECK(option_for_field("--dim") == "--dim");
    CHECK(option_for_field("inflation") == "inflation");
}
