// The option table of `fracnas optimize`, each option once, built with option.hpp's builders: the
// valid names of functions, algorithms and the fractal overrides come from eval and core, and the
// overrides are read into core's enums here.
#include "fracnas/app/optimize_options.hpp"

#include <string>
#include <vector>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/objectives.hpp"

namespace fracnas::app {

namespace {

using o_t = optimize_option;

// "what: a, b, c": an enum-like option's help names every value.
std::string listing(const std::string& what, const std::vector<std::string>& names) {
    std::string out = what + ":";
    for (std::size_t i = 0; i < names.size(); ++i) out += (i == 0 ? " " : ", ") + names[i];
    return out;
}

std::vector<optimize_option> make_options() {
    using namespace core;
    std::vector<optimize_option> o;
    o.push_back(one_of(declare<o_t>("function", "NAME", ""), FRACNAS_FIELD(function), eval::objective_names()));
    o.back().help = listing("function to minimise", o.back().choices);
    // "noisy:sphere" is a wrapper, not a function: the error says which options make one
    o.back().set = [read = o.back().set](optimize_config& c, const std::string& t) {
        try {
            read(c, t);
        } catch (const config_error& e) {
            const std::string sentence = e.what();
            throw config_error(e.field(), sentence.substr(0, sentence.size() - 1) +
                                              " (use --noise and --failure-rate for the noisy and failing wrappers).");
        }
    };
    o.push_back(whole_number(declare<o_t>("dim", "D", "dimension (typical 2..100)"), FRACNAS_FIELD(dim),
                             option_range{1, static_cast<double>(eval::max_objective_dim)}));
    o.push_back(one_of(declare<o_t>("algorithm", "NAME", ""), FRACNAS_FIELD(algorithm), preset_names()));
    o.back().help = listing("algorithm", o.back().choices);
    o.push_back(whole_number(declare<o_t>("budget", "N", "evaluations at most (typical 1000..1000000)"), FRACNAS_FIELD(budget),
                             option_range{1, unbounded}));
    o.push_back(whole_number(declare<o_t>("seed", "S", "seeds the function's optimum, the algorithm and the completion order"),
                             FRACNAS_FIELD(seed)));
    o.push_back(whole_number(
        declare<o_t>("outstanding", "K", "evaluations kept in flight, completed in a seeded random order (1: sequential; typical 1..64)"),
        FRACNAS_FIELD(outstanding), option_range{1, 1e6}));
    o.push_back(seconds_or_none(declare<o_t>("time-limit", "SECONDS", "stop after this wall time, > 0 (typical 10..3600)"),
                                FRACNAS_FIELD(time_limit)));
    o.push_back(real_number(declare<o_t>("target", "VALUE", "stop once the best error (best - f*) <= VALUE (typical 1e-6)"),
                            FRACNAS_FIELD(target)));
    o.back().default_note = "none";
    o.push_back(real_number(declare<o_t>("noise", "SIGMA", "add SIGMA * N(0,1) to every value, the noisy: wrapper (typical 0.01..1)"),
                            FRACNAS_FIELD(noise), option_range{0, unbounded}));
    o.back().default_note = "0: off";
    o.push_back(real_number(declare<o_t>("failure-rate", "P", "fail each point with probability P, the failing: wrapper (typical 0.05)"),
                            FRACNAS_FIELD(failure_rate), option_range{0, 1}));
    o.back().default_note = "0: off";
    // the fractal overrides: unset, the preset's value
    o.push_back(choice(
        declare<o_t>("geometry", "NAME", ""), FRACNAS_FIELD(geometry),
        std::vector<geometry_kind>{geometry_kind::k_section, geometry_kind::direct, geometry_kind::bisection, geometry_kind::hypersphere}));
    o.back().help = listing("fractal override, how a cell splits", o.back().choices);
    o.push_back(choice(declare<o_t>("search", "NAME", ""), FRACNAS_FIELD(search),
                       std::vector<search_kind>{search_kind::breadth_first, search_kind::depth_first, search_kind::best_first,
                                                search_kind::cyclic_best_first, search_kind::beam, search_kind::epsilon_greedy,
                                                search_kind::move_up, search_kind::soo, search_kind::direct, search_kind::direct_local}));
    o.back().help = listing("fractal override, which open cell expands next", o.back().choices);
    o.push_back(
        choice(declare<o_t>("sampler", "NAME", ""), FRACNAS_FIELD(sampler),
               std::vector<sampler_kind>{sampler_kind::centre, sampler_kind::latin_hypercube, sampler_kind::random, sampler_kind::phs}));
    o.back().help = listing("fractal override, how a new cell is sampled", o.back().choices);
    o.push_back(choice(declare<o_t>("scoring", "NAME", ""), FRACNAS_FIELD(scoring),
                       std::vector<scoring_kind>{scoring_kind::best, scoring_kind::mean, scoring_kind::median,
                                                 scoring_kind::distance_to_best, scoring_kind::belief}));
    o.back().help = listing("fractal override, how samples score a cell", o.back().choices);
    o.push_back(choice(declare<o_t>("exploitation", "NAME", ""), FRACNAS_FIELD(exploitation),
                       std::vector<exploitation_kind>{exploitation_kind::none, exploitation_kind::ils}));
    o.back().help = listing("fractal override, what happens at max depth", o.back().choices);
    o.push_back(whole_number(declare<o_t>("max-depth", "N", "fractal override, the deepest level (typical 5..100)"),
                             FRACNAS_FIELD(max_depth), option_range{1, 100000}));
    o.push_back(whole_number(declare<o_t>("sections", "K", "fractal override, k of the k-section (typical 3)"), FRACNAS_FIELD(sections),
                             option_range{2, 1000}));
    o.push_back(whole_number(declare<o_t>("samples-per-cell", "N",
                                          "fractal override, points per new cell of the latin-hypercube and random samplers (typical 4)"),
                             FRACNAS_FIELD(samples_per_cell), option_range{1, 100000}));
    o.push_back(
        whole_number(declare<o_t>("progress-every", "N", "print a progress line every N evaluations"), FRACNAS_FIELD(progress_every)));
    o.back().default_note = "budget/10";
    o.push_back(flag(declare<o_t>("quiet", "", "print no progress lines, only the summary"), FRACNAS_FIELD(quiet)));
    return o;
}

}  // namespace

const std::vector<optimize_option>& optimize_options() {
    static const std::vector<optimize_option> options = make_options();
    return options;
}

const optimize_option* find_optimize_option(const std::string& name) {
    return find_option(optimize_options(), name);
}

}  // namespace fracnas::app
