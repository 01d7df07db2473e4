// Strict number parsing for option values.
#include "fracnas/app/parse.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "fracnas/error.hpp"

namespace fracnas::app {

std::uint64_t parse_count(const std::string& option, const std::string& text) {
    std::uint64_t value = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [end, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range) throw config_error(option, "the value '" + text + "' is too large.");
    if (text.empty() || ec != std::errc() || end != last)
        throw config_error(option, "expected a non-negative whole number, got '" + text + "'.");
    return value;
}

std::size_t parse_size(const std::string& option, const std::string& text) {
    const std::uint64_t value = parse_count(option, text);
    if (value > std::numeric_limits<std::size_t>::max()) throw config_error(option, "the value '" + text + "' is too large.");
    return static_cast<std::size_t>(value);
}

double parse_real(const std::string& option, const std::string& text) {
    double value = 0.0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [end, ec] = std::from_chars(first, last, value);
    if (text.empty() || ec != std::errc() || end != last || !std::isfinite(value))
        throw config_error(option, "expected a finite number, got '" + text + "'.");
    return value;
}

}  // namespace fracnas::app
