// Lookup, equality and printing of space::assignment.
// Linear search on purpose: a space has tens of variables, and order must be kept anyway.
#include "fracnas/space/assignment.hpp"

#include <charconv>
#include <string>
#include <system_error>

#include "fracnas/error.hpp"

namespace fracnas::space {

namespace {

const char* type_name_of(const value& v) {
    static const char* const names[] = {"an integer", "a real", "a string", "an integer array", "a real array", "a string array"};
    return names[v.index()];
}

template <class T>
const T& get_as(const assignment& a, std::string_view name, const char* wanted) {
    const value& v = a.at(name);
    if (const T* p = std::get_if<T>(&v)) return *p;
    throw config_error(std::string(name), "assignment value '" + std::string(name) + "' is " + type_name_of(v) + ", not " + wanted + ".");
}

std::string format(std::int64_t i) {
    return std::to_string(i);
}

std::string format(double d) {
    // Shortest text that reads back to the same double (to_chars without a precision).
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    return r.ec == std::errc() ? std::string(buf, r.ptr) : std::to_string(d);
}

const std::string& format(const std::string& s) {
    return s;
}

template <class T>
std::string format(const std::vector<T>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ',';
        out += format(items[i]);
    }
    return out + "]";
}

}  // namespace

assignment::assignment(std::initializer_list<item> items) {
    for (const item& it : items) set(it.first, it.second);
}

assignment& assignment::set(std::string name, value v) {
    for (item& it : items_) {
        if (it.first == name) {
            it.second = std::move(v);
            return *this;
        }
    }
    items_.emplace_back(std::move(name), std::move(v));
    return *this;
}

const value* assignment::find(std::string_view name) const noexcept {
    for (const item& it : items_)
        if (it.first == name) return &it.second;
    return nullptr;
}

const value& assignment::at(std::string_view name) const {
    if (const value* v = find(name)) return *v;
    throw config_error(std::string(name), "assignment has no value named '" + std::string(name) + "'.");
}

std::int64_t assignment::get_int(std::string_view name) const {
    return get_as<std::int64_t>(*this, name, "an integer");
}
double assignment::get_real(std::string_view name) const {
    return get_as<double>(*this, name, "a real");
}
const std::string& assignment::get_string(std::string_view name) const {
    return get_as<std::string>(*this, name, "a string");
}
const std::vector<std::int64_t>& assignment::get_ints(std::string_view name) const {
    return get_as<std::vector<std::int64_t>>(*this, name, "an integer array");
}
const std::vector<double>& assignment::get_reals(std::string_view name) const {
    return get_as<std::vector<double>>(*this, name, "a real array");
}
const std::vector<std::string>& assignment::get_strings(std::string_view name) const {
    return get_as<std::vector<std::string>>(*this, name, "a string array");
}

bool operator==(const assignment& a, const assignment& b) {
    // Names are unique within each, so equal sizes plus "every item of a is in b" is enough.
    if (a.size() != b.size()) return false;
    for (const assignment::item& it : a.items()) {
        const value* other = b.find(it.first);
        if (other == nullptr || !(*other == it.second)) return false;
    }
    return true;
}

std::string to_string(const value& v) {
    return std::visit([](const auto& u) { return std::string(format(u)); }, v);
}

std::string to_string(const assignment& a) {
    std::string out;
    for (const assignment::item& it : a.items()) {
        if (!out.empty()) out += ' ';
        out += it.first + "=" + to_string(it.second);
    }
    return out;
}

}  // namespace fracnas::space
