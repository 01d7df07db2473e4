// One command-line option, declared once for any command's configuration struct: its name, value,
// help, range, valid names and default, and how its text is read into the struct and written back.
// A command's table of these (app::search_options, app::optimize_options, the eval and train
// tables of src/cli/) is the one place its options are declared; the Boost table, the help lines
// with their ranges and defaults, the range checks and the parsing are derived from it. The
// builders below make the usual kinds (whole and real numbers, enum-like and named choices, text,
// files, switches), reading numbers strictly (parse.hpp) and names into enums, once. Standard
// library only: it parses no command line and knows no Boost.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fracnas/app/parse.hpp"
#include "fracnas/error.hpp"

namespace fracnas::app {

/// No upper bound: option_range{lo, unbounded}.
inline constexpr double unbounded = std::numeric_limits<double>::infinity();

/// The values a number may take: lo..hi, both ends included (a `hi` of unbounded: no upper bound),
/// or (lo, hi] with `lo_open` (a number of seconds that must be positive), and only multiples of
/// `step` where it is above 0 (a width in whole tiles).
struct option_range {
    double lo = 0.0;
    double hi = unbounded;
    bool lo_open = false;
    double step = 0.0;
    /// Whether v (finite) lies in it.
    bool holds(double v) const noexcept {
        return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi && (step <= 0.0 || std::fmod(v, step) == 0.0);
    }
};

/// v as text that reads back as exactly v: a whole number in full, any other in the fewest
/// significant digits (at most 17) that give v again ("0.0006", "1e-08").
std::string decimal(double v);
/// What a range allows, as the help and the errors say it: "LO..HI", "at least LO", "in (LO, HI]",
/// "a multiple of STEP in LO..HI".
std::string range_rule(const option_range& r);
/// The help's text of a range: ", " and its rule.
std::string range_text(const option_range& r);
/// Throws config_error(option) "OPTION must be in LO..HI." ("OPTION must be at least LO.", "OPTION
/// must be in (LO, HI].", "OPTION must be a multiple of STEP in LO..HI.").
[[noreturn]] void throw_out_of_range(const std::string& option, const option_range& r);

/// The option values of an enum, in the order of its enumerators: the text on the command line,
/// in a config file and in the archived INI (specialised next to each enum, search_config.hpp).
template <class E>
struct choice_names;

/// The option value of e ("space-aware", "dry-run", ...).
template <class E>
const char* to_string(E e) {
    return choice_names<E>::values.at(static_cast<std::size_t>(e));
}

/// Every option value of E as a help text says it: "a, b or c".
template <class E>
std::string choice_list() {
    const auto& names = choice_names<E>::values;
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    return out;
}

/// The index of `text` in names. Throws config_error(option) "unknown NAME 'text'; valid: a, b."
/// (NAME: option without "--"), the one error of every enum-like option.
std::size_t parse_choice(const std::string& option, const std::string& text, const char* const* names, std::size_t count);
/// parse_choice over a list of names.
std::size_t parse_choice(const std::string& option, const std::string& text, const std::vector<std::string>& names);

/// The enumerator that `text` names; throws config_error(option) listing the valid names.
template <class E>
E parse_choice(const std::string& option, const std::string& text) {
    const auto& names = choice_names<E>::values;
    return static_cast<E>(parse_choice(option, text, names.data(), names.size()));
}

/// A whole number (parse_count) that must fit T: config_error(option) "OPTION is too large." past it.
template <class T>
T parse_whole(const std::string& option, const std::string& text) {
    const std::uint64_t v = parse_count(option, text);
    if constexpr (static_cast<std::uint64_t>(std::numeric_limits<T>::max()) < std::numeric_limits<std::uint64_t>::max())
        if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) throw config_error(option, option + " is too large.");
    return static_cast<T>(v);
}

/// "a,b,c" read item by item with `item` (which throws config_error naming the option); an empty
/// text is no items.
template <class T, class F>
std::vector<T> split_list(const std::string& text, F item) {
    std::vector<T> out;
    std::stringstream items(text);
    std::string one;
    while (std::getline(items, one, ',')) out.push_back(item(one));
    return out;
}

/// A list as "a,b,c", each item as its option reads it (decimal for reals).
template <class T>
std::string joined(const std::vector<T>& items) {
    std::string out;
    for (const auto& x : items) {
        if (!out.empty()) out += ",";
        if constexpr (std::is_floating_point_v<T>)
            out += decimal(x);
        else if constexpr (std::is_convertible_v<T, std::string>)
            out += x;
        else
            out += std::to_string(x);
    }
    return out;
}

