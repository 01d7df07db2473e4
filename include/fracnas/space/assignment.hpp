// The decoded values of a search space, in declaration order, with lookup by name and a
// one-line printable form. An assignment does not check values against any space: that is
// search_space::encode's job.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace fracnas::space {

/// The value of one variable: int_range -> int64, real_range -> double, categorical -> string,
/// layer_array -> a vector of the element's type holding only the active items.
/// Integer literals need a type: std::int64_t{512}, std::vector<std::int64_t>{1024, 2048}.
using value = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

/// Named values in insertion order; names are unique (set() replaces an existing one).
class assignment {
public:
    using item = std::pair<std::string, value>;

    assignment() = default;
    /// The items in this order; a repeated name keeps its last value at its first position.
    assignment(std::initializer_list<item> items);

    /// Sets name to v: replaces in place if present, appends otherwise. Returns *this.
    assignment& set(std::string name, value v);

    /// The value named name, or nullptr.
    const value* find(std::string_view name) const noexcept;
    bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }

    /// The value named name. Throws config_error{name} when absent.
    const value& at(std::string_view name) const;

    /// Typed access. Each throws config_error{name} when the name is absent or holds another
    /// type (e.g. get_int on a real_range's double).
    std::int64_t get_int(std::string_view name) const;
    double get_real(std::string_view name) const;
    const std::string& get_string(std::string_view name) const;
    const std::vector<std::int64_t>& get_ints(std::string_view name) const;
    const std::vector<double>& get_reals(std::string_view name) const;
    const std::vector<std::string>& get_strings(std::string_view name) const;

    const std::vector<item>& items() const noexcept { return items_; }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }

    /// Equal when both hold the same names with equal values, in any order. Doubles compare
    /// exactly (the codec round-trips them exactly).
    friend bool operator==(const assignment& a, const assignment& b);
    friend bool operator!=(const assignment& a, const assignment& b) { return !(a == b); }

private:
    std::vector<item> items_;
};

/// One value as text: 512, 0.1 (shortest form that reads back exactly), gelu, [1024,1536].
std::string to_string(const value& v);

/// All items on one line in order, e.g. "n_layer=3 d_model=512 d_inner=[1024,1536,2048]".
/// Strings are printed as they are (no quoting).
std::string to_string(const assignment& a);

}  // namespace fracnas::space
