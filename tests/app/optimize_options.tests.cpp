// Tests of the option schema of `fracnas optimize` (app::optimize_options): the checks every
// command's schema keeps (option_checks.hpp), and what validate derives from it: the declared
// ranges, the names a struct filled in code gets wrong, and the overrides as core's enums.
// The command line's side: tests/cli/cli.tests.cpp and tests/cli/option_schemas.tests.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "fracnas/app/optimize_options.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/objectives.hpp"
#include "option_checks.hpp"

using namespace fracnas;
using Catch::Matchers::Contains;

TEST_CASE("optimize options: declared once, help lines, read back, ranges, bad names", "[app][optimize][options]") {
    test::options::check_table(app::optimize_options());
    // every option of the command but --help
    REQUIRE(app::optimize_options().size() == 20);
    // the names are eval's and core's, and the overrides read into core's enums
    REQUIRE(app::find_optimize_option("function")->choices == eval::objective_names());
    REQUIRE(app::find_optimize_option("algorithm")->choices == core::preset_names());
    app::optimize_config c;
    app::find_optimize_option("geometry")->set(c, "hypersphere");
    app::find_optimize_option("exploitation")->set(c, "ils");
    REQUIRE(c.geometry == core::geometry_kind::hypersphere);
    REQUIRE(c.exploitation == core::exploitation_kind::ils);
    REQUIRE_FALSE(c.search.has_value());  // an override not given keeps the preset's value
}

TEST_CASE("optimize options: validate checks every declared range, as the option's sentence", "[app][optimize][options]") {
    std::size_t ranged = 0;
    for (const auto& o : app::optimize_options()) {
        if (!o.range) continue;
        ++ranged;
        CAPTURE(o.name);
        app::optimize_config c;
        o.set(c, app::decimal(test::options::values_inside(*o.range).front()));
        REQUIRE_NOTHROW(c.validate());
        o.set(c, app::decimal(o.range->lo >= 1 ? o.range->lo - 1 : -1));
        try {
            c.validate();
            FAIL("validate accepted --" << o.name << " below its range");
        } catch (const config_error& e) {
            REQUIRE(e.field() == "--" + o.name);
            REQUIRE_THAT(e.what(), Contains("--" + o.name + " must be"));
        }
    }
    REQUIRE(ranged == 8);  // dim, budget, outstanding, noise, failure-rate, max-depth, sections, samples-per-cell
}

TEST_CASE("optimize options: a wrapper's name as --function says which options make it", "[app][optimize][options]") {
    app::optimize_config c;
    try {
        app::find_optimize_option("function")->set(c, "noisy:sphere");
        FAIL("--function accepted a wrapper's name");
    } catch (const config_error& e) {
        REQUIRE(e.field() == "--function");
        REQUIRE_THAT(e.what(), Contains("unknown function 'noisy:sphere'; valid: sphere") &&
                                   Contains("(use --noise and --failure-rate for the noisy and failing wrappers)."));
    }
    REQUIRE(c.function == "rastrigin");
}

TEST_CASE("optimize options: --time-limit reads none as no limit, and writes it back so", "[app][optimize][options]") {
    const auto* o = app::find_optimize_option("time-limit");
    app::optimize_config c;
    REQUIRE(o->get(c) == "none");
    o->set(c, "2.5");
    REQUIRE(c.time_limit == 2.5);
    o->set(c, "none");
    REQUIRE(o->get(c) == "none");
    REQUIRE_NOTHROW(c.validate());
}
