// What every command's option schema (app/option.hpp) must keep, written once and run on each
// table: app::optimize_options (tests/app/optimize_options.tests.cpp) and the eval and train tables
// (tests/cli/option_schemas.tests.cpp), whose command lines are checked there too. Header-only,
// Catch2 assertions; it builds no table itself.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "fracnas/app/option.hpp"
#include "fracnas/error.hpp"

namespace fracnas::test::options {

/// Values a range holds: its ends where it holds them (else a value inside next to the end).
inline std::vector<double> values_inside(const app::option_range& r) {
    const double lo = r.lo_open ? (std::isfinite(r.hi) ? r.lo + (r.hi - r.lo) / 2 : r.lo + 1) : r.lo;
    return {lo, std::isfinite(r.hi) ? r.hi : lo + (r.step > 0 ? r.step : 1)};
}

/// Values just outside a range, of the option's kind where it can be (a whole number below the
/// low end, the open end itself, a value between two steps), the first ones the most likely to read.
inline std::vector<double> values_outside(const app::option_range& r) {
    std::vector<double> v;
    if (r.lo_open) v.push_back(r.lo);
    v.push_back(r.lo - 1);
    if (r.step > 0) v.push_back(r.lo + r.step / 2);
    if (std::isfinite(r.hi)) v.push_back(r.hi + 1);
    v.push_back(r.lo - 0.5);
    return v;
}

/// The sentence of the range check, as throw_out_of_range says it.
inline std::string range_error(const std::string& option, const app::option_range& r) {
    try {
        app::throw_out_of_range(option, r);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

/// The default the help shows: the note, else the default configuration's value ("" for none).
template <class O>
std::string shown_default(const O& o) {
    if (!o.default_note.empty()) return o.default_note;
    return o.get ? o.get(typename O::config_type{}) : std::string();
}

/// Each option declared once, with a help and a reader; find_option finds it.
template <class O>
void check_declared_once(const std::vector<O>& table) {
    std::set<std::string> names;
    for (const auto& o : table) {
        CAPTURE(o.name);
        REQUIRE(names.insert(o.name).second);
        REQUIRE(app::find_option(table, o.name) == &o);
        REQUIRE(!o.help.empty());
        REQUIRE(static_cast<bool>(o.set));
        if (o.range) REQUIRE(static_cast<bool>(o.number));  // a range has the number it applies to
    }
    REQUIRE(app::find_option(table, "help") == nullptr);  // the Boost table's own
}

/// Each help line: the help, then the range's text, then " (default X)" with the default shown.
template <class O>
void check_help_lines(const std::vector<O>& table) {
    for (const auto& o : table) {
        CAPTURE(o.name);
        std::string expected = o.help;
        if (o.range) expected += app::range_text(*o.range);
        const std::string shown = shown_default(o);
        if (!shown.empty()) expected += " (default " + shown + ")";
        REQUIRE(o.help_line() == expected);
        for (const auto& name : o.choices) REQUIRE_THAT(o.help_line(), Catch::Matchers::Contains(name));
    }
}

/// A value written back reads back as itself: each valid name, the low end of a range, and the
/// default where the help shows it as the value (a note may stand for a value no option reads, as
/// "auto" for a dtype that --dtype cannot name).
template <class O>
void check_read_back(const std::vector<O>& table) {
    using C = typename O::config_type;
    std::size_t checked = 0;
    for (const auto& o : table) {
        if (!o.get) continue;
        CAPTURE(o.name);
        std::vector<std::string> texts = o.choices;
        if (o.default_note.empty() && !o.get(C{}).empty()) texts.push_back(o.get(C{}));
        if (o.range) texts.push_back(app::decimal(values_inside(*o.range).front()));
        for (const auto& t : texts) {
            CAPTURE(t);
            C c;
            o.set(c, t);
            REQUIRE(o.get(c) == t);
            C again;
            o.set(again, o.get(c));
            REQUIRE(o.get(again) == t);
            ++checked;
        }
    }
    REQUIRE(checked > 0);
}

/// The ends of a range are accepted; a value past either end is refused, when read or by the
/// range check, naming the option ("--NAME must be in LO..HI." for one that reads).
template <class O>
void check_ranges(const std::vector<O>& table) {
    using C = typename O::config_type;
    for (const auto& o : table) {
        if (!o.range) continue;
        CAPTURE(o.name);
        for (const double inside : values_inside(*o.range)) {
            C c;
            o.set(c, app::decimal(inside));
            REQUIRE_NOTHROW(o.check_range(c));
        }
        const std::vector<double> outside = values_outside(*o.range);
        for (const double v : outside) {
            CAPTURE(v);
            C c;
            try {
                o.set(c, app::decimal(v));
                o.check_range(c);
                FAIL("--" << o.name << " accepted " << app::decimal(v));
            } catch (const config_error& e) {
                REQUIRE(e.field() == "--" + o.name);
            }
        }
        // the first value outside that the option reads: the range check's own sentence
        bool read = false;
        for (const double v : outside) {
            C c;
            try {
                o.set(c, app::decimal(v));
            } catch (const config_error&) {
                continue;  // not a value of this option's kind ("-1" for a whole number)
            }
            read = true;
            try {
                o.check_range(c);
                FAIL("--" << o.name << " passed its range check with " << app::decimal(v));
            } catch (const config_error& e) {
                REQUIRE(std::string(e.what()) == range_error("--" + o.name, *o.range));
            }
            break;
        }
        REQUIRE(read);
    }
}

/// A name that is none of an option's choices is refused when read, naming the option, the name
/// and every valid value, and sets nothing.
template <class O>
void check_bad_names(const std::vector<O>& table) {
    using C = typename O::config_type;
    for (const auto& o : table) {
        if (o.choices.empty()) continue;
        CAPTURE(o.name);
        C c;
        const std::string before = o.get ? o.get(c) : std::string();
        try {
            o.set(c, "bogus");
            FAIL("--" << o.name << " accepted 'bogus'");
        } catch (const config_error& e) {
            REQUIRE(e.field() == "--" + o.name);
            REQUIRE_THAT(e.what(), Catch::Matchers::Contains("'bogus'"));
            for (const auto& name : o.choices) REQUIRE_THAT(e.what(), Catch::Matchers::Contains(name));
        }
        if (o.get) REQUIRE(o.get(c) == before);
    }
}

/// Every check above on one table.
template <class O>
void check_table(const std::vector<O>& table) {
    check_declared_once(table);
    check_help_lines(table);
    check_read_back(table);
    check_ranges(table);
    check_bad_names(table);
}

}  // namespace fracnas::test::options