/// One option of a command whose settings are a Config (default-constructible: its defaults are
/// the command's, and the help shows them).
template <class Config>
struct option {
    using config_type = Config;
    std::string name;        ///< the long option without "--"
    std::string value_name;  ///< the value's name in the help ("N", "NAME"); empty: a switch
    std::string help;        ///< what it sets; help_line() adds the range and the default
    /// The range a number must lie in, checked by check_range ("--NAME must be in LO..HI.") and
    /// shown in the help; none where the rule involves more than this option.
    std::optional<option_range> range;
    /// The valid values of an enum-like option (its text is parsed into an enum, or checked
    /// against a list of names, once, when read: a bad one is refused naming the option and these).
    std::vector<std::string> choices;
    /// The default the help shows, where the default configuration's value would not say it (an
    /// empty list that means the preset floors, a value that depends on the architecture); else empty.
    std::string default_note;
    /// Reads the option's text into the configuration; throws config_error("--NAME") with one
    /// sentence (an enum-like value: the valid names). A switch is given "".
    std::function<void(Config&, const std::string&)> set;
    /// The value as the option reads it back ("" for an optional one that is not set); empty for a
    /// switch and for what is not written back.
    std::function<std::string(const Config&)> get;
    /// The number the range applies to (none when an optional value is not set); empty without a range.
    std::function<std::optional<double>(const Config&)> number;

    /// A switch: given or not, no value.
    bool is_switch() const { return value_name.empty(); }
    /// The help sentence: help, the range's text, " (default X)" with a default.
    std::string help_line() const {
        std::string line = help;
        if (range) line += range_text(*range);
        const std::string shown = !default_note.empty() ? default_note : get ? get(Config{}) : std::string();
        if (!shown.empty()) line += " (default " + shown + ")";
        return line;
    }
    /// Throws config_error("--NAME") when the configuration's value is out of range (or not finite).
    void check_range(const Config& c) const {
        if (!range || !number) return;
        const std::optional<double> v = number(c);
        if (v && !range->holds(*v)) throw_out_of_range("--" + name, *range);
    }
};

/// The option of this name (without "--") in a table, or nullptr.
template <class O>
const O* find_option(const std::vector<O>& table, const std::string& name) {
    for (const auto& o : table)
        if (o.name == name) return &o;
    return nullptr;
}

/// Every range of a table checked on c, in the table's order.
template <class O>
void check_ranges(const std::vector<O>& table, const typename O::config_type& c) {
    for (const auto& o : table) o.check_range(c);
}

/// The accessor of a field of a configuration (or of a struct inside it), for const and
/// non-const configurations alike: what the builders below take.
#define FRACNAS_FIELD(member) \
    [](auto& c) -> auto& {    \
        return c.member;      \
    }

namespace option_detail {

// A field's type, and its value type when it is an optional (an option that may be left unset).
template <class F, class C>
using field_type = std::remove_cv_t<std::remove_reference_t<decltype(std::declval<F>()(std::declval<C&>()))>>;
template <class T>
struct plain {
    using type = T;
};
template <class T>
struct plain<std::optional<T>> {
    using type = T;
};
template <class F, class C>
using value_type = typename plain<field_type<F, C>>::type;

// The value a field holds, or nullptr for an optional that is not set.
template <class T>
const T* present(const T& v) {
    return &v;
}
template <class T>
const T* present(const std::optional<T>& v) {
    return v ? &*v : nullptr;
}

// set: the field is given parse("--NAME", text), which throws config_error naming the option.
template <class O, class F, class Parse>
void reads(O& o, F field, Parse parse) {
    using C = typename O::config_type;
    o.set = [field, parse, option = "--" + o.name](C& c, const std::string& t) { field(c) = parse(option, t); };
}

// get: the field's value through `show`, "" for an optional that is not set.
template <class O, class F, class Show>
void read_back(O& o, F field, Show show) {
    using C = typename O::config_type;
    o.get = [field, show](const C& c) {
        const auto* v = present(field(c));
        return v ? std::string(show(*v)) : std::string();
    };
}

// number: the field's value as the range applies to it, none for an optional that is not set.
template <class O, class F>
void number_of(O& o, F field) {
    using C = typename O::config_type;
    o.number = [field](const C& c) -> std::optional<double> {
        const auto* v = present(field(c));
        return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
    };
}

}  // namespace option_detail

