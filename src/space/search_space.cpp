// Validation, decoding and encoding for space::search_space.
// Level boundaries are the doubles k/n themselves (not floor(x*n), which misplaces some of
// them by one ulp), and reals are encoded by search so that decode(encode(v)) == v exactly.
#include "fracnas/space/search_space.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "fracnas/core/cube_structure.hpp"
#include "fracnas/error.hpp"

namespace fracnas::space {

namespace {

constexpr std::uint64_t max_levels = std::uint64_t{1} << 40;  // keeps k/n and centres distinct
constexpr std::int64_t max_layers = std::int64_t{1} << 20;

std::string quote(const std::string& s) {
    return "'" + s + "'";
}
std::string num(std::int64_t i) {
    return std::to_string(i);
}
std::string num(double d) {
    return to_string(value{d});
}

// ---- the scalar codecs; every level count n here is in [1, 2^40].

std::uint64_t levels(const int_range& r) {
    return (static_cast<std::uint64_t>(r.hi) - static_cast<std::uint64_t>(r.lo)) / static_cast<std::uint64_t>(r.step) + 1;
}
std::uint64_t levels(const categorical& c) {
    return c.choices.size();
}

// The largest k < n with double(k)/double(n) <= x, for x in [0, 1] (the cube structure's
// level arithmetic: one rule for the codec and the tree).
std::uint64_t decode_level(double x, std::uint64_t n) {
    return core::level_of(x, n);
}

double level_centre(std::uint64_t k, std::uint64_t n) {
    return (static_cast<double>(k) + 0.5) / static_cast<double>(n);
}

// Monotone non-decreasing in x, exact at both ends.
double decode_real(const real_range& r, double x) {
    if (x >= 1.0) return r.hi;
    const double v = r.lo + x * (r.hi - r.lo);
    return v < r.lo ? r.lo : (v > r.hi ? r.hi : v);
}

std::uint64_t bits_of(double d) {
    std::uint64_t b = 0;
    std::memcpy(&b, &d, sizeof b);
    return b;
}
double from_bits(std::uint64_t b) {
    double d = 0.0;
    std::memcpy(&d, &b, sizeof d);
    return d;
}

// A coordinate that decodes to exactly v (v in [lo, hi]), or to the nearest reachable value.
// Depends on v only, which makes canonical() idempotent.
double encode_real(const real_range& r, double v) {
    if (r.hi == r.lo) return 0.5;
    double x0 = (v - r.lo) / (r.hi - r.lo);
    x0 = x0 < 0.0 ? 0.0 : (x0 > 1.0 ? 1.0 : x0);
    if (decode_real(r, x0) == v) return x0;
    // Non-negative doubles order like their bit patterns, so bisect those: find the smallest
    // x in [0, 1] with decode(x) >= v (decode is monotone and decode(1) = hi >= v).
    std::uint64_t lo = 0, hi = bits_of(1.0);
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        if (decode_real(r, from_bits(mid)) >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    const double above = from_bits(lo);
    if (lo == 0 || decode_real(r, above) == v) return above;
    const double below = from_bits(lo - 1);  // v is unreachable: take the closer neighbour
    return v - decode_real(r, below) <= decode_real(r, above) - v ? below : above;
}

// ---- per-kind decode/encode of one item; label names the item in messages ("d_inner[2]").

template <class E>
struct item_traits;
template <>
struct item_traits<int_range> {
    using type = std::int64_t;
    static constexpr const char* name = "an integer";
    static constexpr const char* array_name = "an integer array";
};
template <>
struct item_traits<real_range> {
    using type = double;
    static constexpr const char* name = "a real";
    static constexpr const char* array_name = "a real array";
};
template <>
struct item_traits<categorical> {
    using type = std::string;
    static constexpr const char* name = "a string";
    static constexpr const char* array_name = "a string array";
};

std::int64_t decode_item(const int_range& r, double x) {
    const std::uint64_t k = decode_level(x, levels(r));
    // Stays within [lo, hi], so the unsigned sum converts back without loss.
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(r.lo) + k * static_cast<std::uint64_t>(r.step));
}
double decode_item(const real_range& r, double x) {
    return decode_real(r, x);
}
std::string decode_item(const categorical& c, double x) {
    return c.choices[decode_level(x, levels(c))];
}

double encode_item(const int_range& r, std::int64_t v, const std::string& label, const std::string& field) {
    if (v < r.lo || v > r.hi) throw config_error(field, label + " = " + num(v) + " is outside [" + num(r.lo) + ", " + num(r.hi) + "].");
    const std::uint64_t offset = static_cast<std::uint64_t>(v) - static_cast<std::uint64_t>(r.lo);
    const std::uint64_t step = static_cast<std::uint64_t>(r.step);
    if (offset % step != 0)
        throw config_error(field, label + " = " + num(v) + " is not on the grid " + num(r.lo) + ", " + num(r.lo) + "+" + num(r.step) +
                                      ", ..., " + num(r.hi) + ".");
    return level_centre(offset / step, levels(r));
}

double encode_item(const real_range& r, double v, const std::string& label, const std::string& field) {
    if (std::isnan(v)) throw config_error(field, label + " is NaN.");
    if (v < r.lo || v > r.hi) throw config_error(field, label + " = " + num(v) + " is outside [" + num(r.lo) + ", " + num(r.hi) + "].");
    return encode_real(r, v);
}

double encode_item(const categorical& c, const std::string& v, const std::string& label, const std::string& field) {
    for (std::size_t k = 0; k < c.choices.size(); ++k)
        if (c.choices[k] == v) return level_centre(k, levels(c));
    std::string list;
    for (const std::string& s : c.choices) list += (list.empty() ? "" : ", ") + s;
    throw config_error(field, label + " = " + quote(v) + " is not one of the choices {" + list + "}.");
}

const char* type_name_of(const value& v) {
    static const char* const names[] = {"an integer", "a real", "a string", "an integer array", "a real array", "a string array"};
    return names[v.index()];
}

template <class T>
const T& expect(const value& v, const std::string& name, const char* wanted) {
    if (const T* p = std::get_if<T>(&v)) return *p;
    throw config_error(name, quote(name) + " must be " + wanted + ", got " + type_name_of(v) + ".");
}

// ---- validation; what names the thing in messages, field_prefix starts config_error::field.

void validate(const int_range& r, const std::string& what, const std::string& field_prefix) {
    if (r.lo > r.hi) throw config_error(field_prefix + ".lo", what + " has lo = " + num(r.lo) + " > hi = " + num(r.hi) + ".");
    if (r.step <= 0) throw config_error(field_prefix + ".step", what + " has step = " + num(r.step) + "; step must be positive.");
    const std::uint64_t span = static_cast<std::uint64_t>(r.hi) - static_cast<std::uint64_t>(r.lo);
    const std::uint64_t step = static_cast<std::uint64_t>(r.step);
    if (span % step != 0)
        throw config_error(field_prefix + ".step",
                           what + " has hi - lo = " + std::to_string(span) + ", which is not a multiple of step = " + num(r.step) + ".");
    if (span / step >= max_levels) throw config_error(field_prefix + ".step", what + " has more than 2^40 levels; use a larger step.");
}

void validate(const real_range& r, const std::string& what, const std::string& field_prefix) {
    if (!std::isfinite(r.lo) || !std::isfinite(r.hi)) throw config_error(field_prefix + ".lo", what + " has a bound that is not finite.");
    if (r.lo > r.hi) throw config_error(field_prefix + ".lo", what + " has lo = " + num(r.lo) + " > hi = " + num(r.hi) + ".");
    if (!std::isfinite(r.hi - r.lo)) throw config_error(field_prefix + ".hi", what + " has hi - lo too large for a double.");
}

void validate(const categorical& c, const std::string& what, const std::string& field_prefix) {
    if (c.choices.empty()) throw config_error(field_prefix + ".choices", what + " has no choices.");
    if (c.choices.size() > max_levels) throw config_error(field_prefix + ".choices", what + " has more than 2^40 choices.");
    for (std::size_t i = 0; i < c.choices.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (c.choices[i] == c.choices[j])
                throw config_error(field_prefix + ".choices", what + " lists the choice " + quote(c.choices[i]) + " twice.");
}

}  // namespace

search_space::search_space(std::vector<variable> vars) {
    for (std::size_t i = 0; i < vars.size(); ++i) {
        // add() sees only the past; here the future is known too, so say "declared later".
        if (const auto* arr = std::get_if<layer_array>(&vars[i])) {
            bool earlier = false, later = false;
            for (std::size_t j = 0; j < i; ++j) earlier |= name_of(vars[j]) == arr->length_of;
            for (std::size_t j = i + 1; j < vars.size(); ++j) later |= name_of(vars[j]) == arr->length_of;
            if (!earlier && later && !arr->name.empty())
                throw config_error("layer_array.length_of", "layer_array " + quote(arr->name) +
                                                                " has length_of = " + quote(arr->length_of) +
                                                                ", which is declared after it; declare the length "
                                                                "variable first.");
        }
        add(std::move(vars[i]));
    }
}

search_space& search_space::add(variable v) {
    const std::string& name = name_of(v);
    const std::string kind = kind_of(v);
    if (name.empty()) throw config_error(kind + ".name", (kind[0] == 'i' ? "an " : "a ") + kind + " has an empty name.");
    for (const variable& u : vars_)
        if (name_of(u) == name) throw config_error(kind + ".name", "a variable named " + quote(name) + " is declared twice.");
    const std::string what = kind + " " + quote(name);

    std::size_t width = 1, length_index = 0;
    if (const auto* arr = std::get_if<layer_array>(&v)) {
        const std::string field = "layer_array.length_of";
        std::size_t j = 0;
        while (j < vars_.size() && name_of(vars_[j]) != arr->length_of) ++j;
        if (j == vars_.size())
            throw config_error(field, what + " has length_of = " + quote(arr->length_of) +
                                          ", which is not declared; declare the length "
                                          "variable before the array.");
        const auto* len = std::get_if<int_range>(&vars_[j]);
        if (len == nullptr)
            throw config_error(
                field, what + " has length_of = " + quote(arr->length_of) + ", which is a " + kind_of(vars_[j]) + ", not an int_range.");
        if (len->lo < 0)
            throw config_error(field, what + " has length_of = " + quote(arr->length_of) + " with lo = " + num(len->lo) +
                                          "; a layer count cannot be negative.");
        if (len->hi > max_layers)
            throw config_error(field, what + " has length_of = " + quote(arr->length_of) + " with hi = " + num(len->hi) + "; at most " +
                                          num(max_layers) + " layers are supported.");
        const std::string element_what = "the element of " + what;
        std::visit([&](const auto& e) { validate(e, element_what, "layer_array.element"); }, arr->element);
        width = static_cast<std::size_t>(len->hi);
        length_index = j;
    } else {
        std::visit(
            [&](const auto& u) {
                if constexpr (!std::is_same_v<std::decay_t<decltype(u)>, layer_array>) validate(u, what, kind);
            },
            v);
    }

    // Everything is checked: commit (only allocation can fail from here).
    std::vector<std::string> coords = coordinate_names_;
    if (std::holds_alternative<layer_array>(v)) {
        for (std::size_t j = 0; j < width; ++j) coords.push_back(name + "[" + std::to_string(j) + "]");
    } else {
        coords.push_back(name);
    }
    vars_.reserve(vars_.size() + 1);
    offsets_.reserve(offsets_.size() + 1);
    length_index_.reserve(length_index_.size() + 1);
    offsets_.push_back(coordinate_names_.size());
    length_index_.push_back(length_index);
    coordinate_names_ = std::move(coords);
    vars_.push_back(std::move(v));
    return *this;
}

std::vector<std::string> search_space::names() const {
    std::vector<std::string> out;
    out.reserve(vars_.size());
    for (const variable& v : vars_) out.push_back(name_of(v));
    return out;
}

assignment search_space::decode(const std::vector<double>& x) const {
    if (x.size() != dim())
        throw config_error("x",
                           "x has " + std::to_string(x.size()) + " coordinates but the search space has " + std::to_string(dim()) + ".");
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::string label = "x[" + std::to_string(i) + "] (" + coordinate_names_[i] + ")";
        if (std::isnan(x[i])) throw config_error("x", label + " is NaN.");
        if (x[i] < 0.0 || x[i] > 1.0) throw config_error("x", label + " = " + num(x[i]) + " is outside [0, 1].");
    }

    assignment out;
    for (std::size_t i = 0; i < vars_.size(); ++i) {
        const std::size_t off = offsets_[i];
        std::visit(
            [&](const auto& u) {
                using V = std::decay_t<decltype(u)>;
                if constexpr (std::is_same_v<V, layer_array>) {
                    // The length variable precedes the array, so it is already decoded.
                    const auto active = static_cast<std::size_t>(std::get<std::int64_t>(out.items()[length_index_[i]].second));
                    std::visit(
                        [&](const auto& e) {
                            using T = typename item_traits<std::decay_t<decltype(e)>>::type;
                            std::vector<T> items;
                            items.reserve(active);
                            for (std::size_t j = 0; j < active; ++j) items.push_back(decode_item(e, x[off + j]));
                            out.set(u.name, std::move(items));
                        },
                        u.element);
                } else {
                    out.set(u.name, decode_item(u, x[off]));
                }
            },
            vars_[i]);
    }
    return out;
}

std::vector<double> search_space::encode(const assignment& a) const {
    for (const assignment::item& it : a.items()) {
        bool declared = false;
        for (const variable& v : vars_) declared |= name_of(v) == it.first;
        if (!declared)
            throw config_error(it.first, "the assignment names " + quote(it.first) + ", which is not a variable of the search space.");
    }

    std::vector<double> y(dim(), 0.5);
    for (std::size_t i = 0; i < vars_.size(); ++i) {
        const std::string& name = name_of(vars_[i]);
        const value* v = a.find(name);
        if (v == nullptr) throw config_error(name, "the assignment has no value for " + quote(name) + ".");
        const std::size_t off = offsets_[i];
        std::visit(
            [&](const auto& u) {
                using V = std::decay_t<decltype(u)>;
                if constexpr (std::is_same_v<V, layer_array>) {
                    // Encoded earlier in this loop, so its value is known to be valid.
                    const std::int64_t length = a.get_int(u.length_of);
                    std::visit(
                        [&](const auto& e) {
                            using traits = item_traits<std::decay_t<decltype(e)>>;
                            const auto& items = expect<std::vector<typename traits::type>>(*v, name, traits::array_name);
                            if (items.size() != static_cast<std::size_t>(length))
                                throw config_error(name, quote(name) + " has " + std::to_string(items.size()) + " items but " +
                                                             u.length_of + " = " + num(length) + ".");
                            for (std::size_t j = 0; j < items.size(); ++j)
                                y[off + j] = encode_item(e, items[j], name + "[" + std::to_string(j) + "]", name);
                        },
                        u.element);
                } else {
                    using T = typename item_traits<V>::type;
                    y[off] = encode_item(u, expect<T>(*v, name, item_traits<V>::name), name, name);
                }
            },
            vars_[i]);
    }
    return y;
}

std::uint64_t search_space::levels(std::size_t coordinate) const {
    if (coordinate >= dim()) throw config_error("coordinate", "coordinate " + std::to_string(coordinate) + " is outside the space.");
    std::size_t v = 0;
    while (v + 1 < vars_.size() && offsets_[v + 1] <= coordinate) ++v;
    const auto of = [](const auto& u) -> std::uint64_t {
        using T = std::decay_t<decltype(u)>;
        if constexpr (std::is_same_v<T, real_range>)
            return 0;
        else if constexpr (std::is_same_v<T, layer_array>)
            return 0;  // not a scalar: handled below
        else
            return space::levels(u);
    };
    if (const auto* a = std::get_if<layer_array>(&vars_[v])) return std::visit(of, a->element);
    return std::visit(of, vars_[v]);
}

std::vector<double> search_space::canonical(const std::vector<double>& x) const {
    return encode(decode(x));
}

}  // namespace fracnas::space