/// An option's name, value name and help, the rest to fill (O: option<Config> or a record built on it).
template <class O>
O declare(const char* name, const char* value_name, const std::string& help) {
    O o;
    o.name = name;
    o.value_name = value_name;
    o.help = help;
    return o;
}

/// A whole number (parse_count) into an unsigned or int field, or an optional one; "--NAME is
/// too large." when it does not fit the field.
template <class O, class F>
O whole_number(O o, F field, std::optional<option_range> r = std::nullopt) {
    using T = option_detail::value_type<F, typename O::config_type>;
    option_detail::reads(o, field, [](const std::string& option, const std::string& t) { return parse_whole<T>(option, t); });
    option_detail::read_back(o, field, [](const T& v) { return std::to_string(v); });
    option_detail::number_of(o, field);
    o.range = r;
    return o;
}

/// A finite real number (parse_real) into a double field, or an optional one.
template <class O, class F>
O real_number(O o, F field, std::optional<option_range> r = std::nullopt) {
    option_detail::reads(o, field, parse_real);
    option_detail::read_back(o, field, [](double v) { return decimal(v); });
    option_detail::number_of(o, field);
    o.range = r;
    return o;
}

/// A number of seconds, or "none" for no limit (infinity, outside the range's check).
template <class O, class F>
O seconds_or_none(O o, F field, std::optional<option_range> r = std::nullopt) {
    using C = typename O::config_type;
    constexpr double none = std::numeric_limits<double>::infinity();
    option_detail::reads(o, field,
                         [](const std::string& option, const std::string& t) { return t == "none" ? none : parse_real(option, t); });
    option_detail::read_back(o, field, [](double v) { return v == none ? std::string("none") : decimal(v); });
    o.number = [field](const C& c) -> std::optional<double> {
        const double v = field(c);
        return v == none ? std::nullopt : std::optional<double>(v);
    };
    o.range = r;
    return o;
}

/// An enum-like option whose values are `values`, each named by to_string (app's, core's or
/// eval's, found by argument-dependent lookup). Reads the text into the value at the name's index.
template <class O, class F, class E>
O choice(O o, F field, const std::vector<E>& values) {
    for (const E v : values) o.choices.push_back(to_string(v));
    option_detail::reads(o, field, [values, names = o.choices](const std::string& option, const std::string& t) {
        return values.at(parse_choice(option, t, names));
    });
    option_detail::read_back(o, field, [](const E& v) { return std::string(to_string(v)); });
    return o;
}

/// An enum-like option of every value of its enum's choice_names.
template <class O, class F>
O choice(O o, F field) {
    using E = option_detail::value_type<F, typename O::config_type>;
    std::vector<E> all;
    for (std::size_t i = 0; i < choice_names<E>::values.size(); ++i) all.push_back(static_cast<E>(i));
    return choice(std::move(o), field, all);
}

/// A string option that must be one of `valid` (names another layer owns: presets, objectives).
template <class O, class F>
O one_of(O o, F field, std::vector<std::string> valid) {
    o.choices = std::move(valid);
    option_detail::reads(o, field, [names = o.choices](const std::string& option, const std::string& t) {
        return names.at(parse_choice(option, t, names));
    });
    option_detail::read_back(o, field, [](const std::string& v) { return v; });
    return o;
}

/// Any text into a string field, or an optional one (a name, a canonical architecture).
template <class O, class F>
O text(O o, F field) {
    option_detail::reads(o, field, [](const std::string&, const std::string& t) { return t; });
    option_detail::read_back(o, field, [](const std::string& v) { return v; });
    return o;
}

/// A file name, never empty: an empty one would silently mean "none". Not read back.
template <class O, class F>
O file(O o, F field) {
    option_detail::reads(o, field, [](const std::string& option, const std::string& t) {
        if (t.empty()) throw config_error(option, option + " needs a file name (leave the option out for none).");
        return t;
    });
    return o;
}

/// A switch: given, the bool field is true. Not read back (the help shows no default).
template <class O, class F>
O flag(O o, F field) {
    using C = typename O::config_type;
    o.value_name.clear();
    o.set = [field](C& c, const std::string&) { field(c) = true; };
    return o;
}

}  // namespace fracnas::app
